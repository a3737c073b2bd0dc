// Package observe holds an engine's observer: a callback that can be set, replaced or
// removed at any time while the engine's goroutines call it.
//
// # Concurrency
//
// A Slot is one atomic pointer: Set may run concurrently with Observed and Load on any
// goroutine. A caller that loaded the observer calls it after a Set replaced it; events in
// flight reach the old observer or the new one, never neither once Set has returned.
package observe
