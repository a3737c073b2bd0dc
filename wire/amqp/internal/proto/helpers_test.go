package proto_test

import (
	"bytes"
	"io"
	"math"
	"reflect"
	"time"

	"github.com/tribusmq/tribus/exchange"
)

// sameValue compares decoded field values the way the codec promises to keep them: floats by
// their bits, so that a NaN equals itself, times by instant and location, and everything else
// by type and value.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && x.Location() == y.Location()
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case exchange.Table:
		y, ok := b.(exchange.Table)
		return ok && sameTable(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func sameTable(a, b exchange.Table) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !sameValue(v, w) {
			return false
		}
	}
	return true
}

// samePublishing compares the properties of two publishings, Body excluded.
func samePublishing(a, b *exchange.Publishing) bool {
	x, y := *a, *b
	if !sameTable(x.Headers, y.Headers) || !sameValue(x.Timestamp, y.Timestamp) {
		return false
	}
	x.Body, y.Body, x.Headers, y.Headers = nil, nil, nil, nil
	x.Timestamp, y.Timestamp = time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// cat joins byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
