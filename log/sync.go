package log

// syncData makes the segment's .log durable: all an acknowledged produce needs, because the
// index files of the active segment are rebuilt from the .log tail on open (they are synced
// when the segment rolls or closes). It touches only the .log file, so it is safe while
// another goroutine appends.
func (s *segment) syncData() error {
	if s.closed.Load() {
		return errSegmentClosed
	}
	if err := s.log.Sync(); err != nil {
		return s.ioErr(err)
	}
	return nil
}
