package main

// End-to-end tests with clients other than the Go SDK: the AWS SDK for
// JavaScript v3 (test/clients/js), boto3 (test/clients/python) and the AWS
// CLI. They need Node with `make deps` done, a python3 with boto3, and `aws`
// on PATH; a missing one fails the test, it is never skipped.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// clientsDir is test/clients, seen from this package's directory (the
// working directory of `go test`).
var clientsDir = filepath.Join("..", "..", "test", "clients")

// clientTimeout bounds one run of a client script or CLI command.
const clientTimeout = 2 * time.Minute

func TestJSClientStreaming(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): install Node.js 20 or newer, then run `make deps` (or `npm ci --prefix test/clients/js`)", err)
	}
	dir := filepath.Join(clientsDir, "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "client-lambda", "package.json")); err != nil {
		t.Fatalf("the AWS SDK for JavaScript is not installed in test/clients/js/node_modules: run `make deps` (or `npm ci --prefix test/clients/js`)")
	}
	runClientChecks(t, node, filepath.Join(dir, "stream.mjs"))
}

// TestJSClientStreamingNode runs the same checks against Node.js functions
// (awslambda.streamifyResponse through the official runtime client).
func TestJSClientStreamingNode(t *testing.T) {
	t.Parallel()
	node, dir := jsClient(t)
	runClientChecksOn(t, node, filepath.Join(dir, "stream.mjs"), nodeClientFunctions)
}

// jsClient returns node and test/clients/js, failing when the SDK is not
// installed.
func jsClient(t *testing.T) (node, dir string) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): install Node.js 20 or newer, then run `make deps` (or `npm ci --prefix test/clients/js`)", err)
	}
	dir = filepath.Join(clientsDir, "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "client-lambda", "package.json")); err != nil {
		t.Fatalf("the AWS SDK for JavaScript is not installed in test/clients/js/node_modules: run `make deps` (or `npm ci --prefix test/clients/js`)")
	}
	return node, dir
}

func TestBoto3ClientStreaming(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): the boto3 test needs a Python 3 with boto3 installed", err)
	}
	cmd := exec.Command(python, "-c", "import boto3, botocore; print(boto3.__version__, botocore.__version__)")
	cmd.Env = clientEnv(nil)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 cannot be imported by %s (%v): install boto3 (with InvokeWithResponseStream, i.e. not Debian's python3-boto3 1.26) for that Python:\n%s", python, err, out)
	}
	t.Logf("%s: boto3, botocore %s", python, strings.TrimSpace(string(out)))
	runClientChecks(t, python, filepath.Join(clientsDir, "python", "stream.py"))
}

// TestBoto3ClientStreamingNode runs the boto3 checks against Node.js
// functions.
func TestBoto3ClientStreamingNode(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): the boto3 test needs a Python 3 with boto3 installed", err)
	}
	runClientChecksOn(t, python, filepath.Join(clientsDir, "python", "stream.py"), nodeClientFunctions)
}

// clientLine is one JSON line printed by test/clients/js/stream.mjs or
// test/clients/python/stream.py (the format is described in stream.mjs).
type clientLine struct {
	Case string   `json:"case"`
	T    *float64 `json:"t"` // ms since the call started

	// streaming cases, one of these per line
	Response *struct {
		Status          int
		ExecutedVersion *string
		ContentType     *string
	} `json:"response"`
	Chunk    *string             `json:"chunk"`
	Complete *invokeCompleteLine `json:"complete"`
	Other    []string            `json:"other"`
	End      bool                `json:"end"`

	// buffered invoke
	Status          int     `json:"status"`
	Payload         *string `json:"payload"`
	FunctionError   *string `json:"functionError"`
	LogResult       bool    `json:"logResult"`
	ExecutedVersion *string `json:"executedVersion"`

	// missing or throttled function
	Error   string `json:"error"`
	Message string `json:"message"`

	// throttled function
	Typed             bool    `json:"typed"` // an instance of the SDK's TooManyRequestsException class
	Reason            *string `json:"reason"`
	ReasonAt          *string `json:"reasonAt"`
	RetryAfterSeconds *string `json:"retryAfterSeconds"`

	Unexpected json.RawMessage `json:"unexpected"`
}

// invokeCompleteLine is an InvokeComplete event as a client script prints it.
type invokeCompleteLine struct {
	ErrorCode, ErrorDetails, LogResult *string
}

