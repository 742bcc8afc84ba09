package sandbox

import "net"

// The Runtime API's connections are read through a buffer of their own
// that grows while the runtime pours bytes in (a streamed response) and
// shrinks back when it trickles: net/http reads a request body through a
// 4 KiB buffer and a chunked body chunk by chunk, so a runtime that writes
// 32 KiB chunks (aws-lambda-go) cost two or three read(2)s per chunk;
// through readConn, one read(2) takes whatever the socket holds, up to
// maxConnRead. A connection holds no large buffer while its runtime is
// quiet: the size halves after each read that fills less than a quarter
// of it, and a drained large buffer goes back to a free list shared by all
// environments. See docs/performance.md, "Per MiB streamed".
const (
	minConnRead     = 4 << 10
	maxConnRead     = 256 << 10
	minBufferedRead = 64 // smaller reads go straight to the socket
)

// readListener wraps the connections it accepts in readConn.
type readListener struct{ net.Listener }

func (l readListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readConn{Conn: c, size: minConnRead}, nil
}

// readConn is a net.Conn whose reads go through an adaptive buffer. Its
// Read is not safe for concurrent use (net/http's connection reader never
// has two reads outstanding); the other methods are the connection's.
type readConn struct {
	net.Conn
	buf  []byte // buffered bytes are buf[r:w]; nil when drained
	r, w int
	size int // how much the next read(2) asks for
}

func (c *readConn) Read(p []byte) (int, error) {
	if c.r < c.w {
		n := copy(p, c.buf[c.r:c.w])
		c.r += n
		if c.r == c.w {
			c.drop()
		}
		return n, nil
	}
	if len(p) >= c.size || len(p) < minBufferedRead {
		// Nothing to gain from the buffer: read straight into p. A
		// tiny read is net/http's one-byte background read, which
		// waits on an idle connection (an environment waiting in
		// GET /next): it must not hold a buffer meanwhile.
		n, err := c.Conn.Read(p)
		if len(p) >= minBufferedRead {
			c.adapt(n, len(p))
		}
		return n, err
	}
	c.buf = getConnBuffer(c.size) // none is held here: a drained buffer is dropped at once
	n, err := c.Conn.Read(c.buf[:c.size])
	c.adapt(n, c.size)
	if n <= 0 {
		c.drop()
		return 0, err
	}
	k := copy(p, c.buf[:n])
	c.r, c.w = k, n
	if k < n {
		return k, nil // the error, if any, comes again at the next read(2)
	}
	c.drop()
	return k, err
}

// adapt sizes the next read after one that asked for want bytes got n.
func (c *readConn) adapt(n, want int) {
	switch {
	case n >= want && c.size < maxConnRead:
		c.size *= 2
	case n < want/4 && c.size > minConnRead:
		c.size /= 2
	}
}

// drop releases the (drained) buffer.
func (c *readConn) drop() {
	if c.buf != nil {
		putConnBuffer(c.buf)
	}
	c.buf, c.r, c.w = nil, 0, 0
}

// connBuffers are free read buffers by size class (minConnRead <<
// i): a bounded free list per class, not a sync.Pool, which drops its
// buffers at every collection.
var connBuffers = func() (l [7]chan []byte) { // minConnRead << 6 == maxConnRead
	for i := range l {
		l[i] = make(chan []byte, 16)
	}
	return l
}()

func connClass(size int) int {
	i := 0
	for minConnRead<<i < size && i < len(connBuffers)-1 {
		i++
	}
	return i
}

func getConnBuffer(size int) []byte {
	select {
	case b := <-connBuffers[connClass(size)]:
		return b
	default:
		return make([]byte, minConnRead<<connClass(size))
	}
}

func putConnBuffer(b []byte) {
	i := connClass(len(b))
	if minConnRead<<i != len(b) {
		return
	}
	select {
	case connBuffers[i] <- b:
	default: // enough kept
	}
}
