//go:build !(linux || darwin || freebsd)

package diskspace

import "errors"

// Free is not implemented on this platform; a Guard lets every write through and leaves the
// answer to the file system.
func Free(dir string) (int64, error) { return 0, errors.ErrUnsupported }
