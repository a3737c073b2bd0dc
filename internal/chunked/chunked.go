// Package chunked is a test reader for the wire parsers: it hands its bytes out at most n at
// a time, so a request or frame arrives in pieces the way it may over a socket. It has no
// goroutines or locks; a Reader belongs to one goroutine.
package chunked

import "io"

// Reader returns at most N bytes of Data per Read, then io.EOF once Data is used up.
type Reader struct {
	Data []byte
	N    int // at least 1
}

// NewReader returns a Reader of data in pieces of at most n bytes (n below 1 counts as 1).
func NewReader(data []byte, n int) *Reader {
	return &Reader{Data: data, N: max(n, 1)}
}

// Read copies the next piece of at most N bytes into p.
func (r *Reader) Read(p []byte) (int, error) {
	if len(r.Data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), max(r.N, 1), len(r.Data))
	copy(p, r.Data[:k])
	r.Data = r.Data[k:]
	return k, nil
}
