package store

import "syscall"

// fallocate(2) mode bits (linux/falloc.h).
const (
	fallocKeepSize  = 0x01
	fallocPunchHole = 0x02
)

// punchHole frees the bytes [off, off+n) of f's file, which read as zeros afterwards, keeping
// its size. It needs a file with a descriptor (an *os.File) and a file system that supports
// holes (ext4, xfs, btrfs, tmpfs); elsewhere it returns an error and changes nothing.
func punchHole(f journalFile, off, n int64) error {
	if h, ok := f.(hookedJournal); ok {
		f = h.journalFile // Options.BeforeSync changes fsyncs only
	}
	fd, ok := f.(interface{ Fd() uintptr })
	if !ok || n <= 0 {
		return nil
	}
	return syscall.Fallocate(int(fd.Fd()), fallocPunchHole|fallocKeepSize, off, n)
}
