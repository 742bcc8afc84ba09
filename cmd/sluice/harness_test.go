package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/runtimes/nodejs"
)

// testRuntimesDir is where the test servers provision runtimes: shared by
// every test (and kept between runs), keyed by the Node client's version.
var testRuntimesDir = filepath.Join(os.TempDir(), "sluice-test-runtimes-"+nodejs.RICVersion)

// testFunctionZip is the deployment package of internal/testfunction,
// built once per test binary by TestMain.
var testFunctionZip []byte

// testBuildDir holds what the test binary builds once (the test function,
// the sluice binary); TestMain removes it.
var testBuildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-testfunction-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBuildDir = dir
	testFunctionZip, err = buildTestFunction(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building internal/testfunction:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildTestFunction compiles the aws-lambda-go test function as a
// provided.al2023 bootstrap and zips it.
func buildTestFunction(dir string) ([]byte, error) {
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", bin, "github.com/sluice-dev/sluice/internal/testfunction")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return zipFiles(map[string][]byte{"bootstrap": b}, 0o755), nil
}

// sluiceBinary is cmd/sluice built once per test binary (buildSluice).
var sluiceBinary struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// buildSluice returns the sluice binary, built from cmd/sluice the first
// time a test asks for it and shared by every test after: the tests run it
// (never change it), so one build proves what one per test did, without a
// link of the whole binary per test.
func buildSluice(t *testing.T) string {
	t.Helper()
	sluiceBinary.once.Do(func() {
		bin := filepath.Join(testBuildDir, "sluice")
		sluiceBinary.out, sluiceBinary.err = exec.Command("go", "build", "-o", bin, "github.com/sluice-dev/sluice/cmd/sluice").CombinedOutput()
		sluiceBinary.path = bin
	})
	if sluiceBinary.err != nil {
		t.Fatalf("go build: %v\n%s", sluiceBinary.err, sluiceBinary.out)
	}
	return sluiceBinary.path
}

// zipFiles returns a zip of files, each with the given mode.
func zipFiles(files map[string][]byte, mode os.FileMode) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			panic(err)
		}
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// testServer is a sluice started by the tests on a loopback port.
type testServer struct {
	*Server
	cfg      Config
	URL      string
	Client   *lambda.Client
	logs     *syncBuffer // every function's log stream
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// scope is the server's default scope (--region, --account-id).
func (ts *testServer) scope() sluice.Scope {
	return sluice.Scope{Region: ts.cfg.Region, Account: ts.cfg.AccountID}
}

// startServer runs sluice with DefaultConfig on 127.0.0.1:0 and a fresh
// data dir; mod may change the config. The server stops at cleanup.
func startServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	// testing's temporary directories are private (0700); the sandboxes'
	// uids must be able to reach the code in the data dir.
	if err := os.Chmod(filepath.Dir(cfg.DataDir), 0o711); err != nil {
		t.Fatal(err)
	}
	cfg.ShutdownGrace = 3 * time.Second
	// Every test server shares one provisioning of the nodejs and python
	// runtimes (the Node client's native build takes a minute or more).
	cfg.RuntimesDir = testRuntimesDir
	// Most tests are about the API and the runtime protocol: they run
	// without sandboxes, and the TestSandbox* tests ask for them.
	cfg.Sandbox = "none"
	if mod != nil {
		mod(&cfg)
	}
	return startServerWith(t, cfg)
}

func startServerWith(t testing.TB, cfg Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := Open(context.Background(), cfg, logger, func(string) io.Writer { return logs })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, cfg: cfg, URL: srv.URL(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx) }()
	ts.Client = lambdaclient.New(ts.URL, cfg.AccessKeyID, cfg.SecretAccessKey)
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and waits for it; safe to call twice.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	ts.stopOnce.Do(func() {
		ts.cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("server did not stop within 30s")
		}
	})
}

// createFunction creates a function running the test function with the
// given handler.
func (ts *testServer) createFunction(t testing.TB, name, handler string, mod ...func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String(handler),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: testFunctionZip},
	}
	for _, m := range mod {
		m(in)
	}
	out, err := ts.Client.CreateFunction(ctx(t), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	ts.waitActive(t, name)
	return out
}

// waitActive waits, with the SDK's waiter as a user would, until the
// function's deployment ended and it is Active.
func (ts *testServer) waitActive(t testing.TB, name string) {
	t.Helper()
	w := lambda.NewFunctionActiveV2Waiter(ts.Client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 60*time.Second); err != nil {
		t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
}

// waitUpdated waits with the SDK's waiter until the function's last update
// ended successfully.
func (ts *testServer) waitUpdated(t testing.TB, name string) {
	t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(ts.Client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 60*time.Second); err != nil {
		t.Fatalf("waiting for the update of %s: %v", name, err)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), lambdaclient.DefaultTimeout)
	t.Cleanup(cancel)
	return c
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testWriter sends the server's own log to t.Log.
type testWriter struct{ t testing.TB }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
