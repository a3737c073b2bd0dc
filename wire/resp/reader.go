package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// Redis's request limits (networking.c and redis.conf defaults).
const (
	// DefaultMaxBulkLen is proto-max-bulk-len: the longest bulk string a request may carry.
	DefaultMaxBulkLen = 512 << 20
	// MaxInlineLen is PROTO_INLINE_MAX_SIZE: the longest inline command line, and the longest
	// a multibulk or bulk length line may grow before it is refused.
	MaxInlineLen = 64 << 10
	// MaxMultiBulkLen is the most arguments one request may have (INT_MAX, as in Redis 7).
	MaxMultiBulkLen = math.MaxInt32

	// Before AUTH succeeds on a server with a password, Redis refuses requests with more than
	// 10 arguments or a bulk longer than 16 KiB, so an unauthenticated client cannot make it
	// allocate much.
	unauthMaxArgs = 10
	unauthMaxBulk = 16 << 10

	minReadBuf = 4 << 10  // a connection's read buffer to start with and to shrink back to
	maxReadBuf = 64 << 10 // the most a busy connection's read buffer grows to between requests
)

// ProtocolError is a request the server cannot parse. Redis replies "-ERR Protocol error:
// <Reason>" and closes the connection after writing it; so does this package.
type ProtocolError struct {
	Reason string // Redis's wording, such as "invalid bulk length"
}

// Error returns the text Redis puts after "-ERR ": "Protocol error: " and the reason.
func (e *ProtocolError) Error() string { return "Protocol error: " + e.Reason }

// Is makes errors.Is(err, ErrProtocol) hold for every *ProtocolError.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// reader parses requests from a connection: multibulk arrays of bulk strings, as clients
// send them, and inline commands, as telnet and redis-cli's inline mode send them. It owns its
// buffer; the arguments it returns alias it and are valid until the next call to next.
type reader struct {
	rd      io.Reader
	buf     []byte // buf[r:w] is read and not yet parsed
	r, w    int
	size    int // the size the buffer should have when next emptied or grown; see fill
	args    [][]byte
	maxBulk int64

	// unauthenticated reports whether Redis's tighter limits for clients that have not yet
	// authenticated apply.
	unauthenticated func() bool
	// beforeRead is called before the reader waits for more input: the connection flushes
	// the replies to the requests parsed so far, so pipelined requests are answered in one
	// write and a client that waits for a reply is never left waiting on a buffer.
	beforeRead func() error
}

// errNeedMore says the buffer holds no complete request yet.
var errNeedMore = errors.New("need more input")

