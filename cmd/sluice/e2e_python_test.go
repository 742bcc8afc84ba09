package main

// The python3.x runtimes end to end: functions from
// internal/testfunction/python run through sluice's stdlib bootstrap
// (internal/runtimes/python) with Debian's python3, unsandboxed and in
// bubblewrap sandboxes, through the Go SDK.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// zipDir zips every file under dir (paths relative to dir), mode 0644.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return zipFiles(files, 0o644)
}

// createRuntimeFunction creates name with runtime and handler from the zip
// and waits until it is Active (the runtime is provisioned meanwhile).
func (ts *testServer) createRuntimeFunction(t testing.TB, name, runtime, handler string, zip []byte, mod ...func(*lambda.CreateFunctionInput)) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.Runtime(runtime),
		Handler:      aws.String(handler),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: zip},
		Timeout:      aws.Int32(30),
	}
	for _, m := range mod {
		m(in)
	}
	if _, err := ts.Client.CreateFunction(ctx(t), in); err != nil {
		t.Fatalf("CreateFunction %s (%s): %v", name, runtime, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(ts.Client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 500*time.Millisecond
	})
	// The first nodejs function of a machine waits for the Node client's
	// native build (minutes on a loaded machine).
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := w.Wait(wctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 15*time.Minute); err != nil {
		out, _ := ts.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if out != nil {
			t.Fatalf("waiting for %s to be Active: %v (State %s: %s)", name, err, out.Configuration.State, aws.ToString(out.Configuration.StateReason))
		}
		t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
}

var pythonDir = filepath.Join("..", "..", "internal", "testfunction", "python")

func TestPythonRuntime(t *testing.T) {
	t.Parallel()
	inEachSandbox(t, testPythonFunctions)
}

// inEachSandbox runs test against a server without sandboxes and one with
// bubblewrap sandboxes.
func inEachSandbox(t *testing.T, test func(t *testing.T, ts *testServer, sandboxed bool)) {
	for _, sb := range []string{"none", "bwrap"} {
		t.Run("sandbox="+sb, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.Sandbox = sb })
			test(t, ts, sb != "none")
		})
	}
}

