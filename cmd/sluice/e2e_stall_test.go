package main

// Clients that stop reading (issue 9, item 3): a function's timeout bounds
// its invocation whatever its client does, a client that takes nothing for
// ClientWriteTimeout loses its response, and the environment and the
// concurrency slot are free when the invocation ends, not when the socket
// does.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// stalledClient is a raw HTTP client that sent one request, read the
// response's status line and headers, and then reads nothing more.
type stalledClient struct {
	conn      net.Conn
	br        *bufio.Reader
	resp      *http.Response
	requestID string
}

// stall sends req (signed when sign is set) on a connection of its own
// with a small receive buffer, reads the response headers and stops.
func stall(t *testing.T, ts *testServer, req *http.Request, body []byte, sign bool) *stalledClient {
	t.Helper()
	if sign {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: ts.cfg.AccessKeyID, SecretAccessKey: ts.cfg.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", ts.cfg.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// A small receive buffer, set before connecting so that the window
	// stays small: the server's writes block after a few MB at most.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("reading the response headers: %v", err)
	}
	conn.SetReadDeadline(time.Time{})
	return &stalledClient{conn: conn, br: br, resp: resp, requestID: resp.Header.Get("X-Amzn-Requestid")}
}

// stallStream opens an InvokeWithResponseStream of fn that is never read.
func stallStream(t *testing.T, ts *testServer, fn, payload string) *stalledClient {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/2021-11-15/functions/"+fn+"/response-streaming-invocations", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	s := stall(t, ts, req, []byte(payload), true)
	if s.resp.StatusCode != 200 || s.requestID == "" {
		t.Fatalf("stalled stream of %s: status %d, request id %q", fn, s.resp.StatusCode, s.requestID)
	}
	return s
}

// readRest reads what the server still sends, with a deadline: it reports
// whether the server ended the response by cutting the connection (an
// error other than the deadline's before the body's end).
func (s *stalledClient) readRest(t *testing.T) (n int64, cut bool) {
	t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := io.Copy(io.Discard, s.resp.Body)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server neither finished nor cut the response within 20 s (%d bytes read)", n)
	}
	return n, err != nil
}

// reportOf returns the REPORT line of request id, or "".
func reportOf(logs, id string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.HasPrefix(l, "REPORT RequestId: "+id+"\t") {
			return l
		}
	}
	return ""
}

// TestE2EStalledStreamsTimeOut: N clients that read the headers of a
// stream and nothing more, on a function with reserved concurrency N and
// a 3 s timeout. Two seconds after the timeout (and before the 5 s
// ClientWriteTimeout could cut the clients) their slots and environments
// are free: N invocations at once run, byte-exact. The timeout ended the
// stalled invocations (the REPORT says about 3 s, Status: timeout), and
// their connections are cut after ClientWriteTimeout.
//
// Its -v output is the figure "environments free after stalled clients".
func TestE2EStalledStreamsTimeOut(t *testing.T) {
	t.Parallel()
	testStalledStreams(t, startServer(t, func(c *Config) { c.ClientWriteTimeout = 5 * time.Second }))
}

// TestSandboxStalledStreamsTimeOut is TestE2EStalledStreamsTimeOut with
// sandboxed environments (the default), whose kill and reaping take longer.
func TestSandboxStalledStreamsTimeOut(t *testing.T) {
	t.Parallel()
	testStalledStreams(t, startSandboxed(t, func(c *Config) { c.ClientWriteTimeout = 5 * time.Second }))
}

func testStalledStreams(t *testing.T, ts *testServer) {
	const n = 4
	const timeout = 3 * time.Second
	ts.createFunction(t, "hog", "big", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(int32(timeout / time.Second)) })
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("hog"), ReservedConcurrentExecutions: aws.Int32(n),
	}); err != nil {
		t.Fatal(err)
	}

	// Each streams 256 MiB as fast as it can: far more than the sockets
	// between it and the client hold.
	var stalled []*stalledClient
	first := time.Now()
	for range n {
		stalled = append(stalled, stallStream(t, ts, "hog", `{"mb":256}`))
	}
	last := time.Now()
	// While they run, the function has no free slot (on a slow machine the
	// first may have timed out already: then there is nothing to see).
	_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("hog"), Payload: []byte(`{"mb":1}`)})
	var tm *types.TooManyRequestsException
	if time.Since(first) < timeout && !errors.As(err, &tm) {
		t.Fatalf("Invoke while %d stalled streams run: %v, want TooManyRequestsException", n, err)
	}

	// Two seconds past the last one's timeout, n invocations at once run
	// (not 429), buffered and streamed, byte-exact.
	time.Sleep(time.Until(last.Add(timeout + 2*time.Second)))
	at := time.Since(last)
	free := runAtOnce(t, ts, "hog", n)
	t.Logf("FIGURE environments free %v after %d stalled stream clients were opened (function timeout %v, client write timeout 5s, sandbox %s): %d of %d",
		at.Round(100*time.Millisecond), n, timeout, ts.cfg.Sandbox, free, n)
	if free != n {
		t.Fatalf("%d of %d invocations ran after the stalled ones' timeout", free, n)
	}

	// The timeout ended each stalled invocation: its REPORT was written
	// about the timeout after it started, not when its client went away.
	logs := ts.logs.String()
	for _, s := range stalled {
		report := reportOf(logs, s.requestID)
		if report == "" {
			t.Fatalf("no REPORT for the stalled invocation %s:\n%s", s.requestID, logs)
		}
		if d := reportDuration(t, report); d < timeout || d > timeout+1500*time.Millisecond || !strings.Contains(report, "Status: timeout") {
			t.Fatalf("stalled invocation: %s; want a timeout after %v", report, timeout)
		}
		t.Logf("stalled invocation: %s", report)
	}

	// The stalled connections were cut: a client that takes nothing for
	// ClientWriteTimeout loses its stream (what was in the sockets
	// remains, InvokeComplete never comes).
	for _, s := range stalled {
		got, cut := s.readRest(t)
		if !cut {
			t.Fatalf("the stalled stream %s ended cleanly after %d bytes, want it cut", s.requestID, got)
		}
	}
}

