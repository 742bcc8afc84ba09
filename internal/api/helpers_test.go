package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testRole    = "arn:aws:iam::123456789012:role/lambda-role"
	testRuntime = "provided.al2023"
)

var testScope = sluice.Scope{Region: testRegion, Account: testAccount}

// fakeInvoker is the data plane of these tests: it only records which
// functions the control plane retired (name:version, with the scope in
// front as in sluice.EnvironmentKey when it is not testScope).
type fakeInvoker struct {
	mu      sync.Mutex
	retired []string
	// changed is closed (and cleared) by the next Retire; see waitRetired.
	changed chan struct{}
}

func (f *fakeInvoker) Invoke(context.Context, sluice.InvokeRequest) (sluice.Output, error) {
	return nil, sluice.Errorf(sluice.EInternal, "fakeInvoker does not invoke")
}

func (f *fakeInvoker) InvokeAsync(sluice.InvokeRequest) error {
	return sluice.Errorf(sluice.EInternal, "fakeInvoker does not invoke")
}

func (f *fakeInvoker) Retire(scope sluice.Scope, name, version, _ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := name + ":" + version
	if scope != testScope {
		key = sluice.EnvironmentKey(scope, name, version)
	}
	f.retired = append(f.retired, key)
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

// waitRetired waits until at least n retirements were recorded and returns
// them. A deployment retires the old environments (and collects the old
// package just before) after it stored its outcome, so a client can see
// LastUpdateStatus Successful a moment before that.
func (f *fakeInvoker) waitRetired(t testing.TB, n int) []string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		f.mu.Lock()
		if len(f.retired) >= n {
			r := append([]string(nil), f.retired...)
			f.mu.Unlock()
			return r
		}
		if f.changed == nil {
			f.changed = make(chan struct{})
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("waiting for %d retirements: have %v", n, f.Retired())
		}
	}
}

func (f *fakeInvoker) Retired() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.retired...)
}

// env is one API server on a real store and artifact store, with an SDK
// client signed with the right credentials.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	client  *lambda.Client
	api     *api.Server
	svc     *service.Service // testScope's
	reg     *service.Registry
	invoker *fakeInvoker
	store   sluice.FunctionStore
	code    *artifacts.Store
	logs    *syncBuffer
	clock   *fakeClock // of the code download URLs
}

// fakeClock is time.Now moved forward by what Advance added.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// envOption changes the configuration of the services behind the server
// (its Store is testScope's).
type envOption func(*service.Config)

// testStores are the Namespaces of an env: the bolt store's, but for
// testScope, whose functions are def's (the Store of the services'
// configuration, which options may wrap).
type testStores struct {
	*bolt.Store
	def sluice.FunctionStore
}

func (s testStores) In(scope sluice.Scope) sluice.Namespace {
	if scope == testScope {
		return struct {
			sluice.FunctionStore
			sluice.FunctionURLStore
		}{s.def, s.Store}
	}
	return s.Store.In(scope)
}

// withStore wraps the store the server uses.
func withStore(wrap func(sluice.FunctionStore) sluice.FunctionStore) envOption {
	return func(c *service.Config) { c.Store = wrap(c.Store) }
}

