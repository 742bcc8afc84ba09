package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/pool"
	"github.com/sluice-dev/sluice/internal/sandbox"
)

// The test binary doubles as a Lambda runtime (the os/exec test pattern):
// with INVOKE_TEST_RUNTIME set, it answers every invocation with its
// environment as a JSON object.
func TestMain(m *testing.M) {
	if os.Getenv("INVOKE_TEST_RUNTIME") != "" {
		envRuntime(os.Getenv("AWS_LAMBDA_RUNTIME_API"))
		return
	}
	os.Exit(m.Run())
}

func envRuntime(api string) {
	base := "http://" + api + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(base + "next")
		if err != nil {
			os.Exit(3)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		b, _ := json.Marshal(env)
		r, err := http.Post(base+resp.Header.Get("Lambda-Runtime-Aws-Request-Id")+"/response", "application/json", strings.NewReader(string(b)))
		if err != nil {
			os.Exit(3)
		}
		r.Body.Close()
	}
}

// selfCode is a code store whose every package is this test binary as
// bootstrap.
type selfCode struct{ dir string }

func newSelfCode(t *testing.T) selfCode {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Link(exe, filepath.Join(dir, "bootstrap")); err != nil {
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return selfCode{dir}
}

func (c selfCode) Dir(string) (string, error) { return c.dir, nil }

// minter is a Credentials hook that counts its calls and mints
// credentials valid for ttl.
type minter struct {
	ttl time.Duration
	err error

	mu     sync.Mutex
	calls  int
	scopes []sluice.Scope
	fns    []*sluice.Function
}

func (m *minter) mint(_ context.Context, scope sluice.Scope, fn *sluice.Function) (sluice.Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.scopes = append(m.scopes, scope)
	m.fns = append(m.fns, fn)
	if m.err != nil {
		return sluice.Credentials{}, m.err
	}
	n := string(rune('A' + m.calls))
	return sluice.Credentials{AccessKeyID: "ASIAMINTED" + n, SecretAccessKey: "secret-" + n, SessionToken: "token-" + n, Expiration: time.Now().Add(m.ttl)}, nil
}

func (m *minter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

var testScope = sluice.Scope{Region: "eu-west-1", Account: "111111111111"}

func newInvoker(t *testing.T, credentials func(context.Context, sluice.Scope, *sluice.Function) (sluice.Credentials, error)) *Invoker {
	t.Helper()
	iv := New(Config{
		Code:        newSelfCode(t),
		Pool:        pool.New[*sandbox.Env](pool.Options{}),
		Sandbox:     sandbox.Options{AccessKeyID: "test", SecretAccessKey: "test", APIEndpoint: "http://127.0.0.1:9000"},
		Credentials: credentials,
	})
	t.Cleanup(func() { iv.Shutdown(context.Background()) })
	return iv
}

func envFunction(timeout int) *sluice.Function {
	return &sluice.Function{Name: "f", Runtime: "provided.al2023", Handler: "env", Timeout: timeout, MemorySize: 128, RevisionID: "r",
		Role: "arn:aws:iam::111111111111:role/fn-role", Environment: map[string]string{"INVOKE_TEST_RUNTIME": "1"}}
}

// invokeEnv invokes fn and returns the environment its runtime saw.
func invokeEnv(t *testing.T, iv *Invoker, fn *sluice.Function) map[string]string {
	t.Helper()
	out, err := iv.Invoke(context.Background(), sluice.InvokeRequest{Scope: testScope, Function: fn, Invocation: sluice.Invocation{RequestID: sluice.NewRequestID(), Payload: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if res := out.Result(); res.Err != nil {
		t.Fatalf("invocation failed: %s %s", res.Err.Type, res.Err.Payload)
	}
	env := map[string]string{}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("output %q: %v", b, err)
	}
	return env
}

// TestCredentialsPerEnvironment: the hook is asked once per environment
// start, with the invoker's scope and the invoked function, and the
// runtime gets what it minted; a warm environment keeps its credentials.
func TestCredentialsPerEnvironment(t *testing.T) {
	m := &minter{ttl: time.Hour}
	iv := newInvoker(t, m.mint)
	fn := envFunction(3)
	first := invokeEnv(t, iv, fn)
	if m.count() != 1 || m.scopes[0] != testScope || m.fns[0] != fn {
		t.Fatalf("hook called %d times with scopes %v, functions %v; want once with %v and the invoked function", m.count(), m.scopes, m.fns, testScope)
	}
	for k, want := range map[string]string{"AWS_ACCESS_KEY_ID": "ASIAMINTEDB", "AWS_SECRET_ACCESS_KEY": "secret-B", "AWS_SESSION_TOKEN": "token-B",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9000"} {
		if first[k] != want {
			t.Errorf("%s = %q, want %q", k, first[k], want)
		}
	}
	second := invokeEnv(t, iv, fn)
	if second["AWS_LAMBDA_LOG_STREAM_NAME"] != first["AWS_LAMBDA_LOG_STREAM_NAME"] || m.count() != 1 {
		t.Fatalf("the second invocation ran in %s (first: %s), hook called %d times: want the warm environment, no new credentials",
			second["AWS_LAMBDA_LOG_STREAM_NAME"], first["AWS_LAMBDA_LOG_STREAM_NAME"], m.count())
	}
}

// TestExpiringCredentialsReplaceEnvironment: an environment whose
// credentials would expire before another invocation could end (1 s
// timeout, credentials valid 2 s) is not reused: the next invocation gets
// a new environment with new credentials.
func TestExpiringCredentialsReplaceEnvironment(t *testing.T) {
	m := &minter{ttl: 2 * time.Second}
	iv := newInvoker(t, m.mint)
	fn := envFunction(1)
	first := invokeEnv(t, iv, fn)
	time.Sleep(1200 * time.Millisecond) // past 2 s - 1 s timeout - 0.2 s margin
	second := invokeEnv(t, iv, fn)
	if second["AWS_LAMBDA_LOG_STREAM_NAME"] == first["AWS_LAMBDA_LOG_STREAM_NAME"] {
		t.Fatalf("the environment %s was reused with credentials about to expire", first["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if m.count() != 2 || second["AWS_ACCESS_KEY_ID"] != "ASIAMINTEDC" || second["AWS_SESSION_TOKEN"] != "token-C" {
		t.Fatalf("hook called %d times, new environment has %s/%s: want new credentials for it", m.count(), second["AWS_ACCESS_KEY_ID"], second["AWS_SESSION_TOKEN"])
	}
}

// TestCredentialsErrorIsInvokes: the hook's error is Invoke's as is, and
// nothing starts.
func TestCredentialsErrorIsInvokes(t *testing.T) {
	want := sluice.Errorf(sluice.EAccessDenied, "no such role")
	m := &minter{ttl: time.Hour, err: want}
	iv := newInvoker(t, m.mint)
	out, err := iv.Invoke(context.Background(), sluice.InvokeRequest{Scope: testScope, Function: envFunction(3), Invocation: sluice.Invocation{RequestID: "id"}})
	if out != nil || !errors.Is(err, want) || err != error(want) {
		t.Fatalf("Invoke: %v %v, want the hook's error as is", out, err)
	}
	if live, _ := iv.cfg.Pool.Stats(); live != 0 {
		t.Fatalf("%d environments live after a refused start", live)
	}
}

// TestNoCredentialsHook: without a hook every environment gets the
// configured pair, without a session token, and stays warm.
func TestNoCredentialsHook(t *testing.T) {
	iv := newInvoker(t, nil)
	fn := envFunction(1)
	first := invokeEnv(t, iv, fn)
	if first["AWS_ACCESS_KEY_ID"] != "test" || first["AWS_SECRET_ACCESS_KEY"] != "test" {
		t.Errorf("credentials %q/%q, want the configured pair", first["AWS_ACCESS_KEY_ID"], first["AWS_SECRET_ACCESS_KEY"])
	}
	if tok, set := first["AWS_SESSION_TOKEN"]; set {
		t.Errorf("AWS_SESSION_TOKEN = %q, want it unset", tok)
	}
	if second := invokeEnv(t, iv, fn); second["AWS_LAMBDA_LOG_STREAM_NAME"] != first["AWS_LAMBDA_LOG_STREAM_NAME"] {
		t.Errorf("credentials without expiry: the environment was not reused")
	}
}
