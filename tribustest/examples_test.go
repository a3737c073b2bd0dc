package tribustest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/tribusmq/tribus/exchange"
	"github.com/tribusmq/tribus/tribustest"
)

// exampleT stands in for the *testing.T that a test passes to tribustest: an Example has
// none. It prints failures and runs the cleanups when done is called, as a test's end would.
type exampleT struct {
	cleanups []func()
}

func (t *exampleT) Helper()                  {}
func (t *exampleT) Cleanup(f func())         { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Context() context.Context { return context.Background() }
func (t *exampleT) TempDir() string {
	d, _ := os.MkdirTemp("", "example")
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Logf(string, ...any)               {}
func (t *exampleT) done() {
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
}

func ExampleNew() {
	t := &exampleT{} // in a test: the test's *testing.T
	defer t.done()

	b := tribustest.New(t)
	s := b.Session()
	s.QueueDeclare("jobs", exchange.QueueOptions{})
	for _, job := range []string{"resize", "thumbnail"} {
		s.Publish(context.Background(), "", "jobs", false, exchange.Publishing{Body: []byte(job)})
	}
	b.Wait(tribustest.QueueReady("jobs", 2))
	fmt.Println(b.CheckQueue("jobs", "resize", "thumbnail"))
	fmt.Println(b.CheckQueue("jobs", "thumbnail"))
	// Output:
	// true
	// FAIL: tribustest: queue "jobs" holds ["resize" "thumbnail"], want ["thumbnail"]
	// false
}

func ExampleBroker_WaitContext() {
	t := &exampleT{}
	defer t.done()

	b := tribustest.New(t)
	b.WaitTimeout = 1 // a nanosecond: the condition is checked once
	err := b.WaitContext(context.Background(), tribustest.Subscribers("order:notifications", 1))
	var we *tribustest.WaitError
	if errors.As(err, &we) {
		fmt.Println("expected:", we.Condition)
		fmt.Println("seen:", we.Seen)
		fmt.Println(errors.Is(err, context.DeadlineExceeded))
	}
	// Output:
	// expected: channel "order:notifications" to have 1 subscriber(s)
	// seen: 0 subscriber(s)
	// true
}

func ExampleBroker_Inject() {
	t := &exampleT{}
	defer t.done()

	b := tribustest.New(t)
	r := b.Router()
	r.QueueDeclare("audit", exchange.QueueOptions{})
	lost := b.Inject(tribustest.DropPublish().Queue("audit").Skip(1)) // the second publish is lost
	for _, body := range []string{"a", "b", "c"} {
		err := r.Publish(context.Background(), "", "audit", false, exchange.Publishing{Body: []byte(body)})
		fmt.Println(body, err) // the publisher never knows
	}
	b.CheckQueue("audit", "a", "c")
	fmt.Println(lost)
	// Output:
	// a <nil>
	// b <nil>
	// c <nil>
	// drop a publish queue="audit" after 1 (fired 1 of 3 opportunities)
}
