package observe

import "sync/atomic"

// Slot holds an observer of events E, or none. The zero value holds none.
type Slot[E any] struct {
	fn atomic.Pointer[func(E)]
}

// Set makes fn the observer; nil removes it.
func (s *Slot[E]) Set(fn func(E)) {
	if fn == nil {
		s.fn.Store(nil)
		return
	}
	s.fn.Store(&fn)
}

// Observed reports whether an observer is set: callers check it before they build an event,
// so that an engine nobody observes builds none.
func (s *Slot[E]) Observed() bool { return s.fn.Load() != nil }

// Load returns the observer, nil when there is none (it may have been removed since a
// caller checked Observed).
func (s *Slot[E]) Load() func(E) {
	if p := s.fn.Load(); p != nil {
		return *p
	}
	return nil
}
