package store_test

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tribusmq/tribus/store"
)

// FuzzStore_Ops drives a store with operations decoded from the input: Updates and Submits of
// functions that put, delete, create and delete buckets (with bad keys, names and values among
// them), fail or panic; Views; nested calls; nil functions; Close and reopen, clean or as a
// crash. After every operation the store's contents under BucketLog must equal a model built
// from the writes that were answered with nil, every refused write must carry one of the
// package's sentinels, and nothing may panic. A watchdog fails the run, naming the operation,
// if one takes more than 5 s (a deadlock).
func FuzzStore_Ops(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{1, 1, 0x11, 0x22, 0x33, 7, 0, 0x44, 8, 3, 0x55})
	f.Add([]byte{1, 4, 4, 0x9a, 0x01, 2, 0xff, 8, 6, 5, 7})
	f.Add([]byte{0, 3, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &opReader{b: data}
		bbolt := r.next()%2 == 1
		var (
			s    *store.Store
			path string
			err  error
		)
		open := func() error {
			if !bbolt {
				s = store.OpenMemory()
				return nil
			}
			s, err = store.Open(path, &store.Options{NoSync: true, CheckpointInterval: time.Hour,
				CheckpointBytes: 1 + int(r.next())*64})
			if err != nil {
				return fmt.Errorf("open: %w", err)
			}
			return nil
		}
		if bbolt {
			path = filepath.Join(t.TempDir(), "tribus.db")
		}
		if err := open(); err != nil {
			t.Fatal(err)
		}
		defer watchdog(t, "final Close", func() error { _ = s.Close(); return nil })
		m := fuzzModel{}

		for step := 0; r.more() && step < 64; step++ {
			op := r.next() % 10
			name := fmt.Sprintf("step %d op %d", step, op)
			watchdog(t, name, func() error {
				switch op {
				case 0, 1, 2: // Update
					fn := m.fn(r)
					if err := s.Update(fn.run); err != nil {
						return fn.checkFailure(err)
					}
					return m.apply(fn)
				case 3: // several Submits, then their waits in order
					var fns []*fuzzFn
					var waits []func() error
					for range 1 + r.next()%4 {
						fn := m.fn(r)
						fns = append(fns, fn)
						waits = append(waits, s.Submit(fn.run))
					}
					for i, w := range waits {
						if err := w(); err != nil {
							if err := fns[i].checkFailure(err); err != nil {
								return err
							}
						} else if err := m.apply(fns[i]); err != nil {
							return err
						}
					}
				case 4, 5: // View
					return m.check(s)
				case 6: // nested calls, nil function
					var nestedUpdate, nestedView error
					if err := s.Update(func(tx *store.Tx) error {
						nestedUpdate = s.Update(func(*store.Tx) error { return nil })
						return nil
					}); err != nil {
						return fmt.Errorf("outer Update: %w", err)
					}
					if err := s.View(func(*store.Tx) error {
						nestedView = s.Update(func(*store.Tx) error { return nil })
						return nil
					}); err != nil {
						return fmt.Errorf("outer View: %w", err)
					}
					if !errors.Is(nestedUpdate, store.ErrNestedTx) || !errors.Is(nestedView, store.ErrNestedTx) {
						return fmt.Errorf("nested Update: %v inside Update, %v inside View; want ErrNestedTx", nestedUpdate, nestedView)
					}
					if err := s.Update(nil); !errors.Is(err, store.ErrNilFunc) {
						return fmt.Errorf("Update(nil): %v", err)
					}
				case 7, 8: // close and reopen; everything answered survives
					if !bbolt {
						return m.check(s)
					}
					if op == 7 {
						err = s.Close()
					} else {
						err = store.CloseAsCrash(s)
					}
					if err != nil {
						return fmt.Errorf("close: %w", err)
					}
					if err := open(); err != nil {
						return err
					}
					if err := m.check(s); err != nil {
						return fmt.Errorf("after reopen: %w", err)
					}
				case 9: // an Update that fails after writing
					fn := m.fn(r)
					fn.fail = true
					if err := s.Update(fn.run); err == nil {
						return errors.New("a failing Update returned nil")
					}
				}
				return nil
			})
			watchdog(t, name+" check", func() error { return m.check(s) })
		}
	})
}

// watchdog runs fn in a goroutine and fails the test, naming the operation, if fn returns an
// error, panics, or takes more than 5 s.
func watchdog(t *testing.T, name string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panicked: %v", p)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not finish within 5s", name)
	}
}

// opReader hands out the input's bytes, then zeros.
type opReader struct{ b []byte }

func (r *opReader) more() bool { return len(r.b) > 0 }