// runClientChecks starts sluice with the functions the client scripts call
// (version 1 and alias "live" of echo and streamer; capped, with reserved
// concurrency 0), runs `prog script URL streamer streamfail echo nope live
// capped` and checks every case the script printed.
func runClientChecks(t *testing.T, prog, script string) {
	runClientChecksOn(t, prog, script, goClientFunctions)
}

// clientFunctions makes the functions the client scripts call, and says
// what the failing stream reports.
type clientFunctions struct {
	create func(t *testing.T, ts *testServer, name, handler string)
	// failCode is the InvokeComplete ErrorCode of streamfail.
	failCode string
}

// goClientFunctions are the aws-lambda-go test function's handlers.
var goClientFunctions = clientFunctions{
	create:   func(t *testing.T, ts *testServer, name, handler string) { ts.createFunction(t, name, handler) },
	failCode: "errorString",
}

// nodeClientFunctions are internal/testfunction/node/clients, run by the
// Node.js runtime interface client (nodejs22.x).
var nodeClientFunctions = clientFunctions{
	create: func(t *testing.T, ts *testServer, name, handler string) {
		ts.createRuntimeFunction(t, name, "nodejs22.x", "index."+handler, zipDir(t, filepath.Join(nodeDir, "clients")))
	},
	failCode: "Error",
}

func runClientChecksOn(t *testing.T, prog, script string, fns clientFunctions) {
	runClientChecksAgainst(t, startServer(t, nil), prog, script, fns, nil)
}

