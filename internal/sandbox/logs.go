package sandbox

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/sluice-dev/sluice"
)

// logCapture reads the merged stdout/stderr pipe of a runtime process. The
// bytes go to a sink (the function's log) and to the tail of the current
// invocation, from which LogType=Tail is answered.
//
// Attribution is exact: the pipe is read with non-blocking reads under mu,
// so begin and end can drain everything the runtime wrote before it called
// the Runtime API, and only then write START or END/REPORT.
type logCapture struct {
	r    *os.File
	rc   syscall.RawConn
	sink io.Writer
	done chan struct{}

	mu   sync.Mutex
	buf  []byte
	tail *tailBuffer // nil between invocations
}

// newLogCapture returns a capture writing to sink (nil discards). It
// reads no pipe until attach gives it one; platform lines can be written
// before that.
func newLogCapture(sink io.Writer) *logCapture {
	if sink == nil {
		sink = io.Discard
	}
	return &logCapture{sink: sink, done: make(chan struct{}), buf: make([]byte, 32<<10), tail: &tailBuffer{}}
}

// attach makes r, the read end of the runtime's stdout and stderr, the
// capture's pipe; the capture owns it. Called once, before run.
func (l *logCapture) attach(r *os.File) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		return
	}
	l.r, l.rc = r, rc
}

// run reads the pipe until every writer has closed it. Its owner is the
// Env, which waits for done in Stop.
func (l *logCapture) run() {
	defer close(l.done)
	if l.rc == nil {
		return // no runtime ever wrote to it
	}
	defer l.r.Close()
	for {
		eof := false
		err := l.rc.Read(func(fd uintptr) bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			n, err := syscall.Read(int(fd), l.buf)
			if errors.Is(err, syscall.EAGAIN) {
				return false // wait for readiness
			}
			if n > 0 {
				l.emitLocked(l.buf[:n])
			}
			if n == 0 || (err != nil && !errors.Is(err, syscall.EINTR)) {
				eof = true
			}
			return true
		})
		if err != nil || eof {
			return
		}
	}
}

// drainLocked reads whatever is already in the pipe without blocking.
func (l *logCapture) drainLocked() {
	if l.rc == nil {
		return
	}
	_ = l.rc.Control(func(fd uintptr) {
		for {
			n, err := syscall.Read(int(fd), l.buf)
			if n > 0 {
				l.emitLocked(l.buf[:n])
			}
			if n <= 0 || (err != nil && !errors.Is(err, syscall.EINTR)) {
				return
			}
		}
	})
}

func (l *logCapture) emitLocked(p []byte) {
	_, _ = l.sink.Write(p)
	if l.tail != nil {
		l.tail.Write(p)
	}
}

// write adds platform lines (INIT_START, errors) to the stream.
func (l *logCapture) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drainLocked()
	l.emitLocked([]byte(s))
}

// begin starts attributing the stream to a new invocation and writes its
// START line. Output of the init phase stays in the first invocation's tail.
func (l *logCapture) begin(start string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drainLocked()
	if l.tail == nil {
		l.tail = &tailBuffer{}
	}
	l.emitLocked([]byte(start))
}

// end drains what the runtime wrote so far, writes the closing lines and
// returns the invocation's tail.
func (l *logCapture) end(lines string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drainLocked()
	l.emitLocked([]byte(lines))
	t := l.tail
	l.tail = nil
	if t == nil {
		return nil
	}
	return t.Bytes()
}

// tailBuffer keeps the last sluice.LogTailSize bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) {
	t.b = append(t.b, p...)
	if len(t.b) > 4*sluice.LogTailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-sluice.LogTailSize:]...)
	}
}

func (t *tailBuffer) Bytes() []byte {
	if len(t.b) > sluice.LogTailSize {
		return append([]byte(nil), t.b[len(t.b)-sluice.LogTailSize:]...)
	}
	return append([]byte(nil), t.b...)
}
