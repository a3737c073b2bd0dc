package tribus_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rulebookDir holds the project's rulebook: a file per model, a "## A1. title" section per
// rule, each with its Source: and Tests: lines.
const rulebookDir = "docs/semantics"

var (
	ruleHeading = regexp.MustCompile(`^## ([AKR][0-9]+)\. \S`)
	// A rule cited anywhere: an ID standing alone, as in "(A51)", "K22's" or TestX_R13_Y.
	ruleCited = regexp.MustCompile(`(?:^|[^A-Za-z0-9./-])([AKR][0-9]{1,3})(?:[^A-Za-z0-9]|_|$)`)
	// A test named on a Tests: line: `TestName` (path/to/file_test.go).
	ruleTest = regexp.MustCompile("`([A-Za-z0-9_]+)` \\(([^)]+)\\)")
)

// rule is a rulebook section: where it is, and the tests it names, by file.
type rule struct {
	where   string
	source  bool
	tests   map[string]string // test name → file
	noTests bool              // "Tests: none"
}

// readRulebook parses every file of the rulebook.
func readRulebook(t *testing.T) map[string]*rule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(rulebookDir, "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the rulebook is missing")
	rules := map[string]*rule{}
	for _, path := range files {
		f, err := os.Open(path)
		require.NoError(t, err)
		var cur *rule
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if m := ruleHeading.FindStringSubmatch(line); m != nil {
				require.NotContains(t, rules, m[1], "%s:%d: %s is in the rulebook twice", path, n, m[1])
				cur = &rule{where: path, tests: map[string]string{}}
				rules[m[1]] = cur
				continue
			}
			switch {
			case cur == nil:
			case strings.HasPrefix(line, "Source: https://"):
				cur.source = true
			case line == "Tests: none":
				cur.noTests = true
			case strings.HasPrefix(line, "Tests: "):
				for _, m := range ruleTest.FindAllStringSubmatch(line, -1) {
					cur.tests[m[1]] = m[2]
				}
			}
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	return rules
}

// The rulebook states every rule a test or a document cites, each with its source and the
// tests that check it (or none, said so), and every test it names exists where it says.
func TestRulebook_EveryCitedRuleIsInTheRulebook(t *testing.T) {
	rules := readRulebook(t)
	for id, r := range rules {
		assert.True(t, r.source, "%s (%s) has no Source: line with a URL", id, r.where)
		assert.True(t, r.noTests || len(r.tests) > 0, "%s (%s) has no Tests: line", id, r.where)
		for name, file := range r.tests {
			src, err := os.ReadFile(file)
			if !assert.NoError(t, err, "%s names %s in %s", id, name, file) {
				continue
			}
			assert.Contains(t, string(src), "func "+name+"(", "%s names %s, which %s does not define", id, name, file)
		}
	}

	// Every ID cited in the project's Go files (test names, comments) and documents.
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || path == rulebookDir) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for n, line := range strings.Split(string(src), "\n") {
			for _, m := range ruleCited.FindAllStringSubmatch(line, -1) {
				if _, ok := rules[m[1]]; !ok {
					t.Errorf("%s:%d cites %s, which the rulebook (%s) does not state", path, n+1, m[1], rulebookDir)
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
}