// runClientChecksAgainst runs the client checks against ts, with env added
// to the client's environment.
func runClientChecksAgainst(t *testing.T, ts *testServer, prog, script string, fns clientFunctions, env map[string]string) {
	fns.create(t, ts, "streamer", "stream")
	fns.create(t, ts, "streamfail", "streamfail")
	fns.create(t, ts, "echo", "echo")
	fns.create(t, ts, "capped", "echo")
	for _, name := range []string{"echo", "streamer"} {
		out, err := ts.Client.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("PublishVersion %s: %v", name, err)
		}
		if v := aws.ToString(out.Version); v != "1" {
			t.Fatalf("PublishVersion %s: version %q, want 1", name, v)
		}
		if _, err := ts.Client.CreateAlias(ctx(t), &lambda.CreateAliasInput{
			FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		}); err != nil {
			t.Fatalf("CreateAlias %s:live: %v", name, err)
		}
	}
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("capped"), ReservedConcurrentExecutions: aws.Int32(0),
	}); err != nil {
		t.Fatalf("PutFunctionConcurrency capped 0: %v", err)
	}

	c, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(c, prog, script, ts.URL, "streamer", "streamfail", "echo", "nope", "live", "capped")
	cmd.Env = clientEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("%s ran for %v", filepath.Base(script), time.Since(start).Round(time.Millisecond))

	byCase := map[string][]clientLine{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t.Logf("client: %s", abbreviate(sc.Text(), 300))
		var l clientLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("client printed a line that is not JSON (%v): %q", err, sc.Text())
		}
		if l.Unexpected != nil {
			t.Errorf("%s: the client raised %s", l.Case, l.Unexpected)
		}
		byCase[l.Case] = append(byCase[l.Case], l)
	}
	if runErr != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", filepath.Base(prog), script, runErr, stderr.String())
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("stream", func(t *testing.T) {
		chunks, _ := checkClientStream(t, byCase["stream"], "$LATEST", "chunk-0\nchunk-1\nchunk-2\nchunk-3\n")
		// The function pauses 3 x 400 ms between its first and last write: the
		// first chunk must arrive well before the last, not all together at the
		// end. Measured between chunks, not from the call: the JS SDK's send()
		// returns only once the first event is in.
		first, last := *chunks[0].T, *chunks[len(chunks)-1].T
		if last-first < 800 {
			t.Errorf("first chunk at +%vms, last at +%vms: chunks were not streamed as written", first, last)
		}
	})
	t.Run("streamfail", func(t *testing.T) {
		_, complete := checkClientStream(t, byCase["streamfail"], "$LATEST", "partial-1\npartial-2\n")
		if strOf(complete.ErrorCode) != fns.failCode || !strings.Contains(strOf(complete.ErrorDetails), "disk on fire") {
			t.Errorf("InvokeComplete ErrorCode %q ErrorDetails %q, want %s / disk on fire", strOf(complete.ErrorCode), strOf(complete.ErrorDetails), fns.failCode)
		}
		logs, err := base64.StdEncoding.DecodeString(strOf(complete.LogResult))
		if err != nil || !strings.Contains(string(logs), "END RequestId:") {
			t.Errorf("InvokeComplete LogResult %q (%v) has no END line", logs, err)
		}
	})
	t.Run("invoke", func(t *testing.T) {
		ls := byCase["invoke"]
		if len(ls) != 1 {
			t.Fatalf("%d invoke lines, want 1", len(ls))
		}
		l := ls[0]
		if l.Status != 200 || strOf(l.Payload) != `{"hello":"world"}` || l.FunctionError != nil || !l.LogResult || strOf(l.ExecutedVersion) != "$LATEST" {
			t.Errorf("Invoke: status %d payload %q FunctionError %q LogResult present %v ExecutedVersion %q; want 200, the event, none, true, $LATEST",
				l.Status, strOf(l.Payload), strOf(l.FunctionError), l.LogResult, strOf(l.ExecutedVersion))
		}
	})
	for _, kase := range []string{"missing-invoke", "missing-stream"} {
		t.Run(kase, func(t *testing.T) {
			ls := byCase[kase]
			if len(ls) != 1 {
				t.Fatalf("%d %s lines, want 1", len(ls), kase)
			}
			if l := ls[0]; l.Error != "ResourceNotFoundException" || l.Status != 404 || !strings.Contains(l.Message, "function:nope") {
				t.Errorf("missing function: error %q status %d message %q, want ResourceNotFoundException 404", l.Error, l.Status, l.Message)
			}
		})
	}
	t.Run("alias-invoke", func(t *testing.T) {
		ls := byCase["alias-invoke"]
		if len(ls) != 1 {
			t.Fatalf("%d alias-invoke lines, want 1", len(ls))
		}
		l := ls[0]
		if l.Status != 200 || strOf(l.Payload) != `{"via":"alias"}` || l.FunctionError != nil || strOf(l.ExecutedVersion) != "1" {
			t.Errorf("Invoke echo:live: status %d payload %q FunctionError %q ExecutedVersion %q; want 200, the event, none, 1",
				l.Status, strOf(l.Payload), strOf(l.FunctionError), strOf(l.ExecutedVersion))
		}
	})
	t.Run("alias-stream", func(t *testing.T) {
		_, complete := checkClientStream(t, byCase["alias-stream"], "1", "chunk-0\nchunk-1\n")
		if complete.ErrorCode != nil || complete.ErrorDetails != nil {
			t.Errorf("InvokeComplete ErrorCode %q ErrorDetails %q, want neither", strOf(complete.ErrorCode), strOf(complete.ErrorDetails))
		}
	})
	for _, kase := range []string{"throttled-invoke", "throttled-stream"} {
		t.Run(kase, func(t *testing.T) {
			ls := byCase[kase]
			if len(ls) != 1 {
				t.Fatalf("%d %s lines, want 1", len(ls), kase)
			}
			l := ls[0]
			t.Logf("Reason found at %s", strOf(l.ReasonAt))
			if l.Error != "TooManyRequestsException" || !l.Typed || l.Status != 429 {
				t.Errorf("reserved concurrency 0: error %q (the SDK's class: %v) status %d message %q, want TooManyRequestsException 429",
					l.Error, l.Typed, l.Status, l.Message)
			}
			if strOf(l.Reason) != "ReservedFunctionConcurrentInvocationLimitExceeded" {
				t.Errorf("Reason %q (found at %q), want ReservedFunctionConcurrentInvocationLimitExceeded", strOf(l.Reason), strOf(l.ReasonAt))
			}
			if strOf(l.RetryAfterSeconds) != "1" {
				t.Errorf("retryAfterSeconds %q, want 1 (the Retry-After header)", strOf(l.RetryAfterSeconds))
			}
		})
	}
}

