package nodejs

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBufferedESMAndContext(t *testing.T) {
	t.Parallel()
	f := start(t, "buffered", "index.handler")
	before := time.Now()
	r := f.api.invoke(t, "req-buffered-1", map[string]any{"hello": "world"})
	if r.kind != "response" || r.id != "req-buffered-1" {
		t.Fatalf("posted %s for %q, want the response of req-buffered-1: %s", r.kind, r.id, r.body())
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" && ct != "" {
		t.Errorf("Content-Type %q", ct)
	}
	if m := r.header.Get("Lambda-Runtime-Function-Response-Mode"); m != "" {
		t.Errorf("a buffered response says Response-Mode %q", m)
	}
	got := decode[struct {
		Event   map[string]any `json:"event"`
		Context struct {
			FunctionName       string `json:"functionName"`
			FunctionVersion    string `json:"functionVersion"`
			InvokedFunctionArn string `json:"invokedFunctionArn"`
			MemoryLimitInMB    string `json:"memoryLimitInMB"`
			AwsRequestID       string `json:"awsRequestId"`
			LogGroupName       string `json:"logGroupName"`
			LogStreamName      string `json:"logStreamName"`
			Remaining          int64  `json:"remainingTimeInMillis"`
			CallbackWaits      bool   `json:"callbackWaitsForEmptyEventLoop"`
		} `json:"context"`
		Env  map[string]string `json:"env"`
		Node string            `json:"node"`
		Cwd  string            `json:"cwd"`
	}](t, r.body())
	if got.Event["hello"] != "world" {
		t.Errorf("event %v", got.Event)
	}
	c := got.Context
	want := map[string][2]string{
		"functionName":       {c.FunctionName, testFunctionName},
		"functionVersion":    {c.FunctionVersion, "$LATEST"},
		"invokedFunctionArn": {c.InvokedFunctionArn, testFunctionARN},
		"memoryLimitInMB":    {c.MemoryLimitInMB, "256"},
		"awsRequestId":       {c.AwsRequestID, "req-buffered-1"},
		"logGroupName":       {c.LogGroupName, testLogGroup},
		"logStreamName":      {c.LogStreamName, testLogStream},
		"cwd":                {got.Cwd, "/var/task"},
		"LAMBDA_TASK_ROOT":   {got.Env["LAMBDA_TASK_ROOT"], "/var/task"},
		"_HANDLER":           {got.Env["_HANDLER"], "index.handler"},
		"NODE_PATH":          {got.Env["NODE_PATH"], "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"},
		"AWS_EXECUTION_ENV":  {got.Env["AWS_EXECUTION_ENV"], "AWS_Lambda_nodejs20.x"},
		"_X_AMZN_TRACE_ID":   {got.Env["_X_AMZN_TRACE_ID"], "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	// The deadline is 30s after the event was queued.
	if max := 30*time.Second - time.Since(before); c.Remaining <= 20000 || c.Remaining > max.Milliseconds()+1000 {
		t.Errorf("getRemainingTimeInMillis() = %d, want about %d", c.Remaining, max.Milliseconds())
	}
	if !c.CallbackWaits {
		t.Error("callbackWaitsForEmptyEventLoop is false, Lambda's default is true")
	}

	// console.log: Node's text format, with the request id.
	line := regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\treq-buffered-1\tINFO\tbuffered handler got {"hello":"world"}$`)
	out := f.waitOutput(t, "buffered handler got")
	m := line.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no console.log line in Lambda's format in:\n%s", out)
	}
	if ts, err := time.Parse(time.RFC3339Nano, m[1]); err != nil || ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
		t.Errorf("log time %q (%v) is not the time of the invocation", m[1], err)
	}
	if strings.Contains(out, "Executing ") {
		t.Errorf("the runtime printed the bin script's banner, Lambda does not:\n%s", out)
	}

	// The same environment takes the next invocation.
	r = f.api.invoke(t, "req-buffered-2", map[string]any{"n": 2})
	if r.kind != "response" || !strings.Contains(string(r.body()), `"awsRequestId":"req-buffered-2"`) {
		t.Fatalf("second invocation: %s %s", r.kind, r.body())
	}
}

func TestCallbackCommonJS(t *testing.T) {
	t.Parallel()
	f := start(t, "callback", "index.handler")
	r := f.api.invoke(t, "req-cb-1", map[string]any{"x": 1})
	if r.kind != "response" {
		t.Fatalf("posted %s: %s", r.kind, r.body())
	}
	got := decode[map[string]any](t, r.body())
	if got["style"] != "callback" || got["requestId"] != "req-cb-1" {
		t.Errorf("response %s", r.body())
	}
	r = f.api.invoke(t, "req-cb-2", map[string]any{"fail": true})
	if r.kind != "error" {
		t.Fatalf("callback(err) posted %s: %s", r.kind, r.body())
	}
	e := decode[errorDoc](t, r.body())
	if e.ErrorType != "Error" || e.ErrorMessage != "callback failed" || len(e.Trace) == 0 {
		t.Errorf("error document %s", r.body())
	}
	f.waitOutput(t, "\treq-cb-1\tINFO\tcallback handler for req-cb-1")
}

func TestNestedHandler(t *testing.T) {
	t.Parallel()
	f := start(t, "nested", "src/app.handler")
	r := f.api.invoke(t, "req-nested", map[string]any{"deep": true})
	if r.kind != "response" {
		t.Fatalf("posted %s: %s", r.kind, r.body())
	}
	got := decode[map[string]any](t, r.body())
	if got["nested"] != true || got["requestId"] != "req-nested" {
		t.Errorf("response %s", r.body())
	}
}

// TestStreamingLive: the first chunk reaches the Runtime API before the
// handler writes the second, and the body is posted as a stream.
func TestStreamingLive(t *testing.T) {
	t.Parallel()
	f := start(t, "stream", "index.handler")
	r := f.api.invoke(t, "req-stream", map[string]any{"parts": []string{"a", "b"}, "pauseMs": 300})
	if r.kind != "response" {
		t.Fatalf("posted %s: %s", r.kind, r.body())
	}
	if m := r.header.Get("Lambda-Runtime-Function-Response-Mode"); m != "streaming" {
		t.Errorf("Lambda-Runtime-Function-Response-Mode %q, want streaming", m)
	}
	if te := r.header.Get("Content-Type"); te != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain (setContentType)", te)
	}
	if got := string(r.body()); got != "ab" {
		t.Fatalf("body %q, want ab", got)
	}
	if len(r.chunks) < 2 {
		t.Fatalf("the body arrived in %d read(s), want a and b apart", len(r.chunks))
	}
	aAt := r.chunks[0].at
	if string(r.chunks[0].data) != "a" {
		t.Fatalf("first read %q, want a", r.chunks[0].data)
	}
	bAt := r.chunks[len(r.chunks)-1].at
	if gap := bAt.Sub(aAt); gap < 250*time.Millisecond {
		t.Errorf("b arrived %v after a, want ≥ 250ms", gap)
	}
	// The handler logs the time it writes b: a was already here then.
	out := f.waitOutput(t, "writing chunk 2 at ")
	m := regexp.MustCompile(`\treq-stream\tINFO\twriting chunk 2 at (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no log line of chunk 2 in:\n%s", out)
	}
	wroteB, _ := strconv.ParseInt(m[1], 10, 64)
	if aAt.UnixMilli() > wroteB {
		t.Errorf("a arrived at %d, after the handler wrote b at %d", aAt.UnixMilli(), wroteB)
	}
	if len(r.trailer.Values("Lambda-Runtime-Function-Error-Type")) != 0 {
		t.Errorf("error trailer on a clean stream: %v", r.trailer)
	}
}

func TestStreamingThrowMidStream(t *testing.T) {
	t.Parallel()
	f := start(t, "stream", "index.handler")
	r := f.api.invoke(t, "req-streamerr", map[string]any{"chunks": 3, "pauseMs": 50, "throwAfter": 1})
	if r.kind != "response" {
		t.Fatalf("posted %s: %s", r.kind, r.body())
	}
	if got := string(r.body()); got != "chunk 1\n" {
		t.Errorf("body %q, want the first chunk only", got)
	}
	if typ := r.trailer.Get("Lambda-Runtime-Function-Error-Type"); typ != "RangeError" {
		t.Fatalf("Error-Type trailer %q (trailers %v)", typ, r.trailer)
	}
	raw, err := base64.StdEncoding.DecodeString(r.trailer.Get("Lambda-Runtime-Function-Error-Body"))
	if err != nil {
		t.Fatalf("Error-Body trailer is not base64: %v", err)
	}
	e := decode[errorDoc](t, raw)
	if e.ErrorType != "RangeError" || e.ErrorMessage != "stream broke after 1 chunks" || len(e.Trace) == 0 || !strings.HasPrefix(e.Trace[0], "RangeError: stream broke") {
		t.Errorf("Error-Body %s", raw)
	}
	// The environment survives and streams again.
	r = f.api.invoke(t, "req-stream-again", map[string]any{"chunks": 2, "pauseMs": 10})
	if r.kind != "response" || string(r.body()) != "chunk 1\nchunk 2\n" {
		t.Errorf("after a mid-stream throw: %s %q", r.kind, r.body())
	}
}

func TestHttpResponseStream(t *testing.T) {
	t.Parallel()
	f := start(t, "http", "index.handler")
	r := f.api.invoke(t, "req-http", map[string]any{"status": 201, "chunks": 2, "pauseMs": 200})
	if r.kind != "response" {
		t.Fatalf("posted %s: %s", r.kind, r.body())
	}
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("Content-Type %q", ct)
	}
	if m := r.header.Get("Lambda-Runtime-Function-Response-Mode"); m != "streaming" {
		t.Errorf("Response-Mode %q", m)
	}
	body := r.body()
	prelude, rest, ok := strings.Cut(string(body), "\x00\x00\x00\x00\x00\x00\x00\x00")
	if !ok {
		t.Fatalf("no 8-NUL separator in %q", body)
	}
	p := decode[struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}](t, []byte(prelude))
	if p.StatusCode != 201 || p.Headers["content-type"] != "text/plain; charset=utf-8" || p.Headers["x-sluice-test"] != "http" ||
		len(p.Cookies) != 2 || p.Cookies[0] != "session=abc; Path=/; HttpOnly" {
		t.Errorf("prelude %s", prelude)
	}
	if !regexp.MustCompile(`^part 1 at \d+\npart 2 at \d+\n$`).MatchString(rest) {
		t.Errorf("body after the prelude %q", rest)
	}
	// The prelude comes before the first part, and the parts arrive apart.
	first := string(r.chunks[0].data)
	if !strings.HasPrefix(first, "{") {
		t.Errorf("first read %q does not start with the prelude", first)
	}
	var part2 time.Time
	for _, c := range r.chunks {
		if strings.Contains(string(c.data), "part 2") {
			part2 = c.at
		}
	}
	if gap := part2.Sub(r.chunks[0].at); gap < 150*time.Millisecond {
		t.Errorf("part 2 arrived %v after the prelude, want ≥ 150ms", gap)
	}

	r = f.api.invoke(t, "req-sse", map[string]any{"mode": "sse", "chunks": 2, "pauseMs": 10})
	prelude, rest, _ = strings.Cut(string(r.body()), "\x00\x00\x00\x00\x00\x00\x00\x00")
	if !strings.Contains(prelude, `"content-type":"text/event-stream"`) || !regexp.MustCompile(`^data: \{"n":1,"t":\d+\}\n\ndata: \{"n":2,"t":\d+\}\n\n$`).MatchString(rest) {
		t.Errorf("SSE: prelude %s body %q", prelude, rest)
	}
}

