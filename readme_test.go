package tribus_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeFrom marks a README code block as the body of an Example function, which go test
// runs and checks against its output.
var readmeFrom = regexp.MustCompile(`^<!-- from (\w+) in (\S+) -->$`)

// The README's marked examples are Example functions: every line of such a block (of a
// program, the lines of its main) appears, in order, in the function the marker names, so the
// README shows code that compiles and does what its comments say.
func TestREADME_MarkedBlocksAreRunExamples(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	marked := 0
	for i, line := range lines {
		m := readmeFrom.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		marked++
		require.Less(t, i+1, len(lines))
		require.Equal(t, "```go", lines[i+1], "README.md:%d: the marker must precede a go block", i+1)
		var block []string
		for _, l := range lines[i+2:] {
			if l == "```" {
				break
			}
			block = append(block, l)
		}
		if start := indexOf(block, "func main() {"); start >= 0 {
			end := len(block) - 1
			for end > start && block[end] != "}" {
				end--
			}
			block = block[start+1 : end]
		}
		src, err := os.ReadFile(m[2])
		require.NoError(t, err)
		body := functionBody(string(src), m[1])
		require.NotEmpty(t, body, "README.md:%d: %s has no func %s", i+1, m[2], m[1])
		at := 0
		for _, l := range block {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			j := indexOf(body[at:], l)
			if !assert.GreaterOrEqual(t, j, 0, "README.md:%d: %q is not in %s (in order)", i+1, l, m[1]) {
				break
			}
			at += j + 1
		}
	}
	assert.Positive(t, marked, "no README block is marked")
}

// functionBody returns the trimmed lines of func name in src, up to its closing brace.
func functionBody(src, name string) []string {
	start := strings.Index(src, "\nfunc "+name+"(")
	if start < 0 {
		return nil
	}
	rest := src[start+1:]
	if end := strings.Index(rest, "\n}\n"); end >= 0 {
		rest = rest[:end]
	}
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

func indexOf(lines []string, want string) int {
	for i, l := range lines {
		if l == want {
			return i
		}
	}
	return -1
}