func testPythonFunctions(t *testing.T, ts *testServer, sandboxed bool) {
	zip := zipDir(t, pythonDir)
	ts.createRuntimeFunction(t, "py", "python3.12", "app.context", zip, func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
	})
	c := ts.Client

	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
	var got struct {
		AwsRequestID       string          `json:"aws_request_id"`
		FunctionName       string          `json:"function_name"`
		FunctionVersion    string          `json:"function_version"`
		InvokedFunctionArn string          `json:"invoked_function_arn"`
		MemoryLimitInMB    json.RawMessage `json:"memory_limit_in_mb"`
		LogGroupName       string          `json:"log_group_name"`
		LogStreamName      string          `json:"log_stream_name"`
		RemainingMs        int             `json:"remaining_ms"`
		ClientCustom       map[string]any  `json:"client_custom"`
		Count              int             `json:"count"`
		Event              map[string]any  `json:"event"`
		Cwd                string          `json:"cwd"`
		RuntimeDir         string          `json:"runtime_dir"`
		ExecutionEnv       string          `json:"execution_env"`
	}
	for i := 1; i <= 2; i++ {
		out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte(`{"msg":"hi"}`), LogType: types.LogTypeTail, ClientContext: aws.String(cc)})
		if err != nil {
			t.Fatal(err)
		}
		succeeded(t, out)
		if err := json.Unmarshal(out.Payload, &got); err != nil {
			t.Fatalf("payload %s: %v", out.Payload, err)
		}
		if got.Count != i {
			t.Errorf("invocation %d: the module counted %d: not imported once per environment", i, got.Count)
		}
		tail := decodeTail(t, out.LogResult)
		if !strings.Contains(tail, "hello from python hi") || !strings.Contains(tail, "[INFO]") || !strings.Contains(tail, "logged at info") ||
			!strings.Contains(tail, got.AwsRequestID) {
			t.Errorf("log tail %q lacks the print and logging lines", tail)
		}
	}
	if got.FunctionName != "py" || got.FunctionVersion != "$LATEST" || got.InvokedFunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:py" ||
		strings.Trim(string(got.MemoryLimitInMB), `"`) != "256" || got.LogGroupName != "/aws/lambda/py" || !strings.Contains(got.LogStreamName, "[$LATEST]") ||
		got.RemainingMs <= 0 || got.RemainingMs > 30000 || got.ClientCustom["k"] != "v" || got.Event["msg"] != "hi" ||
		got.ExecutionEnv != "AWS_Lambda_python3.12" || len(got.AwsRequestID) != 36 {
		t.Errorf("context: %+v", got)
	}
	if sandboxed && (got.Cwd != "/var/task" || got.RuntimeDir != "/var/runtime") {
		t.Errorf("in a sandbox: cwd %q, LAMBDA_RUNTIME_DIR %q; want /var/task, /var/runtime", got.Cwd, got.RuntimeDir)
	}

	// Errors, shaped as Lambda's Python runtime shapes them.
	set := func(name, handler string) {
		t.Helper()
		if _, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Handler: aws.String(handler)}); err != nil {
			t.Fatal(err)
		}
		ts.waitUpdated(t, name)
	}
	set("py", "app.fail")
	out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	doc := functionError(t, out)
	var raw map[string]any
	_ = json.Unmarshal(out.Payload, &raw)
	if doc.ErrorType != "ValueError" || doc.ErrorMessage != "bad value" || len(doc.StackTrace) == 0 || raw["requestId"] == nil {
		t.Errorf("error document %s", out.Payload)
	}
	set("py", "badimport.handler")
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if doc := functionError(t, out); doc.ErrorType != "Runtime.ImportModuleError" || !strings.Contains(doc.ErrorMessage, "Unable to import module 'badimport': No module named 'nonexistent_module_for_sluice_tests'") {
		t.Errorf("import error: %s", out.Payload)
	}
	set("py", "pkg.nested.handler")
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, out)
	if string(out.Payload) != `{"from": "pkg.nested", "event": {"n": 1}}` {
		t.Errorf("package handler: %s", out.Payload)
	}

	// A generator streams, chunk by chunk (sluice extension): the first
	// chunk arrives while the function still sleeps before the last.
	set("py", "app.stream")
	s := openStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("py"), Payload: []byte(`{"chunks":3,"pauseMs":700}`)})
	first := s.firstChunk(t)
	firstAt := time.Now()
	if string(first) != "chunk-0\n" {
		t.Errorf("first chunk %q", first)
	}
	cleanComplete(t, s.finish(t))
	if s.payload() != "chunk-0\nchunk-1\nchunk-2\n" {
		t.Errorf("streamed %q", s.payload())
	}
	if d := time.Since(firstAt); d < 1000*time.Millisecond {
		t.Errorf("the rest came %v after the first chunk: the first came only at the end", d)
	}
	s = openStream(t, c, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("py"), Payload: []byte(`{"chunks":2,"fail":true}`)})
	done := s.finish(t)
	if s.payload() != "chunk-0\nchunk-1\n" || aws.ToString(done.ErrorCode) != "RuntimeError" || !strings.Contains(aws.ToString(done.ErrorDetails), "generator broke") {
		t.Errorf("failing generator: %q, InvokeComplete %q %q", s.payload(), aws.ToString(done.ErrorCode), aws.ToString(done.ErrorDetails))
	}
	// The same generator through a buffered Invoke: gathered.
	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte(`{"chunks":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, out)
	if string(out.Payload) != "chunk-0\nchunk-1\n" {
		t.Errorf("buffered generator: %q", out.Payload)
	}
}

// TestRuntimeChangeProvisions: UpdateFunctionConfiguration to a runtime
// this sluice has not provisioned yet deploys it (LastUpdateStatus
// InProgress, the previous configuration serving meanwhile), then the new
// runtime runs.
func TestRuntimeChangeProvisions(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.RuntimesDir = t.TempDir() })
	files := map[string][]byte{}
	for _, f := range []string{"app.py"} {
		b, err := os.ReadFile(filepath.Join(pythonDir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	ts.createFunction(t, "switch", "echo", func(in *lambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{ZipFile: testFunctionZipWith(t, files)}
	})
	out, err := ts.Client.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("switch"), Runtime: types.RuntimePython312, Handler: aws.String("app.context"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.LastUpdateStatus != types.LastUpdateStatusInProgress || out.Runtime != types.RuntimePython312 {
		t.Errorf("UpdateFunctionConfiguration to a new runtime: LastUpdateStatus %s, Runtime %s; want InProgress, python3.12", out.LastUpdateStatus, out.Runtime)
	}
	ts.waitUpdated(t, "switch")
	inv, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("switch"), Payload: []byte(`{"msg":"now python"}`)})
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, inv)
	if !strings.Contains(string(inv.Payload), `"execution_env": "AWS_Lambda_python3.12"`) {
		t.Errorf("after the change: %s", inv.Payload)
	}
}
