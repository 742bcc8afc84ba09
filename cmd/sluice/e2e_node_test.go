package main

// The nodejs* runtimes end to end: the functions of
// internal/testfunction/node run unmodified through the official Node.js
// runtime interface client, provisioned by sluice, with the machine's
// node; unsandboxed and in bubblewrap sandboxes, through the Go SDK, and
// behind function URLs.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

var nodeDir = filepath.Join("..", "..", "internal", "testfunction", "node")

func nodeZip(t testing.TB, fn string) []byte { return zipDir(t, filepath.Join(nodeDir, fn)) }

// TestNodeRuntime is not parallel: it asserts that a streamed chunk
// arrives 1.4 s before the stream's end, and Node.js in a sandbox on a
// machine loaded by the parallel tests delayed its first chunk past that.
func TestNodeRuntime(t *testing.T) { inEachSandbox(t, testNodeFunctions) }

func testNodeFunctions(t *testing.T, ts *testServer, sandboxed bool) {
	c := ts.Client

	// A buffered ESM handler, with its context.
	ts.createRuntimeFunction(t, "nbuf", "nodejs20.x", "index.handler", nodeZip(t, "buffered"), func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
	})
	out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nbuf"), Payload: []byte(`{"k":"v"}`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, out)
	var got struct {
		Event   map[string]any
		Context struct {
			FunctionName, FunctionVersion, InvokedFunctionArn, AwsRequestID, LogGroupName string
			MemoryLimitInMB                                                               json.RawMessage
			RemainingTimeInMillis                                                         int
		}
		Env map[string]string
		Cwd string
	}
	if err := json.Unmarshal(out.Payload, &got); err != nil {
		t.Fatalf("payload %s: %v", out.Payload, err)
	}
	cx := got.Context
	if got.Event["k"] != "v" || cx.FunctionName != "nbuf" || cx.FunctionVersion != "$LATEST" || cx.InvokedFunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:nbuf" ||
		strings.Trim(string(cx.MemoryLimitInMB), `"`) != "256" || cx.LogGroupName != "/aws/lambda/nbuf" || cx.RemainingTimeInMillis <= 0 || len(cx.AwsRequestID) != 36 ||
		got.Env["AWS_EXECUTION_ENV"] != "AWS_Lambda_nodejs20.x" || got.Env["_HANDLER"] != "index.handler" {
		t.Errorf("buffered handler saw: %s", out.Payload)
	}
	if sandboxed && (got.Cwd != "/var/task" || got.Env["LAMBDA_TASK_ROOT"] != "/var/task") {
		t.Errorf("in a sandbox: cwd %q, LAMBDA_TASK_ROOT %q", got.Cwd, got.Env["LAMBDA_TASK_ROOT"])
	}
	tail := decodeTail(t, out.LogResult)
	if !strings.Contains(tail, "\tINFO\tbuffered handler got {\"k\":\"v\"}") || !strings.Contains(tail, cx.AwsRequestID) {
		t.Errorf("console.log line missing from the log tail:\n%s", tail)
	}

	// A CommonJS callback handler, a nested handler path, errors.
	ts.createRuntimeFunction(t, "ncb", "nodejs20.x", "index.handler", nodeZip(t, "callback"))
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("ncb"), Payload: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, out)
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("ncb"), Payload: []byte(`{"fail":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	functionError(t, out)
	ts.createRuntimeFunction(t, "nnest", "nodejs20.x", "src/app.handler", nodeZip(t, "nested"))
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nnest"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, out)
	ts.createRuntimeFunction(t, "nerr", "nodejs20.x", "index.handler", nodeZip(t, "error"))
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nerr"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if doc := functionError(t, out); doc.ErrorType != "TypeError" || doc.ErrorMessage == "" {
		t.Errorf("thrown error: %s", out.Payload)
	}
	ts.createRuntimeFunction(t, "nbad", "nodejs20.x", "index.handler", nodeZip(t, "badimport"))
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nbad"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if doc := functionError(t, out); doc.ErrorType != "Runtime.ImportModuleError" {
		t.Errorf("import error: %s", out.Payload)
	}

	// streamifyResponse: each write reaches the client as it is made.
	// nodejs22.x on this machine's node (20): the log says so once.
	ts.createRuntimeFunction(t, "nstream", "nodejs22.x", "index.handler", nodeZip(t, "stream"))
	s := openStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("nstream"), Payload: []byte(`{"chunks":3,"pauseMs":700}`), LogType: types.LogTypeTail})
	if first := s.firstChunk(t); string(first) != "chunk 1\n" {
		t.Errorf("first chunk %q", first)
	}
	firstAt := time.Now()
	done := s.finish(t)
	cleanComplete(t, done)
	if s.payload() != "chunk 1\nchunk 2\nchunk 3\n" {
		t.Errorf("streamed %q", s.payload())
	}
	if d := time.Since(firstAt); d < 1000*time.Millisecond {
		t.Errorf("the stream ended %v after its first chunk: the first came only at the end", d)
	}
	if !eventually(5*time.Second, func() bool {
		return strings.Contains(ts.logs.String(), "nodejs22.x") && strings.Contains(ts.logs.String(), "INIT_START")
	}) {
		t.Errorf("no INIT_START notice about the node version in the function log:\n%s", abbreviate(ts.logs.String(), 2000))
	}
	// A throw mid-stream ends in InvokeComplete with the error.
	s = openStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("nstream"), Payload: []byte(`{"chunks":3,"pauseMs":50,"throwAfter":1}`)})
	done = s.finish(t)
	if s.payload() != "chunk 1\n" || aws.ToString(done.ErrorCode) != "RangeError" || !strings.Contains(aws.ToString(done.ErrorDetails), "stream broke after 1 chunks") {
		t.Errorf("throw mid-stream: %q, InvokeComplete %q %q", s.payload(), aws.ToString(done.ErrorCode), aws.ToString(done.ErrorDetails))
	}

	// HttpResponseStream.from behind a RESPONSE_STREAM URL.
	ts.createRuntimeFunction(t, "nhttp", "nodejs22.x", "index.handler", nodeZip(t, "http"))
	fu := ts.createURL(t, "nhttp", "", func(in *lambda.CreateFunctionUrlConfigInput) { in.InvokeMode = types.InvokeModeResponseStream })
	resp, err := ts.urlClient().Get(fu + "?chunks=3&pauseMs=600&status=202")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := readTimed(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 || resp.Header.Get("X-Sluice-Test") != "http" || len(resp.Header.Values("Set-Cookie")) != 2 ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("URL response: %d %v", resp.StatusCode, resp.Header)
	}
	var body strings.Builder
	for _, p := range ps {
		body.WriteString(p.data)
	}
	if strings.Count(body.String(), "part ") != 3 || !strings.HasPrefix(body.String(), "part 1 at ") {
		t.Errorf("URL body %q", body.String())
	}
	if len(ps) < 2 || ps[len(ps)-1].at.Sub(ps[0].at) < 900*time.Millisecond {
		t.Errorf("URL body pieces %v: the first did not arrive well before the last", ps)
	}
	// The same function behind a BUFFERED URL... not streamed, but whole.
	fb := ts.createURL(t, "nbuf", "")
	status, h, b := post(t, ts.urlClient(), fb+"p?x=1", "application/json", []byte(`{"a":1}`))
	if status != 200 || h.Get("Content-Type") != "application/json" || !strings.Contains(string(b), `"rawPath":"/p"`) {
		t.Errorf("buffered URL to a Node function: %d %v %.300s", status, h, b)
	}
}

// TestRuntimeUnavailable: without node the function still settles Active
// and its invocations answer InvalidRuntimeException (502) saying what to
// do; a provisioning that fails leaves the function Failed with the
// reason.
func TestRuntimeUnavailable(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) {
		c.Node = filepath.Join(t.TempDir(), "no-node-here")
		c.RuntimesDir = t.TempDir() // nothing provisioned
	})
	ts.createRuntimeFunction(t, "nonode", "nodejs20.x", "index.handler", nodeZip(t, "buffered"))
	_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nonode"), Payload: []byte(`{}`)})
	apiErrorContains(t, err, "InvalidRuntimeException", "--node")
	if st := statusOf(err); st != 502 {
		t.Errorf("InvalidRuntimeException status %d, want 502", st)
	}
	_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("nonode"), Payload: []byte(`{}`)})
	apiErrorContains(t, err, "InvalidRuntimeException", "--node")

	// A runtimes directory that cannot be created: provisioning fails.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ts2 := startServer(t, func(c *Config) { c.RuntimesDir = filepath.Join(blocker, "runtimes") })
	if _, err := ts2.Client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String("broken"), Runtime: types.RuntimePython312, Handler: aws.String("app.context"),
		Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &types.FunctionCode{ZipFile: zipDir(t, pythonDir)},
	}); err != nil {
		t.Fatal(err)
	}
	var cfg *lambda.GetFunctionConfigurationOutput
	if !eventually(30*time.Second, func() bool {
		out, err := ts2.Client.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("broken")})
		cfg = out
		return err == nil && out.State != types.StatePending
	}) {
		t.Fatalf("the function stayed Pending")
	}
	if cfg.State != types.StateFailed || cfg.StateReasonCode != types.StateReasonCodeInvalidRuntime || aws.ToString(cfg.StateReason) == "" {
		t.Errorf("failed provisioning: State %s, %s: %q", cfg.State, cfg.StateReasonCode, aws.ToString(cfg.StateReason))
	}
}

func apiErrorContains(t *testing.T, err error, code, part string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), part) {
		t.Fatalf("error %v, want %s mentioning %q", err, code, part)
	}
}
