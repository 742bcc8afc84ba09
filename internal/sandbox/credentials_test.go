package sandbox

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

var minted = sluice.Credentials{
	AccessKeyID:     "ASIAMINTEDFORTHEENV",
	SecretAccessKey: "minted-secret",
	SessionToken:    "minted-token",
	Expiration:      time.Now().Add(time.Hour),
}

// environOf is the environment an Env of spec and opts gives its runtime,
// with sluice's API at endpoint.
func environOf(t *testing.T, spec Spec, opts Options, endpoint string) map[string]string {
	t.Helper()
	if spec.Function == nil {
		spec.Function = &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "h", Timeout: 3, MemorySize: 128}
	}
	e := &Env{id: sluice.NewRequestID(), spec: spec, opts: opts}
	env := map[string]string{}
	for _, kv := range e.environ("127.0.0.1:1", endpoint, nil) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("environment entry %q without '='", kv)
		}
		if _, dup := env[k]; dup {
			t.Fatalf("%s set twice", k)
		}
		env[k] = v
	}
	return env
}

// TestEnvironCredentials: the runtime gets the Spec's credentials, or
// Options' pair without a session token; a function (or a runtime's
// Bootstrap.Env) can set none of the credential variables, set or not.
func TestEnvironCredentials(t *testing.T) {
	forged := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAFORGED", "AWS_SECRET_ACCESS_KEY": "forged", "AWS_SESSION_TOKEN": "forged", "AWS_ACCESS_KEY": "forged",
	}
	fn := func(env map[string]string) *sluice.Function {
		return &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "h", Timeout: 3, MemorySize: 128, Environment: env}
	}
	dev := Options{AccessKeyID: "test", SecretAccessKey: "test"}
	for _, tc := range []struct {
		name string
		spec Spec
		opts Options
		want map[string]string // "" means unset
	}{
		{"minted", Spec{Credentials: minted}, dev,
			map[string]string{"AWS_ACCESS_KEY_ID": minted.AccessKeyID, "AWS_SECRET_ACCESS_KEY": minted.SecretAccessKey, "AWS_SESSION_TOKEN": minted.SessionToken}},
		{"development pair", Spec{}, dev,
			map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": ""}},
		{"minted, the function forging", Spec{Function: fn(forged), Credentials: minted}, dev,
			map[string]string{"AWS_ACCESS_KEY_ID": minted.AccessKeyID, "AWS_SECRET_ACCESS_KEY": minted.SecretAccessKey, "AWS_SESSION_TOKEN": minted.SessionToken, "AWS_ACCESS_KEY": ""}},
		{"development pair, the function forging", Spec{Function: fn(forged)}, dev,
			map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_ACCESS_KEY": ""}},
		{"none, the function forging", Spec{Function: fn(forged)}, Options{},
			map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_ACCESS_KEY": ""}},
		{"minted, the runtime forging", Spec{Credentials: minted, Bootstrap: Bootstrap{Env: forged}}, dev,
			map[string]string{"AWS_ACCESS_KEY_ID": minted.AccessKeyID, "AWS_SECRET_ACCESS_KEY": minted.SecretAccessKey, "AWS_SESSION_TOKEN": minted.SessionToken, "AWS_ACCESS_KEY": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := environOf(t, tc.spec, tc.opts, "")
			for k, want := range tc.want {
				got, set := env[k]
				if want == "" && set {
					t.Errorf("%s = %q, want it unset", k, got)
				}
				if want != "" && got != want {
					t.Errorf("%s = %q (set: %v), want %q", k, got, set, want)
				}
			}
		})
	}
}

// TestEnvironEndpoint: sluice's API is AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_LAMBDA; a function that sets either keeps its own.
func TestEnvironEndpoint(t *testing.T) {
	const api = "http://127.0.0.1:9000"
	fn := func(env map[string]string) Spec {
		return Spec{Function: &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "h", Timeout: 3, MemorySize: 128, Environment: env}}
	}
	for _, tc := range []struct {
		name                 string
		spec                 Spec
		endpoint             string
		wantGlobal, wantLamb string // "" means unset
	}{
		{"none", fn(nil), "", "", ""},
		{"sluice's", fn(nil), api, api, api},
		{"own AWS_ENDPOINT_URL", fn(map[string]string{"AWS_ENDPOINT_URL": "http://own.example"}), api, "http://own.example", api},
		{"own AWS_ENDPOINT_URL_LAMBDA", fn(map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "http://own.example"}), api, api, "http://own.example"},
		{"own, without sluice's", fn(map[string]string{"AWS_ENDPOINT_URL": "http://own.example"}), "", "http://own.example", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := environOf(t, tc.spec, Options{}, tc.endpoint)
			for k, want := range map[string]string{"AWS_ENDPOINT_URL": tc.wantGlobal, "AWS_ENDPOINT_URL_LAMBDA": tc.wantLamb} {
				if got, set := env[k]; got != want || set != (want != "") {
					t.Errorf("%s = %q (set: %v), want %q", k, got, set, want)
				}
			}
		})
	}
}

