package logstore

import (
	"bytes"
	"io"
	"strings"

	"github.com/sluice-dev/sluice"
)

// Writer returns a writer that stores each line written to it as one
// event of stream in group (its newline kept, as Lambda's events have it),
// stamped when the line is complete. A line longer than MaxEventBytes is
// split. It is meant for one goroutine; a store error drops the line (the
// function's output never fails for the log's sake).
func (s *Store) Writer(scope sluice.Scope, group, stream string) io.Writer {
	return &lineWriter{s: s, scope: scope, group: group, stream: stream}
}

// WriterFunc is Writer with each line rewritten (or dropped) by f.
func (s *Store) WriterFunc(scope sluice.Scope, group, stream string, f LineFunc) io.Writer {
	return &lineWriter{s: s, scope: scope, group: group, stream: stream, f: f}
}

type lineWriter struct {
	s             *Store
	scope         sluice.Scope
	group, stream string
	partial       []byte
	f             LineFunc // nil: lines as they are
	batch         []string // the events of the current Write
}

func (w *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	w.batch = w.batch[:0]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			if len(w.partial) >= MaxEventBytes {
				w.emit(w.partial[:MaxEventBytes])
				w.partial = append(w.partial[:0], w.partial[MaxEventBytes:]...)
			}
			break
		}
		line := b[:i+1]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = w.partial[:0]
		}
		for len(line) > MaxEventBytes {
			w.emit(line[:MaxEventBytes])
			line = line[MaxEventBytes:]
		}
		w.emit(line)
		b = b[i+1:]
	}
	// The lines of one Write are one append: one write(2) to the segment.
	if len(w.batch) > 0 {
		_ = w.s.AppendAll(w.scope, w.group, w.stream, w.batch...)
		clear(w.batch)
	}
	return n, nil
}

// emit adds one line to the batch of this Write.
func (w *lineWriter) emit(line []byte) {
	msg := string(line)
	if w.f != nil {
		var keep bool
		if msg, keep = w.f(msg, w.s.opts.Now()); !keep {
			return
		}
		// A LineFunc may turn one line into several (runtimeDone and
		// report): each is an event.
		for {
			i := strings.IndexByte(msg, '\n')
			if i < 0 || i == len(msg)-1 {
				break
			}
			w.batch = append(w.batch, msg[:i+1])
			msg = msg[i+1:]
		}
	}
	w.batch = append(w.batch, msg)
}
