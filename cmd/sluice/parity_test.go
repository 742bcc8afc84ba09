package main

// The invocation cases of the parity suite (issue 11): LocalStack's
// recordings of Invoke against real AWS (internal/parity/testdata/
// invoke.excerpt.json, from tests/aws/services/lambda_/test_lambda.snapshot.json)
// replayed against a whole sluice that runs the recorded functions
// (testdata/parity, LocalStack's test functions) with its python and
// nodejs runtimes. The harness is package parity's: every difference
// fails the test unless internal/parity/testdata/deviations.tsv names the
// docs/decisions.md section that documents it.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/parity"
)

var parityData = filepath.Join("..", "..", "internal", "parity", "testdata")

// The recordings were made in account 111111111111 (LocalStack's
// transformers put it in place of the real one); the server runs in it
// so that recorded ARNs compare as they are.
const (
	parityAccount = "111111111111"
	parityRole    = "arn:aws:iam::111111111111:role/lambda-test-role"
)

// invokeRun is one replay: parity.Run on the shared server.
type invokeRun struct {
	*parity.Run
	t    *testing.T
	ts   *testServer
	logs *functionLogs
}

// exclusive are the cases that run alone: one that starves the others of
// CPU, and one whose timing they could upset.
var exclusive = map[string]bool{
	"TestLambdaErrors::test_lambda_runtime_exit_segfault": true,
	// a second of margin between its sleep and its timeout
	"TestLambdaBehavior::test_lambda_invoke_no_timeout": true,
}

// functionLogs keeps each function's log stream (where AWS has its
// CloudWatch log group).
type functionLogs struct {
	mu sync.Mutex
	m  map[string]*syncBuffer
}

func (l *functionLogs) of(name string) *syncBuffer {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[name]
	if b == nil {
		b = &syncBuffer{}
		l.m[name] = b
	}
	return b
}

// startParityServer starts sluice as it is deployed, sandboxed ("auto":
// bubblewrap here, so that functions find their code in /var/task as on
// AWS), in the recordings' account, keeping each function's log apart.
func startParityServer(t *testing.T) (*testServer, *functionLogs) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	if err := os.Chmod(filepath.Dir(cfg.DataDir), 0o711); err != nil {
		t.Fatal(err)
	}
	cfg.ShutdownGrace = 3 * time.Second
	cfg.RuntimesDir = testRuntimesDir
	cfg.Sandbox = "auto"
	cfg.AccountID = parityAccount
	cfg.Region = "us-east-1"
	logs := &functionLogs{m: map[string]*syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := Open(context.Background(), cfg, logger, func(name string) io.Writer { return logs.of(name) })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	c, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, cfg: cfg, URL: srv.URL(), logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(c) }()
	ts.Client = lambdaclient.New(ts.URL, cfg.AccessKeyID, cfg.SecretAccessKey)
	t.Cleanup(func() { ts.stop(t) })
	return ts, logs
}

type invokeReplay func(r *invokeRun)