// TestIsolationEndpoint: where a sandbox finds sluice's API in each
// network mode.
func TestIsolationEndpoint(t *testing.T) {
	serve := func(net.Listener) {}
	launch := func(apiEndpoint string) *Launch { return &Launch{env: &Env{opts: Options{APIEndpoint: apiEndpoint}}} }
	for _, tc := range []struct {
		name string
		iso  *Isolation
		api  string
		want string
	}{
		{"isolated", &Isolation{Network: NetworkIsolated, APIPort: 4567, ServeAPI: serve}, "http://[::1]:9000", "http://127.0.0.1:4567"},
		{"isolated, TLS", &Isolation{Network: NetworkIsolated, APIPort: 4567, ServeAPI: serve}, "https://127.0.0.1:9000", "https://127.0.0.1:4567"},
		{"isolated, no endpoint given", &Isolation{Network: NetworkIsolated, APIPort: 4567, ServeAPI: serve}, "", "http://127.0.0.1:4567"},
		{"isolated without the API listener", &Isolation{Network: NetworkIsolated}, "http://127.0.0.1:9000", ""},
		{"host", &Isolation{Network: NetworkHost}, "http://[::1]:9000", "http://[::1]:9000"},
		{"none", &Isolation{Network: NetworkNone, APIPort: 4567, ServeAPI: serve}, "http://127.0.0.1:9000", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.iso.endpoint(launch(tc.api)); got != tc.want {
				t.Errorf("endpoint %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCredentialsLast: an Env whose credentials expire is fit for another
// invocation only while that invocation, run to the function's timeout,
// ends a margin (a tenth of their validity, at most a minute) before they
// expire.
func TestCredentialsLast(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env := func(timeout int, validity time.Duration) *Env {
		fn := &sluice.Function{Name: "fn", Timeout: timeout}
		var c sluice.Credentials
		if validity != 0 {
			c.Expiration = t0.Add(validity)
		}
		return &Env{spec: Spec{Function: fn, Credentials: c}, startedAt: t0}
	}
	for _, tc := range []struct {
		name string
		e    *Env
		at   time.Duration // after t0
		want bool
	}{
		{"2 s, 1 s timeout, at start", env(1, 2*time.Second), 0, true},
		{"2 s, 1 s timeout, last moment", env(1, 2*time.Second), 800 * time.Millisecond, true},
		{"2 s, 1 s timeout, in the margin", env(1, 2*time.Second), 801 * time.Millisecond, false},
		{"2 s, 1 s timeout, expired", env(1, 2*time.Second), 3 * time.Second, false},
		{"2 s, 3 s timeout", env(3, 2*time.Second), 0, false},
		{"12 h, 15 min timeout, last moment", env(900, 12*time.Hour), 12*time.Hour - 15*time.Minute - time.Minute, true},
		{"12 h, 15 min timeout, in the margin", env(900, 12*time.Hour), 12*time.Hour - 15*time.Minute - time.Minute + time.Millisecond, false},
		{"no expiration", env(900, 0), 1000 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.credentialsLast(t0.Add(tc.at)); got != tc.want {
				t.Errorf("credentialsLast at t0+%v = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

// TestCredentialsReachRuntime: a runtime started by the plain driver sees
// its Spec's credentials and sluice's API (Options.APIEndpoint); the Env
// stays Alive while they last, and stops being Alive (its process still
// running) once another invocation could outlast them.
func TestCredentialsReachRuntime(t *testing.T) {
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
	startEnv := func(c sluice.Credentials) *Env {
		fn := &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "env", Timeout: 1, MemorySize: 128, RevisionID: "r1",
			Environment: map[string]string{"SLUICE_TEST_RUNTIME": "1", "AWS_SESSION_TOKEN": "forged"}}
		e, err := Start(context.Background(), Spec{Function: fn, CodeDir: dir, Scope: sluice.Scope{Region: "us-east-1", Account: "000000000000"}, Credentials: c},
			Options{AccessKeyID: "test", SecretAccessKey: "test", APIEndpoint: "http://127.0.0.1:9000"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Stop)
		return e
	}
	long := minted
	long.Expiration = time.Now().Add(time.Minute)
	e := startEnv(long)
	out, res := run(t, e)
	if res.Err != nil {
		t.Fatalf("invoke: %s %s", res.Err.Type, res.Err.Payload)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	for k, want := range map[string]string{
		"AWS_ACCESS_KEY_ID": minted.AccessKeyID, "AWS_SECRET_ACCESS_KEY": minted.SecretAccessKey, "AWS_SESSION_TOKEN": minted.SessionToken,
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9000",
	} {
		if env[k] != want {
			t.Errorf("the runtime sees %s = %q, want %q", k, env[k], want)
		}
	}
	if !e.Alive() {
		t.Error("an environment whose credentials last another minute is not Alive")
	}

	// Valid 1.5 s from now, timeout 1 s: fit for another invocation for
	// about 0.35 s; after 1.5 s, no longer.
	short := minted
	short.Expiration = time.Now().Add(1500 * time.Millisecond)
	s := startEnv(short)
	if _, res := run(t, s); res.Err != nil {
		t.Fatalf("invoke: %s %s", res.Err.Type, res.Err.Payload)
	}
	time.Sleep(time.Until(short.Expiration))
	if s.Alive() {
		t.Error("an environment whose credentials have expired is still Alive")
	}
	s.mu.Lock()
	running := s.aliveLocked()
	s.mu.Unlock()
	if !running {
		t.Error("the environment's runtime is gone: Alive was false for that reason, not its credentials")
	}
}
