package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// The identities of the auth-file tests: account A (an administrator key,
// a key whose policy denies invoking, a role allowed to invoke one
// function), account B (an administrator key).
const (
	acctA, acctB             = "111111111111", "222222222222"
	keyAdminA, secretAdminA  = "AKIAAAAAAAAAAAAAAAAA", "secret-admin-a"
	keyNoInvA, secretNoInvA  = "AKIAAAAAAAAAAAAAAAAN", "secret-noinvoke-a"
	keyAdminB, secretAdminB  = "AKIABBBBBBBBBBBBBBBB", "secret-admin-b"
	testAuthFileInvokeTarget = "target"
)

func authFileJSON() string {
	return `{"Accounts": {
  "` + acctA + `": {
    "AccessKeys": [
      {"AccessKeyId": "` + keyAdminA + `", "SecretAccessKey": "` + secretAdminA + `"},
      {"AccessKeyId": "` + keyNoInvA + `", "SecretAccessKey": "` + secretNoInvA + `", "Policy": {
        "Version": "2012-10-17",
        "Statement": [
          {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
          {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": "*"}
        ]}}
    ],
    "Roles": {
      "invoke-one": {"Policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:` + acctA + `:function:` + testAuthFileInvokeTarget + `"}]}}
    }
  },
  "` + acctB + `": {
    "AccessKeys": [{"AccessKeyId": "` + keyAdminB + `", "SecretAccessKey": "` + secretAdminB + `"}]
  }
}}`
}

// startAuthServer runs sluice with the auth file above.
func startAuthServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(authFileJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, func(c *Config) {
		c.AuthFile = path
		if mod != nil {
			mod(c)
		}
	})
}

// clientAs is a Go SDK client of ts signing with the given key in region.
func clientAs(ts *testServer, key, secret, token, region string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       region,
		BaseEndpoint: aws.String(ts.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, token),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: lambdaclient.OwnBodies(http.DefaultTransport)},
	})
}

// apiCode is the API error code of err, or "" for nil; the test fails on
// any other error.
func apiCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("not an API error: %v", err)
	}
	return api.ErrorCode()
}

func createAs(t *testing.T, c *lambda.Client, name, handler, role string) string {
	t.Helper()
	out, err := c.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String(handler),
		Role:         aws.String(role),
		Code:         &types.FunctionCode{ZipFile: testFunctionZip},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 60*time.Second); err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
	return aws.ToString(out.FunctionArn)
}

