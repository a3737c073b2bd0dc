package log

// WithDiskFree returns o with free disk space read by free instead of statfs, so that tests of
// Options.DiskFreeLimit run on any file system.
func WithDiskFree(o Options, free func(dir string) (int64, error)) *Options {
	o.diskFree = free
	return &o
}
