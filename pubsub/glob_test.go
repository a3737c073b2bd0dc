package pubsub

import (
	"strings"
	"testing"
)

// globCase is one row of the glob edge-case table.
type globCase struct {
	pattern, channel string
	want             bool
}

// globCases is the SEMANTICS.md §3.1 table row by row (one row per channel),
// then the §3.3b refinements, then cases derived from the behaviour of
// Redis's stringmatchlen_impl.
var globCases = []globCase{
	// SEMANTICS.md §3.1 edge-case table (verified on Redis 7.0.15).
	{"*", "", false},
	{"*", "a", true},
	{"?", "", false},
	{"a*", "a", true},
	{"news.*", "news.", true},
	{"news.*", "news", false},
	{"h?llo", "hllo", false},
	{"h[ae]llo", "hello", true},
	{"h[^e]llo", "hello", false},
	{"h[^e]llo", "hallo", true},
	{"h[a-b]llo", "hbllo", true},
	{"h[b-a]llo", "hallo", true},
	{`h\*llo`, "h*llo", true},
	{`h\*llo`, "hello", false},
	{`[\]]`, "]", true},
	{"[]a]", "]", false},
	{"[]a]", "a", false},
	{"a[", "a[", false},
	{"a[b", "ab", true},
	{"A*", "abc", false},
	{`\`, `\`, true},

	// SEMANTICS.md §3.3b: `[^]` is a negated empty set (any one byte), then "a]".
	{"[^]a]", "xa]", true},
	{"[^]a]", "]a]", true},
	{"[^]a]", "a]", false},
	{"[^]a]", "x", false},
	{"[^]a]", "xa", false},
	// §3.3b: `[a-]` is an unclosed set holding the range `]`..`a` (0x5D..0x61).
	{"[a-]", "]", true},
	{"[a-]", "^", true},
	{"[a-]", "_", true},
	{"[a-]", "`", true},
	{"[a-]", "a", true},
	{"[a-]", `\`, false},
	{"[a-]", "b", false},
	{"[a-]", "-", false},
	{"[a-]", "a]", false},
	// §3.3b: the empty pattern matches only "".
	{"", "", true},
	{"", "a", false},

	// Stars: collapse, trailing stars, and never against an empty channel.
	{"**", "", false},
	{"**", "x", true},
	{"a**", "a", true},
	{"a*b", "a", false},
	{"a*b", "ab", true},
	{"a*b", "axxb", true},
	{"a*b", "axxbc", false},
	{"a*b*", "ab", true},
	{"a*b*c", "ab", false},
	{"a*b*c", "abc", true},
	{"a*b*c", "abxc", true},
	{"*a", "a", true},
	{"*a", "ba", true},
	{"*a", "ab", false},
	{"*a*", "a", true},
	{"*a*", "b", false},
	{"a*a", "a", false},
	{"a*a", "aa", true},
	{"*.*.*", "a.b", false},
	{"*.*.*", "a..", true},
	{"*.*.*", "a.b.c", true},
	{"h*llo", "hllo", true},
	{"*?", "", false},
	{"*?", "a", true},
	{"?*", "a", true},
	{`*\*`, "ab*", true},
	{`*\*`, "ab", false},

	// Question marks: exactly one byte.
	{"?", "a", true},
	{"?", "ab", false},
	{"??", "a", false},
	{"a?", "a", false},
	{"a?", "ab", true},

	// Escapes outside a set.
	{`\a`, "a", true},
	{`\\`, `\`, true},
	{`\\`, `\\`, false},
	{`a\`, `a\`, true},
	{`a\`, "a", false},
	{`\?`, "?", true},
	{`\?`, "x", false},
	{`\[`, "[", true},

	// Sets: members, escapes, ranges, negation, `!` is not negation.
	{`[\`, `\`, true},
	{`[\`, "x", false},
	{`[a\-z]`, "-", true},
	{`[a\-z]`, "b", false},
	{"[a-c-e]", "b", true},
	{"[a-c-e]", "-", true},
	{"[a-c-e]", "d", false},
	{"[a-c-e]", "e", true},
	{"[-a]", "-", true},
	{"[-a]", "a", true},
	{"[a-]x", "x", true},
	{"[a-]x", "_", true},
	{"[a-]x", "_x", false},
	{"[]", "]", false},
	{"[]]", "]", false},
	{"[]]", "]]", false},
	{"[^]", "x", true},
	{"[^]", "", false},
	{"[^]", "xy", false},
	{"[^", "x", true},
	{"[", "[", false},
	{"[", "", false},
	{"[abc", "b", true},
	{"[z-a]", "m", true},
	{"[!a]", "b", false},
	{"[!a]", "!", true},
	{"x[0-9]", "x5", true},
	{"x[0-9]", "xa", false},
	{"*[0-9]", "abc7", true},
	{"[^a-c]", "d", true},
	{"[^a-c]", "b", false},
	{"[^a-c]x", "dx", true},

	// Binary and non-UTF-8 bytes; range bounds compare as C signed char, so
	// 0x80..0xFF sort below 0x00.
	{"\x00*", "\x00abc", true},
	{"?", "\xff", true},
	{"?", "é", false},
	{"??", "é", true},
	{"[a-\xff]", "\xff", true},
	{"[a-\xff]", "\x00", true},
	{"[a-\xff]", "a", true},
	{"[a-\xff]", "b", false},
	{"[a-\xff]", "\x80", false},
	{"[\x80-\xff]", "\x90", true},
	{"[\x80-\xff]", "a", false},
	{"[\x7f-\x80]", "a", true},

	// Case-sensitive.
	{"a*", "Abc", false},
}

// TestGlob_R13_EdgeCaseTable checks globMatch against the verified table and
// the cases derived from Redis's matcher.
func TestGlob_R13_EdgeCaseTable(t *testing.T) {
	for _, tc := range globCases {
		if got := globMatch(tc.pattern, tc.channel); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.channel, got, tc.want)
		}
		if got := refGlobMatch(tc.pattern, tc.channel); got != tc.want {
			t.Errorf("refGlobMatch(%q, %q) = %v, want %v (reference model is wrong)",
				tc.pattern, tc.channel, got, tc.want)
		}
	}
	// Reference: SEMANTICS.md §3.1 and §3.3b, redis util.c stringmatchlen
}

// TestGlob_R13_NestingLimit checks Redis's cap of 1000 recursing stars: the
// 1001st star group fails unless it is the pattern's last token.
func TestGlob_R13_NestingLimit(t *testing.T) {
	cases := []globCase{
		{strings.Repeat("*a", 1000), strings.Repeat("a", 1000), true},
		{strings.Repeat("*a", 1001), strings.Repeat("a", 1001), false},
		{strings.Repeat("*a", 1001) + "*", strings.Repeat("a", 1002), false},
		{strings.Repeat("a*", 1001), strings.Repeat("a", 1001), true},
		{strings.Repeat("a*", 1001), strings.Repeat("a", 1002), true},
	}
	for _, tc := range cases {
		if got := globMatch(tc.pattern, tc.channel); got != tc.want {
			t.Errorf("globMatch(len %d, len %d) = %v, want %v", len(tc.pattern), len(tc.channel), got, tc.want)
		}
		if got := refGlobMatch(tc.pattern, tc.channel); got != tc.want {
			t.Errorf("refGlobMatch(len %d, len %d) = %v, want %v", len(tc.pattern), len(tc.channel), got, tc.want)
		}
	}
	// Reference: redis util.c stringmatchlen_impl ("nesting > 1000")
}

// TestGlob_R13_PathologicalPatternsFinish runs patterns that take exponential
// time without Redis's skipLongerMatches pruning. A regression shows up as a
// test timeout, not as a flaky timing assertion.
func TestGlob_R13_PathologicalPatternsFinish(t *testing.T) {
	long := strings.Repeat("a", 5000)
	cases := []globCase{
		{strings.Repeat("*a", 50) + "b", long, false},
		{strings.Repeat("*a", 50), long, true},
		{strings.Repeat("*?", 200) + "b", long, false},
		{strings.Repeat("a*", 500) + "b", long, false},
		{strings.Repeat("*[a-z]", 300) + "[^a]", long, false},
		{strings.Repeat("*a", 3000) + "b", long, false},
	}
	for _, tc := range cases {
		if got := globMatch(tc.pattern, tc.channel); got != tc.want {
			t.Errorf("globMatch(%.20q..., len %d) = %v, want %v", tc.pattern, len(tc.channel), got, tc.want)
		}
	}
}

// TestGlob_ZeroAllocs guards the hot path: PUBLISH runs globMatch once per
// subscribed pattern.
func TestGlob_ZeroAllocs(t *testing.T) {
	adversarial := strings.Repeat("*a", 5) + "b"
	var sink bool
	allocs := testing.AllocsPerRun(100, func() {
		sink = globMatch("*.[a-z]*.err?r", "svc.api.error")
		sink = sink != globMatch(adversarial, "aaaaaaaaaaaaaaaaaaaa")
	})
	_ = sink
	if allocs != 0 {
		t.Errorf("globMatch allocated %v times per run, want 0", allocs)
	}
}

// TestGlob_LiteralPrefix checks that the prefix stops at the first special byte.
func TestGlob_LiteralPrefix(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{"", ""},
		{"news", "news"},
		{"news.*", "news."},
		{"h?llo", "h"},
		{"h[ae]llo", "h"},
		{`h\*llo`, "h"},
		{"*abc", ""},
		{"a]b", "a]b"},
		{"a^-b", "a^-b"},
	}
	for _, tc := range cases {
		if got := literalPrefix(tc.pattern); got != tc.want {
			t.Errorf("literalPrefix(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// FuzzGlob_R13_MatchesReference compares globMatch with refGlobMatch, a
// dynamic-programming model built on a token list, and checks the
// literalPrefix property. The seed corpus lives in testdata/fuzz too.
func FuzzGlob_R13_MatchesReference(f *testing.F) {
	for _, tc := range globCases {
		f.Add(tc.pattern, tc.channel)
	}
	f.Fuzz(func(t *testing.T, pattern, channel string) {
		got := globMatch(pattern, channel)
		if got && !strings.HasPrefix(channel, literalPrefix(pattern)) {
			t.Fatalf("globMatch(%q, %q) matched without literal prefix %q", pattern, channel, literalPrefix(pattern))
		}
		// The model is O(len(pattern)*len(channel)) in time and memory.
		if len(pattern)*len(channel) > 1<<22 {
			t.Skip("too large for the reference model")
		}
		if want := refGlobMatch(pattern, channel); got != want {
			t.Fatalf("globMatch(%q, %q) = %v, reference says %v", pattern, channel, got, want)
		}
	})
	// Reference: SEMANTICS.md §3.1, redis util.c stringmatchlen
}

// refToken is one unit of a parsed pattern for the reference model: a star
// run, or a token consuming exactly one byte from the accept set.
type refToken struct {
	star   bool
	accept [256]bool
}

// refParse splits a pattern into tokens. How far each token reaches depends
// only on the pattern, which is what lets the model parse ahead of matching.
func refParse(p string) []refToken {
	var toks []refToken
	for i := 0; i < len(p); {
		var t refToken
		switch {
		case p[i] == '*':
			for i < len(p) && p[i] == '*' {
				i++
			}
			t.star = true
		case p[i] == '?':
			for b := range t.accept {
				t.accept[b] = true
			}
			i++
		case p[i] == '\\' && i+1 < len(p):
			t.accept[p[i+1]] = true
			i += 2
		case p[i] == '[':
			i = refParseSet(p, i+1, &t.accept)
		default:
			t.accept[p[i]] = true
			i++
		}
		toks = append(toks, t)
	}
	return toks
}

// refParseSet fills acc for the set body starting at p[j] and returns the
// index after the set.
func refParseSet(p string, j int, acc *[256]bool) int {
	negate := j < len(p) && p[j] == '^'
	if negate {
		j++
	}
	// signedKey maps a byte to its C signed-char order as an unsigned key.
	signedKey := func(b byte) byte { return b ^ 0x80 }
	end := len(p)
scan:
	for j < len(p) {
		switch {
		case p[j] == '\\' && j+1 < len(p):
			acc[p[j+1]] = true
			j += 2
		case p[j] == ']':
			end = j + 1
			break scan
		case j+2 < len(p) && p[j+1] == '-':
			lo, hi := signedKey(p[j]), signedKey(p[j+2])
			lo, hi = min(lo, hi), max(lo, hi)
			for b := 0; b < 256; b++ {
				if k := signedKey(byte(b)); k >= lo && k <= hi {
					acc[b] = true
				}
			}
			j += 3
		default:
			acc[p[j]] = true
			j++
		}
	}
	if negate {
		for b := range acc {
			acc[b] = !acc[b]
		}
	}
	return end
}

// refGlobMatch is the reference model: a bottom-up table where
// m[i][k] says whether tokens i.. match channel bytes k.. under Redis's rules:
// a star is only tried against a non-empty rest of the channel, trailing
// stars are dropped only right after the byte that empties the channel, and
// the 1001st star group fails unless it ends the pattern.
func refGlobMatch(pattern, s string) bool {
	toks := refParse(pattern)
	n, l := len(toks), len(s)
	starNo := make([]int, n) // 1-based index of each star group
	stars := 0
	for i, t := range toks {
		if t.star {
			stars++
			starNo[i] = stars
		}
	}
	// onlyStarsFrom[i] reports whether tokens i.. are all stars.
	onlyStarsFrom := make([]bool, n+1)
	onlyStarsFrom[n] = true
	for i := n - 1; i >= 0; i-- {
		onlyStarsFrom[i] = toks[i].star && onlyStarsFrom[i+1]
	}
	m := make([][]bool, n+1)
	for i := range m {
		m[i] = make([]bool, l+1)
	}
	m[n][l] = true
	for i := n - 1; i >= 0; i-- {
		t := toks[i]
		// anyFrom is OR over k' in [k, l) of m[i+1][k'], built right to left.
		anyFrom := false
		for k := l - 1; k >= 0; k-- {
			anyFrom = anyFrom || m[i+1][k]
			switch {
			case t.star && i == n-1:
				m[i][k] = true
			case t.star:
				m[i][k] = starNo[i] <= maxGlobNesting && anyFrom
			case k == l-1:
				m[i][k] = t.accept[s[k]] && onlyStarsFrom[i+1]
			default:
				m[i][k] = t.accept[s[k]] && m[i+1][k+1]
			}
		}
	}
	return m[0][0]
}

// BenchmarkGlobMatch covers the shapes PUBLISH sees most: a prefix star, a
// set, several stars, and an adversarial pattern that pruning keeps linear.
func BenchmarkGlobMatch(b *testing.B) {
	cases := []struct{ name, pattern, channel string }{
		{"prefix-star", "news.*", "news.sports.football"},
		{"set", "h[ae]llo", "hello"},
		{"multi-star", "*.*.error", "svc.api.error"},
		{"no-match", "a*b*c*d*e", strings.Repeat("abcd", 16)},
		{"adversarial", strings.Repeat("*a", 10) + "b", strings.Repeat("a", 256)},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				globMatch(bc.pattern, bc.channel)
			}
		})
	}
}
