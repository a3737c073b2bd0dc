package exchange

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// xMatch is a headers binding's x-match mode (SEMANTICS.md §1.2, A8).
type xMatch uint8

const (
	// xMatchAll needs every criterion to hold; it is the mode when x-match is absent.
	xMatchAll xMatch = iota
	// xMatchAny needs one criterion to hold.
	xMatchAny
	// xMatchAllWithX is xMatchAll with x- binding arguments counted as criteria.
	xMatchAllWithX
	// xMatchAnyWithX is xMatchAny with x- binding arguments counted as criteria.
	xMatchAnyWithX
)

// xMatchArg is the binding argument that selects the mode; it is never a criterion itself.
const xMatchArg = "x-match"

// String returns the x-match argument value that selects x.
func (x xMatch) String() string {
	switch x {
	case xMatchAll:
		return "all"
	case xMatchAny:
		return "any"
	case xMatchAllWithX:
		return "all-with-x"
	case xMatchAnyWithX:
		return "any-with-x"
	}
	return fmt.Sprintf("xMatch(%d)", uint8(x))
}

// matchesAny reports whether one holding criterion is enough.
func (x xMatch) matchesAny() bool { return x == xMatchAny || x == xMatchAnyWithX }

// withX reports whether binding arguments named x-… are criteria rather than ignored.
func (x xMatch) withX() bool { return x == xMatchAllWithX || x == xMatchAnyWithX }

// headersBinding is a compiled binding: the x-match mode and the (name, value) pairs to test.
// It is immutable once compiled, so matches may share it without locking.
type headersBinding struct {
	mode     xMatch
	criteria []headerCriterion // sorted by name, so matching is deterministic
}

// headerCriterion requires a header name to be present and, unless value is nil, equal to value.
type headerCriterion struct {
	name  string
	value any // nil is AMQP void: the header must be present, with any value
}

// compileHeadersBinding validates a binding's arguments and compiles them for matching.
//
// x-match absent means all. Otherwise x-match must be a longstr (string or []byte) equal to
// "all", "any", "all-with-x" or "any-with-x"; any other value, string or not, is an error
// wrapping [ErrPreconditionFailed], because RabbitMQ refuses such a binding at bind time.
// (RabbitMQ still treats an unknown value as all when it meets one in a binding stored before
// it validated x-match; tribus validates every binding, so it never sees one.)
//
// Values are deep-copied, so later changes to args do not change the binding.
func compileHeadersBinding(args Table) (*headersBinding, error) {
	mode, err := parseXMatch(args)
	if err != nil {
		return nil, err
	}
	b := &headersBinding{mode: mode}
	for name, v := range args {
		if name == xMatchArg || (!mode.withX() && strings.HasPrefix(name, "x-")) {
			continue
		}
		b.criteria = append(b.criteria, headerCriterion{name: name, value: cloneValue(v)})
	}
	slices.SortFunc(b.criteria, func(p, q headerCriterion) int { return cmp.Compare(p.name, q.name) })
	return b, nil
}

// parseXMatch returns the mode that args select.
func parseXMatch(args Table) (xMatch, error) {
	v, ok := args[xMatchArg]
	if !ok {
		return xMatchAll, nil
	}
	s, ok := asString(v)
	if !ok {
		return 0, fmt.Errorf("%w: invalid x-match field type %T (value %v); expected longstr",
			ErrPreconditionFailed, v, v)
	}
	for _, m := range []xMatch{xMatchAll, xMatchAny, xMatchAllWithX, xMatchAnyWithX} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: invalid x-match field value %q; expected all, any, all-with-x or any-with-x",
		ErrPreconditionFailed, s)
}

// match reports whether a message with these headers matches. The routing key plays no part
// in a headers exchange. A nil headers table is a message without headers.
//
// all holds unless some criterion fails, so with no criteria it matches every message; any
// fails unless some criterion holds, so with no criteria it matches none (§1.2).
func (b *headersBinding) match(headers Table) bool {
	if b.mode.matchesAny() {
		for i := range b.criteria {
			if b.criteria[i].holds(headers) {
				return true
			}
		}
		return false
	}
	for i := range b.criteria {
		if !b.criteria[i].holds(headers) {
			return false
		}
	}
	return true
}

// holds reports whether headers satisfy c: the header is present and, unless c tests presence
// only, matches c's value ([headerMatches]).
func (c *headerCriterion) holds(headers Table) bool {
	v, ok := headers[c.name]
	return ok && (c.value == nil || headerMatches(c.value, v))
}

// headerMatches compares a binding's header value with a message's as RabbitMQ's headers
// exchange does (checked against RabbitMQ 3.10.8): the values under Erlang's ==, as
// [valuesEqual] compares them, a timestamp being its integer seconds; but a table or an array
// is compared with the field type of every entry, as RabbitMQ compares the typed entries, so
// that a table holding an int32 1 does not match one holding an int64 1.
func headerMatches(bound, got any) bool {
	if t, ok := bound.(time.Time); ok {
		bound = t.Unix()
	}
	if t, ok := got.(time.Time); ok {
		got = t.Unix()
	}
	switch bound.(type) {
	case Table, []any:
		return typedEqual(bound, got)
	}
	return valuesEqual(bound, got)
}

// typedEqual reports whether a and b have the same field type and value, entries of tables
// and arrays included.
func typedEqual(a, b any) bool {
	if fieldType(a) != fieldType(b) {
		return false
	}
	switch x := a.(type) {
	case Table:
		y := b.(Table)
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !typedEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y := b.([]any)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !typedEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return valuesEqual(a, b)
}
