package resp

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tribusmq/tribus/internal/chunked"
)

// parseAll reads requests until the input ends or is refused, and returns them with the
// error that ended it.
func parseAll(data []byte, chunk int, strict bool) ([][]string, error) {
	r := &reader{rd: chunked.NewReader(data, chunk), maxBulk: 1 << 20,
		unauthenticated: func() bool { return strict }}
	var reqs [][]string
	for {
		args, err := r.next()
		if err != nil {
			return reqs, err
		}
		req := make([]string, len(args))
		for i, a := range args {
			req[i] = string(a)
		}
		reqs = append(reqs, req)
	}
}

// FuzzReader checks that the parser never panics, that what it returns does not depend on how
// the input is split into reads, and that it ends only at the end of the input or with a
// protocol error.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"PING\r\n", "*1\r\n$4\r\nPING\r\n", "*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n",
		"ECHO \"a\\x41\" 'b\\'c'\r\n", "*0\r\n*-1\r\n\r\n", "*1\r\n$-1\r\n", "*x\r\n",
		"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n", "a\"b c\"d\n", "*1\r\n$1\r\nabc",
		"\x00\r\n", "*20\r\n", "*1\r\n$20000\r\n",
	} {
		f.Add([]byte(seed), uint8(1), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, strict bool) {
		whole, werr := parseAll(data, len(data)+1, strict)
		pieces, perr := parseAll(data, int(chunk%16)+1, strict)
		require.Equal(t, whole, pieces, "requests depend on how the input was split")
		require.Equal(t, errString(werr), errString(perr))
		var pe *ProtocolError
		if !errors.Is(werr, io.EOF) && !errors.As(werr, &pe) {
			t.Fatalf("unexpected error %v", werr)
		}
		for _, req := range whole {
			require.NotEmpty(t, req)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSplitArgs_AsSdsSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		ok   bool
	}{
		{"a b  c", []string{"a", "b", "c"}, true},
		{`"a b" 'c d'`, []string{"a b", "c d"}, true},
		{`"\x41\x4a\n\r\t\b\a\q"`, []string{"AJ\n\r\t\b\aq"}, true},
		{`"\x4"`, []string{"x4"}, true}, // not two hex digits: a plain escape
		{`'a\'b' 'a\nb'`, []string{"a'b", `a\nb`}, true},
		{`a"b c"`, []string{"ab c"}, true}, // a quote inside a word opens a quoted part
		{`"a"b`, nil, false},
		{`"abc`, nil, false},
		{`'abc`, nil, false},
		{"\"a\"\tb", []string{"a", "b"}, true},
		{"x\x00y z", []string{"x"}, true}, // a C string ends at NUL
		{"", nil, true},
		{`""`, []string{""}, true},
	} {
		got, ok := splitArgs(nil, []byte(tc.line))
		require.Equal(t, tc.ok, ok, tc.line)
		if !ok {
			continue
		}
		var strs []string
		for _, g := range got {
			strs = append(strs, string(g))
		}
		require.Equal(t, tc.want, strs, tc.line)
	}
}

func TestParseInt_AsString2ll(t *testing.T) {
	for in, want := range map[string]bool{
		"0": true, "1": true, "-1": true, "9223372036854775807": true, "-9223372036854775808": true,
		"9223372036854775808": false, "-0": false, "01": false, "+1": false, " 1": false, "": false,
		"-": false, "1x": false,
	} {
		_, ok := parseInt([]byte(in))
		require.Equal(t, want, ok, in)
	}
	v, _ := parseInt([]byte("-9223372036854775808"))
	require.Equal(t, int64(-1<<63), v)
}
