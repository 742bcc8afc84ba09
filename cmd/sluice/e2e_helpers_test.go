package main

// Helpers of the end-to-end suite (e2e_*_test.go): reading a response
// stream event by event, decoding function errors and log tails, and
// finding the runtime processes a server started.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"
)

// liveStream is an InvokeWithResponseStream whose events the test reads
// one at a time.
type liveStream struct {
	out    *lambda.InvokeWithResponseStreamOutput
	stream *lambda.InvokeWithResponseStreamEventStream
	cancel context.CancelFunc
	chunks [][]byte
	done   *types.InvokeWithResponseStreamCompleteEvent
}

// openStream starts an InvokeWithResponseStream on its own context, which
// cancel (or the test's end) cancels.
func openStream(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) *liveStream {
	t.Helper()
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	out, err := c.InvokeWithResponseStream(sctx, in)
	if err != nil {
		cancel()
		t.Fatalf("InvokeWithResponseStream %s: %v", aws.ToString(in.FunctionName), err)
	}
	s := &liveStream{out: out, stream: out.GetStream(), cancel: cancel}
	t.Cleanup(func() { s.stream.Close(); cancel() })
	return s
}

// next waits up to d for the next event. It returns false when the stream
// ended (no more events). A chunk is appended to s.chunks, InvokeComplete
// is stored in s.done.
func (s *liveStream) next(t *testing.T, d time.Duration) bool {
	t.Helper()
	select {
	case ev, ok := <-s.stream.Events():
		if !ok {
			return false
		}
		if s.done != nil {
			t.Fatalf("event %T after InvokeComplete", ev)
		}
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			s.chunks = append(s.chunks, v.Value.Payload)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			c := v.Value
			s.done = &c
		default:
			t.Fatalf("unexpected event %T", ev)
		}
		return true
	case <-time.After(d):
		t.Fatalf("no stream event within %v (%d chunks so far)", d, len(s.chunks))
		return false
	}
}

// firstChunk waits for the first PayloadChunk.
func (s *liveStream) firstChunk(t *testing.T) []byte {
	t.Helper()
	for len(s.chunks) == 0 {
		if !s.next(t, 30*time.Second) {
			t.Fatalf("stream ended before its first chunk")
		}
		if s.done != nil && len(s.chunks) == 0 {
			t.Fatalf("InvokeComplete before the first chunk: %q %q", aws.ToString(s.done.ErrorCode), aws.ToString(s.done.ErrorDetails))
		}
	}
	return s.chunks[0]
}

// finish reads the stream to its end and checks that it ended with exactly
// one InvokeComplete and no stream error.
func (s *liveStream) finish(t *testing.T) *types.InvokeWithResponseStreamCompleteEvent {
	t.Helper()
	for s.next(t, 60*time.Second) {
	}
	if err := s.stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if s.done == nil {
		t.Fatalf("stream ended without InvokeComplete after %d chunks", len(s.chunks))
	}
	return s.done
}

func (s *liveStream) payload() string {
	return string(bytes.Join(s.chunks, nil))
}

// requestID returns the x-amzn-RequestId of a response.
func requestIDOf(t *testing.T, md middleware.Metadata) string {
	t.Helper()
	id, ok := awsmiddleware.GetRequestIDMetadata(md)
	if !ok || id == "" {
		t.Fatalf("response has no x-amzn-RequestId")
	}
	return id
}

// errorDoc is a function error document.
type errorDoc struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
	StackTrace   []any  `json:"stackTrace"`
}