func TestBufferedThrow(t *testing.T) {
	t.Parallel()
	f := start(t, "error", "index.handler")
	r := f.api.invoke(t, "req-err", map[string]any{"message": "nope"})
	if r.kind != "error" || r.id != "req-err" {
		t.Fatalf("posted %s for %q: %s", r.kind, r.id, r.body())
	}
	e := decode[errorDoc](t, r.body())
	if e.ErrorType != "TypeError" || e.ErrorMessage != "handler failed: nope" || len(e.Trace) == 0 || !strings.HasPrefix(e.Trace[0], "TypeError: handler failed: nope") {
		t.Errorf("error document %s", r.body())
	}
	if !strings.Contains(strings.Join(e.Trace, "\n"), "/var/task/index.mjs") {
		t.Errorf("trace does not point into the function: %v", e.Trace)
	}
	// Node logs the error with the request id, as on Lambda.
	f.waitOutput(t, "\treq-err\tERROR\tInvoke Error")
}

func TestInitErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fixture, handler, errorType, message string
	}{
		{"badimport", "index.handler", "Runtime.ImportModuleError", "Cannot find module 'sluice-no-such-package'"},
		// An ES module's failed import is ERR_MODULE_NOT_FOUND, which the
		// client (3.3.0 and 4.0.2 alike) does not map to ImportModuleError.
		{"badimport", "esm.handler", "Error", "Cannot find package 'sluice-no-such-package'"},
		{"buffered", "index.nothere", "Runtime.HandlerNotFound", "index.nothere is undefined or not exported"},
		{"buffered", "missing.handler", "Runtime.ImportModuleError", "Cannot find module 'missing'"},
		{"buffered", "nodot", "Runtime.MalformedHandlerName", "Bad handler"},
	}
	for _, c := range cases {
		t.Run(c.fixture+"/"+c.handler, func(t *testing.T) {
			t.Parallel()
			f := start(t, c.fixture, c.handler)
			r := f.api.wait(t)
			if r.kind != "init" {
				t.Fatalf("posted %s, want /init/error: %s", r.kind, r.body())
			}
			if typ := r.header.Get("Lambda-Runtime-Function-Error-Type"); typ != c.errorType {
				t.Errorf("Lambda-Runtime-Function-Error-Type %q, want %q", typ, c.errorType)
			}
			e := decode[errorDoc](t, r.body())
			if e.ErrorType != c.errorType || !strings.Contains(e.ErrorMessage, c.message) {
				t.Errorf("init error %s, want %s containing %q", r.body(), c.errorType, c.message)
			}
			if err := f.exited(t); err == nil {
				t.Error("the runtime exited with status 0 after an init error")
			}
		})
	}
}

