package store

// keySet is the set of keys under one index value. Most index values hold a
// handful of keys (a resource's ten targets, a release's jobs), where a
// slice is several times smaller than a map and as fast to search; a set
// that outgrows smallSet keys moves to a map, so large sets (an
// environment's targets) stay O(1) per change.
type keySet struct {
	small []string
	big   map[string]struct{}
}

const smallSet = 16

func (s *keySet) add(k string) {
	if s.big != nil {
		s.big[k] = struct{}{}
		return
	}
	for _, have := range s.small {
		if have == k {
			return
		}
	}
	if len(s.small) < smallSet {
		s.small = append(s.small, k)
		return
	}
	s.big = make(map[string]struct{}, 2*smallSet)
	for _, have := range s.small {
		s.big[have] = struct{}{}
	}
	s.big[k] = struct{}{}
	s.small = nil
}

func (s *keySet) remove(k string) {
	if s.big != nil {
		delete(s.big, k)
		return
	}
	for i, have := range s.small {
		if have == k {
			last := len(s.small) - 1
			s.small[i] = s.small[last]
			s.small[last] = ""
			s.small = s.small[:last]
			return
		}
	}
}

func (s *keySet) len() int {
	if s == nil {
		return 0
	}
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

// each calls fn for every key, in no particular order; a nil set has none.
func (s *keySet) each(fn func(string)) {
	if s == nil {
		return
	}
	if s.big != nil {
		for k := range s.big {
			fn(k)
		}
		return
	}
	for _, k := range s.small {
		fn(k)
	}
}
