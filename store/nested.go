package store

import (
	"runtime"
	"slices"
)

// A function given to Update runs on the committer goroutine, inside the round's transaction.
// If it calls Update (or waits on a Submit, or calls View or Close) of the same store, that call
// would wait for the committer, which is busy running the very function that made it: a
// deadlock that also made Close hang. The committer therefore publishes, in s.running, a token
// of the function it is running (0 between functions). A call that may be nested first checks
// the token, which costs one atomic load, and only when the committer is inside a function
// (and, for a wait, inside the same function as at Submit) compares goroutine identities, which
// costs a stack trace.

// goid returns the id of the calling goroutine, parsed from the header of runtime.Stack
// ("goroutine 123 [running]:"). It costs a stack trace, so it is called only when a call may be
// nested.
func goid() uint64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	for _, c := range buf[min(len("goroutine "), n):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// onCommitter reports whether the caller is the committer goroutine running one of the
// functions given to Update. tok is s.running as the caller last read it; 0 means no function
// was running, and then the caller cannot be inside one.
func (s *Store) onCommitter(tok uint64) bool {
	return tok != 0 && goid() == s.committerID.Load()
}

// nestedWait is called by a Submit's wait function when its fn is not committed yet and the
// committer was inside the same function at Submit and now (tok). If the caller is that
// committer, it withdraws the fn if the committer has not taken it yet and reports true.
func (s *Store) nestedWait(b *batch, i int, tok uint64) bool {
	if !s.onCommitter(tok) {
		return false
	}
	s.mu.Lock()
	if slices.Contains(s.queue, b) {
		b.fns[i] = nil // the committer answers a withdrawn fn with ErrNestedTx and skips it
	}
	s.mu.Unlock()
	return true
}
