package exchange

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// topicTableKeys are the routing keys published in the §1.1 edge-case table, in table order.
var topicTableKeys = []string{"", "a", "a.b", "a.x.b", "a.x.y.b", "a..b", ".a", "a.", "a.b.c", "b", ".", "ab"}

// topicTable is the §1.1 edge-case table: binding key → routing keys it matched on RabbitMQ.
var topicTable = []struct {
	binding string
	matched []string
}{
	{"#", topicTableKeys},
	{"#.#", topicTableKeys},
	{"", []string{""}},
	{"*", []string{"a", "b", "ab"}},
	{"*.*", []string{"a.b", ".a", "a.", "."}},
	{"a.#", []string{"a", "a.b", "a.x.b", "a.x.y.b", "a..b", "a.", "a.b.c"}},
	{"a.*", []string{"a.b", "a."}},
	{"a.#.b", []string{"a.b", "a.x.b", "a.x.y.b", "a..b"}},
	{"a.#.#.b", []string{"a.b", "a.x.b", "a.x.y.b", "a..b"}},
	{"#.b", []string{"a.b", "a.x.b", "a.x.y.b", "a..b", "b"}},
	{"*.b", []string{"a.b"}},
	{"#.a.#", []string{"a", "a.b", "a.x.b", "a.x.y.b", "a..b", ".a", "a.", "a.b.c"}},
	{"a.*.#", []string{"a.b", "a.x.b", "a.x.y.b", "a..b", "a.", "a.b.c"}},
	{"a.*.*", []string{"a.x.b", "a..b", "a.b.c"}},
	{"a..b", []string{"a..b"}},
}

// refSplit splits a key into words as §1.1 states it, written independently of splitTopicKey.
func refSplit(key string) []string {
	if key == "" {
		return []string{}
	}
	words := []string{}
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			words = append(words, key[start:i])
			start = i + 1
		}
	}
	return append(words, key[start:])
}

// refTopicMatch is the §1.1 recursive definition, clause by clause. P and W are always
// suffixes of the full word lists, so their lengths identify a call; the memo only keeps long
// fuzz inputs with many `#` words from taking exponential time.
func refTopicMatch(binding, routing string) bool {
	memo := map[[2]int]bool{}
	var match func(p, w []string) bool
	match = func(p, w []string) bool {
		k := [2]int{len(p), len(w)}
		if r, ok := memo[k]; ok {
			return r
		}
		var r bool
		switch {
		case len(p) == 0 && len(w) == 0:
			r = true
		case len(p) > 0 && p[0] == "#":
			r = match(p[1:], w) || (len(w) > 0 && match(p, w[1:]))
		case len(p) > 0 && p[0] == "*" && len(w) > 0:
			r = match(p[1:], w[1:])
		case len(p) > 0 && len(w) > 0:
			r = p[0] == w[0] && match(p[1:], w[1:])
		}
		memo[k] = r
		return r
	}
	return match(refSplit(binding), refSplit(routing))
}

// topicVisits returns how many times match visited each destination for routingKey.
func topicVisits[D comparable](t *topicTrie[D], routingKey string) map[D]int {
	got := map[D]int{}
	t.match(routingKey, func(d D) { got[d]++ })
	return got
}

// topicMatches reports whether a trie holding only binding→0 routes routingKey.
func topicMatches(binding, routingKey string) bool {
	tr := newTopicTrie[int]()
	tr.add(binding, 0)
	return topicVisits(tr, routingKey)[0] > 0
}

func TestTopic_A3_EdgeCaseTable(t *testing.T) {
	for _, tc := range topicTable {
		t.Run(fmt.Sprintf("%q", tc.binding), func(t *testing.T) {
			var got, ref []string
			for _, k := range topicTableKeys {
				if topicMatches(tc.binding, k) {
					got = append(got, k)
				}
				if refTopicMatch(tc.binding, k) {
					ref = append(ref, k)
				}
			}
			assert.Equal(t, tc.matched, got, "trie")
			assert.Equal(t, tc.matched, ref, "reference")
		})
	}
	// All bindings in one trie, one destination each: shared nodes must not change the result.
	tr := newTopicTrie[int]()
	for i, tc := range topicTable {
		require.True(t, tr.add(tc.binding, i))
	}
	for _, k := range topicTableKeys {
		got := topicVisits(tr, k)
		for i, tc := range topicTable {
			want := 0
			if slices.Contains(tc.matched, k) {
				want = 1
			}
			assert.Equal(t, want, got[i], "binding %q, routing key %q", tc.binding, k)
		}
	}
	// Reference: SEMANTICS.md §1.1 (verified on RabbitMQ 3.10.8), rabbit_db_topic_exchange split_topic_key
}

