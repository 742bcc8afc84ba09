package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sluice-dev/sluice"
)

// logCapture reads the merged stdout/stderr pipe of a runtime process. The
// bytes go to a sink (the function's log) and to the tail of the current
// invocation, from which LogType=Tail is answered.
//
// Attribution is exact: the pipe is read with non-blocking reads under mu,
// so begin and end can drain everything the runtime wrote before it called
// the Runtime API, and only then write START or END/REPORT.
//
// The sink gets at most limit bytes of the function's own output per
// invocation (from one START to the next; the init phase has its own
// budget); the rest is read and dropped, never left in the pipe, so a
// chatty function neither stalls nor floods sluice's log. One
// LOGS_DROPPED line says how much was dropped, before the next platform
// line. The tail sees everything, so LogType=Tail still answers the
// invocation's last 4 KB.
type logCapture struct {
	r     *os.File
	rc    syscall.RawConn
	sink  io.Writer
	limit int64 // < 0: no limit
	done  chan struct{}

	mu      sync.Mutex
	tail    *tailBuffer // nil between invocations
	written int64       // function output sent to sink since the last START
	dropped int64       // function output dropped since the last LOGS_DROPPED line
	openEnd bool        // the last byte sent to sink was not a newline
}

// DefaultFunctionLogLimit is how many bytes of a function's output
// (stdout and stderr) per invocation reach the function log when
// Options.FunctionLogLimit is 0.
const DefaultFunctionLogLimit = 1 << 20

// newLogCapture returns a capture writing to sink (nil discards) at most
// limit bytes of function output per invocation (0: the default, < 0: no
// limit). It reads no pipe until attach gives it one; platform lines can
// be written before that.
func newLogCapture(sink io.Writer, limit int64) *logCapture {
	if sink == nil {
		sink = io.Discard
	}
	if limit == 0 {
		limit = DefaultFunctionLogLimit
	}
	return &logCapture{sink: sink, limit: limit, done: make(chan struct{}), tail: &tailBuffer{}}
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
			buf := getReadBuffer()
			defer putReadBuffer(buf)
			n, err := syscall.Read(int(fd), buf)
			if errors.Is(err, syscall.EAGAIN) {
				return false // wait for readiness
			}
			if n > 0 {
				l.outputLocked(buf[:n])
			}
			if n == 0 || (err != nil && !errors.Is(err, syscall.EINTR)) {
				eof = true
			}
			return true
		})
		if err != nil || eof {
			l.mu.Lock()
			l.flushDroppedLocked()
			l.mu.Unlock()
			return
		}
	}
}

// drainLocked reads what is in the pipe now, without blocking: all the
// runtime wrote before it called the Runtime API, and no more, so that a
// function that keeps writing cannot keep begin or end here.
func (l *logCapture) drainLocked() {
	if l.rc == nil {
		return
	}
	_ = l.rc.Control(func(fd uintptr) {
		left, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ) // FIONREAD
		if err != nil {
			left = maxPipeSize
		}
		if left <= 0 {
			return
		}
		buf := getReadBuffer()
		defer putReadBuffer(buf)
		for left > 0 {
			n, err := syscall.Read(int(fd), buf[:min(left, len(buf))])
			if n > 0 {
				l.outputLocked(buf[:n])
				left -= n
			}
			if n <= 0 || (err != nil && !errors.Is(err, syscall.EINTR)) {
				return
			}
		}
	})
}

// readBuffers are the buffers the pipes are read into, taken only for a
// read: an environment holds none while its runtime writes nothing (most
// of the time), which keeps thousands of open streams' environments
// small. A bounded free list (not a sync.Pool, which drops buffers at
// every garbage collection and at random under the race detector).
var readBuffers = make(chan []byte, 64)

func getReadBuffer() []byte {
	select {
	case b := <-readBuffers:
		return b
	default:
		return make([]byte, 64<<10)
	}
}

func putReadBuffer(b []byte) {
	select {
	case readBuffers <- b:
	default: // enough kept
	}
}

// maxPipeSize bounds a drain when the pipe's fill level is unknown: the
// most an unprivileged process can make a pipe hold (pipe-max-size).
const maxPipeSize = 1 << 20

// outputLocked passes on bytes the function wrote: all to the tail, to
// the sink what the invocation's budget allows.
func (l *logCapture) outputLocked(p []byte) {
	if l.tail != nil {
		l.tail.Write(p)
	}
	n := int64(len(p))
	if l.limit >= 0 {
		n = min(n, max(l.limit-l.written, 0))
	}
	if n > 0 {
		_, _ = l.sink.Write(p[:n])
		l.written += n
		l.openEnd = p[n-1] != '\n'
	}
	l.dropped += int64(len(p)) - n
}

// flushDroppedLocked writes the LOGS_DROPPED line owed, if any.
func (l *logCapture) flushDroppedLocked() {
	if l.dropped == 0 {
		return
	}
	var line string
	if l.openEnd { // the kept part ended mid-line
		line = "\n"
		l.openEnd = false
	}
	line += fmt.Sprintf("LOGS_DROPPED Dropped: %d bytes\tReason: over the function log limit of %d bytes per invocation\n", l.dropped, l.limit)
	_, _ = l.sink.Write([]byte(line))
	l.dropped = 0
}

// emitLocked writes a platform line (never limited) to the sink and the
// tail, after the LOGS_DROPPED line owed.
func (l *logCapture) emitLocked(p []byte) {
	l.flushDroppedLocked()
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
// START line. The tail of an invocation that the runtime took starts at
// START, as Lambda's LogResult does (fresh): the init phase's lines
// (INIT_START, the runtime's notice, what init printed) are in the
// function's log only. One that failed before the runtime took it (an init
// that crashed or timed out) keeps them: they are its explanation.
func (l *logCapture) begin(start string, fresh bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drainLocked()
	l.flushDroppedLocked()
	l.written = 0
	if l.tail == nil || fresh {
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
	if len(p) >= sluice.LogTailSize {
		t.b = append(t.b[:0], p[len(p)-sluice.LogTailSize:]...)
		return
	}
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
