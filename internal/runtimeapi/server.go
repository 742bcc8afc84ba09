package runtimeapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server serves a Handler's Runtime API over HTTP/1.1 connections, one
// request at a time on each, in the connection's own goroutine. It exists
// because net/http's server costs the warm invoke path a goroutine per
// request: after a request's body is read (at once for GET /next), it
// starts a background read of the connection to notice the client going
// away, and stops it after the response (a deadline in the past wakes it,
// and the handler waits for it). Two of those per invocation were several
// per cent of sluice's CPU. The Runtime API's clients are the runtimes of
// sluice's own environments; the requests they send are few and simple.
// Requests are parsed by net/http (http.ReadRequest: headers, chunked
// bodies and their trailers); a response is written in one write(2).
// See docs/decisions.md, "The Runtime API's HTTP server".
//
// A runtime waiting in GET /next is watched for going away (its request's
// context then ends, as with net/http) only once it has waited
// watchAfter: between busy invocations nothing watches.
type Server struct {
	handler http.Handler
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc

	mu     sync.Mutex
	closed bool
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
}

// Limits of a request, as net/http's defaults.
const (
	maxHeaderBytes = 1 << 20 // http.DefaultMaxHeaderBytes
	// maxDrain is how much of a body the handler left unread is read
	// to keep the connection; beyond it the connection is closed.
	maxDrain = 256 << 10
	// watchAfter is how long a bodiless request's handler runs before
	// the connection is watched for the client going away.
	watchAfter = 100 * time.Millisecond
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = http.ErrServerClosed

// NewServer returns a Server of h. log may be nil.
func NewServer(h http.Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{handler: h, log: log, ctx: ctx, cancel: cancel,
		lns: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}}
}

// Serve accepts connections on ln and serves each in a goroutine of its
// own, until Close (then it returns ErrServerClosed) or a permanent accept
// error. It closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var pause time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// out of descriptors, as net/http: wait and retry
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				s.log.Warn("runtime api: accept", "err", err, "retry in", pause)
				time.Sleep(pause)
				continue
			}
			return err
		}
		pause = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close closes the listeners and every connection, and ends the requests'
// contexts (a handler waiting in Backend.Next returns). It does not wait
// for the connections' goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	return nil
}

// conn is one connection being served.
type conn struct {
	s     *Server
	c     net.Conn
	limit int64 // what the request being parsed may still read; < 0: no limit
	// A byte the watcher read (the client's next request begins with
	// it), handed to the next read.
	held  bool
	heldB byte
	br    *bufio.Reader
	bw    *bufio.Writer

	ctx    context.Context // the requests' context: ends when the client is gone, or at Close
	cancel context.CancelFunc
	resp   response    // the current request's, reused
	timer  *time.Timer // starts the watch (watch)

	watchMu  sync.Mutex
	watchOff bool   // the handler returned: no watch may start (a timer that fired late)
	watching *watch // the watch started for the current request
}

// Read is the reader under the connection's bufio.Reader: the held byte
// first, then the socket, within the header limit while a request's head
// is parsed.
func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.limit == 0 {
		return 0, errHeaderTooLarge
	}
	if c.limit > 0 && int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	var n int
	var err error
	if c.held {
		p[0], c.held = c.heldB, false
		n = 1
	} else {
		n, err = c.c.Read(p)
	}
	if c.limit > 0 {
		c.limit -= int64(n)
	}
	return n, err
}

var errHeaderTooLarge = errors.New("request header too large")

func (s *Server) serveConn(nc net.Conn) {
	defer func() {
		nc.Close()
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
	}()
	c := &conn{s: s, c: nc}
	c.br = bufio.NewReaderSize(c, 4<<10)
	c.bw = bufio.NewWriterSize(nc, 4<<10)
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	defer c.cancel()
	c.resp.header = make(http.Header, 8)
	c.timer = time.AfterFunc(time.Hour, c.watch)
	c.timer.Stop()
	defer c.timer.Stop()
	for {
		c.limit = maxHeaderBytes + 4<<10 // net/http's slack for the request line
		req, err := http.ReadRequest(c.br)
		if err != nil {
			c.refuse(err)
			return
		}
		c.limit = -1
		if !c.serve(req) {
			return
		}
	}
}

// refuse answers a request that could not be parsed, as net/http does,
// unless the connection simply ended.
func (c *conn) refuse(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return
	case errors.Is(err, errHeaderTooLarge):
		c.bw.WriteString("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")
	default:
		c.bw.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
	}
	c.bw.Flush()
}

