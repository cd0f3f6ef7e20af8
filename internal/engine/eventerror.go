package engine

import "fmt"

// EventError is the failure of one event of an Apply call: the event at
// Index was refused with Err, and the Applied events before it stay
// committed. errors.As finds it through any wrapping; model.ErrorCode and
// model.ErrorField see through it to Err.
type EventError struct {
	// Index is the failing event's position in the call, from 0.
	Index int
	// Applied is how many events of the call were committed.
	Applied int
	// Type is the failing event's type.
	Type string
	// Err is why the event was refused.
	Err error
	// Batch is set when the call had more than one event: the message then
	// names the position.
	Batch bool
}

// Error names the event (by position too, in a batch) and the reason.
func (e *EventError) Error() string {
	switch {
	case e.Batch && e.Type != "":
		return fmt.Sprintf("event %d (%s): %v", e.Index, e.Type, e.Err)
	case e.Batch:
		return fmt.Sprintf("event %d: %v", e.Index, e.Err)
	case e.Type != "":
		return fmt.Sprintf("%s: %v", e.Type, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *EventError) Unwrap() error { return e.Err }
