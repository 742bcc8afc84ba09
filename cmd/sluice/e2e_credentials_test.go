package main

// Function credentials and AWS_ENDPOINT_URL, end to end with the AWS SDK
// for Go v2 and the aws-lambda-go test function (environments as plain
// processes; the sandboxed networks are in e2e_sandbox_network_test.go).

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestE2EFunctionCredentials: a function sees credentials for its role
// and sluice's API at AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_LAMBDA), and
// with them the AWS SDK reaches the API; a function that sets
// AWS_ENDPOINT_URL keeps its own; no function can set AWS_SESSION_TOKEN.
func TestE2EFunctionCredentials(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "creds", "env")
	env := ts.invokeEnv(t, "creds")

	// Minted credentials of the function's role: a temporary key id and
	// a session token, never the development key itself.
	if k := env["AWS_ACCESS_KEY_ID"]; !strings.HasPrefix(k, "ASIA") || env["AWS_SECRET_ACCESS_KEY"] == "" || env["AWS_SECRET_ACCESS_KEY"] == ts.cfg.SecretAccessKey {
		t.Errorf("AWS_ACCESS_KEY_ID %q (secret set: %v), want minted credentials", k, env["AWS_SECRET_ACCESS_KEY"] != "")
	}
	if env["AWS_SESSION_TOKEN"] == "" {
		t.Errorf("no AWS_SESSION_TOKEN: minted credentials have one")
	}
	endpoint := "http://127.0.0.1:" + portOf(t, ts)
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"} {
		if env[k] != endpoint {
			t.Errorf("%s = %q, want %q", k, env[k], endpoint)
		}
	}

	t.Run("the SDK reaches the API with them", func(t *testing.T) {
		ts.createProbe(t, "caller")
		for _, v := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"} {
			r := ts.probe(t, "caller", map[string]any{"op": "lambda", "var": v})
			if !r.OK || len(r.Names) != 2 || r.Names[0] != "caller" || r.Names[1] != "creds" {
				t.Errorf("ListFunctions from the function at $%s: %s, want caller and creds", v, r.raw)
			}
		}
	})
	t.Run("own AWS_ENDPOINT_URL", func(t *testing.T) {
		ts.createFunction(t, "own", "env", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_ENDPOINT_URL": "http://own.example:4566"}}
		})
		env := ts.invokeEnv(t, "own")
		if env["AWS_ENDPOINT_URL"] != "http://own.example:4566" {
			t.Errorf("AWS_ENDPOINT_URL = %q, want the function's own", env["AWS_ENDPOINT_URL"])
		}
		if env["AWS_ENDPOINT_URL_LAMBDA"] != endpoint {
			t.Errorf("AWS_ENDPOINT_URL_LAMBDA = %q, want sluice's %q", env["AWS_ENDPOINT_URL_LAMBDA"], endpoint)
		}
	})
	t.Run("AWS_SESSION_TOKEN is reserved", func(t *testing.T) {
		forge := &types.Environment{Variables: map[string]string{"AWS_SESSION_TOKEN": "forged"}}
		_, err := ts.Client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String("forger"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("env"),
			Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &types.FunctionCode{ZipFile: testFunctionZip}, Environment: forge,
		})
		apiErrorContains(t, err, "InvalidParameterValueException", "Reserved keys used in this request: AWS_SESSION_TOKEN")
		_, err = ts.Client.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("creds"), Environment: forge})
		apiErrorContains(t, err, "InvalidParameterValueException", "Reserved keys used in this request: AWS_SESSION_TOKEN")
		if env := ts.invokeEnv(t, "creds"); env["AWS_SESSION_TOKEN"] == "forged" {
			t.Errorf("the function runs with the session token it tried to set")
		}
	})
}

// TestE2EFunctionCredentialsExpire: with --function-credentials-ttl 6s and
// a function whose timeout is 1 s, an environment is not reused once
// another invocation could outlast its credentials: the next invocation
// runs in a new environment (a new log stream) and the old one is stopped.
func TestE2EFunctionCredentialsExpire(t *testing.T) {
	t.Parallel()
	// Usable for 6 s - 1 s timeout - 0.6 s margin = 4.4 s after minting:
	// time enough for the first invocation on a loaded machine.
	ts := startServer(t, func(c *Config) { c.FunctionCredentialsTTL = 6 * time.Second })
	ts.createFunction(t, "brief", "env", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	first := ts.invokeEnv(t, "brief")
	procs := runtimesOf(ts.cfg.DataDir)
	if len(procs) != 1 {
		t.Fatalf("%d runtime processes after one invocation, want 1: %+v", len(procs), procs)
	}
	// Past those 4.4 s after the credentials were minted (before the
	// first invocation).
	time.Sleep(4600 * time.Millisecond)
	second := ts.invokeEnv(t, "brief")
	if second["AWS_LAMBDA_LOG_STREAM_NAME"] == first["AWS_LAMBDA_LOG_STREAM_NAME"] {
		t.Fatalf("the environment %s ran again with credentials about to expire", first["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	waitGone(t, procs, 10*time.Second)
}

// TestAPIEndpoint: where a process on the host's network reaches the API.
func TestAPIEndpoint(t *testing.T) {
	// What Go reports for a wildcard listener of network "tcp".
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if got, want := apiEndpoint("http", ln.Addr()), fmt.Sprintf("http://127.0.0.1:%d", port); got != want {
		t.Errorf("apiEndpoint(%s) = %q, want %q", ln.Addr(), got, want)
	}
	ln.Close()
	for _, tc := range []struct{ listen, want string }{
		{"127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000"},
		{"[::]:9000", "http://127.0.0.1:9000"}, // dual-stack
		{":9000", "http://127.0.0.1:9000"},
		{"[::1]:9000", "http://[::1]:9000"},
		{"192.0.2.7:9000", "http://192.0.2.7:9000"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := apiEndpoint("http", addr); got != tc.want {
			t.Errorf("apiEndpoint(%s) = %q, want %q", tc.listen, got, tc.want)
		}
	}
	if got := apiEndpoint("https", &net.TCPAddr{Port: 443}); got != "https://127.0.0.1:443" {
		t.Errorf("apiEndpoint of a listener on every address = %q", got)
	}
}

// TestFunctionCredentialsTTLFlag: the flag's default and its validation.
func TestFunctionCredentialsTTLFlag(t *testing.T) {
	if d := DefaultConfig().FunctionCredentialsTTL; d != 12*time.Hour {
		t.Errorf("default --function-credentials-ttl %v, want 12h", d)
	}
	cfg := DefaultConfig()
	cfg.FunctionCredentialsTTL = 0
	if err := cfg.validate(); err == nil {
		t.Error("--function-credentials-ttl 0 accepted")
	}
}

// portOf is the port the test server's API listens on.
func portOf(t *testing.T, ts *testServer) string {
	t.Helper()
	_, port, err := net.SplitHostPort(ts.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return port
}