// withCodeStore wraps the package store the server uses.
func withCodeStore(wrap func(service.CodeStore) service.CodeStore) envOption {
	return func(c *service.Config) { c.Code = wrap(c.Code) }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "sluice.db"), testScope)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	code, err := artifacts.Open(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, invoker: &fakeInvoker{}, store: store, code: code, logs: &syncBuffer{}, clock: &fakeClock{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := service.Config{
		Scope:   testScope,
		Store:   store,
		Code:    code,
		Invoker: e.invoker,
		Logger:  logger,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.reg = service.NewRegistry(service.RegistryConfig{Default: testScope, Stores: testStores{store, cfg.Store}, Service: cfg})
	if e.svc, err = e.reg.Service(context.Background(), testScope); err != nil {
		t.Fatal(err)
	}
	e.api = api.New(api.Config{
		Services: e.reg,
		Verifier: &sigv4.Verifier{
			Secret:  sigv4.StaticCredentials("test", "test"),
			Service: "lambda",
			Now:     time.Now,
			MaxSkew: 5 * time.Minute,
		},
		Logger: logger,
		Now:    e.clock.Now,
	})
	e.srv = httptest.NewServer(e.api)
	t.Cleanup(e.reg.Close) // after the server: cleanups run last-in first-out
	t.Cleanup(e.srv.Close)
	e.client = newClient(e.srv.URL, "test", "test")
	return e
}

// newClient returns an SDK client for the server at url.
//
// Its transport hands net/http a request body that net/http owns. The SDK
// closes its request body as soon as it has the response, but after
// writing ContentLength bytes net/http reads the body once more to check
// for excess data; when that read meets the closed body, the transport
// treats it as a write error and closes the connection under the response
// body the SDK is still reading ("failed to copy error response body ...
// use of closed network connection"). Seen about once in 1000 requests
// against this fast local server; a client-side race, not a server bug.
func newClient(url, akid, secret string) *lambda.Client {
	return lambdaclient.New(url, akid, secret)
}

// syncBuffer is a log sink safe for concurrent writes.
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

// makeZip returns a deployment package with an executable bootstrap that
// prints content.
func makeZip(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "#!/bin/sh\necho "+content+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// createInput returns a valid CreateFunction input for name.
func createInput(t testing.TB, name string) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String(testRole),
		Runtime:      types.Runtime(testRuntime),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: makeZip(t, name)},
	}
}

// create creates a function or fails the test.
func (e *env) create(name string) *lambda.CreateFunctionOutput {
	e.t.Helper()
	out, err := e.client.CreateFunction(context.Background(), createInput(e.t, name))
	if err != nil {
		e.t.Fatalf("CreateFunction(%s): %v", name, err)
	}
	e.waitActive(name)
	return out
}

// waitActive waits with the SDK's waiter until the function is Active.
func (e *env) waitActive(name string) {
	e.t.Helper()
	w := lambda.NewFunctionActiveV2Waiter(e.client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		e.t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
}

// waitUpdated waits with the SDK's waiter until the function's last update
// ended, and returns its configuration.
func (e *env) waitUpdated(name string) *lambda.GetFunctionOutput {
	e.t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(e.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	out, err := w.WaitForOutput(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second)
	if err != nil {
		e.t.Fatalf("waiting for the update of %s: %v", name, err)
	}
	return out
}

// codeStatus fetches a package's signed download URL and returns its
// status.
func (e *env) codeStatus(sha string) int {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + e.api.SignedCodePath(sha))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// signedRequest sends a request signed for the lambda service with the
// test credentials and returns the response with its body read.
func (e *env) signedRequest(method, path string, body []byte, header http.Header) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := signer.SignHTTP(context.Background(), creds, req, sha256Hex(body), "lambda", testRegion, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return do(e.t, req)
}

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// wantAPIError checks that err is the SDK error with the given code and
// message (when want != "": exact, or a prefix when want ends with "...").
func wantAPIError(t testing.TB, err error, code, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want API error %s", err, err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %s (%v), want %s", ae.ErrorCode(), err, code)
	}
	got := ae.ErrorMessage()
	switch {
	case want == "":
	case strings.HasSuffix(want, "..."):
		if !strings.HasPrefix(got, strings.TrimSuffix(want, "...")) {
			t.Fatalf("message = %q, want prefix %q", got, strings.TrimSuffix(want, "..."))
		}
	case got != want:
		t.Fatalf("message = %q,\nwant      %q", got, want)
	}
}

// wantTyped checks that err is (wraps) an error of type T.
func wantTyped[T error](t testing.TB, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	return target
}

// msgOnlyZip refuses code from S3 (other than hot reload) and images.
const msgOnlyZip = `sluice accepts only Code.ZipFile, or the S3Bucket "hot-reload" with a directory as S3Key (hot reload): other S3 buckets, S3ObjectVersion and ImageUri are not supported`