// invokeBoth invokes fn with both invoke APIs (and, with dry, DryRun) and
// returns their error codes.
func invokeBoth(t *testing.T, c *lambda.Client, fn string) (invoke, stream, dry string) {
	t.Helper()
	_, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{}`)})
	invoke = apiCode(t, err)
	out, err := c.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn), Payload: []byte(`{}`)})
	if err == nil {
		for range out.GetStream().Events() {
		}
		err = out.GetStream().Err()
		out.GetStream().Close()
	}
	stream = apiCode(t, err)
	dr, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: types.InvocationTypeDryRun})
	dry = apiCode(t, err)
	if err == nil && dr.StatusCode != http.StatusNoContent {
		t.Errorf("DryRun of %s: status %d, want 204", fn, dr.StatusCode)
	}
	// InvokeWithResponseStream's DryRun answers the same.
	sd, err := c.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn), InvocationType: types.ResponseStreamingInvocationTypeDryRun})
	if sdry := apiCode(t, err); sdry != dry {
		t.Errorf("DryRun of %s: Invoke answers %q, InvokeWithResponseStream %q", fn, dry, sdry)
	}
	if err == nil {
		sd.GetStream().Close()
		if sd.StatusCode != http.StatusNoContent {
			t.Errorf("streaming DryRun of %s: status %d, want 204", fn, sd.StatusCode)
		}
	}
	return invoke, stream, dry
}

// TestAuthFileKeys: the auth file's keys are the only ones, each refusal
// with AWS's code.
func TestAuthFileKeys(t *testing.T) {
	t.Parallel()
	ts := startAuthServer(t, nil)
	good := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	if _, err := good.ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("the right key: %v", err)
	}
	for _, tc := range []struct {
		name              string
		key, secret, want string
	}{
		{"wrong secret", keyAdminA, "wrong", "InvalidSignatureException"},
		{"unknown key", "AKIAUNKNOWNUNKNOWN00", "x", "UnrecognizedClientException"},
		{"development key", "test", "test", "UnrecognizedClientException"},
	} {
		_, err := clientAs(ts, tc.key, tc.secret, "", "us-east-1").ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
		if got := apiCode(t, err); got != tc.want {
			t.Errorf("%s: %q, want %s", tc.name, got, tc.want)
		}
	}

	// Hand-signed requests for what an SDK does not send: an old date, a
	// tampered body, a tampered signed header, no signature.
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: keyAdminA, SecretAccessKey: secretAdminA}
	send := func(r *http.Request) (int, string) {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype")
	}
	newReq := func(body string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, ts.URL+"/2015-03-31/functions/x/invocations", strings.NewReader(body))
		return r
	}
	sign := func(r *http.Request, body string, at time.Time) {
		if err := signer.SignHTTP(context.Background(), creds, r, sha256Hex(body), "lambda", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
	}
	r := newReq("{}")
	sign(r, "{}", time.Now().Add(-time.Hour))
	if st, code := send(r); st != http.StatusForbidden || !strings.HasPrefix(code, "InvalidSignatureException") {
		t.Errorf("an hour-old signature: %d %s", st, code)
	}
	r = newReq(`{"swapped":1}`)
	sign(r, "{}", time.Now())
	if st, code := send(r); st != http.StatusForbidden || !strings.HasPrefix(code, "InvalidSignatureException") {
		t.Errorf("a tampered body: %d %s", st, code)
	}
	r = newReq("{}")
	r.Header.Set("X-Amz-Invocation-Type", "Event")
	sign(r, "{}", time.Now())
	r.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	if st, code := send(r); st != http.StatusForbidden || !strings.HasPrefix(code, "InvalidSignatureException") {
		t.Errorf("a tampered signed header: %d %s", st, code)
	}
	if st, code := send(newReq("{}")); st != http.StatusForbidden || !strings.HasPrefix(code, "MissingAuthenticationTokenException") {
		t.Errorf("an unsigned request: %d %s", st, code)
	}
}

// TestAuthFileAccountsAndPermissions: accounts are namespaces; a key of
// account B invokes A's function only while A's resource policy grants B.
func TestAuthFileAccountsAndPermissions(t *testing.T) {
	t.Parallel()
	ts := startAuthServer(t, nil)
	a := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	b := clientAs(ts, keyAdminB, secretAdminB, "", "us-east-1")
	arn := createAs(t, a, "shared", "echo", "arn:aws:iam::"+acctA+":role/invoke-one")
	if !strings.Contains(arn, ":"+acctA+":function:shared") {
		t.Fatalf("ARN %s does not carry the creating key's account", arn)
	}
	if out, err := b.ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil || len(out.Functions) != 0 {
		t.Fatalf("account B lists %v, %v; want none", out, err)
	}
	if _, err := b.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("shared")}); apiCode(t, err) != "ResourceNotFoundException" {
		t.Fatalf("account B finds A's function by name: %v", err)
	}
	for _, api := range []string{"invoke", "stream", "dry run"} {
		inv, st, dry := invokeBoth(t, b, arn)
		got := map[string]string{"invoke": inv, "stream": st, "dry run": dry}[api]
		if got != "AccessDeniedException" {
			t.Errorf("B's %s of A's function before AddPermission: %q, want AccessDeniedException", api, got)
		}
	}
	if _, err := a.AddPermission(ctx(t), &lambda.AddPermissionInput{
		FunctionName: aws.String("shared"), StatementId: aws.String("b-invokes"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(acctB),
	}); err != nil {
		t.Fatal(err)
	}
	if inv, st, dry := invokeBoth(t, b, arn); inv != "" || st != "" || dry != "" {
		t.Errorf("B after AddPermission: invoke %q, stream %q, dry run %q; want all allowed", inv, st, dry)
	}
	if _, err := b.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(arn)}); apiCode(t, err) != "AccessDeniedException" {
		t.Errorf("the grant of InvokeFunction let B GetFunction: %v", err)
	}
	if _, err := a.RemovePermission(ctx(t), &lambda.RemovePermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("b-invokes")}); err != nil {
		t.Fatal(err)
	}
	if inv, st, dry := invokeBoth(t, b, arn); inv != "AccessDeniedException" || st != "AccessDeniedException" || dry != "AccessDeniedException" {
		t.Errorf("B after RemovePermission: invoke %q, stream %q, dry run %q; want AccessDeniedException", inv, st, dry)
	}
	// Denied without revealing existence: a missing function of A is
	// AccessDenied for B too.
	if _, err := b.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(strings.Replace(arn, "shared", "missing", 1))}); apiCode(t, err) != "AccessDeniedException" {
		t.Errorf("B invoking a missing function of A: %v, want AccessDeniedException", err)
	}
}

// TestAuthFileIdentityPolicyDeny: an explicit deny of InvokeFunction blocks
// both invoke APIs and their DryRun; other actions stay allowed.
func TestAuthFileIdentityPolicyDeny(t *testing.T) {
	t.Parallel()
	ts := startAuthServer(t, nil)
	a := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	createAs(t, a, "guarded", "echo", "arn:aws:iam::"+acctA+":role/invoke-one")
	n := clientAs(ts, keyNoInvA, secretNoInvA, "", "us-east-1")
	inv, st, dry := invokeBoth(t, n, "guarded")
	if inv != "AccessDeniedException" || st != "AccessDeniedException" || dry != "AccessDeniedException" {
		t.Errorf("denied key: invoke %q, stream %q, dry run %q; want AccessDeniedException", inv, st, dry)
	}
	_, err := n.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("guarded")})
	var api smithy.APIError
	if errors.As(err, &api) && !strings.Contains(api.ErrorMessage(), "lambda:InvokeFunction") {
		t.Errorf("the message does not name the action: %q", api.ErrorMessage())
	}
	if _, err := n.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("guarded")}); err != nil {
		t.Errorf("GetFunction with the denied key: %v", err)
	}
	if inv, st, dry := invokeBoth(t, a, "guarded"); inv != "" || st != "" || dry != "" {
		t.Errorf("admin key: invoke %q, stream %q, dry run %q", inv, st, dry)
	}
}

// TestAuthFileFunctionRole: a function's credentials carry its role's
// policy: it invokes the one function its role allows, from inside its
// sandbox, and nothing else; with CreateFunction a role the file does not
// define is refused.
func TestAuthFileFunctionRole(t *testing.T) {
	t.Parallel()
	ts := startAuthServer(t, func(c *Config) { c.Sandbox = "bwrap" })
	a := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	role := "arn:aws:iam::" + acctA + ":role/invoke-one"
	createAs(t, a, testAuthFileInvokeTarget, "echo", role)
	createAs(t, a, "caller", "probe", role)
	_, err := a.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String("norole"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("echo"),
		Role: aws.String("arn:aws:iam::" + acctA + ":role/undefined"), Code: &types.FunctionCode{ZipFile: testFunctionZip},
	})
	if apiCode(t, err) != "InvalidParameterValueException" {
		t.Errorf("CreateFunction with an undefined role: %v", err)
	}
	call := func(call, fn string) probeLambdaResult {
		out, err := a.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("caller"),
			Payload: []byte(mustJSON(map[string]any{"op": "lambda", "call": call, "function": fn}))})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("probe %s %s: %v %s", call, fn, err, out.Payload)
		}
		var r probeLambdaResult
		if err := json.Unmarshal(out.Payload, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := call("invoke", testAuthFileInvokeTarget); !r.OK {
		t.Errorf("the role's one function: %+v", r)
	}
	if r := call("list", ""); r.OK || r.Code != "AccessDeniedException" {
		t.Errorf("ListFunctions with the role's credentials: %+v, want AccessDeniedException", r)
	}
	if r := call("delete", testAuthFileInvokeTarget); r.OK || r.Code != "AccessDeniedException" {
		t.Errorf("DeleteFunction with the role's credentials: %+v, want AccessDeniedException", r)
	}
	if r := call("invoke", "caller"); r.OK || r.Code != "AccessDeniedException" {
		t.Errorf("invoking another function with the role's credentials: %+v, want AccessDeniedException", r)
	}
}

// TestAuthFileCredentialsExpire: a function's credentials work for its
// role until they expire, then ExpiredTokenException.
func TestAuthFileCredentialsExpire(t *testing.T) {
	t.Parallel()
	// Long enough for a cold start and two calls on a loaded machine.
	const ttl = 8 * time.Second
	ts := startAuthServer(t, func(c *Config) { c.FunctionCredentialsTTL = ttl })
	a := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	createAs(t, a, testAuthFileInvokeTarget, "env", "arn:aws:iam::"+acctA+":role/invoke-one")
	out, err := a.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(testAuthFileInvokeTarget)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke env: %v", err)
	}
	minted := time.Now()
	var env map[string]string
	if err := json.Unmarshal(out.Payload, &env); err != nil {
		t.Fatal(err)
	}
	role := clientAs(ts, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"], "us-east-1")
	if _, err := role.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(testAuthFileInvokeTarget), InvocationType: types.InvocationTypeDryRun}); err != nil {
		t.Fatalf("the role's credentials, fresh: %v", err)
	}
	if _, err := role.ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); apiCode(t, err) != "AccessDeniedException" {
		t.Fatalf("the role's credentials listed functions: %v", err)
	}
	time.Sleep(time.Until(minted.Add(ttl + 500*time.Millisecond)))
	_, err = role.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(testAuthFileInvokeTarget), InvocationType: types.InvocationTypeDryRun})
	if got := apiCode(t, err); got != "ExpiredTokenException" {
		t.Fatalf("the role's credentials after they expired: %q, want ExpiredTokenException", got)
	}
}

type probeLambdaResult struct {
	OK    bool   `json:"ok"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

// TestAuthFileReload: SIGHUP re-reads the file: a key added works, a key
// removed stops working; a file that does not load keeps the identities.
func TestAuthFileReload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(path, []byte(authFileJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	// The test process must survive a SIGHUP whatever else runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ts := startServer(t, func(c *Config) { c.AuthFile = path })
	listWith := func(key, secret string) string {
		_, err := clientAs(ts, key, secret, "", "us-east-1").ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
		return apiCode(t, err)
	}
	const newKey, newSecret = "AKIANEWNEWNEWNEWNEW0", "secret-new"
	if got := listWith(newKey, newSecret); got != "UnrecognizedClientException" {
		t.Fatalf("a key not yet in the file: %q", got)
	}
	next := strings.Replace(authFileJSON(), keyNoInvA, newKey, 1)
	next = strings.Replace(next, secretNoInvA, newSecret, 1)
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("after SIGHUP: %s", what)
			}
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the new key is not accepted", func() bool { return listWith(newKey, newSecret) == "" })
	if got := listWith(keyNoInvA, secretNoInvA); got != "UnrecognizedClientException" {
		t.Errorf("a key removed from the file still works: %q", got)
	}
	// A broken file is refused; what was loaded stays.
	if err := os.WriteFile(path, []byte(`{"Accounts": {"1": {}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := listWith(newKey, newSecret); got != "" {
		t.Errorf("after a broken file, the loaded key: %q", got)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestAuthFileClients: the JS SDK v3, boto3 and the AWS CLI against a
// server with an auth file: the right key works, a wrong secret and an
// unknown key are refused with AWS's codes, account B invokes A's function
// only between AddPermission and RemovePermission, and a key whose policy
// denies invoking cannot invoke (either API) but can GetFunction.
func TestAuthFileClients(t *testing.T) {
	t.Parallel()
	ts := startAuthServer(t, nil)
	a := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	want := map[string]string{
		"a list": "ok 200", "wrong secret": "InvalidSignatureException", "unknown key": "UnrecognizedClientException",
		"b invoke before": "AccessDeniedException", "a add permission": "ok 201",
		"b invoke granted": "ok 200", "b dry run granted": "ok 204", "b stream granted": "ok 200",
		"a remove permission": "ok 204", "b invoke removed": "AccessDeniedException",
		"denied invoke": "AccessDeniedException", "denied stream": "AccessDeniedException", "denied get": "ok 200",
	}
	node, jsDir := jsClient(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, prog, script string }{
		{"js", node, filepath.Join(jsDir, "auth.mjs")},
		{"boto3", python, filepath.Join(clientsDir, "python", "auth.py")},
	} {
		t.Run(c.name, func(t *testing.T) {
			arn := createAs(t, a, "clients-"+c.name, "echo", "arn:aws:iam::"+acctA+":role/invoke-one")
			cx, cancel := context.WithTimeout(context.Background(), clientTimeout)
			defer cancel()
			cmd := exec.CommandContext(cx, c.prog, c.script, ts.URL, arn, keyAdminA, secretAdminA, keyAdminB, secretAdminB, keyNoInvA, secretNoInvA, acctB)
			cmd.Env = clientEnv(nil)
			if cmd.Dir, err = filepath.Abs(filepath.Dir(c.script)); err != nil {
				t.Fatal(err)
			}
			script, err := filepath.Abs(c.script)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Args[1] = script
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s%s", c.script, err, out, stderr.String())
			}
			var got map[string]string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s printed %q: %v", c.script, out, err)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: %q, want %q", k, got[k], w)
				}
			}
		})
	}
	t.Run("aws cli", func(t *testing.T) {
		awsBin, err := exec.LookPath("aws")
		if err != nil {
			t.Fatal(err)
		}
		arn := createAs(t, a, "clients-cli", "echo", "arn:aws:iam::"+acctA+":role/invoke-one")
		home := t.TempDir()
		cli := func(key, secret string, args ...string) (string, error) {
			cx, cancel := context.WithTimeout(context.Background(), clientTimeout)
			defer cancel()
			cmd := exec.CommandContext(cx, awsBin, append(args, "--endpoint-url", ts.URL, "--output", "json")...)
			cmd.Env = clientEnv(map[string]string{"HOME": home, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
				"AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1"})
			cmd.Dir = home
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := cli(keyAdminA, secretAdminA, "lambda", "get-function", "--function-name", arn); err != nil {
			t.Errorf("the right key: %v %s", err, out)
		}
		for _, c := range []struct{ key, secret, want string }{
			{keyAdminA, "wrong", "InvalidSignatureException"},
			{"AKIAUNKNOWNUNKNOWN00", "x", "UnrecognizedClientException"},
		} {
			if out, err := cli(c.key, c.secret, "lambda", "list-functions"); err == nil || !strings.Contains(out, c.want) {
				t.Errorf("key %s: %v %s, want %s", c.key, err, out, c.want)
			}
		}
		invokeB := func() (string, error) {
			return cli(keyAdminB, secretAdminB, "lambda", "invoke", "--function-name", arn, filepath.Join(home, "out.json"))
		}
		if out, err := invokeB(); err == nil || !strings.Contains(out, "AccessDeniedException") {
			t.Errorf("B before AddPermission: %v %s", err, out)
		}
		if out, err := cli(keyAdminA, secretAdminA, "lambda", "add-permission", "--function-name", arn, "--statement-id", "b",
			"--action", "lambda:InvokeFunction", "--principal", acctB); err != nil {
			t.Fatalf("add-permission: %v %s", err, out)
		}
		if out, err := invokeB(); err != nil {
			t.Errorf("B after AddPermission: %v %s", err, out)
		}
		if out, err := cli(keyAdminA, secretAdminA, "lambda", "remove-permission", "--function-name", arn, "--statement-id", "b"); err != nil {
			t.Fatalf("remove-permission: %v %s", err, out)
		}
		if out, err := invokeB(); err == nil || !strings.Contains(out, "AccessDeniedException") {
			t.Errorf("B after RemovePermission: %v %s", err, out)
		}
	})
}

// TestAuthFileFunctionURL: an AWS_IAM function URL of account A takes
// requests signed by A's keys as their policy allows, and by account B's
// only while A's resource policy grants lambda:InvokeFunctionUrl.
func TestAuthFileFunctionURL(t *testing.T) {
	t.Parallel()
	ts := startAuthServer(t, nil)
	a := clientAs(ts, keyAdminA, secretAdminA, "", "us-east-1")
	createAs(t, a, "private", "urlreply", "arn:aws:iam::"+acctA+":role/invoke-one")
	out, err := a.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("private"), AuthType: types.FunctionUrlAuthTypeAwsIam})
	if err != nil {
		t.Fatal(err)
	}
	u := aws.ToString(out.FunctionUrl) + "event"
	hc := ts.urlClient()
	call := func(key, secret string) int {
		body := []byte(`{}`)
		req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
			req, sha256Hex(string(body)), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := call(keyAdminA, secretAdminA); st != http.StatusOK {
		t.Errorf("A's administrator: %d, want 200", st)
	}
	if st := call(keyAdminB, secretAdminB); st != http.StatusForbidden {
		t.Errorf("B without a grant: %d, want 403", st)
	}
	if _, err := a.AddPermission(ctx(t), &lambda.AddPermissionInput{
		FunctionName: aws.String("private"), StatementId: aws.String("b-url"), Action: aws.String("lambda:InvokeFunctionUrl"),
		Principal: aws.String(acctB), FunctionUrlAuthType: types.FunctionUrlAuthTypeAwsIam,
	}); err != nil {
		t.Fatal(err)
	}
	if st := call(keyAdminB, secretAdminB); st != http.StatusOK {
		t.Errorf("B granted lambda:InvokeFunctionUrl: %d, want 200", st)
	}
	if st := call(keyNoInvA, secretNoInvA); st != http.StatusOK {
		t.Errorf("A's key that may not InvokeFunction but may lambda:*: %d, want 200 (InvokeFunctionUrl is another action)", st)
	}
}
