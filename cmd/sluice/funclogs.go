package main

import (
	"bytes"
	"io"
	"sync"
)

// newFunctionLogs returns a FunctionLog factory that writes every function's
// log stream to w, one whole line at a time, prefixed with the function's
// name: "[hello] START RequestId: ...".
func newFunctionLogs(w io.Writer) func(string) io.Writer {
	mu := new(sync.Mutex)
	return func(name string) io.Writer {
		return &prefixWriter{mu: mu, w: w, prefix: []byte("[" + name + "] ")}
	}
}

// prefixWriter buffers a partial line until its newline arrives.
type prefixWriter struct {
	mu      *sync.Mutex // shared by all functions' writers
	w       io.Writer
	prefix  []byte
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	p.partial = append(p.partial, b...)
	var out []byte
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		out = append(out, p.prefix...)
		out = append(out, p.partial[:i+1]...)
		p.partial = p.partial[i+1:]
	}
	if len(p.partial) > 64<<10 { // a very long line without newline: flush it
		out = append(append(append(out, p.prefix...), p.partial...), '\n')
		p.partial = p.partial[:0]
	}
	if len(out) > 0 {
		p.mu.Lock()
		_, err := p.w.Write(out)
		p.mu.Unlock()
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
