package pubsub

// This file ports the behaviour of Redis's glob matcher (stringmatchlen_impl in
// src/util.c, case-sensitive mode, Redis 7.x), which PSUBSCRIBE, PUBLISH and
// PUBSUB CHANNELS use. Fakes that reach for path.Match, fnmatch or a regexp get
// the quirks wrong (SEMANTICS.md §4), so every quirk below is deliberate:
//
//   - The outer loop only runs while both the pattern and the channel have
//     bytes left. A `*` is therefore never tried against an empty channel:
//     `*` does not match "", yet `a*` matches "a" because trailing stars are
//     skipped right after the byte that empties the channel.
//   - `[` with no closing `]` takes the rest of the pattern as the set, and a
//     `]` straight after `[` or `[^` closes an empty set at once.
//   - Range bounds compare as C's signed char (x86-64, the platform Redis is
//     overwhelmingly built for), so bytes >= 0x80 sort below 0x00.
//   - More than maxGlobNesting nested stars make the match fail.

// maxGlobNesting is Redis's cap on star recursion depth ("protection against
// abusive patterns"). A pattern whose 1001st star group is not its last token
// can never match, exactly as in Redis, and the Go stack stays shallow.
const maxGlobNesting = 1000

// globResult is the outcome of matching a pattern suffix against a channel
// suffix. It replaces Redis's skipLongerMatches out-parameter.
type globResult uint8

const (
	// globNoMatch means this attempt failed but a caller's star may still try
	// a different split.
	globNoMatch globResult = iota
	// globMatched means the whole remaining pattern matched.
	globMatched
	// globAbort means some star tried every start position in the rest of the
	// channel and failed. Letting an earlier star swallow more bytes would
	// only start that star's attempts later, so every caller gives up too.
	// This keeps adversarial patterns such as "*a*a*a...b" polynomial.
	globAbort
)

// globMatch reports whether channel s matches the Redis glob pattern. It
// compares bytes, not runes, never panics, does not allocate, and is safe for
// concurrent use.
func globMatch(pattern, s string) bool {
	return globMatchFrom(pattern, s, 0) == globMatched
}

// globMatchFrom matches pattern against s. depth counts the stars that
// recursed to get here, mirroring Redis's nesting counter.
func globMatchFrom(p, s string, depth int) globResult {
	if depth > maxGlobNesting {
		return globNoMatch
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return globMatched // a trailing star takes the non-empty rest
			}
			// Only non-empty suffixes are tried: that is what makes "a*b"
			// fail on "a" and keeps `*` from ever matching "".
			for ; len(s) > 0; s = s[1:] {
				if r := globMatchFrom(p[1:], s, depth+1); r != globNoMatch {
					return r
				}
			}
			return globAbort
		case '?':
			p = p[1:]
		case '[':
			var ok bool
			ok, p = globMatchSet(p[1:], s[0])
			if !ok {
				return globNoMatch
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:] // escaped byte; a lone trailing `\` matches `\`
			}
			fallthrough
		default:
			if p[0] != s[0] {
				return globNoMatch
			}
			p = p[1:]
		}
		s = s[1:]
		if len(s) == 0 {
			// Redis skips stars here, and only here: a star reached with the
			// channel already empty (as in `*` vs "") is never skipped.
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
		}
	}
	if len(p) == 0 && len(s) == 0 {
		return globMatched
	}
	return globNoMatch
}

// globMatchSet matches byte c against the set whose body starts at p (just
// after the `[`). It returns whether c is accepted and the pattern after the
// set. The set's extent depends only on the pattern, never on c.
func globMatchSet(p string, c byte) (bool, string) {
	negate := len(p) > 0 && p[0] == '^'
	if negate {
		p = p[1:]
	}
	hit := false
	for {
		switch {
		case len(p) == 0:
			// Unclosed: Redis treats the rest of the pattern as the set.
			return hit != negate, p
		case p[0] == '\\' && len(p) >= 2:
			hit = hit || p[1] == c
			p = p[2:]
		case p[0] == ']':
			// Checked before ranges and before adding any member, so `[]a]`
			// is an empty set followed by "a]", and `[^]` matches any byte.
			return hit != negate, p[1:]
		case len(p) >= 3 && p[1] == '-':
			// Redis widens signed chars to int; reversed bounds are swapped.
			lo, hi, b := int8(p[0]), int8(p[2]), int8(c)
			if lo > hi {
				lo, hi = hi, lo
			}
			hit = hit || (b >= lo && b <= hi)
			p = p[3:]
		default:
			hit = hit || p[0] == c
			p = p[1:]
		}
	}
}

// literalPrefix returns the longest prefix of pattern free of `*`, `?`, `[`
// and `\`. Those bytes match themselves only, so a channel that lacks the
// prefix cannot match and a caller can reject it without running globMatch.
func literalPrefix(pattern string) string {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*', '?', '[', '\\':
			return pattern[:i]
		}
	}
	return pattern
}

// Match reports whether s matches the Redis glob pattern (SEMANTICS.md §3.1), as PSUBSCRIBE
// and PUBSUB CHANNELS match: byte-wise and case-sensitive.
func Match(pattern, s string) bool { return globMatch(pattern, s) }
