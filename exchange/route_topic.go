package exchange

import (
	"slices"
	"strings"
)

// topicTrie holds topic bindings: binding key → set of destinations. D is the destination
// type, because a binding's destination is a queue or, for exchange-to-exchange bindings (A9),
// another exchange.
//
// Matching follows SEMANTICS.md §1.1 (A3) word by word and never builds a regular expression:
// fakes that translated keys to regexes let `*` cross a dot and made `#` require a word (§4).
// The trie makes routing cost depend on the routing key and on the bindings that share its
// prefixes, not on the number of bindings.
//
// Not safe for concurrent use: the owner (an exchange) guards it with a RWMutex. match only
// reads the trie, so any number of matches may run under the read lock.
type topicTrie[D comparable] struct {
	root topicNode[D]
	n    int // number of (binding key, destination) pairs
}

// topicNode is one word position of the trie. Literal words, `*` and `#` are kept apart so
// that one routing word costs a map lookup and two pointer checks, however many bindings there
// are. The trie path of a binding is its exact word list: `#.#` is not collapsed into `#`, so
// a binding is removed by the same key it was added with, and match's memo (see
// [topicMatcher]) keeps repeated `#` words cheap instead.
type topicNode[D comparable] struct {
	words map[string]*topicNode[D] // literal next words; never holds "*" or "#"
	star  *topicNode[D]            // next word is `*`
	hash  *topicNode[D]            // next word is `#`
	// dests are the destinations of the binding keys that end here. A slice, not a map: match
	// ranges over it on every publish, and ranging over a map costs a random seed each time.
	dests []D
}

// newTopicTrie returns an empty trie.
func newTopicTrie[D comparable]() *topicTrie[D] {
	return &topicTrie[D]{}
}

// splitTopicKey splits a binding key into words as RabbitMQ's split_topic_key does: on every
// `.`, keeping empty words, except that "" is zero words rather than one empty word (§1.1).
func splitTopicKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// add records that bindingKey routes to d; it reports false if that pair was already present.
func (t *topicTrie[D]) add(bindingKey string, d D) bool {
	n := &t.root
	for _, w := range splitTopicKey(bindingKey) {
		n = n.childOrNew(w)
	}
	if slices.Contains(n.dests, d) {
		return false
	}
	n.dests = append(n.dests, d)
	t.n++
	return true
}

// remove deletes the pair; it reports whether it was present. Nodes left with no binding and
// no children are pruned, so a trie that had bindings added and removed holds no garbage.
func (t *topicTrie[D]) remove(bindingKey string, d D) bool {
	if !t.root.remove(splitTopicKey(bindingKey), d) {
		return false
	}
	t.n--
	return true
}

// len returns the number of (binding key, destination) pairs.
func (t *topicTrie[D]) len() int { return t.n }

// child returns the node for the next binding word w, or nil.
func (n *topicNode[D]) child(w string) *topicNode[D] {
	switch w {
	case "*":
		return n.star
	case "#":
		return n.hash
	}
	return n.words[w]
}

// childOrNew returns the node for the next binding word w, creating it if needed.
func (n *topicNode[D]) childOrNew(w string) *topicNode[D] {
	if c := n.child(w); c != nil {
		return c
	}
	c := &topicNode[D]{}
	switch w {
	case "*":
		n.star = c
	case "#":
		n.hash = c
	default:
		if n.words == nil {
			n.words = make(map[string]*topicNode[D])
		}
		n.words[w] = c
	}
	return c
}

// unlink drops the child for binding word w.
func (n *topicNode[D]) unlink(w string) {
	switch w {
	case "*":
		n.star = nil
	case "#":
		n.hash = nil
	default:
		delete(n.words, w)
		if len(n.words) == 0 {
			n.words = nil
		}
	}
}

// empty reports whether the node holds no binding and leads to none, so it can be pruned.
func (n *topicNode[D]) empty() bool {
	return len(n.dests) == 0 && len(n.words) == 0 && n.star == nil && n.hash == nil
}

// remove deletes (words, d) below n and prunes the nodes it empties on the way back up.
func (n *topicNode[D]) remove(words []string, d D) bool {
	if len(words) == 0 {
		i := slices.Index(n.dests, d)
		if i < 0 {
			return false
		}
		n.dests = slices.Delete(n.dests, i, i+1)
		if len(n.dests) == 0 {
			n.dests = nil
		}
		return true
	}
	c := n.child(words[0])
	if c == nil || !c.remove(words[1:], d) {
		return false
	}
	if c.empty() {
		n.unlink(words[0])
	}
	return true
}