// TestParityInvoke replays every case of invoke.excerpt.json that has a
// replay (all of them run in parallel against one server) and fails for
// every difference that deviations.tsv does not name. Its closing line
// counts the exchanges replayed and matched.
func TestParityInvoke(t *testing.T) {
	devs, err := parity.LoadDeviations(filepath.Join(parityData, "deviations.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := devs.CheckDecisions(filepath.Join("..", "..", "docs", "decisions.md")); err != nil {
		t.Fatal(err)
	}
	const file = "invoke.excerpt.json"
	ex, err := parity.LoadExcerpt(filepath.Join(parityData, file))
	if err != nil {
		t.Fatal(err)
	}
	ts, logs := startParityServer(t)

	var (
		mu                           sync.Mutex
		used                         = map[*parity.Deviation]bool{}
		exchanges, matched, clean, n int
	)
	names := make([]string, 0, len(invokeReplays))
	for name := range invokeReplays {
		names = append(names, name)
	}
	sort.Strings(names)
	run := func(t *testing.T, name string, parallel bool) {
		rc, ok := ex.Cases[name]
		if !ok {
			t.Errorf("%s: %s has a replay but no recording", file, name)
			return
		}
		id := file + "::" + name
		t.Run(name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			rec := &parity.Recorder{Base: http.DefaultTransport.(*http.Transport).Clone()}
			client := lambda.New(lambda.Options{
				Region:           "us-east-1",
				Credentials:      credentials.NewStaticCredentialsProvider(ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey, ""),
				BaseEndpoint:     aws.String(ts.URL),
				HTTPClient:       &http.Client{Transport: lambdaclient.OwnBodies(rec)},
				RetryMaxAttempts: 1,
			})
			c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			r := &invokeRun{Run: parity.NewRun(t, c, client, rec), t: t, ts: ts, logs: logs}
			invokeReplays[name](r)
			diffs, e, m := parity.Diff(rc, r.Run)
			mu.Lock()
			defer mu.Unlock()
			exchanges += e
			matched += m
			n++
			if len(diffs) == 0 {
				clean++
			}
			for _, d := range diffs {
				if dev := devs.Explain(id, d); dev != nil {
					used[dev] = true
					t.Logf("DEVIATION %s: %s (docs/decisions.md: %s)", name, d, dev.Decision)
					continue
				}
				t.Errorf("MISMATCH %s (validated %s): %s", name, rc.LastValidated, d)
			}
		})
	}
	// The cases run in parallel, but for those that would starve the
	// others' timing (a runtime that prints as fast as it can): they run
	// alone, after.
	t.Run("cases", func(t *testing.T) {
		for _, name := range names {
			if !exclusive[name] {
				run(t, name, true)
			}
		}
	})
	t.Run("alone", func(t *testing.T) {
		for _, name := range names {
			if exclusive[name] {
				run(t, name, false)
			}
		}
	})
	// a deviation of these cases that explains no difference is stale
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() == "" || f.Value.String() == "TestParityInvoke" {
		for i := range devs {
			if !used[&devs[i]] && matchesAny(devs[i].Case, file, names) {
				t.Errorf("deviations.tsv: %s / %s explains no difference", devs[i].Case, devs[i].Diff)
			}
		}
	}
	t.Logf("parity (invoke): %d cases (%d without a difference), %d recorded exchanges replayed, %d match", n, clean, exchanges, matched)
}

// matchesAny reports whether re matches the id of one of the cases.
func matchesAny(re *regexp.Regexp, file string, names []string) bool {
	for _, n := range names {
		if re.MatchString(file + "::" + n) {
			return true
		}
	}
	return false
}

// paritySource is the zip of LocalStack's test function file (in
// testdata/parity) under the name its handler imports: module.ext.
func paritySource(t *testing.T, file, handler string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "parity", file))
	if err != nil {
		t.Fatal(err)
	}
	module, _, _ := strings.Cut(handler, ".")
	return zipFiles(map[string][]byte{module + filepath.Ext(file): b}, 0o644)
}

// fn is LocalStack's create_lambda_function fixture's CreateFunction
// (testutil.create_lambda_function): the file as module "handler" (or the
// handler's module), timeout 30, Environment and Tags always given.
type fn struct {
	file, runtime, handler string
	timeout                int32
	env                    map[string]string
	arch                   types.Architecture
}

func (r *invokeRun) createInput(prefix string, f fn) *lambda.CreateFunctionInput {
	if f.handler == "" {
		f.handler = "handler.handler"
	}
	if f.timeout == 0 {
		f.timeout = 30
	}
	name := prefix + "-" + randomSuffix()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.Runtime(f.runtime),
		Handler:      aws.String(f.handler),
		Role:         aws.String(parityRole),
		Code:         &types.FunctionCode{ZipFile: paritySource(r.t, f.file, f.handler)},
		Timeout:      aws.Int32(f.timeout),
		Environment:  &types.Environment{Variables: f.env},
		Tags:         map[string]string{},
	}
	if f.env == nil {
		in.Environment.Variables = map[string]string{}
	}
	if f.arch != "" {
		in.Architectures = []types.Architecture{f.arch}
	}
	return in
}

// fixture creates the function and waits until it is Active; snapKey,
// when given, keeps the CreateFunction response as the fixture returns
// it ({"CreateEventSourceMappingResponse": None, "CreateFunctionResponse": ...}).
func (r *invokeRun) fixture(prefix string, f fn, snapKey string) string {
	r.t.Helper()
	in := r.createInput(prefix, f)
	create := func() error { _, err := r.C.CreateFunction(r.Ctx, in); return err }
	if snapKey == "" {
		if err := create(); err != nil {
			r.t.Fatalf("create_lambda_function fixture: %v", err)
		}
	} else {
		r.Snap(snapKey, create)
		r.Got[snapKey] = map[string]any{"CreateEventSourceMappingResponse": nil, "CreateFunctionResponse": codeSha256(r.Got[snapKey])}
	}
	r.waitActive(*in.FunctionName)
	return *in.FunctionName
}

