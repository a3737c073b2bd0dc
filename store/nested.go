package store

import (
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
	s.withdraw(b, i)
	return true
}

// withdraw takes fn i of b back if the committer has not taken b yet, and reports whether it
// did. The committer answers a withdrawn fn with ErrNestedTx and skips it.
func (s *Store) withdraw(b *batch, i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.queue, b) {
		return false
	}
	b.fns[i] = nil
	return true
}

// inOwnView reports whether the caller is inside a View of s (bbolt backend). The committer
// takes a batch only after serving the Views that were waiting with it, so a wait made inside
// a View always finds its batch still queued, and withdraws it.
func (s *Store) inOwnView() bool {
	return s.viewers.Load() > 0 && callerInTx(s.id)
}

// Where no committer runs the function (every transaction of the memory backend, and Views of
// the bbolt backend), the function runs in the caller's goroutine, and a nested call would
// block on a lock or a wait the caller itself holds. Telling the caller apart by goroutine id
// would cost every call a stack trace. Instead, such a transaction runs its function below a
// chain of frames that spell the store's id in binary (one frame per bit, a few nanoseconds
// each), and a call that finds the store busy reads its own stack: if the chain for this store
// is on it, the caller is inside one of the store's transactions and waiting would never end.
// The stack is read only on that slow path, and it cannot mistake one store for another.

// storeIDs numbers the stores opened by this process, from 1, so that the spelled id always
// starts with a 1 bit.
var storeIDs atomic.Uint64

// inTx runs fn below frames that spell id, lowest bit outermost, ending in markEnd.
func inTx(id uint64, fn func() error) error {
	switch {
	case id == 0:
		return markEnd(fn)
	case id&1 == 0:
		return mark0(id>>1, fn)
	default:
		return mark1(id>>1, fn)
	}
}

//go:noinline
func mark0(id uint64, fn func() error) error { return inTx(id, fn) }

//go:noinline
func mark1(id uint64, fn func() error) error { return inTx(id, fn) }

//go:noinline
func markEnd(fn func() error) error { return fn() }

// The names the stack reports for the marking frames, set once by markNames.
var (
	markOnce                                sync.Once
	mark0Name, mark1Name, endName, inTxName string
)

func markNames() {
	name := func(pc uintptr) string { return runtime.FuncForPC(pc).Name() }
	mark0Name = name(reflect.ValueOf(mark0).Pointer())
	mark1Name = name(reflect.ValueOf(mark1).Pointer())
	endName = name(reflect.ValueOf(markEnd).Pointer())
	inTxName = name(reflect.ValueOf(inTx).Pointer())
}

// callerInTx reports whether the calling goroutine is inside a transaction of the store
// numbered id, by reading the marks on its stack. It costs a walk of the whole stack, so it is
// called only when a call would otherwise wait.
func callerInTx(id uint64) bool {
	markOnce.Do(markNames)
	var small [128]uintptr
	pcs := small[:]
	n := runtime.Callers(1, pcs)
	for n == len(pcs) {
		pcs = make([]uintptr, 2*len(pcs))
		n = runtime.Callers(1, pcs)
	}
	frames := runtime.CallersFrames(pcs[:n])
	var (
		spelling bool   // inside a chain: the frames just passed were markEnd and mark bits
		got      uint64 // the id spelled so far, highest bit first
	)
	for {
		f, more := frames.Next()
		switch f.Function {
		case endName:
			spelling, got = true, 0
		case mark0Name, mark1Name:
			if spelling {
				got <<= 1
				if f.Function == mark1Name {
					got |= 1
				}
			}
		default:
			// inTx, inlined into the mark frames or not, is reported as a frame of its own.
			if spelling && f.Function != inTxName {
				if got == id {
					return true
				}
				spelling = false
			}
		}
		if !more {
			return spelling && got == id
		}
	}
}
