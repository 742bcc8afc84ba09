package python

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const interpreter = "/usr/bin/python3"

// wait bounds every wait of these tests; none of them is expected to take
// more than a fraction of it.
const wait = 20 * time.Second

// invocation is what the fake Runtime API hands out on /next.
type invocation struct {
	ID            string
	Payload       string
	ClientContext string
	Cognito       string
	Tenant        string
	Deadline      time.Time // zero: 60 s after /next
}

// chunk is one read of a /response body and when it arrived.
type chunk struct {
	data []byte
	at   time.Time
}

// result is one request a runtime sent: /response, /error or /init/error.
type result struct {
	Kind     string // "response", "error", "init"
	ID       string
	Header   http.Header
	Chunked  bool
	Declared []string // trailer names declared before the body
	Body     []byte
	Chunks   []chunk
	Trailer  http.Header
}

// fakeAPI speaks the Runtime API 2018-06-01 to one runtime.
type fakeAPI struct {
	srv       *httptest.Server
	next      chan invocation
	results   chan *result
	stop      chan struct{}
	stopOnce  sync.Once
	onChunk   func(id string, n int, c chunk) // called per body read, may be nil
	failPosts bool                            // answer /response with 500
}

// newFakeAPI starts a fake Runtime API; opts configure it before it serves.
func newFakeAPI(t *testing.T, opts ...func(*fakeAPI)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		next:    make(chan invocation, 16),
		results: make(chan *result, 16),
		stop:    make(chan struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", f.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", f.handlePost("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", f.handlePost("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", f.handlePost("init"))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.stopOnce.Do(func() { close(f.stop) })
		f.srv.Close()
	})
	return f
}

func (f *fakeAPI) addr() string { return f.srv.Listener.Addr().String() }

func (f *fakeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	var inv invocation
	select {
	case inv = <-f.next:
	case <-r.Context().Done():
		return
	case <-f.stop:
		http.Error(w, `{"errorType":"EnvironmentShuttingDown"}`, http.StatusGone)
		return
	}
	if inv.Deadline.IsZero() {
		inv.Deadline = time.Now().Add(60 * time.Second)
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:pyfn:live")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;trace-"+inv.ID)
	if inv.ClientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.ClientContext)
	}
	if inv.Cognito != "" {
		h.Set("Lambda-Runtime-Cognito-Identity", inv.Cognito)
	}
	if inv.Tenant != "" {
		h.Set("Lambda-Runtime-Aws-Tenant-Id", inv.Tenant)
	}
	h.Set("Content-Type", "application/json")
	io.WriteString(w, inv.Payload)
}