func TestTopic_A3_Split(t *testing.T) {
	for key, want := range map[string][]string{
		"": {}, "a": {"a"}, "a.": {"a", ""}, ".a": {"", "a"}, "a..b": {"a", "", "b"}, ".": {"", ""},
	} {
		assert.Equal(t, want, refSplit(key), "refSplit(%q)", key)
		assert.Equal(t, want, append([]string{}, splitTopicKey(key)...), "splitTopicKey(%q)", key)
		// match walks the key without splitting it: it must count the same words.
		stars := func(n int) string { return strings.TrimSuffix(strings.Repeat("*.", n), ".") }
		assert.True(t, topicMatches(stars(len(want)), key), "%d words in %q", len(want), key)
		assert.False(t, topicMatches(stars(len(want)+1), key), "%d words in %q", len(want)+1, key)
		if len(want) > 0 {
			assert.False(t, topicMatches(stars(len(want)-1), key), "%d words in %q", len(want)-1, key)
		}
	}
	// Reference: SEMANTICS.md §1.1 Splitting, rabbit_db_topic_exchange split_topic_key
}

func TestTopic_A3_HashMatchesZeroWords(t *testing.T) {
	assert.True(t, topicMatches("a.*.c.#", "a.b.c"))
	assert.True(t, topicMatches("#", ""))
	assert.True(t, topicMatches("a.#", "a"))
	assert.True(t, topicMatches("#.a", "a"))
	// Reference: SEMANTICS.md §4 (lavinmq#1607, rabbitmq-mock#138)
}

func TestTopic_A3_StarDoesNotCrossDot(t *testing.T) {
	assert.False(t, topicMatches("a.*.c", "a.b.x.c"))
	assert.False(t, topicMatches("a.*", "a.b.c"))
	assert.False(t, topicMatches("*", ""), "* needs exactly one word and \"\" has none")
	assert.True(t, topicMatches("a.*", "a."), "* matches the empty word")
	assert.True(t, topicMatches("a.*.c", "a..c"))
	// Reference: SEMANTICS.md §4 (kombu#2568, lavinmq#1299)
}

func TestTopic_A3_HashBetweenMatchesAdjacent(t *testing.T) {
	assert.True(t, topicMatches("a.#.b", "a.b"))
	assert.True(t, topicMatches("a.#.b", "a..b"), "the middle word is empty, not absent")
	assert.False(t, topicMatches("a.#.b", "a.b.c"))
	// Reference: SEMANTICS.md §4 (rabbitmq-server#1383)
}

func TestTopic_A3_EmptyBindingMatchesOnlyEmptyKey(t *testing.T) {
	for _, k := range topicTableKeys {
		assert.Equal(t, k == "", topicMatches("", k), "routing key %q", k)
	}
	// Reference: SEMANTICS.md §4 (beehive-server#84)
}

func TestTopic_A3_WildcardsOnlyAsWholeWords(t *testing.T) {
	for _, tc := range []struct {
		binding, key string
		want         bool
	}{
		{"a*", "a*", true}, {"a*", "ab", false}, {"a*", "a", false},
		{"#a", "#a", true}, {"#a", "a", false}, {"#a", "ba", false},
		{"a#b", "a#b", true}, {"a#b", "ab", false}, {"a#b", "a.x.b", false},
		{"x.a*.y", "x.a*.y", true}, {"x.a*.y", "x.ab.y", false},
		{"*", "*", true}, {"#", "#", true}, // a wildcard word in a routing key is just a word
		{"A.b", "a.b", false}, // literal words are case-sensitive
	} {
		assert.Equal(t, tc.want, topicMatches(tc.binding, tc.key), "binding %q, key %q", tc.binding, tc.key)
	}
	// Reference: SEMANTICS.md §1.1
}

func TestTopicTrie_AddRemove(t *testing.T) {
	tr := newTopicTrie[string]()
	assert.True(t, tr.add("a.*", "q1"))
	assert.False(t, tr.add("a.*", "q1"), "same pair twice")
	assert.True(t, tr.add("a.*", "q2"), "same key, other destination")
	assert.True(t, tr.add("a.#", "q1"), "other key, same destination")
	assert.True(t, tr.add("a.#.#", "q1"), "#.# is a distinct binding key")
	assert.Equal(t, 4, tr.len())

	assert.Equal(t, map[string]int{"q1": 3, "q2": 1}, topicVisits(tr, "a.b"),
		"q1 is reached through three bindings; deduping is the caller's job")

	assert.False(t, tr.remove("a.*", "q3"), "absent destination")
	assert.False(t, tr.remove("a.b", "q1"), "absent key")
	assert.False(t, tr.remove("a", "q1"), "prefix of a binding key")
	assert.False(t, tr.remove("a.#.#.#", "q1"), "longer than any binding")
	assert.Equal(t, 4, tr.len())

	assert.True(t, tr.remove("a.#.#", "q1"))
	assert.False(t, tr.remove("a.#.#", "q1"), "already removed")
	assert.Equal(t, map[string]int{"q1": 2, "q2": 1}, topicVisits(tr, "a.b"))
	assert.True(t, tr.remove("a.*", "q1"))
	assert.Equal(t, map[string]int{"q1": 1, "q2": 1}, topicVisits(tr, "a.b"))
	assert.Equal(t, map[string]int{"q1": 1}, topicVisits(tr, "a"))
	assert.True(t, tr.remove("a.#", "q1"))
	assert.True(t, tr.remove("a.*", "q2"))
	assert.Equal(t, 0, tr.len())
	assert.Empty(t, topicVisits(tr, "a.b"))
	assert.True(t, tr.root.empty(), "removing every binding prunes every node")
}

