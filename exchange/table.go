package exchange

import (
	"fmt"
	"time"
)

// Table is an AMQP 0-9-1 field table: message headers, and the arguments of declarations and
// bindings. Keys are field names; values must be one of the AMQP field types as Go values:
//
//	nil (void)          bool
//	int8 int16 int32 int64 int   uint8 uint16 uint32
//	float32 float64     string (longstr)   []byte (byte array)
//	time.Time (timestamp, whole seconds)   Decimal
//	Table (nested table)                    []any (field array of these types)
//
// [Table.Validate] says whether a table holds only these.
type Table map[string]any

// Decimal is the AMQP decimal field type: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// Validate returns an error wrapping [ErrPreconditionFailed] naming the first field whose
// value is not an AMQP field type.
func (t Table) Validate() error {
	if len(t) == 0 {
		return nil
	}
	for k, v := range t {
		if err := validateValue(v, 0); err != nil {
			return fmt.Errorf("%w: field %q: %w", ErrPreconditionFailed, k, err)
		}
	}
	return nil
}

// maxTableDepth bounds nesting, so a cyclic or absurd table is an error and not a stack overflow.
const maxTableDepth = 64

func validateValue(v any, depth int) error {
	if depth > maxTableDepth {
		return fmt.Errorf("nested deeper than %d", maxTableDepth)
	}
	switch x := v.(type) {
	case nil, bool, int8, int16, int32, int64, int, uint8, uint16, uint32, float32, float64,
		string, []byte, time.Time, Decimal:
		return nil
	case Table:
		for k, e := range x {
			if err := validateValue(e, depth+1); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := validateValue(e, depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported type %T", v)
}

// clone returns a deep copy of t, so a stored table cannot be changed through the caller's map.
// A nil table stays nil.
func (t Table) clone() Table {
	if t == nil {
		return nil
	}
	out := make(Table, len(t))
	for k, v := range t {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case Table:
		return x.clone()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []byte:
		return append([]byte(nil), x...)
	}
	return v
}

// asInt64 returns v as an integer if it is one of the AMQP integer types.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

// asString returns v as a string if it is a longstr (string) or byte array.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// valuesEqual compares two field values the way RabbitMQ's headers exchange does, with
// Erlang's ==: integers of any width are equal when their values are, an integer equals a float
// of the same value, strings and byte arrays compare as binaries, and a string never equals a
// number (SEMANTICS.md §1.2).
func valuesEqual(a, b any) bool {
	if ai, ok := asInt64(a); ok {
		if bi, ok := asInt64(b); ok {
			return ai == bi
		}
		if bf, ok := asFloat(b); ok {
			return float64(ai) == bf
		}
		return false
	}
	if af, ok := asFloat(a); ok {
		if bi, ok := asInt64(b); ok {
			return af == float64(bi)
		}
		if bf, ok := asFloat(b); ok {
			return af == bf
		}
		return false
	}
	if as, ok := asString(a); ok {
		bs, ok := asString(b)
		return ok && as == bs
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Unix() == y.Unix()
	case Decimal:
		y, ok := b.(Decimal)
		return ok && x == y
	case Table:
		y, ok := b.(Table)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valuesEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// inequivalence is the end of RabbitMQ's inequivalent-argument error for an argument
// received (or absent) against the one current: when both are there it names their values,
// "received '3000' but current is '2000'"; when one is missing it says "none" for that one and
// gives the other's type, "received none but current is the value '2000' of type 'signedint'".
func inequivalence(received any, inNew bool, current any, inOld bool) string {
	if inNew && inOld {
		return fmt.Sprintf("received '%v' but current is '%v'", plainValue(received), plainValue(current))
	}
	return fmt.Sprintf("received %s but current is %s", describeArg(received, inNew), describeArg(current, inOld))
}

// plainValue is v as RabbitMQ prints a field value, byte arrays as text.
func plainValue(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// describeArg names an argument's value with its type, "the value '2000' of type
// 'signedint'", or "none" when the argument is absent.
func describeArg(v any, present bool) string {
	if !present {
		return "none"
	}
	return fmt.Sprintf("the value '%v' of type '%s'", plainValue(v), fieldType(v))
}

// fieldType is RabbitMQ's name of the field type v is encoded as.
func fieldType(v any) string {
	switch v.(type) {
	case string:
		return "longstr"
	case []byte:
		return "binary"
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, int:
		return "long"
	case float32:
		return "float"
	case float64:
		return "double"
	case time.Time:
		return "timestamp"
	case Table:
		return "table"
	case []any:
		return "array"
	case nil:
		return "void"
	}
	return fmt.Sprintf("%T", v)
}
