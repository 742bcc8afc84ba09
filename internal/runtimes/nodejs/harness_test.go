package nodejs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/runtimes"
)

// The tests run real node and the real aws-lambda-ric, installed by Install
// into a directory cached across runs (the native build takes a minute or
// more), inside bubblewrap with the runtime read-only at /var/runtime and
// the function read-only at /var/task, against fakeAPI, a Runtime API
// 2018-06-01 that records what the client sends.

const (
	testFunctionName = "node-fn"
	testFunctionARN  = "arn:aws:lambda:us-east-1:000000000000:function:node-fn"
	testLogGroup     = "/aws/lambda/node-fn"
	testLogStream    = "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef"
)

// runtimeDir returns a runtime directory Install filled, installing it on
// the first run on this machine for this RICVersion and Node version.
// SLUICE_NODEJS_TEST_RUNTIME names another directory laid out the same way
// (to try another client version with these tests).
func runtimeDir(t *testing.T) (dir, node string) {
	t.Helper()
	cacheOnce.Do(func() {
		if d := os.Getenv("SLUICE_NODEJS_TEST_RUNTIME"); d != "" {
			cacheDir = d
			cacheNode, _, cacheErr = NodeVersion(context.Background(), "node")
			return
		}
		cacheDir, cacheNode, cacheErr = installCached()
	})
	if cacheErr != nil {
		t.Fatal(cacheErr)
	}
	return cacheDir, cacheNode
}

var (
	cacheOnce           sync.Once
	cacheDir, cacheNode string
	cacheErr            error
)

// installCached provisions the runtime the way sluice does
// (runtimes.Registry.Prepare with this package's Install) into the
// runtimes directory every test package of sluice shares,
// TMPDIR/sluice-test-runtimes-<RICVersion> (cmd/sluice's test servers and
// sluicebench's smoke test use it too): the registry's lock lets one
// process build while the others wait, so a machine builds the client once.
func installCached() (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	node, _, err := NodeVersion(ctx, "node")
	if err != nil {
		return "", "", err
	}
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	shared := filepath.Join(os.TempDir(), "sluice-test-runtimes-"+RICVersion)
	reg := runtimes.New(runtimes.Config{
		Dir: shared, Node: node, Logger: log,
		InstallNode: func(ctx context.Context, dir, node string) error { return Install(ctx, dir, node, log) },
	})
	if err := reg.Prepare(ctx, "nodejs20.x"); err != nil {
		return "", "", fmt.Errorf("installing the runtime for the tests: %w\n%s", err, out.String())
	}
	if !reg.Ready("nodejs20.x") {
		return "", "", fmt.Errorf("the runtime for the tests is not installed:\n%s", out.String())
	}
	return reg.Dir("nodejs20.x"), node, nil
}

// chunk is one read of a response body, with when it arrived.
type chunk struct {
	at   time.Time
	data []byte
}

// result is what the runtime posted for one invocation (or for init).
type result struct {
	kind    string // response, error, init
	id      string
	header  http.Header
	chunks  []chunk
	trailer http.Header
	started time.Time
}

func (r result) body() []byte {
	var b []byte
	for _, c := range r.chunks {
		b = append(b, c.data...)
	}
	return b
}

type event struct {
	id       string
	payload  []byte
	deadline time.Time
}

// fakeAPI is a Runtime API 2018-06-01: /next hands out events, /response,
// /error and /init/error are recorded, chunk by chunk.
type fakeAPI struct {
	srv     *httptest.Server
	events  chan event
	results chan result
}

func newFakeAPI(t *testing.T) *fakeAPI {
	a := &fakeAPI{events: make(chan event, 8), results: make(chan result, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", a.record("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", a.record("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", a.record("init"))
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAPI) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *fakeAPI) next(w http.ResponseWriter, r *http.Request) {
	select {
	case ev := <-a.events:
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", ev.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(ev.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", testFunctionARN)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
		w.Write(ev.payload)
	case <-r.Context().Done():
	}
}

func (a *fakeAPI) record(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res := result{kind: kind, id: r.PathValue("id"), header: r.Header.Clone(), started: time.Now()}
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				res.chunks = append(res.chunks, chunk{at: time.Now(), data: bytes.Clone(buf[:n])})
			}
			if err != nil {
				break
			}
		}
		res.trailer = r.Trailer.Clone()
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"OK"}`))
		a.results <- res
	}
}

// invoke hands the runtime one event and waits for what it posts.
func (a *fakeAPI) invoke(t *testing.T, id string, payload any) result {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	a.events <- event{id: id, payload: b, deadline: time.Now().Add(30 * time.Second)}
	return a.wait(t)
}

func (a *fakeAPI) wait(t *testing.T) result {
	t.Helper()
	select {
	case r := <-a.results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the runtime posted nothing within 30s")
		return result{}
	}
}

// function is a running runtime: node + the RIC in bubblewrap.
type function struct {
	api  *fakeAPI
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the fixture internal/testfunction/node/<fixture> with handler,
// the runtime read-only at /var/runtime and the code read-only at /var/task.
func start(t *testing.T, fixture, handler string) *function {
	t.Helper()
	rt, node := runtimeDir(t)
	task, err := filepath.Abs(filepath.Join("..", "..", "testfunction", "node", fixture))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(task); err != nil {
		t.Fatal(err)
	}
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatalf("bubblewrap is needed to bind the runtime read-only at /var/runtime: %v", err)
	}
	api := newFakeAPI(t)
	args := []string{
		"--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
		"--ro-bind-try", "/etc/ssl", "/etc/ssl", "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf",
		"--ro-bind-try", "/etc/localtime", "/etc/localtime",
	}
	real, err := filepath.EvalSymlinks(node)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(real, "/usr/") {
		prefix := filepath.Dir(filepath.Dir(real))
		args = append(args, "--ro-bind", prefix, prefix)
	}
	args = append(args,
		"--ro-bind", rt, "/var/runtime",
		"--ro-bind", task, "/var/task",
		"--dir", "/opt",
		"--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
		"--remount-ro", "/", "--chdir", "/var/task", "--")
	args = append(args, Command(real, handler)...)
	cmd := exec.Command(bwrap, args...)
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"_HANDLER":                        handler,
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"AWS_LAMBDA_RUNTIME_API":          api.addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        testFunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       testLogGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      testLogStream,
		"AWS_REGION":                      "us-east-1",
	}
	for k, v := range Env(20) {
		env[k] = v
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	f := &function{api: api, cmd: cmd, out: new(lockedBuffer), done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = f.out, f.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-f.done
		if t.Failed() {
			t.Logf("runtime output:\n%s", f.out.String())
		}
	})
	return f
}

// exited waits for the runtime process to end and returns its error.
func (f *function) exited(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.done:
		f.done <- err // for Cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("the runtime did not exit")
		return nil
	}
}

// waitOutput waits until the runtime's output contains s.
func (f *function) waitOutput(t *testing.T, s string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if out := f.out.String(); strings.Contains(out, s) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the runtime's output never contained %q:\n%s", s, f.out.String())
	return ""
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %q", err, b)
	}
	return v
}

// errorDoc is what the client posts to /error and /init/error, and in the
// Error-Body trailer.
type errorDoc struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	Trace        []string `json:"trace"`
}
