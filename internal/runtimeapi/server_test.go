package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// serveTest serves h with Server on a loopback port until the test ends,
// and returns its base URL.
func serveTest(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// rawConn dials the server at url.
func rawConn(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Trailer", r.Trailer.Get("T"))
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(r.Method + " " + r.URL.Path + " " + string(b)))
	})
}

// Requests of one connection are served in turn (keep-alive, pipelined
// too), chunked bodies with their trailers, each response with its
// Content-Length.
func TestServerKeepAliveAndPipelining(t *testing.T) {
	url := serveTest(t, echoHandler())
	c := rawConn(t, url)
	io.WriteString(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"+
		"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: T\r\n\r\n2\r\nde\r\n0\r\nT: tv\r\n\r\n"+
		"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []struct{ body, trailer string }{{"POST /a abc", ""}, {"POST /b de", "tv"}, {"GET /c ", ""}} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 202 || string(b) != want.body || resp.ContentLength != int64(len(want.body)) || resp.Header.Get("X-Trailer") != want.trailer {
			t.Fatalf("response %d %q (length %d, trailer %q), want 202 %q trailer %q", resp.StatusCode, b, resp.ContentLength, resp.Header.Get("X-Trailer"), want.body, want.trailer)
		}
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatal("the connection stayed open after Connection: close")
	}
}

// Malformed requests get 400, oversized heads 431, and the connection
// closes; the server goes on serving others.
func TestServerRefusesBadRequests(t *testing.T) {
	url := serveTest(t, echoHandler())
	for _, tc := range []struct {
		req    string
		status int
	}{
		{"NOT HTTP\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHeaderBytes+8<<10) + "\r\n\r\n", 431},
		{"POST / HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417},
	} {
		c := rawConn(t, url)
		go io.WriteString(c, tc.req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%.40q: %v", tc.req, err)
		}
		if resp.StatusCode != tc.status || !resp.Close {
			t.Errorf("%.40q: %d (close %v), want %d and close", tc.req, resp.StatusCode, resp.Close, tc.status)
		}
	}
	resp, err := http.Get(url + "/ok")
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("after bad requests: %v %v", resp, err)
	}
	resp.Body.Close()
}

// Expect: 100-continue: the body is asked for when the handler reads it.
func TestServerContinue(t *testing.T) {
	url := serveTest(t, echoHandler())
	c := rawConn(t, url)
	io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "body")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "POST /x body" {
		t.Fatalf("body %q", b)
	}
}

// A handler that leaves a large body unread closes the connection; a
// small rest is read and the connection kept.
func TestServerUnreadBody(t *testing.T) {
	url := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct {
		n     int
		close bool
	}{{100, false}, {maxDrain + 10, true}} {
		c := rawConn(t, url)
		go func() {
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(tc.n)+"\r\n\r\n")
			c.Write(bytes.Repeat([]byte("x"), tc.n))
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Close != tc.close {
			t.Errorf("%d unread bytes: %d close %v, want 200 close %v", tc.n, resp.StatusCode, resp.Close, tc.close)
		}
	}
}

// A runtime that goes away while its GET /next waits: the request's
// context ends (once the wait is long enough to be watched), as with
// net/http; a long wait that is answered keeps the connection usable.
func TestServerNextWatched(t *testing.T) {
	gone := make(chan struct{})
	answer := make(chan struct{})
	var calls atomic.Int32
	b := &backend{next: func(ctx context.Context) (*sluice.Invocation, error) {
		switch calls.Add(1) {
		case 1:
			<-ctx.Done()
			close(gone)
			return nil, ctx.Err()
		default:
			select {
			case <-answer:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &sluice.Invocation{RequestID: "r", Payload: []byte(`{}`)}, nil
		}
	}}
	url := serveTest(t, NewHandler(b, nil))
	c := rawConn(t, url)
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * watchAfter)
	c.Close()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("Next's context did not end when its runtime went away")
	}

	c2 := rawConn(t, url)
	io.WriteString(c2, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * watchAfter)
	close(answer)
	br := bufio.NewReader(c2)
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if resp.StatusCode != 200 || resp.Header.Get(HeaderRequestID) != "r" || resp.Close {
			t.Fatalf("response %d: %d %v close %v", i, resp.StatusCode, resp.Header, resp.Close)
		}
		io.Copy(io.Discard, resp.Body)
		// the same connection serves the next request
		io.WriteString(c2, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	}
}

// Close ends a waiting Next (its context) and Serve, and closes the
// connections.
func TestServerClose(t *testing.T) {
	waiting := make(chan struct{})
	ended := make(chan error, 1)
	b := &backend{next: func(ctx context.Context) (*sluice.Invocation, error) {
		close(waiting)
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(NewHandler(b, nil), nil)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	c := rawConn(t, "http://"+ln.Addr().String())
	io.WriteString(c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	<-waiting
	s.Close()
	for name, ch := range map[string]chan error{"Next": ended, "Serve": served} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not end at Close", name)
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the connection did not close: %v", err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close = %v", err)
	}
}

// A handler's panic closes its connection only.
func TestServerHandlerPanic(t *testing.T) {
	url := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
	}))
	if _, err := http.Get(url + "/panic"); err == nil {
		t.Fatal("a panicking handler's request got a response")
	}
	resp, err := http.Get(url + "/fine")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic: %v %v", resp, err)
	}
	resp.Body.Close()
}

// FuzzServerRequest writes arbitrary bytes as a request: the server
// answers or closes, never hangs or panics.
func FuzzServerRequest(f *testing.F) {
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/r/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: X\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/init/error HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	b := &backend{
		next: func(context.Context) (*sluice.Invocation, error) {
			return &sluice.Invocation{RequestID: "r", Payload: []byte("{}")}, nil
		},
		respond: func(_ context.Context, _ string, r *Response) error {
			io.Copy(io.Discard, r.Body)
			r.Err()
			return nil
		},
		fail:      func(context.Context, string, *sluice.FunctionError) error { return nil },
		initError: func(context.Context, *sluice.FunctionError) error { return nil },
	}
	s := NewServer(NewHandler(b, nil), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go s.Serve(ln)
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, req []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(req)
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("the server neither answered nor closed: %v", err)
		}
	})
}
