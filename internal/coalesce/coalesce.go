// Package coalesce relays a stream to one consumer in as few pieces as the
// consumer's pace allows, without ever holding a byte back: a goroutine
// reads the source as fast as it delivers, and the consumer takes, each
// time it is ready, everything that has arrived since it last took (up to a
// cap). A byte that arrives while the consumer waits is handed over at once;
// bytes that arrive while it is busy (writing the previous piece to a slow
// socket) go out together in its next piece. No timer, no waiting for more.
//
// The pieces are built in place for a framing consumer: each has room
// before its bytes (for a frame's prelude and headers) and capacity after
// them (for a trailing checksum), so that a frame is one buffer, written in
// one call.
package coalesce

import (
	"io"
	"sync"
)

// readSize is the most one Read of the source asks for; minReadSize the
// least.
const (
	readSize    = 64 << 10
	minReadSize = 4 << 10
)

// Reader reads a source on a goroutine of its own (started by New, ended by
// the source's end or Stop, which waits for it) into a buffer the consumer
// takes with Next. One consumer; its calls must not overlap.
type Reader struct {
	src              io.Reader
	max, head, tail  int
	ready, room      chan struct{} // wake-ups (capacity 1) of the consumer, of the goroutine
	done             chan struct{} // closed when the goroutine has returned
	stopOnce         sync.Once
	mu               sync.Mutex
	fill, spare, out []byte // being filled; free for the next fill; held by the consumer
	err              error  // the source's error (io.EOF at its end), after the bytes in fill
	stopped          bool
	started          bool // the goroutine runs or ran, or is not needed (the consumer's alone)
}

// New returns a Reader of src. Pieces hold at most max bytes, with head
// bytes of room before them and tail bytes of capacity after them. The
// first piece is read by the first Next itself, in one Read of src (the
// first byte of a stream reaches the consumer without a hand-off between
// goroutines); then the goroutine starts, and reads until src returns an
// error (io.EOF at its end); after Stop it discards what it reads. src is
// read by nobody else until Stop returns.
func New(src io.Reader, max, head, tail int) *Reader {
	return &Reader{src: src, max: max, head: head, tail: tail,
		ready: make(chan struct{}, 1), room: make(chan struct{}, 1), done: make(chan struct{})}
}

// start starts the goroutine, once.
func (r *Reader) start() {
	if !r.started {
		r.started = true
		go r.run()
	}
}

// first is the first Next: one Read of src into a new piece, by the
// consumer itself; then the goroutine reads on, unless src has ended.
func (r *Reader) first() ([]byte, error) {
	size := min(r.max, minReadSize)
	piece := make([]byte, r.head, r.head+size+r.tail)
	n, err := r.src.Read(piece[r.head : r.head+size])
	piece = piece[:r.head+n]
	r.mu.Lock()
	r.out = piece
	if err != nil {
		r.err = err
	}
	r.mu.Unlock()
	if err != nil {
		r.started = true // no goroutine: the source has ended
		close(r.done)
	} else {
		r.start()
	}
	switch {
	case n > 0:
		return piece, nil
	case err != nil:
		return nil, err
	default:
		return r.Next() // an empty read: wait for the goroutine's bytes
	}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (r *Reader) run() {
	defer close(r.done)
	// The read buffer starts small and doubles (up to readSize) each time
	// a read fills it: a stream that trickles (tokens, a held-open
	// stream) keeps a few KiB, one that pours reaches readSize at once.
	buf := make([]byte, minReadSize)
	for {
		r.mu.Lock()
		stopped, free := r.stopped, r.max
		if r.fill != nil {
			free -= len(r.fill) - r.head
		}
		r.mu.Unlock()
		switch {
		case stopped:
			free = len(buf) // discard the rest
		case free == 0:
			<-r.room // the consumer takes fill, or Stop
			continue
		}
		n, err := r.src.Read(buf[:min(free, len(buf))])
		grow := n == len(buf) && len(buf) < readSize
		r.mu.Lock()
		if n > 0 && !r.stopped {
			r.fill = r.grow(r.fill, n)
			r.fill = append(r.fill, buf[:n]...)
		}
		if err != nil {
			r.err = err
		}
		r.mu.Unlock()
		if n > 0 || err != nil {
			wake(r.ready)
		}
		if err != nil {
			return
		}
		if grow {
			buf = make([]byte, 2*len(buf))
		}
	}
}

// grow returns b (nil: a new piece, with its head room) with room for n
// more bytes and the tail. The piece grows with what arrives, so that a
// trickling stream holds little memory.
func (r *Reader) grow(b []byte, n int) []byte {
	if b == nil {
		b, r.spare = r.spare, nil
		if b == nil {
			b = make([]byte, r.head, r.head+max(n, 4<<10)+r.tail)
		}
		b = b[:r.head]
	}
	if need := len(b) + n + r.tail; need > cap(b) {
		nb := make([]byte, len(b), min(max(need, 2*cap(b)), r.head+r.max+r.tail))
		copy(nb, b)
		b = nb
	}
	return b
}

// Next waits until at least one byte has arrived or the source has ended,
// and returns every byte that has arrived since the previous call (at most
// max) as piece[head:], with head bytes of room before them and tail bytes
// of capacity after them; the consumer may write into all of it. The piece
// is valid until the next call of Next or Stop. Once the bytes are all
// taken, Next returns the source's error (io.EOF at its end).
func (r *Reader) Next() (piece []byte, err error) {
	if !r.started {
		return r.first()
	}
	r.mu.Lock()
	if r.out != nil && (r.spare == nil || cap(r.out) > cap(r.spare)) {
		r.spare = r.out // reused by the next piece
	}
	r.out = nil
	for r.fill == nil && r.err == nil {
		r.mu.Unlock()
		<-r.ready
		r.mu.Lock()
	}
	piece, r.fill, r.out = r.fill, nil, r.fill
	err = r.err
	r.mu.Unlock()
	if piece != nil {
		wake(r.room)
		return piece, nil
	}
	return nil, err
}

// Buffered says how many bytes have arrived that Next has not returned: 0
// means the consumer would wait now (e.g. the moment to flush).
func (r *Reader) Buffered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fill == nil {
		return 0
	}
	return len(r.fill) - r.head
}

// Stop makes the goroutine discard the rest of the source, and waits until
// the source has ended (its error, io.EOF at its end), so that the caller
// may then use src (e.g. close it) alone. Later calls of Next return no
// more bytes. Stop may be called more than once.
func (r *Reader) Stop() {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		r.stopped = true
		r.fill, r.spare, r.out = nil, nil, nil
		if r.err == nil {
			r.err = io.EOF
		}
		r.mu.Unlock()
		wake(r.room)
		r.start() // discards the rest, if Next never ran
	})
	<-r.done
}
