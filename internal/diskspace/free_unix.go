//go:build linux || darwin || freebsd

package diskspace

import "syscall"

// Free returns the bytes an unprivileged writer may still use on the file system holding dir.
func Free(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:unconvert // Bsize's type differs by OS
}