// serve runs one request and writes its response; false: close the
// connection.
func (c *conn) serve(req *http.Request) bool {
	req.RemoteAddr = c.c.RemoteAddr().String()
	keep := req.ProtoAtLeast(1, 1) && !req.Close
	var cont *continueReader
	switch expect := req.Header.Get("Expect"); {
	case expect == "":
	case strings.EqualFold(expect, "100-continue") && req.ProtoAtLeast(1, 1):
		cont = &continueReader{ReadCloser: req.Body, bw: c.bw}
		req.Body = cont
	default:
		c.bw.WriteString("HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		c.bw.Flush()
		return false
	}
	req = req.WithContext(c.ctx)
	w := &c.resp
	w.reset()

	// A request without a body that waits long (GET /next) is watched
	// for its client going away, as net/http watches every request.
	watched := req.ContentLength == 0 && len(req.TransferEncoding) == 0 &&
		c.br.Buffered() == 0 && !c.held
	if watched {
		c.watchMu.Lock()
		c.watchOff, c.watching = false, nil
		c.watchMu.Unlock()
		c.timer.Reset(watchAfter)
	}
	panicked := c.run(w, req)
	if watched {
		c.timer.Stop()
		if !c.stopWatch() {
			keep = false // the client went away (or the watch failed)
		}
	}
	if panicked {
		return false
	}
	if cont != nil && !cont.sent {
		keep = false // the client has not sent the body it announced
	}
	if keep {
		// Read what the handler left of the body, to keep the
		// connection; too much and it is closed instead.
		n, err := io.CopyN(io.Discard, req.Body, maxDrain+1)
		keep = errors.Is(err, io.EOF) && n <= maxDrain
	}
	w.head = req.Method == http.MethodHead
	if err := w.writeTo(c.bw, !keep); err != nil {
		return false
	}
	return keep
}

// run calls the handler; a panic is logged and closes the connection.
func (c *conn) run(w *response, req *http.Request) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("runtime api: handler panic", "path", req.URL.Path, "panic", v)
			panicked = true
		}
	}()
	c.s.handler.ServeHTTP(w, req)
	return false
}

// watch is a read of the connection while a bodiless request's handler
// runs: a client sends its next request only after the response, so a
// byte that arrives is kept for it (held), and the end of the connection
// ends the request's context.
type watch struct {
	done chan struct{}
	gone bool
}

// watch starts watching the connection (the timer's function), unless
// the handler has returned. A timer that fired as it was stopped may run
// it during the next request: that request is then watched from its
// start, as net/http would.
func (c *conn) watch() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watchOff || c.watching != nil {
		return
	}
	w := &watch{done: make(chan struct{})}
	c.watching = w
	go func() {
		defer close(w.done)
		var b [1]byte
		n, err := c.c.Read(b[:])
		if n == 1 {
			c.held, c.heldB = true, b[0]
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return // stopped
		}
		w.gone = true
		c.cancel()
	}()
}

// stopWatch ends the watch, if one was started: a deadline in the past
// ends its read. It reports whether the connection is still usable.
func (c *conn) stopWatch() bool {
	c.watchMu.Lock()
	c.watchOff = true
	w := c.watching
	c.watchMu.Unlock()
	if w == nil {
		return true
	}
	c.c.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	err := c.c.SetReadDeadline(time.Time{})
	return !w.gone && err == nil
}

// continueReader sends "100 Continue" before the first read of a body
// whose client waits for it (Expect: 100-continue).
type continueReader struct {
	io.ReadCloser
	bw   *bufio.Writer
	sent bool
}

func (r *continueReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		r.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := r.bw.Flush(); err != nil {
			return 0, err
		}
	}
	return r.ReadCloser.Read(p)
}

// response is the http.ResponseWriter of Server: the Runtime API's
// responses are small JSON documents and event payloads, so the body is
// kept and written with the head in one write.
type response struct {
	header http.Header
	status int
	body   []byte
	head   bool // a HEAD request: no body on the wire
}

// reset makes w ready for the next request.
func (w *response) reset() {
	clear(w.header)
	w.status, w.body, w.head = 0, w.body[:0], false
	if cap(w.body) > 64<<10 {
		w.body = nil // a large event payload is not kept
	}
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *response) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}

// writeTo writes the response (status 200 if none was set) with its
// Content-Length, and "Connection: close" if closing.
func (w *response) writeTo(bw *bufio.Writer, closing bool) error {
	w.WriteHeader(http.StatusOK)
	h := w.header
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	h.Del("Connection")
	var line [64]byte
	b := append(line[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	bw.Write(b)
	bw.WriteString(" ")
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	if bodyAllowed(w.status) {
		b = append(line[:0], "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(w.body)), 10)
		bw.Write(append(b, "\r\n"...))
	}
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	if err := h.Write(bw); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	if bodyAllowed(w.status) && !w.head {
		bw.Write(w.body)
	}
	return bw.Flush()
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