// match calls visit once for each destination of every binding matching routingKey. A
// destination reachable through several bindings may be visited more than once: the caller
// dedupes (A5). A destination of one binding is visited once, however many ways its `#` words
// can split the routing key.
//
// match does not allocate unless a single routing key reaches more than topicMemoInline
// distinct `#` nodes. It walks the routing key in place instead of splitting it.
func (t *topicTrie[D]) match(routingKey string, visit func(D)) {
	m := topicMatcher[D]{key: routingKey, end: len(routingKey) + 1, visit: visit}
	start := 0
	if routingKey == "" {
		start = m.end // "" is zero words, not one empty word
	}
	m.node(&t.root, start)
}

// topicMemoInline is how many `#` nodes a match remembers without allocating; ordinary keys
// reach a handful at most.
const topicMemoInline = 16

// topicMatcher is the state of one match call, kept on the caller's stack.
//
// A routing position is a byte offset into key: the start of the next word, or end
// (len(key)+1) once every word is consumed. Keeping end one past the last byte tells "no words
// left" apart from "one empty word left", which a key ending in `.` has.
//
// The memo makes `#` polynomial. Entering a `#` node at position p means trying the rest of the
// binding at every position q ≥ p, so entering it again at p' ≥ p can find nothing new. A
// naive walk redoes that work for every way earlier `#` words split the key: exponential in
// the number of `#` words (`#.a.#.a.#.a.#` against `a.a.a.…`). Remembering the lowest position
// each `#` node was explored from bounds the walk by (nodes reached) × (words in the key), and
// also visits each binding's destinations at most once.
type topicMatcher[D comparable] struct {
	key   string
	end   int
	visit func(D)
	seen  [topicMemoInline]topicHashSeen[D]
	nseen int
	spill map[*topicNode[D]]int // memo entries beyond seen, for pathological binding sets
}

// topicHashSeen records that a `#` node was explored from position from onwards.
type topicHashSeen[D comparable] struct {
	node *topicNode[D]
	from int
}

// word returns the routing word starting at pos (pos < m.end) and the position after it.
func (m *topicMatcher[D]) word(pos int) (string, int) {
	rest := m.key[pos:]
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		return rest[:i], pos + i + 1
	}
	return rest, m.end
}

// node matches the routing words from pos onwards against the bindings below n.
func (m *topicMatcher[D]) node(n *topicNode[D], pos int) {
	if pos == m.end {
		for _, d := range n.dests {
			m.visit(d)
		}
	} else {
		w, next := m.word(pos)
		if c := n.words[w]; c != nil {
			m.node(c, next)
		}
		if n.star != nil {
			m.node(n.star, next)
		}
	}
	if n.hash != nil {
		// `#` may match zero words, so it is tried even when the key is used up.
		m.hashNode(n.hash, pos)
	}
}

// hashNode matches against the bindings below the `#` node h, which swallows zero or more
// words starting at pos: the rest of the binding is tried at every later position.
func (m *topicMatcher[D]) hashNode(h *topicNode[D], pos int) {
	stop := m.explore(h, pos)
	for q := pos; q < stop; {
		m.node(h, q)
		if q == m.end {
			break
		}
		_, q = m.word(q)
	}
}

// explore records that h is being explored from pos and returns the position from which it
// had already been explored (m.end+1 if never), so hashNode only tries the positions in
// between. Positions only grow along a key, so one number per node is the whole memo.
func (m *topicMatcher[D]) explore(h *topicNode[D], pos int) int {
	for i := range m.nseen {
		if s := &m.seen[i]; s.node == h {
			stop := s.from
			s.from = min(s.from, pos)
			return stop
		}
	}
	if stop, ok := m.spill[h]; ok {
		m.spill[h] = min(stop, pos)
		return stop
	}
	if m.nseen < len(m.seen) {
		m.seen[m.nseen] = topicHashSeen[D]{node: h, from: pos}
		m.nseen++
	} else {
		if m.spill == nil {
			m.spill = make(map[*topicNode[D]]int)
		}
		m.spill[h] = pos
	}
	return m.end + 1
}