// waitActive waits as long as the first nodejs function of a machine
// may need (the Node client's native build).
func (r *invokeRun) waitActive(name string) {
	r.t.Helper()
	w := lambda.NewFunctionActiveV2Waiter(r.C, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 500*time.Millisecond
	})
	c, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := w.Wait(c, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 15*time.Minute); err != nil {
		r.t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
}

// codeSha256 is the lambda_api transformer of test_lambda.py's
// snapshots: key_value("CodeSha256", reference_replacement=False).
func codeSha256(v any) any {
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["CodeSha256"]; ok {
			m["CodeSha256"] = "code-sha256"
		}
	}
	return v
}

// invoke calls Invoke and keeps the response under key as boto3 parses
// it and LocalStack's snapshot keeps it.
func (r *invokeRun) invoke(key string, in *lambda.InvokeInput) {
	r.Snap(key, func() error { _, err := r.C.Invoke(r.Ctx, in); return err })
	r.Got[key] = invokeShape(r.Rec.Last())
}

// invokeShape is boto3's Invoke output: the headers it binds
// (StatusCode, FunctionError, LogResult, ExecutedVersion) and Payload,
// the body, which LocalStack's snapshot decodes when it is a JSON object
// ("{..."); an error is botocore's error shape.
func invokeShape(e parity.Exchange) map[string]any {
	if e.Status >= 300 {
		return parity.BotoShape(e)
	}
	m := map[string]any{"StatusCode": float64(e.Status)}
	for field, h := range map[string]string{"FunctionError": "X-Amz-Function-Error", "LogResult": "X-Amz-Log-Result", "ExecutedVersion": "X-Amz-Executed-Version"} {
		if v := e.Header.Get(h); v != "" {
			m[field] = v
		}
	}
	var payload any = string(e.Body)
	if strings.HasPrefix(string(e.Body), "{") {
		var obj map[string]any
		if json.Unmarshal(e.Body, &obj) == nil {
			payload = obj
		}
	}
	m["Payload"] = payload
	m["ResponseMetadata"] = map[string]any{"HTTPHeaders": map[string]any{}, "HTTPStatusCode": float64(e.Status)}
	return m
}

