package main

import (
	"net"
	"sync"
	"time"
)

// DefaultClientWriteTimeout is how long one write to an API or function
// URL client may wait for the client to take it (--client-write-timeout).
const DefaultClientWriteTimeout = 20 * time.Second

// clientWritePiece is the most written to a client under one deadline: a
// large buffered response is written piece by piece, each with a deadline
// of its own, so that the bound is on the client's progress, not on the
// size of the response.
const clientWritePiece = 64 << 10

// boundWrites makes every connection ln accepts bound each write to the
// client by d: a client that takes nothing of a write (up to
// clientWritePiece bytes) for d gets a timeout error on that write, which
// ends its response and closes its connection, as nginx's send_timeout
// does. The handler writing the response sees the error, stops relaying
// and closes the invocation's output, which lets the function finish with
// its output discarded.
func boundWrites(ln net.Listener, d time.Duration) net.Listener {
	return &boundListener{Listener: ln, d: d}
}

type boundListener struct {
	net.Listener
	d time.Duration
}

func (l *boundListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &boundConn{Conn: c, d: l.d}, nil
}

// boundConn is a client connection whose writes have a deadline each. After
// a failed write every later write fails too: the stream may have been cut
// in the middle of a frame.
type boundConn struct {
	net.Conn
	d time.Duration

	mu  sync.Mutex // one writer at a time (the HTTP server has one)
	err error
}

func (c *boundConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), clientWritePiece)
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.d)); err != nil {
			c.err = err
			return n, err
		}
		m, err := c.Conn.Write(p[:k])
		n += m
		if err != nil {
			c.err = err
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// SetWriteDeadline is ignored: every write sets its own (the HTTP server
// clears the deadline between requests, which would lift the bound).
func (c *boundConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline only, for the same reason.
func (c *boundConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }
