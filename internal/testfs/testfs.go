// Package testfs gives tests a small, size-limited file system to fill: a tmpfs mounted on a
// temporary directory. It is for tests only; it has no state and starts no goroutine.
package testfs

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of the given size (mount's syntax, e.g. "2m") on a new temporary
// directory, unmounts it when the test ends, and returns the directory. It skips the test when
// the mount is not possible (not root, or no permission to mount).
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	return dir
}