func TestTopicTrie_Prune(t *testing.T) {
	tr := newTopicTrie[int]()
	tr.add("a.b.c", 1)
	tr.add("a.b", 2)
	tr.add("a.*.#", 3)
	tr.add("", 4)

	require.True(t, tr.remove("a.b.c", 1))
	b := tr.root.words["a"].words["b"]
	require.NotNil(t, b, "a.b still has a binding")
	assert.Nil(t, b.words, "the c node is pruned")

	require.True(t, tr.remove("a.*.#", 3))
	assert.Nil(t, tr.root.words["a"].star, "the *.# chain is pruned")

	require.True(t, tr.remove("a.b", 2))
	assert.Nil(t, tr.root.words, "the a chain is pruned")
	assert.Equal(t, map[int]int{4: 1}, topicVisits(tr, ""), "the root keeps the \"\" binding")
	require.True(t, tr.remove("", 4))
	assert.True(t, tr.root.empty())
}

func TestTopic_A3_RepeatedHashesStayPolynomial(t *testing.T) {
	words30 := strings.Repeat("w.", 29) + "w"
	a40 := strings.Repeat("a.", 39) + "a"
	for _, tc := range []struct{ binding, key string }{
		{"#.#.#.#.#.#.#.#", words30},
		{"#.a.#.a.#.a.#.a.#.a.#.a.#.a.#", a40},
		{"#.*.#.*.#.*.#.*.#.*.#.*.#", a40},
		// 40 distinct # nodes: more than the inline memo holds, so the spill map is used.
		{strings.Repeat("#.", 39) + "#", words30},
		{strings.Repeat("#.w.", 20) + "#", words30},
	} {
		tr := newTopicTrie[int]()
		tr.add(tc.binding, 7)
		assert.Equal(t, map[int]int{7: 1}, topicVisits(tr, tc.key), "binding %q", tc.binding)
		assert.True(t, refTopicMatch(tc.binding, tc.key))
	}
	// Reference: SEMANTICS.md §1.1 (`#` = zero or more words)
}

func TestTopicTrie_MatchDoesNotAllocate(t *testing.T) {
	tr := benchTopicTrie()
	var n int
	visit := func(int) { n++ }
	for _, key := range benchTopicKeys {
		allocs := testing.AllocsPerRun(100, func() { tr.match(key, visit) })
		assert.Zero(t, allocs, "routing key %q", key)
	}
	assert.Positive(t, n)
}