// checkClientStream checks the lines of one streaming case: a 200 response
// for version (ExecutedVersion), then chunks that concatenate to want, then
// exactly one InvokeComplete, then the end of the stream. It returns the
// chunk lines and the InvokeComplete.
func checkClientStream(t *testing.T, ls []clientLine, version, want string) (chunks []clientLine, complete *invokeCompleteLine) {
	t.Helper()
	if len(ls) == 0 {
		t.Fatalf("the client printed nothing for this case")
	}
	if r := ls[0].Response; r == nil || r.Status != 200 || strOf(r.ExecutedVersion) != version {
		t.Fatalf("first line is not a 200 response for %s: %s", version, mustJSON(ls[0]))
	}
	if !ls[len(ls)-1].End {
		t.Fatalf("the event stream did not end cleanly")
	}
	var got strings.Builder
	var completeAt float64
	for i, l := range ls[1 : len(ls)-1] {
		if l.T == nil {
			t.Fatalf("event %d has no arrival time: %s", i, mustJSON(l))
		}
		switch {
		case l.Chunk != nil:
			if complete != nil {
				t.Fatalf("PayloadChunk %q after InvokeComplete", *l.Chunk)
			}
			chunks = append(chunks, l)
			got.WriteString(*l.Chunk)
		case l.Complete != nil:
			if complete != nil {
				t.Fatalf("a second InvokeComplete (event %d)", i)
			}
			complete, completeAt = l.Complete, *l.T
		default:
			t.Fatalf("event %d is neither PayloadChunk nor InvokeComplete: %s", i, mustJSON(l))
		}
	}
	if got.String() != want {
		t.Fatalf("chunks concatenate to %q, want %q", got.String(), want)
	}
	if complete == nil {
		t.Fatalf("the stream ended without InvokeComplete")
	}
	if completeAt < *chunks[len(chunks)-1].T {
		t.Fatalf("InvokeComplete at +%vms before the last chunk at +%vms", completeAt, *chunks[len(chunks)-1].T)
	}
	return chunks, complete
}

func TestAWSCLICreateAndInvoke(t *testing.T) {
	t.Parallel()
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("aws (the AWS CLI) is not on PATH (%v): the image's pip awscli v1 provides it", err)
	}
	ts := startServer(t, nil)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(zipPath, testFunctionZip, 0o644); err != nil {
		t.Fatal(err)
	}
	env := clientEnv(map[string]string{
		"HOME":                  home,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_DEFAULT_REGION":    "us-east-1",
		"AWS_PAGER":             "",
	})
	// aws runs one CLI command against the server and returns its stdout.
	aws := func(args ...string) (string, string, error) {
		t.Helper()
		c, cancel := context.WithTimeout(context.Background(), clientTimeout)
		defer cancel()
		args = append(args, "--endpoint-url", ts.URL, "--output", "json")
		cmd := exec.CommandContext(c, awsBin, args...)
		cmd.Env = env
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("aws %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, abbreviate(stdout.String(), 500), stderr.String())
		return stdout.String(), stderr.String(), err
	}
	mustAWS := func(args ...string) string {
		t.Helper()
		out, stderr, err := aws(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}

	// `aws --version` prints to stdout, or to stderr in older v1 releases.
	versionCmd := exec.Command(awsBin, "--version")
	versionCmd.Env = env
	version, err := versionCmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws --version: %v: %s", err, version)
	}
	t.Logf("%s: %s", awsBin, bytes.TrimSpace(version))
	var cliArgs []string
	if bytes.Contains(version, []byte("aws-cli/2.")) {
		// CLI v2 takes blobs as base64 unless told otherwise; v1 rejects the flag.
		cliArgs = []string{"--cli-binary-format", "raw-in-base64-out"}
	}

	var created struct{ FunctionName, State, FunctionArn string }
	out := mustAWS("lambda", "create-function", "--function-name", "clihello", "--runtime", "provided.al2023",
		"--handler", "echo", "--role", "arn:aws:iam::000000000000:role/x", "--zip-file", "fileb://"+zipPath)
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create-function printed %q: %v", out, err)
	}
	if created.FunctionName != "clihello" || created.State != "Pending" || !strings.HasSuffix(created.FunctionArn, ":function:clihello") {
		t.Fatalf("create-function: %+v, want FunctionName clihello, State Pending", created)
	}
	// The CLI's own waiter polls GetFunctionConfiguration until Active.
	mustAWS("lambda", "wait", "function-active-v2", "--function-name", "clihello")

	outFile := filepath.Join(dir, "out.json")
	out = mustAWS(append([]string{"lambda", "invoke", "--function-name", "clihello", "--payload", `{"a":1}`}, append(cliArgs, outFile)...)...)
	var invoked struct {
		StatusCode      int
		FunctionError   *string
		ExecutedVersion string
	}
	if err := json.Unmarshal([]byte(out), &invoked); err != nil {
		t.Fatalf("invoke printed %q: %v", out, err)
	}
	if invoked.StatusCode != 200 || invoked.FunctionError != nil || invoked.ExecutedVersion != "$LATEST" {
		t.Fatalf("invoke: %+v, want StatusCode 200, no FunctionError, $LATEST", invoked)
	}
	if b, err := os.ReadFile(outFile); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("invoke wrote %q (%v), want the event back", b, err)
	}

	var listed struct {
		Functions []struct{ FunctionName string }
	}
	out = mustAWS("lambda", "list-functions")
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("list-functions printed %q: %v", out, err)
	}
	if !slices.ContainsFunc(listed.Functions, func(f struct{ FunctionName string }) bool { return f.FunctionName == "clihello" }) {
		t.Fatalf("list-functions does not list clihello: %s", out)
	}

	_, stderr, err := aws("lambda", "get-function-configuration", "--function-name", "nope")
	if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("get-function-configuration of a missing function: err %v, stderr %q; want a failure naming ResourceNotFoundException", err, stderr)
	}
}

