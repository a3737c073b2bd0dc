package store

// SetBeforeCommit installs f to run on the committer goroutine just before each commit. It must
// be called before the first Update.
func SetBeforeCommit(s *Store, f func()) { s.beforeCommit = f }

// QueueLen reports how many Update functions are queued and not yet taken by the committer.
func QueueLen(s *Store) int { return s.queueLen() }