// functionError checks that out is a 200 with X-Amz-Function-Error: Unhandled
// and returns its error document.
func functionError(t *testing.T, out *lambda.InvokeOutput) errorDoc {
	t.Helper()
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("status %d FunctionError %q payload %.300s: want 200 Unhandled", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	var doc errorDoc
	if err := json.Unmarshal(out.Payload, &doc); err != nil {
		t.Fatalf("error payload %.300s: %v", out.Payload, err)
	}
	return doc
}

// succeeded checks that out is a clean 200.
func succeeded(t *testing.T, out *lambda.InvokeOutput) {
	t.Helper()
	if out.StatusCode != 200 || out.FunctionError != nil {
		t.Fatalf("status %d FunctionError %q payload %.300s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
}

// cleanComplete checks that an InvokeComplete reports no error.
func cleanComplete(t *testing.T, c *types.InvokeWithResponseStreamCompleteEvent) {
	t.Helper()
	if c.ErrorCode != nil || c.ErrorDetails != nil {
		t.Fatalf("InvokeComplete reports an error: %q %q", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
	}
}

// statusOf returns the HTTP status of a failed SDK call.
func statusOf(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// decodeTail decodes a LogResult.
func decodeTail(t *testing.T, s *string) string {
	t.Helper()
	if s == nil {
		t.Fatalf("no LogResult")
	}
	b, err := base64.StdEncoding.DecodeString(*s)
	if err != nil {
		t.Fatalf("LogResult is not base64: %v", err)
	}
	return string(b)
}

// eventually polls cond every 20 ms until it holds or d passed.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invoke calls Invoke and fails the test on a service error.
func (ts *testServer) invoke(t *testing.T, name, payload string) *lambda.InvokeOutput {
	t.Helper()
	out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	return out
}

// invokeEnv invokes a function with handler "env" and returns what it saw.
func (ts *testServer) invokeEnv(t *testing.T, name string) map[string]string {
	t.Helper()
	out := ts.invoke(t, name, `{}`)
	succeeded(t, out)
	var env map[string]string
	if err := json.Unmarshal(out.Payload, &env); err != nil {
		t.Fatalf("env payload %.300s: %v", out.Payload, err)
	}
	return env
}

// testFunctionZipWith returns the test function's package with extra files,
// so that its CodeSha256 differs from testFunctionZip's. The bootstrap
// entry is copied as it is compressed in testFunctionZip (compressing its
// megabytes again took seconds of CPU under the race detector per call).
func testFunctionZipWith(t *testing.T, extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(testFunctionZip), int64(len(testFunctionZip)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if _, ok := extra[f.Name]; ok {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(extra[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// proc is one process as /proc/<pid>/stat describes it.
type proc struct {
	pid, ppid int
	comm      string
	state     string
	start     string // start time in clock ticks since boot: tells a reused pid apart
}

func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	f := strings.Fields(s[end+1:]) // state ppid pgrp ... (field 3 onwards)
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return proc{pid: pid, ppid: ppid, comm: s[open+1 : end], state: f[0], start: f[19]}, true
}

// childrenOf lists the live processes whose parent is ppid.
func childrenOf(ppid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.ppid == ppid {
			out = append(out, p)
		}
	}
	return out
}

// runtimesOf lists the runtime processes of a server started by this test
// process with the given data dir: children of this process running
// "bootstrap" whose TMPDIR lies in the server's data dir. Tests run in
// parallel, each with its own server, so the parent alone is not enough.
func runtimesOf(dataDir string) []proc {
	prefix := "TMPDIR=" + filepath.Join(dataDir, "tmp") + string(filepath.Separator)
	var out []proc
	for _, p := range childrenOf(os.Getpid()) {
		if p.comm != "bootstrap" {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, []byte(prefix)) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// stillThere returns the processes of ps that still exist (same pid, same
// start time), zombies included.
func stillThere(ps []proc) []proc {
	var out []proc
	for _, p := range ps {
		if q, ok := readProc(p.pid); ok && q.start == p.start {
			out = append(out, q)
		}
	}
	return out
}

// identities names the processes of ps by pid and start time, in order of pid.
func identities(ps []proc) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = strconv.Itoa(p.pid) + "@" + p.start
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// waitGone fails the test unless every process of ps is gone within d.
func waitGone(t *testing.T, ps []proc, d time.Duration) {
	t.Helper()
	var left []proc
	if !eventually(d, func() bool { left = stillThere(ps); return len(left) == 0 }) {
		t.Fatalf("processes still there after %v: %+v", d, left)
	}
}

// stopAsync stops ts in the background (as ts.stop does, once) and returns
// Serve's error on the channel; the test's cleanup then has nothing to do.
func (ts *testServer) stopAsync() <-chan error {
	errc := make(chan error, 1)
	go ts.stopOnce.Do(func() {
		ts.cancel()
		errc <- <-ts.done
	})
	return errc
}