// TestInstalledLayout: what the sandbox relies on. The directory is
// readable by any uid (functions run as a uid of their own), has the
// marker, the entry point and the native part, and none of the build's
// leftovers.
func TestInstalledLayout(t *testing.T) {
	dir, node := runtimeDir(t)
	m, err := ReadMarker(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, version, err := NodeVersion(t.Context(), node)
	if err != nil {
		t.Fatal(err)
	}
	if m.RIC != RICVersion || m.NodeVersion != version || m.Installed.IsZero() {
		t.Errorf("marker %+v", m)
	}
	for _, p := range []string{"index.mjs", "node_modules/aws-lambda-ric/dist/index.mjs", "node_modules/aws-lambda-ric/dist/rapid-client.node", "node_modules/aws-lambda-ric/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	for _, p := range []string{"node_modules/node-gyp", "node_modules/aws-lambda-ric/deps"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	var size int64
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		size += fi.Size()
		perm := fi.Mode().Perm()
		if perm&0o004 == 0 || (fi.IsDir() && perm&0o001 == 0) {
			t.Errorf("%s is %v: not readable by the sandbox's uid", p, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if size > 5<<20 {
		t.Errorf("the runtime directory holds %d bytes, want under 5 MiB", size)
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules/aws-lambda-ric/package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if v := decode[struct{ Version string }](t, pkg).Version; v != RICVersion {
		t.Errorf("installed aws-lambda-ric %s, want %s", v, RICVersion)
	}
}

func TestInstallRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := Install(t.Context(), dir, "node", nil)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Install into a non-empty dir: %v", err)
	}
}

func TestInstallWithoutNode(t *testing.T) {
	err := Install(t.Context(), filepath.Join(t.TempDir(), "rt"), filepath.Join(t.TempDir(), "no-node"), nil)
	if err == nil || !strings.Contains(err.Error(), "Node.js not found") || !strings.Contains(err.Error(), "install Node.js") {
		t.Errorf("Install without node: %v", err)
	}
}

func TestCommandAndEnv(t *testing.T) {
	if got := strings.Join(Command("/usr/bin/node", "src/app.handler"), " "); got != "/usr/bin/node /var/runtime/index.mjs src/app.handler" {
		t.Errorf("Command = %s", got)
	}
	env := Env(22)
	if env["NODE_PATH"] != "/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task" {
		t.Errorf("NODE_PATH %q", env["NODE_PATH"])
	}
	if env["AWS_EXECUTION_ENV"] != "AWS_Lambda_nodejs22.x" {
		t.Errorf("AWS_EXECUTION_ENV %q", env["AWS_EXECUTION_ENV"])
	}
}

func TestNodeMajor(t *testing.T) {
	for in, want := range map[string]int{"v20.20.2": 20, "v22.1.0\n": 22, "24.0.0": 24} {
		if got, err := NodeMajor(in); err != nil || got != want {
			t.Errorf("NodeMajor(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "vx", "v-1.0"} {
		if _, err := NodeMajor(in); err == nil {
			t.Errorf("NodeMajor(%q) accepted", in)
		}
	}
}

func TestDiagnose(t *testing.T) {
	cases := map[string]string{
		"Error: cmake is not installed.":                                 "apt-get install -y cmake",
		"./buildconf: 1: autoreconf: not found":                          "apt-get install -y cmake",
		"npm error code ENOTFOUND\nnpm error network request failed":     "npm cache add aws-lambda-ric@" + RICVersion,
		"npm error code ENOTCACHED\nnpm error request to ... cache mode": "npm's cache does not hold",
	}
	for out, want := range cases {
		if got := diagnose(out); !strings.Contains(got, want) {
			t.Errorf("diagnose(%q) = %q, want it to contain %q", out, got, want)
		}
	}
}

// TestInstallCancelled: a cancelled Install stops npm and its build (the
// whole process group) and says why.
func TestInstallCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	begin := time.Now()
	err := Install(ctx, filepath.Join(t.TempDir(), "rt"), "node", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Install with a 3s deadline: %v", err)
	}
	if took := time.Since(begin); took > 20*time.Second {
		t.Errorf("Install returned %v after its deadline", took-3*time.Second)
	}
}
