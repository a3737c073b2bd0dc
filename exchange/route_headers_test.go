package exchange

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refHeadersMatch computes a headers-exchange match from the §1.2 prose, without compiling:
// it returns an error for an x-match value RabbitMQ refuses at bind time.
func refHeadersMatch(args, headers Table) (bool, error) {
	mode := "all"
	if v, ok := args["x-match"]; ok {
		s, isString := v.(string)
		if b, isBytes := v.([]byte); isBytes {
			s, isString = string(b), true
		}
		if !isString {
			return false, errors.New("non-string x-match")
		}
		switch s {
		case "all", "any", "all-with-x", "any-with-x":
			mode = s
		default:
			return false, errors.New("unknown x-match")
		}
	}
	all := mode == "all" || mode == "all-with-x"
	withX := strings.HasSuffix(mode, "-with-x")
	result := all // all starts true, any starts false
	for name, want := range args {
		if name == "x-match" || (strings.HasPrefix(name, "x-") && !withX) {
			continue
		}
		got, present := headers[name]
		ok := present && (want == nil || headerMatches(want, got))
		if all && !ok {
			result = false
		}
		if !all && ok {
			result = true
		}
	}
	return result, nil
}

func TestHeaders_A8_Table(t *testing.T) {
	h := Table{"a": "1", "b": int64(2), "n": int64(1), "v": nil, "bin": []byte("x"), "flag": true,
		"x-k": "v", "t": Table{"n": int32(1), "s": "s"}, "f": 1.5, "arr": []any{int32(1)}}
	for _, tc := range []struct {
		name    string
		args    Table
		headers Table
		want    bool
	}{
		{"all no criteria matches everything", Table{"x-match": "all"}, h, true},
		{"all no criteria matches nil headers", Table{"x-match": "all"}, nil, true},
		{"absent x-match is all", Table{}, nil, true},
		{"nil args is all", nil, nil, true},
		{"any no criteria matches nothing", Table{"x-match": "any"}, h, false},
		{"any-with-x no criteria matches nothing", Table{"x-match": "any-with-x"}, h, false},
		{"all ignores x- args", Table{"x-match": "all", "x-k": "other"}, nil, true},
		{"any ignores x- args", Table{"x-match": "any", "x-k": "v"}, h, false},
		{"all-with-x counts x- args", Table{"x-match": "all-with-x", "x-k": "v"}, h, true},
		{"all-with-x x- arg missing", Table{"x-match": "all-with-x", "x-k": "v"}, Table{"a": "1"}, false},
		{"all-with-x x- arg unequal", Table{"x-match": "all-with-x", "x-k": "v"}, Table{"x-k": "w"}, false},
		{"any-with-x counts x- args", Table{"x-match": "any-with-x", "x-k": "v", "a": "no"}, h, true},
		{"x-match is not a criterion", Table{"x-match": "all-with-x"}, Table{"x-match": "any"}, true},
		{"all both present", Table{"a": "1", "b": int64(2)}, h, true},
		{"all one missing", Table{"a": "1", "zz": "1"}, h, false},
		{"all one unequal", Table{"a": "1", "b": int64(3)}, h, false},
		{"any one of two", Table{"x-match": "any", "a": "1", "zz": "1"}, h, true},
		{"any one of two unequal", Table{"x-match": "any", "a": "2", "b": int64(2)}, h, true},
		{"any none", Table{"x-match": "any", "a": "2", "zz": "1"}, h, false},
		{"any nil headers", Table{"x-match": "any", "a": "1"}, nil, false},
		{"all nil headers", Table{"a": "1"}, nil, false},
		{"int32 equals int64", Table{"n": int32(1)}, h, true},
		{"int8 equals int64", Table{"n": int8(1)}, h, true},
		{"int equals float", Table{"n": 1.0}, h, true},
		{"string 1 is not int 1", Table{"n": "1"}, h, false},
		{"int 1 is not string 1", Table{"a": int32(1)}, h, false},
		{"void tests presence", Table{"a": nil}, h, true},
		{"void matches a void header", Table{"v": nil}, h, true},
		{"void needs presence", Table{"zz": nil}, h, false},
		{"any void present", Table{"x-match": "any", "zz": "1", "b": nil}, h, true},
		{"value does not match a void header", Table{"v": "1"}, h, false},
		{"bytes equal string", Table{"a": []byte("1")}, h, true},
		{"string equals bytes", Table{"bin": "x"}, h, true},
		{"bool equal", Table{"flag": true}, h, true},
		{"bool unequal", Table{"flag": false}, h, false},
		{"bool is not int", Table{"flag": int32(1)}, h, false},
		{"float equal", Table{"f": float32(1.5)}, h, true},
		{"nested table equal", Table{"t": Table{"s": "s", "n": int32(1)}}, h, true},
		{"nested table with another int width unequal", Table{"t": Table{"s": "s", "n": int64(1)}}, h, false},
		{"nested table unequal", Table{"t": Table{"s": "s", "n": int32(2)}}, h, false},
		{"nested array compares field types", Table{"arr": []any{int64(1)}}, h, false},
		{"nested array equal", Table{"arr": []any{int32(1)}}, h, true},
		{"timestamp equals its seconds", Table{"n": time.Unix(1, 0)}, h, true},
		{"nested table subset unequal", Table{"t": Table{"s": "s"}}, h, false},
		{"case-sensitive names", Table{"A": "1"}, h, false},
		{"xmatch given as bytes", Table{"x-match": []byte("any"), "a": "1", "zz": "1"}, h, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := compileHeadersBinding(tc.args)
			require.NoError(t, err)
			assert.Equal(t, tc.want, b.match(tc.headers))
			ref, err := refHeadersMatch(tc.args, tc.headers)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ref, "reference")
		})
	}
	// Reference: SEMANTICS.md §1.2 (verified on RabbitMQ 3.10.8), rabbit_exchange_type_headers
}