// LocalStack's transformers, applied to sluice's values where the
// recording's are replaced by them.
var (
	uuidPattern     = regexp.MustCompile(`[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}`)
	iso8601Pattern  = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?(?:\d{2})?)`)
	durationPattern = regexp.MustCompile(`Duration: \d+(\.\d{2})? ms`)
	memoryPattern   = regexp.MustCompile(`Used: \d+ MB`)
)

// reportLogs is snapshot.transform.lambda_report_logs() and the date
// transformer.
func reportLogs(s string) string {
	s = durationPattern.ReplaceAllString(s, "Duration: <duration> ms")
	s = memoryPattern.ReplaceAllString(s, "Used: <memory> MB")
	return iso8601Pattern.ReplaceAllString(s, "date")
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// echo is the invocation_echo_lambda fixture of TestLambdaFeatures:
// LocalStack's echo function in the runtime of the case's parameter
// (python3.10 and nodejs16.x are past their deprecation; sluice runs
// their successors, and no recorded exchange of these cases names the
// runtime).
func (r *invokeRun) echo(runtime string) string {
	if strings.HasPrefix(runtime, "python") {
		return r.fixture("echo-func", fn{file: "lambda_echo.py", runtime: "python3.12"}, "")
	}
	return r.fixture("echo-func", fn{file: "lambda_echo.js", runtime: "nodejs20.x"}, "")
}

var invokeReplays = map[string]invokeReplay{}

func init() {
	for _, rt := range []string{"python3.10", "nodejs16.x"} {
		invokeReplays["TestLambdaFeatures::test_invocation_with_logs["+rt+"]"] = func(r *invokeRun) {
			arn := r.echo(rt)
			r.invoke("invoke", &lambda.InvokeInput{FunctionName: &arn, Payload: []byte("{}"), LogType: types.LogTypeTail})
			got := r.Got["invoke"].(map[string]any)
			raw, _ := got["LogResult"].(string)
			if _, ok := got["LogResult"]; ok {
				got["LogResult"] = "log-result" // key_value("LogResult", reference_replacement=False)
			}
			logs, err := base64.StdEncoding.DecodeString(raw)
			if err != nil {
				r.t.Errorf("LogResult: %v", err)
			}
			text := reportLogs(string(logs)) // <request-id> binds to sluice's id
			var lines []any
			for _, l := range strings.SplitAfter(text, "\n") {
				if l != "" {
					lines = append(lines, l)
				}
			}
			r.Got["logs"] = map[string]any{"logs": lines}
			r.Order = append(r.Order, "logs")
		}
		invokeReplays["TestLambdaFeatures::test_invocation_type_request_response["+rt+"]"] = func(r *invokeRun) {
			arn := r.echo(rt)
			r.invoke("invoke-result", &lambda.InvokeInput{FunctionName: &arn, Payload: []byte("{}"), InvocationType: types.InvocationTypeRequestResponse})
		}
		invokeReplays["TestLambdaFeatures::test_invocation_type_event["+rt+"]"] = func(r *invokeRun) {
			arn := r.echo(rt)
			r.invoke("invoke-result", &lambda.InvokeInput{FunctionName: &arn, Payload: []byte("{}"), InvocationType: types.InvocationTypeEvent})
		}
		invokeReplays["TestLambdaFeatures::test_invocation_type_dry_run["+rt+"]"] = func(r *invokeRun) {
			arn := r.echo(rt)
			r.invoke("invoke-result", &lambda.InvokeInput{FunctionName: &arn, Payload: []byte("{}"), InvocationType: types.InvocationTypeDryRun})
		}
	}
	for _, lang := range []string{"python", "nodejs"} {
		f := fn{file: "lambda_none.py", runtime: "python3.12"}
		if lang == "nodejs" {
			f = fn{file: "lambda_none.js", runtime: "nodejs20.x"} // the test's nodejs18.x is deprecated
		}
		for _, it := range []types.InvocationType{types.InvocationTypeRequestResponse, types.InvocationTypeEvent} {
			invokeReplays["TestLambdaFeatures::test_invocation_type_no_return_payload["+lang+"-"+string(it)+"]"] = func(r *invokeRun) {
				name := r.fixture("test-function", f, "")
				r.invoke("invoke-result", &lambda.InvokeInput{FunctionName: &name, Payload: []byte("{}"), InvocationType: it})
			}
		}
		cache := fn{file: "lambda_cache.py", runtime: "python3.12"}
		if lang == "nodejs" {
			cache = fn{file: "lambda_cache.js", runtime: "nodejs20.x"}
		}
		invokeReplays["TestLambdaBehavior::test_lambda_cache_local["+lang+"]"] = func(r *invokeRun) {
			name := r.fixture("test_lambda", cache, "")
			r.invoke("first_invoke_result", &lambda.InvokeInput{FunctionName: &name})
			r.invoke("second_invoke_result", &lambda.InvokeInput{FunctionName: &name})
		}
	}
	invokeReplays["TestLambdaFeatures::test_invoke_exceptions"] = func(r *invokeRun) {
		r.invoke("invoke_function_doesnotexist", &lambda.InvokeInput{FunctionName: aws.String("doesnotexist")})
	}

	// TestLambdaErrors: one invoke without payload of a failing function;
	// the <uuid> placeholder is the regex transformer of PATTERN_UUID.
	failing := func(f fn) invokeReplay {
		return func(r *invokeRun) {
			name := r.fixture("test-function", f, "")
			r.invoke("invocation_error", &lambda.InvokeInput{FunctionName: &name})
		}
	}
	invokeReplays["TestLambdaErrors::test_lambda_runtime_error"] = failing(fn{file: "lambda_runtime_error.py", handler: "lambda_runtime_error.handler", runtime: "python3.13"})
	invokeReplays["TestLambdaErrors::test_lambda_runtime_exit"] = failing(fn{file: "lambda_runtime_exit.py", handler: "lambda_runtime_exit.handler", runtime: "python3.12"})
	invokeReplays["TestLambdaErrors::test_lambda_runtime_exit_segfault"] = failing(fn{file: "lambda_runtime_exit_segfault.py", handler: "lambda_runtime_exit_segfault.handler", runtime: "python3.12"})
	invokeReplays["TestLambdaErrors::test_lambda_handler_error"] = failing(fn{file: "lambda_handler_error.py", handler: "lambda_handler_error.handler", runtime: "python3.12"})
	invokeReplays["TestLambdaErrors::test_lambda_handler_exit"] = failing(fn{file: "lambda_handler_exit.py", handler: "lambda_handler_exit.handler", runtime: "python3.12"})
	invokeReplays["TestLambdaErrors::test_lambda_runtime_wrapper_not_found"] = failing(fn{file: "lambda_echo.py", handler: "lambda_echo.handler", runtime: "python3.12", env: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/idontexist.sh"}})
	for label, payload := range map[string]string{
		`body-n\x87r\x9e\xe9\xb5\xd7I\xee\x9bmt`: "n\x87r\x9e\xe9\xb5\xd7I\xee\x9bmt",
		`message-\x99\xeb,j\x07\xa1zYh`:          "\x99\xeb,j\x07\xa1zYh",
	} {
		key := "invoke_function_invalid_payload_" + label[:strings.Index(label, "-")]
		invokeReplays["TestLambdaErrors::test_lambda_invoke_payload_encoding_error["+label+"]"] = func(r *invokeRun) {
			name := r.fixture("test-function", fn{file: "lambda_echo.py", handler: "lambda_echo.handler", runtime: "python3.12"}, "")
			r.invoke(key, &lambda.InvokeInput{FunctionName: &name, Payload: []byte(payload)})
		}
	}

	invokeReplays["TestLambdaBehavior::test_lambda_invoke_with_timeout"] = func(r *invokeRun) {
		name := r.fixture("test_lambda", fn{file: "lambda_timeout.py", runtime: "python3.12", timeout: 1}, "create-result")
		r.invoke("invoke-result", &lambda.InvokeInput{FunctionName: &name, Payload: []byte(`{"wait": 2}`)})
	}
	invokeReplays["TestLambdaBehavior::test_lambda_invoke_no_timeout"] = func(r *invokeRun) {
		name := r.fixture("test_lambda", fn{file: "lambda_timeout.py", runtime: "python3.12", timeout: 2}, "create-result")
		r.invoke("invoke-result", &lambda.InvokeInput{FunctionName: &name, Payload: []byte(`{"wait": 1}`)})
	}
	invokeReplays["TestLambdaBehavior::test_lambda_invoke_timed_out_environment_reuse"] = func(r *invokeRun) {
		name := r.fixture("test_lambda", fn{file: "lambda_timeout_env.py", runtime: "python3.12", timeout: 1}, "create-result")
		for _, step := range []struct{ key, payload string }{
			{"invoke-result-file-write", `{"write-file": "some-content"}`},
			{"invoke-result-file-read", `{"read-file": true}`},
			{"invoke-result-set-number", `{"set-number": 42}`},
			{"invoke-result-read-number", `{"read-number": true}`},
			{"invoke-result-timed-out", `{"sleep": 2}`},
			{"invoke-result-file-read-after-timeout", `{"read-file": true}`},
			{"invoke-result-read-number-after-timeout", `{"read-number": true}`},
		} {
			r.invoke(step.key, &lambda.InvokeInput{FunctionName: &name, Payload: []byte(step.payload)})
		}
	}
	invokeReplays["TestLambdaBehavior::test_mixed_architecture"] = func(r *invokeRun) {
		f := fn{file: "lambda_introspect.py", runtime: "python3.12", arch: types.ArchitectureX8664}
		name := r.fixture("test_lambda_mixed_arch", f, "create_function_response")
		r.Snap("update_function_code_response", func() error {
			_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{
				FunctionName: &name, ZipFile: paritySource(r.t, f.file, "handler.handler"), Architectures: []types.Architecture{types.ArchitectureArm64}})
			return err
		})
		codeSha256(r.Got["update_function_code_response"])
	}
	invokeReplays["TestLambdaBehavior::test_runtime_ulimits"] = func(r *invokeRun) {
		name := r.fixture("test_lambda_ulimits", fn{file: "lambda_ulimits.py", runtime: "python3.12"}, "")
		r.invoke("invoke_runtime_ulimits", &lambda.InvokeInput{FunctionName: &name})
	}
	invokeReplays["TestRequestIdHandling::test_request_id_invoke"] = func(r *invokeRun) {
		name := r.fixture("test_lambda", fn{file: "lambda_request_id.py", runtime: "python3.12"}, "")
		r.invoke("invoke_result", &lambda.InvokeInput{FunctionName: &name})
		// filter_log_events of the log group: sluice's log stream of the
		// function, its lines that name a RequestId, right-stripped
		var entries []any
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			entries = nil
			for _, l := range strings.Split(r.logs.of(name).String(), "\n") {
				if strings.Contains(l, "RequestId") {
					entries = append(entries, reportLogs(strings.TrimRight(l, " \t\r")))
				}
			}
			if len(entries) > 0 && strings.HasPrefix(entries[len(entries)-1].(string), "REPORT") {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		r.Got["log_entries"] = map[string]any{"logs": entries}
		r.Order = append(r.Order, "log_entries")
	}
}