// clientEnv is this process's environment without any AWS_* setting (a
// profile, endpoint or credentials of the machine must not leak into the
// clients), with shared config and credentials files disabled, plus set.
func clientEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			continue
		}
		if _, ok := set[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// mustJSON is v as JSON, for messages.
func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// strOf is the string p points to, or "" for nil.
func strOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// abbreviate cuts text to at most n bytes for the log.
func abbreviate(text string, n int) string {
	text = strings.TrimSpace(text)
	if len(text) > n {
		return text[:n] + "…"
	}
	return text
}

// TestBoto3FunctionURLs drives the function URL configuration operations
// with boto3 (test/clients/python/urls.py): typed exceptions, fields and
// status codes as botocore reads them.
func TestBoto3FunctionURLs(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): the boto3 test needs a Python 3 with boto3 installed", err)
	}
	ts := startServer(t, nil)
	ts.createFunction(t, "web", "urlreply")
	c, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(c, python, filepath.Join(clientsDir, "python", "urls.py"), ts.URL, "web")
	cmd.Env = clientEnv(nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("urls.py: %v\n%s", err, stderr.String())
	}
	t.Logf("boto3: %s", b)
	var got struct {
		Create struct {
			Status         int
			URL, Arn, Mode string
			CreationTime   string
			Cors           struct{ AllowOrigins []string }
		}
		Duplicate struct {
			Typed         bool
			Code, Message string
			Status        int
		}
		BadAuth struct{ Code, Message string }
		Get     struct{ Mode, Auth, LastModified string }
		Update  struct{ Auth, Mode string }
		List    []struct{ Arn, Auth string }
		Delete  int
		Gone    struct {
			Typed   bool
			Message string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:web"
	if got.Create.Status != 201 || !strings.Contains(got.Create.URL, ".lambda-url.us-east-1.localhost:") || got.Create.Arn != arn ||
		got.Create.Mode != "RESPONSE_STREAM" || len(got.Create.Cors.AllowOrigins) != 1 || got.Create.CreationTime == "" {
		t.Errorf("create: %+v", got.Create)
	}
	if !got.Duplicate.Typed || got.Duplicate.Status != 409 || !strings.Contains(got.Duplicate.Message, "FunctionUrlConfig exists for this Lambda function") {
		t.Errorf("duplicate: %+v", got.Duplicate)
	}
	if got.BadAuth.Code != "ValidationException" || !strings.Contains(got.BadAuth.Message, "[NONE, AWS_IAM]") {
		t.Errorf("bad AuthType: %+v", got.BadAuth)
	}
	if got.Get.Mode != "RESPONSE_STREAM" || got.Get.Auth != "NONE" || got.Get.LastModified == "" {
		t.Errorf("get: %+v", got.Get)
	}
	if got.Update.Auth != "AWS_IAM" || got.Update.Mode != "RESPONSE_STREAM" {
		t.Errorf("update: %+v", got.Update)
	}
	if len(got.List) != 1 || got.List[0].Arn != arn || got.List[0].Auth != "AWS_IAM" {
		t.Errorf("list: %+v", got.List)
	}
	if got.Delete != 204 || !got.Gone.Typed || got.Gone.Message != "The resource you requested does not exist." {
		t.Errorf("delete %d, then get: %+v", got.Delete, got.Gone)
	}
}