func TestHeaders_A8_XMatchValidation(t *testing.T) {
	for _, v := range []any{"all", "any", "all-with-x", "any-with-x", []byte("all-with-x")} {
		_, err := compileHeadersBinding(Table{"x-match": v})
		assert.NoError(t, err, "x-match %v", v)
	}
	for _, v := range []any{"", "ALL", "Any", "all ", "first", nil, int32(1), true, Table{}, []any{"all"}} {
		_, err := compileHeadersBinding(Table{"x-match": v})
		assert.ErrorIs(t, err, ErrPreconditionFailed, "x-match %#v", v)
	}
	// Reference: SEMANTICS.md §1.2, rabbit_exchange_type_headers validate_binding
}

func TestHeaders_A8_BindingIsACopy(t *testing.T) {
	nested := Table{"n": int32(1)}
	args := Table{"k": "v", "t": nested, "bin": []byte("x")}
	b, err := compileHeadersBinding(args)
	require.NoError(t, err)
	args["k"] = "changed"
	nested["n"] = int32(2)
	args["bin"].([]byte)[0] = 'y'
	args["new"] = "1"
	assert.True(t, b.match(Table{"k": "v", "t": Table{"n": int32(1)}, "bin": "x"}))
	assert.Equal(t, []string{"bin", "k", "t"}, []string{b.criteria[0].name, b.criteria[1].name, b.criteria[2].name})
}

// fuzzHeaderNames and fuzzHeaderValues are the alphabets FuzzHeaders_A8_MatchesReference builds
// tables from: small, so binding and headers often share names, and typed so that every rule
// of Erlang == is exercised.
var (
	fuzzHeaderNames  = []string{"a", "b", "c", "x-k", "x-l", "x-match", "A", ""}
	fuzzHeaderValues = []any{
		int32(1), int64(1), int8(1), uint16(1), "1", []byte("1"), nil, true, false, float64(1),
		float32(1.5), int32(2), "a", []byte("a"), Table{"n": int32(1)}, Table{"n": int64(1)},
		[]any{int32(1)}, []any{"1"}, Decimal{Scale: 1, Value: 10}, "any", "all-with-x",
	}
	fuzzXMatch = []any{"all", "any", "all-with-x", "any-with-x", []byte("any"), "ALL", "foo", int32(1), nil, true}
)

// decodeHeadersFuzz turns fuzz bytes into binding arguments and message headers. Byte 0 picks
// x-match (or none); after it, each pair of bytes is (table and name, value): the top bit of
// the first byte picks the table. A value may be x-match's own, which tests that a second
// x-match name in the message or a table value is harmless.
func decodeHeadersFuzz(data []byte) (args, headers Table) {
	args = Table{}
	if len(data) > 0 {
		if i := int(data[0]); i < len(fuzzXMatch) {
			args["x-match"] = fuzzXMatch[i]
		}
		data = data[1:]
	}
	for ; len(data) >= 2; data = data[2:] {
		name := fuzzHeaderNames[int(data[0]&0x7f)%len(fuzzHeaderNames)]
		value := fuzzHeaderValues[int(data[1])%len(fuzzHeaderValues)]
		if data[0]&0x80 == 0 {
			if headers == nil {
				headers = Table{}
			}
			headers[name] = value
		} else if name != "x-match" {
			args[name] = value
		}
	}
	return args, headers
}

// FuzzHeaders_A8_MatchesReference checks compileHeadersBinding and match against
// refHeadersMatch on tables decoded by decodeHeadersFuzz.
func FuzzHeaders_A8_MatchesReference(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzHeaders_A8_MatchesReference, one file per §1.2 consequence.
	f.Fuzz(func(t *testing.T, data []byte) {
		args, headers := decodeHeadersFuzz(data)
		want, refErr := refHeadersMatch(args, headers)
		b, err := compileHeadersBinding(args)
		if refErr != nil {
			if !errors.Is(err, ErrPreconditionFailed) {
				t.Fatalf("args %v: compile error %v, want PRECONDITION_FAILED (%v)", args, err, refErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("args %v: unexpected compile error %v", args, err)
		}
		if got := b.match(headers); got != want {
			t.Fatalf("args %v, headers %v: match %v, reference %v", args, headers, got, want)
		}
	})
}

func TestHeadersMatch_DoesNotAllocate(t *testing.T) {
	b, headers := benchHeaders()
	allocs := testing.AllocsPerRun(100, func() { b.match(headers) })
	assert.Zero(t, allocs)
	assert.True(t, b.match(headers))
}

// benchHeaders returns an all binding with 3 criteria (plus an ignored x- argument) and
// matching headers with 10 entries.
func benchHeaders() (*headersBinding, Table) {
	b, err := compileHeadersBinding(Table{"x-match": "all", "format": "pdf", "type": "report",
		"version": int32(2), "x-ignored": "y"})
	if err != nil {
		panic(err)
	}
	headers := Table{"format": []byte("pdf"), "type": "report", "version": int64(2)}
	for i := range 7 {
		headers[fmt.Sprintf("h%d", i)] = int32(i)
	}
	return b, headers
}

func BenchmarkHeadersMatch(b *testing.B) {
	bind, headers := benchHeaders()
	b.ReportAllocs()
	for b.Loop() {
		if !bind.match(headers) {
			b.Fatal("no match")
		}
	}
}