func (f *fakeAPI) handlePost(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res := &result{Kind: kind, ID: r.PathValue("id"), Header: r.Header.Clone()}
		for _, te := range r.TransferEncoding {
			res.Chunked = res.Chunked || te == "chunked"
		}
		for k := range r.Trailer {
			res.Declared = append(res.Declared, k)
		}
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				c := chunk{data: bytes.Clone(buf[:n]), at: time.Now()}
				res.Chunks = append(res.Chunks, c)
				res.Body = append(res.Body, c.data...)
				if f.onChunk != nil {
					f.onChunk(res.ID, len(res.Chunks)-1, c)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		res.Trailer = r.Trailer.Clone()
		f.results <- res
		if kind == "response" && f.failPosts {
			http.Error(w, `{"errorType":"InternalError","errorMessage":"Internal error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"OK"}`)
	}
}

// invoke queues an invocation and returns what the runtime answered.
func (f *fakeAPI) invoke(t *testing.T, inv invocation) *result {
	t.Helper()
	f.next <- inv
	res := f.result(t)
	if res.ID != inv.ID {
		t.Fatalf("answer for %q, want %q", res.ID, inv.ID)
	}
	return res
}

func (f *fakeAPI) result(t *testing.T) *result {
	t.Helper()
	select {
	case res := <-f.results:
		return res
	case <-time.After(wait):
		t.Fatal("no answer from the runtime")
		return nil
	}
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runtimeProc is the bootstrap running as a child process.
type runtimeProc struct {
	root   string // task root
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error // of Wait, valid after done
}

// waitForText polls the runtime's stdout until it contains s.
func (p *runtimeProc) waitForText(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(p.stdout.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("stdout never contained %q; stdout:\n%s\nstderr:\n%s", s, p.stdout, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exitCode waits for the runtime to exit and returns its exit code.
func (p *runtimeProc) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(wait):
		t.Fatal("the runtime did not exit")
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// startRuntime installs the bootstrap, writes files into a fresh task root
// and starts the runtime with handler against api. The process is killed
// when the test ends.
func startRuntime(t *testing.T, api *fakeAPI, handler string, files map[string]string, env ...string) *runtimeProc {
	t.Helper()
	runtimeDir := filepath.Join(t.TempDir(), "runtime")
	if err := Install(runtimeDir); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	argv := CommandAt(interpreter, runtimeDir)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"AWS_LAMBDA_RUNTIME_API=" + api.addr(),
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + root,
		"LAMBDA_RUNTIME_DIR=" + runtimeDir,
		"AWS_LAMBDA_FUNCTION_NAME=pyfn",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/pyfn",
		"AWS_LAMBDA_LOG_STREAM_NAME=2025/01/02/[$LATEST]0123456789abcdef",
		"AWS_REGION=us-east-1",
	}
	for k, v := range Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, env...)
	p := &runtimeProc{root: root, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel() // kills the process if it still runs
		<-p.done
		if t.Failed() {
			t.Logf("runtime stdout:\n%s\nruntime stderr:\n%s", p.stdout, p.stderr)
		}
	})
	return p
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", b, err)
	}
	return m
}

func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	for range 2 {
		if err := Install(dir); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, Script))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bootstrap) {
		t.Error("installed bootstrap differs from the embedded one")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only %s", len(entries), Script)
	}
	// A stale bootstrap is replaced.
	if err := os.WriteFile(filepath.Join(dir, Script), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, Script)); !bytes.Equal(got, bootstrap) {
		t.Error("stale bootstrap not replaced")
	}
	if got := Command("/usr/bin/python3.12"); strings.Join(got, " ") != "/usr/bin/python3.12 -u -B /var/runtime/bootstrap.py" {
		t.Errorf("Command = %q", got)
	}
	if env := Env(); env["PYTHONUNBUFFERED"] != "1" || env["PYTHONDONTWRITEBYTECODE"] != "1" {
		t.Errorf("Env = %v", env)
	}
}

