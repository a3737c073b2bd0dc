package browser

import (
	"fmt"
	"os/exec"
)

// candidates are the binaries Find tries after /usr/bin/chromium, in order, on PATH.
var candidates = []string{"chromium", "chromium-browser", "google-chrome"}

// Find returns the path of a Chromium binary to pass to [Start]: /usr/bin/chromium (Debian's
// package) if it is executable, else the first of chromium, chromium-browser and google-chrome
// found on PATH. When there is none the error matches [ErrNoBrowser], so that a test can skip.
func Find() (string, error) {
	if path, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return path, nil
	}
	for _, name := range candidates {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: tried /usr/bin/chromium, then %v on PATH", ErrNoBrowser, candidates)
}
