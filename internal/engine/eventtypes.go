package engine

// IsEventType reports whether Apply knows events of type t; metrics label
// events by type only when it does, so that a caller's typos do not make
// new series.
func IsEventType(t string) bool {
	_, ok := handlers[t]
	return ok
}