func TestBufferedJSON(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	startRuntime(t, api, "app.handler", map[string]string{"app.py": `
def handler(event, context):
    return {"kind": type(event).__name__, "echo": event, "greeting": "héllo"}
`})
	res := api.invoke(t, invocation{ID: "req-1", Payload: `{"name":"sluice","n":[1,2]}`})
	if res.Kind != "response" {
		t.Fatalf("got %s %s", res.Kind, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := `{"kind": "dict", "echo": {"name": "sluice", "n": [1, 2]}, "greeting": "h\u00e9llo"}`
	if string(res.Body) != want {
		t.Errorf("body = %s\nwant   %s", res.Body, want)
	}
}

func TestReturnValues(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	startRuntime(t, api, "app.handler", map[string]string{"app.py": `
import datetime, decimal
def handler(event, context):
    what = event["what"]
    if what == "decimal":
        return {"price": decimal.Decimal("1.10"), "count": decimal.Decimal("3"), "big": decimal.Decimal("1E+2")}
    if what == "bytes":
        return b"raw \x00 bytes"
    if what == "str":
        return "plain"
    if what == "none":
        return None
    if what == "list":
        return [1, "two", None, True]
    if what == "datetime":
        return {"when": datetime.datetime(2024, 1, 2)}
    if what == "set":
        return {1, 2}
`})
	for i, tc := range []struct {
		what, kind, contentType, body string
	}{
		{"decimal", "response", "application/json", `{"price": 1.10, "count": 3, "big": 1E+2}`},
		{"bytes", "response", "application/unknown", "raw \x00 bytes"},
		{"str", "response", "application/json", `"plain"`},
		{"none", "response", "application/json", `null`},
		{"list", "response", "application/json", `[1, "two", null, true]`},
		{"datetime", "error", "application/json", ""},
		{"set", "error", "application/json", ""},
	} {
		id := fmt.Sprintf("req-%d", i)
		res := api.invoke(t, invocation{ID: id, Payload: `{"what":"` + tc.what + `"}`})
		if res.Kind != tc.kind {
			t.Errorf("%s: got %s %s", tc.what, res.Kind, res.Body)
			continue
		}
		if ct := res.Header.Get("Content-Type"); ct != tc.contentType {
			t.Errorf("%s: Content-Type = %q", tc.what, ct)
		}
		if tc.kind == "response" {
			if string(res.Body) != tc.body {
				t.Errorf("%s: body = %q, want %q", tc.what, res.Body, tc.body)
			}
			continue
		}
		// Not JSON-serialisable: awslambdaric's Runtime.MarshalError.
		doc := decodeJSON(t, res.Body)
		typeName := map[string]string{"datetime": "datetime", "set": "set"}[tc.what]
		wantMsg := "Unable to marshal response: Object of type " + typeName + " is not JSON serializable"
		if doc["errorType"] != "Runtime.MarshalError" || doc["errorMessage"] != wantMsg || doc["requestId"] != id {
			t.Errorf("%s: error = %s", tc.what, res.Body)
		}
		if st, ok := doc["stackTrace"].([]any); !ok || len(st) != 0 {
			t.Errorf("%s: stackTrace = %v, want []", tc.what, doc["stackTrace"])
		}
		if h := res.Header.Get("Lambda-Runtime-Function-Error-Type"); h != "Runtime.MarshalError" {
			t.Errorf("%s: error type header = %q", tc.what, h)
		}
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	startRuntime(t, api, "app.handler", map[string]string{"app.py": `
import os, time
def handler(event, context):
    r1 = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    r2 = context.get_remaining_time_in_millis()
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": [r1, r2],
        "client": None if cc is None else {
            "installation_id": cc.client.installation_id,
            "app_title": cc.client.app_title,
            "app_package_name": cc.client.app_package_name,
            "custom": cc.custom,
            "env": cc.env,
        },
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "tenant_id": context.tenant_id,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
    }
`})
	res := api.invoke(t, invocation{
		ID:            "ctx-1",
		Payload:       `{}`,
		ClientContext: `{"client":{"installation_id":"inst-1","app_title":"App"},"custom":{"k":"v"},"env":{"platform":"test"}}`,
		Cognito:       `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
		Deadline:      time.Now().Add(30 * time.Second),
	})
	if res.Kind != "response" {
		t.Fatalf("got %s %s", res.Kind, res.Body)
	}
	doc := decodeJSON(t, res.Body)
	for k, want := range map[string]any{
		"aws_request_id":       "ctx-1",
		"function_name":        "pyfn",
		"function_version":     "$LATEST",
		"invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:pyfn:live",
		"memory_limit_in_mb":   "256", // a string, as in awslambdaric
		"log_group_name":       "/aws/lambda/pyfn",
		"log_stream_name":      "2025/01/02/[$LATEST]0123456789abcdef",
		"tenant_id":            nil,
		"trace":                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;trace-ctx-1",
	} {
		if doc[k] != want {
			t.Errorf("%s = %#v, want %#v", k, doc[k], want)
		}
	}
	rem, _ := doc["remaining"].([]any)
	if len(rem) != 2 {
		t.Fatalf("remaining = %v", doc["remaining"])
	}
	r1, r2 := rem[0].(float64), rem[1].(float64)
	if r1 <= 0 || r1 > 30000 || r2 >= r1 {
		t.Errorf("remaining time %v then %v: want 0 < r2 < r1 <= 30000", r1, r2)
	}
	client, _ := doc["client"].(map[string]any)
	wantClient := map[string]any{
		"installation_id": "inst-1", "app_title": "App", "app_package_name": nil,
		"custom": map[string]any{"k": "v"}, "env": map[string]any{"platform": "test"},
	}
	if fmt.Sprint(client) != fmt.Sprint(wantClient) {
		t.Errorf("client_context = %v, want %v", client, wantClient)
	}
	if fmt.Sprint(doc["identity"]) != "[id-1 pool-1]" {
		t.Errorf("identity = %v", doc["identity"])
	}

	// Without the optional headers: no client context, an empty identity, and
	// the per-invocation trace id and tenant id.
	res = api.invoke(t, invocation{ID: "ctx-2", Payload: `{}`, Tenant: "tenant-a"})
	doc = decodeJSON(t, res.Body)
	if doc["client"] != nil || fmt.Sprint(doc["identity"]) != "[<nil> <nil>]" || doc["tenant_id"] != "tenant-a" {
		t.Errorf("client = %v, identity = %v, tenant_id = %v", doc["client"], doc["identity"], doc["tenant_id"])
	}
	if tr, _ := doc["trace"].(string); !strings.HasSuffix(tr, ";trace-ctx-2") {
		t.Errorf("_X_AMZN_TRACE_ID = %q, want this invocation's", tr)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := startRuntime(t, api, "app.handler", map[string]string{"app.py": `
import logging, os, sys, time
logger = logging.getLogger("app")
def handler(event, context):
    print("from print")
    logger.info("from logging %s", "info")
    logging.warning("from logging warning")
    sys.stderr.write("from stderr\n")
    # Wait until the test has seen the lines: they must not sit in a buffer.
    ack = os.path.join(os.environ["LAMBDA_TASK_ROOT"], "ack")
    for _ in range(1000):
        if os.path.exists(ack):
            return {"acked": True}
        time.sleep(0.01)
    return {"acked": False}
`}, "AWS_LAMBDA_LOG_LEVEL=INFO")
	api.next <- invocation{ID: "log-1", Payload: `{}`}
	p.waitForText(t, "from print\n")
	p.waitForText(t, "from logging warning\n")
	if err := os.WriteFile(filepath.Join(p.root, "ack"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := api.result(t)
	if string(res.Body) != `{"acked": true}` {
		t.Errorf("body = %s: the log lines were not written at once", res.Body)
	}
	out := p.stdout.String()
	for _, level := range []string{"INFO", "WARNING"} {
		msg := map[string]string{"INFO": "from logging info", "WARNING": "from logging warning"}[level]
		re := regexp.MustCompile(`(?m)^\[` + level + `\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tlog-1\t` + msg + `$`)
		if !re.MatchString(out) {
			t.Errorf("no %s line with the request id in stdout:\n%s", level, out)
		}
	}
	if !strings.Contains(p.stderr.String(), "from stderr\n") {
		t.Errorf("stderr = %q", p.stderr.String())
	}
}

func TestHandlerError(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := startRuntime(t, api, "app.handler", map[string]string{"app.py": `def helper():
    raise ValueError("boom")

def handler(event, context):
    if event.get("ok"):
        return "fine"
    helper()
`})
	res := api.invoke(t, invocation{ID: "err-1", Payload: `{}`})
	if res.Kind != "error" {
		t.Fatalf("got %s %s", res.Kind, res.Body)
	}
	if h := res.Header.Get("Lambda-Runtime-Function-Error-Type"); h != "ValueError" {
		t.Errorf("Lambda-Runtime-Function-Error-Type = %q", h)
	}
	app := filepath.Join(p.root, "app.py")
	want := map[string]any{
		"errorMessage": "boom",
		"errorType":    "ValueError",
		"requestId":    "err-1",
		"stackTrace": []any{
			"  File \"" + app + "\", line 7, in handler\n    helper()\n",
			"  File \"" + app + "\", line 2, in helper\n    raise ValueError(\"boom\")\n",
		},
	}
	if got := decodeJSON(t, res.Body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("error =\n%v\nwant\n%v", got, want)
	}
	p.waitForText(t, "[ERROR] ValueError: boom\rTraceback (most recent call last):\r\u00a0\u00a0File \""+app+"\", line 7, in handler\r")
	// The environment survives a function error.
	if res := api.invoke(t, invocation{ID: "err-2", Payload: `{"ok":true}`}); res.Kind != "response" || string(res.Body) != `"fine"` {
		t.Errorf("after an error: %s %s", res.Kind, res.Body)
	}
}

func TestInitErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, handler string
		files         map[string]string
		errorType     string
		message       string // exact, or a prefix when it ends in "*"
		traceIn       string // a text the last stackTrace element contains
	}{
		{"import", "missing.handler", nil,
			"Runtime.ImportModuleError", "Unable to import module 'missing': No module named 'missing'", ""},
		{"import in module", "app.handler", map[string]string{"app.py": "import not_installed_anywhere\n"},
			"Runtime.ImportModuleError", "Unable to import module 'app': No module named 'not_installed_anywhere'", ""},
		{"missing function", "app.nope", map[string]string{"app.py": "def handler(e, c):\n    return 1\n"},
			"Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'", ""},
		{"malformed", "app", map[string]string{"app.py": ""},
			"Runtime.MalformedHandlerName", "Bad handler 'app': not enough values to unpack (expected 2, got 1)", ""},
		{"syntax", "app.handler", map[string]string{"app.py": "def handler(event, context:\n    return 1\n"},
			"Runtime.UserCodeSyntaxError", "Syntax error in module 'app': *", "app.py\" Line 1\n"},
		{"builtin", "sys.handler", nil,
			"Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module", ""},
		{"raises at import", "app.handler", map[string]string{"app.py": "raise RuntimeError('init boom')\n"},
			"RuntimeError", "init boom", "app.py\", line 1, in <module>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			p := startRuntime(t, api, tc.handler, tc.files)
			res := api.result(t)
			if res.Kind != "init" {
				t.Fatalf("got %s %s", res.Kind, res.Body)
			}
			if h := res.Header.Get("Lambda-Runtime-Function-Error-Type"); h != tc.errorType {
				t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", h, tc.errorType)
			}
			doc := decodeJSON(t, res.Body)
			msg, _ := doc["errorMessage"].(string)
			if prefix, ok := strings.CutSuffix(tc.message, "*"); ok {
				if !strings.HasPrefix(msg, prefix) {
					t.Errorf("errorMessage = %q, want %q...", msg, prefix)
				}
			} else if msg != tc.message {
				t.Errorf("errorMessage = %q, want %q", msg, tc.message)
			}
			if doc["errorType"] != tc.errorType || doc["requestId"] != "" {
				t.Errorf("error = %s", res.Body)
			}
			st, ok := doc["stackTrace"].([]any)
			if !ok {
				t.Fatalf("stackTrace = %v", doc["stackTrace"])
			}
			if tc.traceIn == "" {
				if len(st) != 0 {
					t.Errorf("stackTrace = %v, want []", st)
				}
			} else if len(st) == 0 || !strings.Contains(st[len(st)-1].(string), tc.traceIn) {
				t.Errorf("stackTrace = %q, want the last element to contain %q", st, tc.traceIn)
			}
			if code := p.exitCode(t); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			out := p.stdout.String()
			if !strings.Contains(out, "\t\tLAMBDA_WARNING: Unhandled exception.") || !strings.Contains(out, "[ERROR] "+tc.errorType+": ") {
				t.Errorf("stdout lacks the warning and the error:\n%s", out)
			}
		})
	}
}

func TestImportedOnce(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := startRuntime(t, api, "app.handler", map[string]string{"app.py": `
print("module init")
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    return COUNT
`})
	for i := 1; i <= 2; i++ {
		res := api.invoke(t, invocation{ID: fmt.Sprint("once-", i), Payload: `{}`})
		if string(res.Body) != strconv.Itoa(i) {
			t.Errorf("invocation %d: body %s, want %d", i, res.Body, i)
		}
	}
	if n := strings.Count(p.stdout.String(), "module init"); n != 1 {
		t.Errorf("module initialised %d times", n)
	}
}

func TestPackageHandlers(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"pkg/__init__.py":     "",
		"pkg/sub/__init__.py": "",
		"pkg/sub/mod.py":      "from . import helper\ndef fn(event, context):\n    return helper.NAME\n",
		"pkg/sub/helper.py":   "NAME = 'pkg.sub.mod'\n",
		"src/app.py":          "def handler(event, context):\n    return 'src/app'\n",
	}
	for handler, want := range map[string]string{"pkg.sub.mod.fn": `"pkg.sub.mod"`, "src/app.handler": `"src/app"`} {
		t.Run(handler, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			startRuntime(t, api, handler, files)
			res := api.invoke(t, invocation{ID: "pkg-1", Payload: `{}`})
			if res.Kind != "response" || string(res.Body) != want {
				t.Errorf("got %s %s, want %s", res.Kind, res.Body, want)
			}
		})
	}
}

func TestPythonPath(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	libs := t.TempDir()
	if err := os.WriteFile(filepath.Join(libs, "extlib.py"), []byte("VALUE = 'from PYTHONPATH'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startRuntime(t, api, "app.handler", map[string]string{"app.py": `
import sys, extlib
def handler(event, context):
    return {"value": extlib.VALUE, "first": sys.path[0], "bytecode": sys.dont_write_bytecode}
`}, "PYTHONPATH="+libs)
	res := api.invoke(t, invocation{ID: "path-1", Payload: `{}`})
	doc := decodeJSON(t, res.Body)
	if doc["value"] != "from PYTHONPATH" || doc["first"] != p.root || doc["bytecode"] != true {
		t.Errorf("got %s", res.Body)
	}
	if _, err := os.Stat(filepath.Join(p.root, "__pycache__")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the task root got a __pycache__ (%v)", err)
	}
}

// streamFiles is a handler that streams, the sluice extension.
var streamFiles = map[string]string{"app.py": `
import os, time
def wait_for(name):
    path = os.path.join(os.environ.get("ACK_DIR", "/nonexistent"), name)
    for _ in range(1000):  # 10 s, less than the test's wait
        if os.path.exists(path):
            return True
        time.sleep(0.01)
    return False

def handler(event, context):
    mode = event["mode"]
    if mode == "handshake":
        yield "one\n"
        # The platform must have the first chunk before the generator goes on.
        yield "two\n" if wait_for("ack-" + context.aws_request_id) else "no-ack\n"
        time.sleep(0.3)
        yield b"three \xc3\xa9\n"
        yield ""  # empty items are skipped, they must not end the body
        yield "quatre é\n"
    elif mode == "fail":
        yield b"partial"
        time.sleep(0.3)
        raise RuntimeError("mid-stream")
    elif mode == "fail-first":
        raise KeyError("before any chunk")
        yield b"never"
    elif mode == "bad-item":
        yield "ok"
        yield 42
    elif mode == "prelude":
        yield {"statusCode": 201, "headers": {"content-type": "text/plain"}, "cookies": ["a=1"]}
        yield "body"
    elif mode == "empty":
        return
`}

func TestStreaming(t *testing.T) {
	t.Parallel()
	ackDir := t.TempDir()
	api := newFakeAPI(t, func(f *fakeAPI) {
		f.onChunk = func(id string, n int, c chunk) {
			if n == 0 {
				os.WriteFile(filepath.Join(ackDir, "ack-"+id), nil, 0o644)
			}
		}
	})
	startRuntime(t, api, "app.handler", streamFiles, "ACK_DIR="+ackDir)
	res := api.invoke(t, invocation{ID: "s-1", Payload: `{"mode":"handshake"}`})
	if res.Kind != "response" {
		t.Fatalf("got %s %s", res.Kind, res.Body)
	}
	if want := "one\ntwo\nthree é\nquatre é\n"; string(res.Body) != want {
		t.Errorf("body = %q, want %q", res.Body, want)
	}
	if string(res.Chunks[0].data) != "one\n" {
		t.Errorf("first read = %q, want the first item alone", res.Chunks[0].data)
	}
	if last := res.Chunks[len(res.Chunks)-1]; !res.Chunks[0].at.Before(last.at) {
		t.Errorf("first chunk at %v, last at %v", res.Chunks[0].at, last.at)
	}
	if !res.Chunked {
		t.Error("body not chunked")
	}
	for h, want := range map[string]string{
		"Content-Type":                          "application/octet-stream",
		"Lambda-Runtime-Function-Response-Mode": "streaming",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	declared := strings.Join(res.Declared, ",")
	if !strings.Contains(declared, "Lambda-Runtime-Function-Error-Type") || !strings.Contains(declared, "Lambda-Runtime-Function-Error-Body") {
		t.Errorf("declared trailers = %q", declared)
	}
	if typ := res.Trailer.Get("Lambda-Runtime-Function-Error-Type"); typ != "" {
		t.Errorf("error trailer %q on a clean stream", typ)
	}

	// An empty generator is an empty stream.
	res = api.invoke(t, invocation{ID: "s-2", Payload: `{"mode":"empty"}`})
	if res.Kind != "response" || len(res.Body) != 0 || res.Header.Get("Lambda-Runtime-Function-Response-Mode") != "streaming" {
		t.Errorf("empty: %s %q %v", res.Kind, res.Body, res.Header)
	}
}

func TestStreamingErrors(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := startRuntime(t, api, "app.handler", streamFiles)
	app := filepath.Join(p.root, "app.py")

	// Mid-stream: what was sent stays, the trailers carry the error.
	res := api.invoke(t, invocation{ID: "f-1", Payload: `{"mode":"fail"}`})
	if res.Kind != "response" || string(res.Body) != "partial" {
		t.Fatalf("got %s %q", res.Kind, res.Body)
	}
	if typ := res.Trailer.Get("Lambda-Runtime-Function-Error-Type"); typ != "RuntimeError" {
		t.Errorf("Error-Type trailer = %q", typ)
	}
	raw, err := base64.StdEncoding.DecodeString(res.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
	if err != nil {
		t.Fatalf("Error-Body trailer: %v", err)
	}
	doc := decodeJSON(t, raw)
	if doc["errorType"] != "RuntimeError" || doc["errorMessage"] != "mid-stream" || doc["requestId"] != "f-1" {
		t.Errorf("error body = %s", raw)
	}
	if st, _ := doc["stackTrace"].([]any); len(st) != 1 || st[0] != "  File \""+app+"\", line 24, in handler\n    raise RuntimeError(\"mid-stream\")\n" {
		t.Errorf("stackTrace = %q", doc["stackTrace"])
	}
	p.waitForText(t, "[ERROR] RuntimeError: mid-stream\r")

	// A non-bytes item ends the stream with a MarshalError.
	res = api.invoke(t, invocation{ID: "f-2", Payload: `{"mode":"bad-item"}`})
	if res.Kind != "response" || string(res.Body) != "ok" || res.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "Runtime.MarshalError" {
		t.Errorf("bad item: %s %q %v", res.Kind, res.Body, res.Trailer)
	}

	// Before the first item: an ordinary /error.
	res = api.invoke(t, invocation{ID: "f-3", Payload: `{"mode":"fail-first"}`})
	if res.Kind != "error" || res.Header.Get("Lambda-Runtime-Function-Error-Type") != "KeyError" {
		t.Fatalf("fail-first: %s %v %s", res.Kind, res.Header, res.Body)
	}
	if doc := decodeJSON(t, res.Body); doc["errorMessage"] != "'before any chunk'" || doc["requestId"] != "f-3" {
		t.Errorf("fail-first: %s", res.Body)
	}
}

func TestStreamingPrelude(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	startRuntime(t, api, "app.handler", streamFiles)
	res := api.invoke(t, invocation{ID: "p-1", Payload: `{"mode":"prelude"}`})
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := `{"statusCode": 201, "headers": {"content-type": "text/plain"}, "cookies": ["a=1"]}` + "\x00\x00\x00\x00\x00\x00\x00\x00body"
	if string(res.Body) != want {
		t.Errorf("body = %q, want %q", res.Body, want)
	}
}

func TestExit(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	p := startRuntime(t, api, "app.handler", map[string]string{"app.py": `
import os, sys
def handler(event, context):
    if event["how"] == "sys.exit":
        sys.exit(3)
    os._exit(4)
`})
	api.next <- invocation{ID: "x-1", Payload: `{"how":"sys.exit"}`}
	if code := p.exitCode(t); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	select {
	case res := <-api.results:
		t.Errorf("the runtime answered %s %s after sys.exit", res.Kind, res.Body)
	default:
	}

	api2 := newFakeAPI(t)
	p2 := startRuntime(t, api2, "app.handler", map[string]string{"app.py": "import os\ndef handler(e, c):\n    os._exit(4)\n"})
	api2.next <- invocation{ID: "x-2", Payload: `{}`}
	if code := p2.exitCode(t); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
}

func TestRuntimeAPIFailure(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t, func(f *fakeAPI) { f.failPosts = true })
	p := startRuntime(t, api, "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return 1\n"})
	api.invoke(t, invocation{ID: "api-1", Payload: `{}`})
	if code := p.exitCode(t); code == 0 {
		t.Error("the runtime exited 0 after the Runtime API refused its response")
	}
	if !strings.Contains(p.stderr.String(), "Request to Lambda Runtime") {
		t.Errorf("stderr = %q", p.stderr.String())
	}
}