// next returns the next request's arguments (never empty), reading as needed. It returns the
// read error (io.EOF at a clean end) or a *ProtocolError.
func (r *reader) next() ([][]byte, error) {
	for {
		if r.r < r.w {
			args, err := r.parse()
			if err == nil {
				if len(args) > 0 {
					return args, nil
				}
				continue // an empty line or an empty array: nothing to run
			}
			if err != errNeedMore {
				return nil, err
			}
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more input, making room first.
//
// The buffer's size follows what the client does: a read that filled it says a burst is on,
// and the buffer doubles (to maxReadBuf), so that a pipeline arrives in one system call
// rather than many; a short read says the burst is over, and the buffer goes back to
// minReadBuf once it is empty, so an idle connection holds little.
func (r *reader) fill() error {
	if r.beforeRead != nil {
		if err := r.beforeRead(); err != nil {
			return err
		}
	}
	if r.size == 0 {
		r.size = minReadBuf
	}
	switch {
	case r.r == r.w && len(r.buf) != r.size:
		r.buf = make([]byte, r.size)
		r.r, r.w = 0, 0
	case r.r == r.w:
		r.r, r.w = 0, 0
	case r.w == len(r.buf) && (r.r == 0 || r.size > len(r.buf)):
		grown := make([]byte, max(r.size, 2*(r.w-r.r)))
		r.w = copy(grown, r.buf[r.r:r.w])
		r.r = 0
		r.buf = grown
	case r.w == len(r.buf):
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	space := len(r.buf) - r.w
	n, err := r.rd.Read(r.buf[r.w:])
	r.w += n
	switch {
	case n == space:
		r.size = min(2*len(r.buf), max(maxReadBuf, len(r.buf)))
	case n < minReadBuf:
		r.size = minReadBuf
	}
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// parse parses one request from buf[r:w], or returns errNeedMore without consuming anything.
func (r *reader) parse() ([][]byte, error) {
	if r.buf[r.r] == '*' {
		return r.parseMultiBulk()
	}
	return r.parseInline()
}

func (r *reader) strict() bool {
	return r.unauthenticated != nil && r.unauthenticated()
}

func (r *reader) parseInline() ([][]byte, error) {
	in := r.buf[r.r:r.w]
	// Redis looks for the newline with strchr, which stops at a NUL byte: a NUL before the
	// newline hides it, and the line is refused once it is too long.
	nl := indexBeforeNUL(in, '\n')
	if nl < 0 {
		if len(in) > MaxInlineLen {
			return nil, &ProtocolError{"too big inline request"}
		}
		return nil, errNeedMore
	}
	line := in[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := splitArgs(r.args[:0], line)
	if !ok {
		return nil, &ProtocolError{"unbalanced quotes in request"}
	}
	r.args = args
	r.r += nl + 1
	return args, nil
}

// parseMultiBulk parses "*<n>\r\n" followed by n bulk strings "$<len>\r\n<bytes>\r\n".
func (r *reader) parseMultiBulk() ([][]byte, error) {
	pos := r.r
	n, pos, err := r.lengthLine(pos, "mbulk")
	if err != nil {
		return nil, err
	}
	if n > MaxMultiBulkLen {
		return nil, &ProtocolError{"invalid multibulk length"}
	}
	strict := r.strict()
	if n > unauthMaxArgs && strict {
		return nil, &ProtocolError{"unauthenticated multibulk length"}
	}
	if n <= 0 {
		r.r = pos
		return nil, nil
	}
	args := r.args[:0]
	for range n {
		if pos >= r.w {
			return nil, errNeedMore
		}
		if c := r.buf[pos]; c != '$' {
			return nil, &ProtocolError{fmt.Sprintf("expected '$', got '%c'", c)}
		}
		var size int64
		size, pos, err = r.lengthLine(pos, "bulk")
		if err != nil {
			return nil, err
		}
		if size < 0 || size > r.maxBulk {
			return nil, &ProtocolError{"invalid bulk length"}
		}
		if size > unauthMaxBulk && strict {
			return nil, &ProtocolError{"unauthenticated bulk length"}
		}
		// Redis skips the two bytes after the data without looking at them; so does this.
		end := int64(pos) + size + 2
		if end > int64(r.w) {
			r.reserve(end - int64(r.r))
			return nil, errNeedMore
		}
		args = append(args, r.buf[pos:pos+int(size):pos+int(size)])
		pos = int(end)
	}
	r.args = args
	r.r = pos
	return args, nil
}

// lengthLine parses the "<c><integer>\r\n" line at pos and returns the integer and the
// position after the line. kind names the line in Redis's error messages.
func (r *reader) lengthLine(pos int, kind string) (int64, int, error) {
	in := r.buf[pos:r.w]
	cr := indexBeforeNUL(in, '\r')
	if cr < 0 {
		if len(in) > MaxInlineLen {
			return 0, 0, &ProtocolError{"too big " + kind + " count string"}
		}
		return 0, 0, errNeedMore
	}
	if cr+1 >= len(in) {
		return 0, 0, errNeedMore // the '\n' has not arrived
	}
	v, ok := parseInt(in[1:cr])
	if !ok {
		if kind == "mbulk" {
			return 0, 0, &ProtocolError{"invalid multibulk length"}
		}
		return 0, 0, &ProtocolError{"invalid bulk length"}
	}
	return v, pos + cr + 2, nil
}

// reserve makes the buffer able to hold n bytes from r.r, so that a large bulk string is read
// into place rather than through repeated doubling from a small buffer. It grows the buffer
// at most to what has been announced, and only by doubling what already arrived, so a client
// that announces a large bulk and sends nothing costs nothing.
func (r *reader) reserve(n int64) {
	if n <= int64(len(r.buf)) {
		return
	}
	size := max(2*int64(r.w-r.r), int64(minReadBuf))
	size = min(size, n)
	if size <= int64(len(r.buf)-r.r) {
		return
	}
	grown := make([]byte, size)
	r.w = copy(grown, r.buf[r.r:r.w])
	r.r = 0
	r.buf = grown
}

// parseInt parses a decimal integer the way Redis's string2ll does: an optional '-', then
// digits with no leading zero (only "0" itself may start with 0), no '+', no spaces, and no
// more than fits in an int64.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] < '1' || b[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// splitArgs splits an inline command line into arguments the way Redis's sdssplitargs does:
// arguments are separated by spaces; "double quotes" take the escapes \xHH, \n, \r, \t, \b,
// \a and a backslash before any other character; 'single quotes' take only \'; a closing
// quote must be followed by a space or the end of the line. ok is false for unbalanced quotes.
// The arguments are fresh slices appended to dst: they do not alias line.
func splitArgs(dst [][]byte, line []byte) ([][]byte, bool) {
	line = beforeNUL(line) // sdssplitargs reads a C string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return dst, true
		}
		var cur []byte
		inq, insq, done := false, false, false
		for !done {
			switch {
			case inq:
				if i == len(line) {
					return dst, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case c == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case c == '"':
					// A closing quote must be followed by a space or the end.
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return dst, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			case insq:
				if i == len(line) {
					return dst, false
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case c == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return dst, false
					}
					done = true
				default:
					cur = append(cur, c)
				}
			default:
				if i == len(line) {
					done = true
					continue
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t':
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		dst = append(dst, cur)
	}
}

// indexBeforeNUL is the index of the first c in b, or -1 when there is none or a NUL byte
// comes first: what strchr finds in a C string.
func indexBeforeNUL(b []byte, c byte) int {
	// Length lines are a few bytes long: one pass over them beats two calls of IndexByte.
	for i := range min(len(b), 24) {
		switch b[i] {
		case c:
			return i
		case 0:
			return -1
		}
	}
	if len(b) <= 24 {
		return -1
	}
	i := bytes.IndexByte(b, c)
	if i > 0 && bytes.IndexByte(b[:i], 0) >= 0 {
		return -1
	}
	return i
}

// beforeNUL returns b up to its first NUL byte, as C string functions see it.
func beforeNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