// allStrings returns every string of up to maxLen bytes over alphabet, shortest first.
func allStrings(alphabet string, maxLen int) []string {
	out := []string{""}
	for prev := out; maxLen > 0; maxLen-- {
		var next []string
		for _, s := range prev {
			for _, c := range []byte(alphabet) {
				next = append(next, s+string(c))
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

func TestTopic_A3_ExhaustiveShortKeys(t *testing.T) {
	// Every binding key of up to 5 bytes over {a b . * #} lives in one trie, sharing nodes, and
	// every routing key of up to 5 bytes over {a b . *} must reach exactly the bindings the
	// reference says, each once.
	bindings := allStrings("ab.*#", 5)
	keys := allStrings("ab.*", 5)
	if testing.Short() {
		bindings, keys = allStrings("ab.*#", 3), allStrings("ab.*", 4)
	}
	tr := newTopicTrie[int]()
	for i, b := range bindings {
		require.True(t, tr.add(b, i))
	}
	for _, k := range keys {
		got := topicVisits(tr, k)
		for i, b := range bindings {
			want := 0
			if refTopicMatch(b, k) {
				want = 1
			}
			if got[i] != want {
				t.Fatalf("binding %q, routing key %q: visited %d times, want %d", b, k, got[i], want)
			}
		}
	}
	// Reference: SEMANTICS.md §1.1
}

// FuzzTopic_A3_MatchesReference checks the trie against refTopicMatch. bindingKey is also read
// as several bindings separated by "|", to exercise shared nodes and removal. Seeds: the §1.1
// table here, and testdata/fuzz/FuzzTopic_A3_MatchesReference (the table's bindings in one
// trie, the §4 fake bugs, repeated `#`).
func FuzzTopic_A3_MatchesReference(f *testing.F) {
	for _, tc := range topicTable {
		for _, k := range topicTableKeys {
			f.Add(tc.binding, k)
		}
	}
	f.Fuzz(func(t *testing.T, bindingKey, routingKey string) {
		if len(bindingKey) > 512 || len(routingKey) > 512 {
			t.Skip("long keys add nothing but time")
		}
		want := refTopicMatch(bindingKey, routingKey)
		if got := topicMatches(bindingKey, routingKey); got != want {
			t.Fatalf("binding %q, routing key %q: trie %v, reference %v", bindingKey, routingKey, got, want)
		}

		// Several bindings ("|" separates them) share nodes; destination i belongs to binding i
		// and destination -1 to all of them.
		keys := strings.Split(bindingKey, "|")
		tr := newTopicTrie[int]()
		for i, k := range keys {
			if !tr.add(k, i) {
				t.Fatalf("add(%q, %d) reported a duplicate", k, i)
			}
			tr.add(k, -1)
		}
		check := func(live func(i int) bool) {
			t.Helper()
			got := topicVisits(tr, routingKey)
			anyMatch := false // destination -1 stays bound to every key
			for i, k := range keys {
				matched := refTopicMatch(k, routingKey)
				anyMatch = anyMatch || matched
				want := 0
				if live(i) && matched {
					want = 1
				}
				if got[i] != want {
					t.Fatalf("bindings %q, routing key %q: destination %d (%q) visited %d times, want %d",
						keys, routingKey, i, k, got[i], want)
				}
			}
			if anyMatch != (got[-1] > 0) {
				t.Fatalf("bindings %q, routing key %q: shared destination visited %d times", keys, routingKey, got[-1])
			}
		}
		check(func(int) bool { return true })

		// Removing the odd bindings must leave the even ones routing exactly as before.
		for i := 1; i < len(keys); i += 2 {
			if !tr.remove(keys[i], i) {
				t.Fatalf("remove(%q, %d) = false", keys[i], i)
			}
		}
		check(func(i int) bool { return i%2 == 0 })

		for i, k := range keys {
			tr.remove(k, i)
			tr.remove(k, -1)
		}
		if tr.len() != 0 || !tr.root.empty() {
			t.Fatalf("bindings %q: after removing all, len %d, root empty %v", keys, tr.len(), tr.root.empty())
		}
	})
}

// benchTopicKeys are routing keys for the 10,000-binding benchmark: hits on literal, `*` and
// `#` bindings, a miss, and a long key.
var benchTopicKeys = []string{
	"orders.us-7.created",
	"payments.eu-42.refunded",
	"orders.ap-5.cancelled.error",
	"unknown.service.event",
	"audit.log.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20",
	"",
}

// benchTopicTrie builds a trie of exactly 10,000 bindings of the shapes applications use.
func benchTopicTrie() *topicTrie[int] {
	services := []string{"orders", "payments", "inventory"}
	types := []string{"created", "updated", "cancelled", "refunded", "shipped"}
	regions := func(i int) string { return fmt.Sprintf("%s-%d", []string{"eu", "us", "ap"}[i%3], i) }
	tr := newTopicTrie[int]()
	q := 0
	add := func(key string) { tr.add(key, q%500); q++ }
	for _, s := range services {
		add(s + ".#")
		for _, ty := range types {
			add(s + ".*." + ty)
			add("#." + s + "." + ty)
		}
		for r := range 500 {
			add(s + "." + regions(r) + ".#")
			for _, ty := range types {
				add(s + "." + regions(r) + "." + ty)
			}
		}
	}
	add("#.error")
	add("*.*.*.error")
	add("audit.#")
	for i := 0; tr.len() < 10000; i++ {
		add(fmt.Sprintf("tenant-%d.*.events.#", i))
	}
	return tr
}

func BenchmarkTopicMatch(b *testing.B) {
	tr := benchTopicTrie()
	if tr.len() != 10000 {
		b.Fatalf("len = %d", tr.len())
	}
	var n int
	visit := func(int) { n++ }
	for _, key := range benchTopicKeys {
		b.Run(fmt.Sprintf("%.24q", key), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr.match(key, visit)
			}
		})
	}
	b.Run("hash-heavy", func(b *testing.B) {
		tr := newTopicTrie[int]()
		tr.add("#.#.#.#.#.#.#.#", 1)
		tr.add("#.a.#.a.#.a.#", 2)
		key := strings.Repeat("a.", 29) + "a"
		b.ReportAllocs()
		for b.Loop() {
			tr.match(key, visit)
		}
	})
}
