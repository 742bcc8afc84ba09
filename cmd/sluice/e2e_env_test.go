package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestE2EClientContext(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "cc", "clientcontext")
	const doc = `{"client":{"installation_id":"i1","app_title":"t"},"custom":{"k":"v"},"env":{"e":"1"}}`
	cc := base64.StdEncoding.EncodeToString([]byte(doc))

	// what the function returns: aws-lambda-go's lambdacontext.ClientContext
	type seen struct {
		Client struct {
			Client struct {
				InstallationID string `json:"installation_id"`
				AppTitle       string `json:"app_title"`
			}
			Env    map[string]string `json:"env"`
			Custom map[string]string `json:"custom"`
		} `json:"client"`
		ARN       string `json:"arn"`
		RequestID string `json:"requestId"`
	}
	check := func(t *testing.T, payload []byte, apiRequestID string) {
		t.Helper()
		var got seen
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		c := got.Client
		if c.Client.InstallationID != "i1" || c.Client.AppTitle != "t" || c.Custom["k"] != "v" || c.Env["e"] != "1" || len(c.Custom) != 1 || len(c.Env) != 1 {
			t.Fatalf("function saw client context %s, sent %s", payload, doc)
		}
		if got.ARN != "arn:aws:lambda:us-east-1:000000000000:function:cc" {
			t.Fatalf("function saw invoked ARN %q", got.ARN)
		}
		if got.RequestID != apiRequestID {
			t.Fatalf("function saw request id %q, API answered %q", got.RequestID, apiRequestID)
		}
	}

	t.Run("Invoke", func(t *testing.T) {
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("cc"), ClientContext: aws.String(cc)})
		if err != nil {
			t.Fatal(err)
		}
		succeeded(t, out)
		check(t, out.Payload, requestIDOf(t, out.ResultMetadata))
	})
	t.Run("Stream", func(t *testing.T) {
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("cc"), ClientContext: aws.String(cc)})
		cleanComplete(t, s.finish(t))
		check(t, []byte(s.payload()), requestIDOf(t, s.out.ResultMetadata))
	})
	t.Run("Absent", func(t *testing.T) {
		out := ts.invoke(t, "cc", `{}`)
		succeeded(t, out)
		var got seen
		if err := json.Unmarshal(out.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.Client.Client.InstallationID != "" || len(got.Client.Custom) != 0 || len(got.Client.Env) != 0 {
			t.Fatalf("function saw a client context it was not sent: %s", out.Payload)
		}
	})

	const invalid = "Client context must be a valid Base64-encoded JSON object."
	big := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"` + strings.Repeat("v", 3000) + `"}}`))
	if len(big) <= 3583 {
		t.Fatalf("test bug: big client context is %d bytes", len(big))
	}
	for _, tc := range []struct{ name, cc, message string }{
		{"NotBase64", "{not base64!", invalid},
		{"NotAnObject", base64.StdEncoding.EncodeToString([]byte(`[1]`)), invalid},
		{"NotJSON", base64.StdEncoding.EncodeToString([]byte(`{"client":`)), invalid},
		{"Null", base64.StdEncoding.EncodeToString([]byte(`null`)), invalid},
		{"TooLarge", big, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr := func(t *testing.T, err error) {
				t.Helper()
				var e *types.InvalidRequestContentException
				if !errors.As(err, &e) || statusOf(err) != 400 {
					t.Fatalf("got %v (status %d), want InvalidRequestContentException 400", err, statusOf(err))
				}
				if tc.message != "" && e.ErrorMessage() != tc.message {
					t.Fatalf("message %q, want %q", e.ErrorMessage(), tc.message)
				}
			}
			_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("cc"), ClientContext: aws.String(tc.cc)})
			checkErr(t, err)
			_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("cc"), ClientContext: aws.String(tc.cc)})
			checkErr(t, err)
		})
	}
}

// TestE2EEnvironment checks the environment a function runs in. Not
// parallel: it sets a variable in the test process (t.Setenv) to prove
// that sluice's own environment does not leak into functions.
func TestE2EEnvironment(t *testing.T) {
	const leak = "SLUICE_E2E_MUST_NOT_LEAK"
	t.Setenv(leak, "secret-of-the-server")
	ts := startServer(t, nil)
	ts.createFunction(t, "envy", "env", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Timeout = aws.Int32(7)
		in.Environment = &types.Environment{Variables: map[string]string{"MY_VAR": "hello", "OTHER": "a=b c"}}
	})
	env := ts.invokeEnv(t, "envy")

	for k, want := range map[string]string{
		"_HANDLER":                        "env",
		"AWS_LAMBDA_FUNCTION_NAME":        "envy",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "us-east-1",
		"TZ":                              ":UTC",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envy",
		"MY_VAR":                          "hello",
		"OTHER":                           "a=b c",
	} {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("%s = %q (set: %v), want %q", k, got, ok, want)
		}
	}
	if api := env["AWS_LAMBDA_RUNTIME_API"]; !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(api) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a loopback host:port", api)
	}
	if root := env["LAMBDA_TASK_ROOT"]; root == "" || root != env["_cwd"] {
		t.Errorf("LAMBDA_TASK_ROOT = %q, working directory %q: want the same, non-empty", root, env["_cwd"])
	}
	if s := env["AWS_LAMBDA_LOG_STREAM_NAME"]; !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(s) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q, want YYYY/MM/DD/[$LATEST]<32 hex>", s)
	}
	if v, ok := env[leak]; ok {
		t.Errorf("sluice's own environment leaked into the function: %s=%q", leak, v)
	}
	ms, err := strconv.Atoi(env["_deadline_in_ms"])
	if err != nil || ms <= 5000 || ms > 7000 {
		t.Errorf("function had %q ms left at its start, want about its 7 s timeout", env["_deadline_in_ms"])
	}
}

// TestE2EWarmReuse checks which invocations share an execution
// environment: consecutive ones do; a configuration or code change starts
// a new one.
func TestE2EWarmReuse(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "warm", "env")
	stream := func(env map[string]string) string {
		s := env["AWS_LAMBDA_LOG_STREAM_NAME"]
		if s == "" {
			t.Fatalf("no AWS_LAMBDA_LOG_STREAM_NAME in %v", env)
		}
		return s
	}

	first := ts.invokeEnv(t, "warm")
	second := ts.invokeEnv(t, "warm")
	if stream(first) != stream(second) {
		t.Fatalf("two consecutive invocations ran in different environments: %s, %s", stream(first), stream(second))
	}
	procs := runtimesOf(ts.cfg.DataDir)
	if len(procs) != 1 {
		t.Fatalf("%d runtime processes after two invocations, want 1: %+v", len(procs), procs)
	}

	_, err := ts.Client.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("warm"),
		Environment:  &types.Environment{Variables: map[string]string{"NEW_VAR": "new"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitUpdated(t, "warm") // InProgress until it settles, as on AWS
	third := ts.invokeEnv(t, "warm")
	if third["NEW_VAR"] != "new" {
		t.Fatalf("after UpdateFunctionConfiguration the function does not see NEW_VAR: %q", third["NEW_VAR"])
	}
	if stream(third) == stream(second) {
		t.Fatalf("after UpdateFunctionConfiguration the invocation ran in the old environment %s", stream(third))
	}
	waitGone(t, procs, 10*time.Second) // the old environment was stopped

	_, err = ts.Client.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("warm"),
		ZipFile:      testFunctionZipWith(t, map[string][]byte{"VERSION": []byte("2")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitUpdated(t, "warm") // until then the previous code serves
	fourth := ts.invokeEnv(t, "warm")
	if stream(fourth) == stream(third) {
		t.Fatalf("after UpdateFunctionCode the invocation ran in the old environment %s", stream(fourth))
	}
	if fourth["_cwd"] == third["_cwd"] {
		t.Fatalf("after UpdateFunctionCode the function still runs in the old code directory %s", fourth["_cwd"])
	}
	if fourth["NEW_VAR"] != "new" {
		t.Fatalf("UpdateFunctionCode lost the environment variables: %v", fourth)
	}
	if fifth := ts.invokeEnv(t, "warm"); stream(fifth) != stream(fourth) {
		t.Fatalf("the new environment was not reused: %s, then %s", stream(fourth), stream(fifth))
	}
	if live, _ := ts.pool.Stats(); live != 1 {
		t.Fatalf("%d live environments, want 1", live)
	}
}