// runAtOnce runs n invocations of fn (handler big) at once, half buffered
// (1 MiB) and half streamed (4 MiB), and returns how many succeeded
// byte-exact.
func runAtOnce(t *testing.T, ts *testServer, fn string, n int) int {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{"mb":1}`)})
				switch {
				case err != nil:
					errs <- err
				case out.FunctionError != nil || !bytes.Equal(out.Payload, bytes.Repeat([]byte{'z'}, 1<<20)):
					errs <- errors.New("buffered invoke: wrong payload or function error")
				}
				return
			}
			// A client of its own: aws-sdk-go-v2 shares one event-stream
			// decoder between a client's streams (docs/decisions.md).
			c := lambdaclient.New(ts.URL, ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)
			out, err := c.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn), Payload: []byte(`{"mb":4}`)})
			if err != nil {
				errs <- err
				return
			}
			st := out.GetStream()
			defer st.Close()
			var got bytes.Buffer
			var complete bool
			for ev := range st.Events() {
				switch v := ev.(type) {
				case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
					got.Write(v.Value.Payload)
				case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
					complete = v.Value.ErrorCode == nil
				}
			}
			if !complete || !bytes.Equal(got.Bytes(), bytes.Repeat([]byte{'z'}, 4<<20)) {
				errs <- errors.New("streamed invoke: incomplete or not byte-exact")
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		t.Logf("invocation after the stalled ones: %v", err)
		failed++
	}
	return n - failed
}

// TestE2EStalledClientsDefaults: with the default limits (32 environments),
// 32 stalled stream clients of one function no longer throttle every
// function on the server for longer than that function's timeout.
func TestE2EStalledClientsDefaults(t *testing.T) {
	t.Parallel()
	const timeout = 8 * time.Second
	ts := startServer(t, nil)
	n := ts.cfg.MaxEnvironments
	ts.createFunction(t, "hog", "big", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(int32(timeout / time.Second)) })
	ts.createFunction(t, "other", "big")
	opened := time.Now()
	for range n {
		stallStream(t, ts, "hog", `{"mb":256}`)
	}
	last := time.Now()
	_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("other"), Payload: []byte(`{"mb":1}`)})
	var tm *types.TooManyRequestsException
	if time.Since(opened) < timeout && !errors.As(err, &tm) {
		t.Fatalf("Invoke of another function while %d stalled streams run: %v, want TooManyRequestsException", n, err)
	}
	time.Sleep(time.Until(last.Add(timeout + 2*time.Second)))
	at := time.Since(opened)
	free := runAtOnce(t, ts, "other", 4)
	t.Logf("FIGURE with the defaults, %d stalled stream clients (function timeout %v): 4 invocations of another function %v after the first was opened: %d of 4 ran",
		n, timeout, at.Round(100*time.Millisecond), free)
	if free != 4 {
		t.Fatalf("%d of 4 invocations of another function ran after the stalled ones' timeout", free)
	}
}

// TestE2EStalledStreamDrained: a client that stops reading loses its
// stream after ClientWriteTimeout; the function, whose timeout is far, runs
// to its end with its output discarded, and its environment stays warm.
// A client that reads still gets every byte, the first chunk before the
// function ends.
func TestE2EStalledStreamDrained(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.ClientWriteTimeout = time.Second })
	ts.createFunction(t, "talker", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })

	// 40 chunks of 256 KiB, 50 ms apart: 10 MiB in about 2 s.
	s := stallStream(t, ts, "talker", `{"chunks":40,"size":262144,"pauseMs":50}`)
	procs := runtimesOf(ts.cfg.DataDir)
	if !eventually(15*time.Second, func() bool { return reportOf(ts.logs.String(), s.requestID) != "" }) {
		t.Fatalf("the stalled invocation %s did not end within 15 s:\n%s", s.requestID, ts.logs.String())
	}
	report := reportOf(ts.logs.String(), s.requestID)
	if strings.Contains(report, "Status:") {
		t.Fatalf("the stalled invocation ended with an error: %s", report)
	}
	if _, cut := s.readRest(t); !cut {
		t.Fatalf("the stalled stream ended cleanly, want it cut")
	}
	if !eventually(5*time.Second, func() bool { live, idle := ts.pool.Stats(); return live == 1 && idle == 1 }) {
		live, idle := ts.pool.Stats()
		t.Fatalf("pool: %d live, %d idle; want the one environment, idle", live, idle)
	}

	// A reading client, on the same warm environment: the first chunk
	// arrives while the function still runs, and everything arrives.
	r := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("talker"), Payload: []byte(`{"chunks":3,"pauseMs":1500,"size":100000}`)})
	id := requestIDOf(t, r.out.ResultMetadata)
	r.firstChunk(t)
	if strings.Contains(ts.logs.String(), "END RequestId: "+id) {
		t.Fatalf("the first chunk arrived only after the function ended")
	}
	cleanComplete(t, r.finish(t))
	var want strings.Builder
	for i := range 3 {
		line := "chunk-" + itoa(i) + "\n"
		want.WriteString(line + strings.Repeat("x", 100000-len(line)-1) + "\n")
	}
	if r.payload() != want.String() {
		t.Fatalf("the reading client got %d bytes, not the function's %d", len(r.payload()), want.Len())
	}
	if now := runtimesOf(ts.cfg.DataDir); identities(now) != identities(procs) {
		t.Fatalf("runtime processes %+v, want the same warm one as before %+v", now, procs)
	}
}

// TestE2EStalledURLAndBufferedClients: a RESPONSE_STREAM function URL
// client and a buffered Invoke client that read the headers and nothing
// more. The URL stream's invocation ends at the function's timeout and the
// next request runs; both stalled connections are cut after
// ClientWriteTimeout instead of holding their goroutine and response.
func TestE2EStalledURLAndBufferedClients(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.ClientWriteTimeout = 2 * time.Second })
	ts.createFunction(t, "urlhog", "big", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(2) })
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("urlhog"), ReservedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	// The buffered client's function, with a timeout long enough to
	// gather its 6 MiB on a loaded machine (urlhog's 2 s are about the URL
	// stream) and the same one slot.
	ts.createFunction(t, "bufhog", "big", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("bufhog"), ReservedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	fu := ts.createURL(t, "urlhog", "", func(in *lambda.CreateFunctionUrlConfigInput) { in.InvokeMode = types.InvokeModeResponseStream })
	host := strings.TrimSuffix(strings.TrimPrefix(fu, "http://"), "/")

	// A URL client that never reads a 256 MiB stream.
	req, err := http.NewRequest(http.MethodGet, "http://"+host+"/?mb=256", nil)
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	u := stall(t, ts, req, nil, false)
	if u.resp.StatusCode != 200 {
		t.Fatalf("stalled URL stream: status %d", u.resp.StatusCode)
	}
	// Its invocation ends at the timeout; the function's one slot is free
	// for the next request.
	var report string
	if !eventually(10*time.Second, func() bool {
		for _, l := range strings.Split(ts.logs.String(), "\n") {
			if strings.HasPrefix(l, "REPORT RequestId: ") {
				report = l
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no REPORT for the stalled URL stream %v after it was opened:\n%s", time.Since(opened), ts.logs.String())
	}
	if d := reportDuration(t, report); d > 3500*time.Millisecond || !strings.Contains(report, "Status: timeout") {
		t.Fatalf("stalled URL stream: %s, want a timeout after about 2 s", report)
	}
	resp, err := http.Get("http://" + ts.Addr() + "/lambda-url/" + strings.Split(host, ".")[0] + "/?mb=1")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, bytes.Repeat([]byte{'z'}, 1<<20)) {
		t.Fatalf("URL request after the stalled one: status %d, %d bytes, %v", resp.StatusCode, len(body), err)
	}
	if _, cut := u.readRest(t); !cut {
		t.Fatalf("the stalled URL stream ended cleanly, want it cut")
	}

	// A buffered Invoke client that never reads its 6 MiB response: the
	// function's environment was free as soon as the response was
	// gathered; the connection is cut after ClientWriteTimeout.
	payload := `{"mb":6}`
	req, err = http.NewRequest(http.MethodPost, ts.URL+"/2015-03-31/functions/bufhog/invocations", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	b := stall(t, ts, req, []byte(payload), true)
	if b.resp.StatusCode != 200 {
		t.Fatalf("stalled buffered invoke: status %d", b.resp.StatusCode)
	}
	succeeded(t, ts.invoke(t, "bufhog", `{"mb":1}`))
	time.Sleep(3 * time.Second) // past ClientWriteTimeout
	if got, cut := b.readRest(t); !cut || got >= 6<<20 {
		t.Fatalf("the stalled buffered response: %d bytes, cut %v; want it cut short", got, cut)
	}
}