func (r *opReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Fuzzed names and keys: a few good ones, and the bad ones every engine must be refused on.
var (
	fuzzNames = []string{"a", "b", "", strings.Repeat("n", store.MaxKeySize+1)}
	fuzzKeys  = []string{"k0", "k1", "k2", "", strings.Repeat("k", store.MaxKeySize+1)}
	tooBig    = make([]byte, store.MaxValueSize+1) // never touched, so it costs no memory
)

// fuzzSub is one write inside an Update function.
type fuzzSub struct {
	kind  byte // 0 put, 1 delete, 2 create bucket, 3 delete bucket
	path  []string
	key   string
	value []byte
	err   error // its result in the function's last run
	skip  bool  // the bucket was missing, so nothing was tried
}

// fuzzFn is an Update function and what its last run did.
type fuzzFn struct {
	subs  []*fuzzSub
	fail  bool // return an error after the writes
	panic bool
}

var errFuzzFail = errors.New("fuzz: planned failure")

func (fn *fuzzFn) run(tx *store.Tx) error {
	for _, sub := range fn.subs {
		sub.err, sub.skip = nil, false
		switch sub.kind {
		case 0, 1:
			b := tx.Bucket(sub.path...)
			if b == nil {
				sub.skip = true
				continue
			}
			if sub.kind == 0 {
				sub.err = b.Put([]byte(sub.key), sub.value)
			} else {
				sub.err = b.Delete([]byte(sub.key))
			}
		case 2:
			_, sub.err = tx.CreateBucketIfNotExists(sub.path...)
		case 3:
			sub.err = tx.DeleteBucket(sub.path...)
		}
	}
	if fn.panic {
		panic("fuzz: planned panic")
	}
	if fn.fail {
		return errFuzzFail
	}
	return nil
}

// checkFailure checks the error of an Update of fn that did not commit.
func (fn *fuzzFn) checkFailure(err error) error {
	switch {
	case fn.panic && errors.Is(err, store.ErrPanic):
	case fn.fail && errors.Is(err, errFuzzFail):
	default:
		return fmt.Errorf("Update failed with %w", err)
	}
	return nil
}

// fuzzModel is the expected contents under BucketLog, encoded as dump encodes them.
type fuzzModel map[string]string

func (m fuzzModel) fn(r *opReader) *fuzzFn {
	fn := &fuzzFn{panic: r.next()%16 == 15}
	for range 1 + r.next()%3 {
		c := r.next()
		sub := &fuzzSub{kind: c % 4, path: []string{store.BucketLog}}
		for range (c >> 2) % 3 {
			sub.path = append(sub.path, fuzzNames[int(r.next())%len(fuzzNames)])
		}
		sub.key = fuzzKeys[int(c>>4)%len(fuzzKeys)]
		switch v := r.next(); {
		case v == 0xff:
			sub.value = tooBig
		default:
			sub.value = []byte(strings.Repeat("v", int(v)%40))
		}
		if sub.kind == 3 && len(sub.path) == 1 {
			sub.kind = 2 // deleting BucketLog itself is allowed, but the model keeps it simple
		}
		fn.subs = append(fn.subs, sub)
	}
	return fn
}

// apply records the writes of a committed fn's last run, and checks that each refused one
// carries one of the package's sentinels.
func (m fuzzModel) apply(fn *fuzzFn) error {
	for _, sub := range fn.subs {
		if sub.skip {
			continue
		}
		if sub.err != nil {
			known := false
			for _, want := range []error{store.ErrInvalidKey, store.ErrValueTooLarge, store.ErrIncompatible,
				store.ErrNotFound, store.ErrReserved} {
				known = known || errors.Is(sub.err, want)
			}
			if !known {
				return fmt.Errorf("write %d of %q failed with an untyped error: %w", sub.kind, sub.path, sub.err)
			}
			continue
		}
		p := strings.Join(sub.path, "/")
		switch sub.kind {
		case 0:
			m[p+"\x00"+sub.key] = string(sub.value)
		case 1:
			delete(m, p+"\x00"+sub.key)
		case 2:
			for i := range sub.path {
				m[strings.Join(sub.path[:i+1], "/")+"/"] = ""
			}
		case 3:
			maps.DeleteFunc(m, func(k, _ string) bool {
				return strings.HasPrefix(k, p+"/") || strings.HasPrefix(k, p+"\x00")
			})
		}
	}
	return nil
}

// check compares the store's contents under BucketLog with the model.
func (m fuzzModel) check(s *store.Store) error {
	all, err := dumpErr(s)
	if err != nil {
		return err
	}
	got := map[string]string{}
	for k, v := range all {
		if strings.HasPrefix(k, store.BucketLog+"/") || strings.HasPrefix(k, store.BucketLog+"\x00") {
			got[k] = v
		}
	}
	want := maps.Clone(m)
	want[store.BucketLog+"/"] = ""
	if !maps.Equal(got, want) {
		return fmt.Errorf("store holds\n%q\nmodel says\n%q", got, want)
	}
	return nil
}
