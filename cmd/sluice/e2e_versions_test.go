package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// setEnv replaces $LATEST's environment variables (applied at once).
func (ts *testServer) setEnv(t *testing.T, name string, vars map[string]string) {
	t.Helper()
	_, err := ts.Client.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name),
		Environment:  &types.Environment{Variables: vars},
	})
	if err != nil {
		t.Fatalf("UpdateFunctionConfiguration %s: %v", name, err)
	}
	ts.waitUpdated(t, name)
}

// publish publishes $LATEST and returns the version number.
func (ts *testServer) publish(t *testing.T, name string) string {
	t.Helper()
	out, err := ts.Client.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("PublishVersion %s: %v", name, err)
	}
	return aws.ToString(out.Version)
}

// invokeEnvAt invokes an "env" function through FunctionName (any form)
// and Qualifier, and returns what the function saw and the executed
// version the API reported.
func (ts *testServer) invokeEnvAt(t *testing.T, name, qualifier string) (map[string]string, string) {
	t.Helper()
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := ts.Client.Invoke(ctx(t), in)
	if err != nil {
		t.Fatalf("Invoke %s (qualifier %q): %v", name, qualifier, err)
	}
	succeeded(t, out)
	var env map[string]string
	if err := json.Unmarshal(out.Payload, &env); err != nil {
		t.Fatalf("env payload %.300s: %v", out.Payload, err)
	}
	return env, aws.ToString(out.ExecutedVersion)
}

// TestE2EVersionsAndAliases: published versions keep their own code and
// configuration and their own warm environments; every FunctionName form
// reaches them; aliases resolve to their version; X-Amz-Executed-Version
// and the runtime's environment agree.
func TestE2EVersionsAndAliases(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "ver", "env", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"VV": "one"}}
	})
	if v := ts.publish(t, "ver"); v != "1" {
		t.Fatalf("first version %q", v)
	}
	ts.setEnv(t, "ver", map[string]string{"VV": "two"})
	if v := ts.publish(t, "ver"); v != "2" {
		t.Fatalf("second version %q", v)
	}
	if v := ts.publish(t, "ver"); v != "2" { // nothing changed: the newest version again
		t.Fatalf("publishing an unchanged $LATEST gave version %q, want 2", v)
	}
	ts.setEnv(t, "ver", map[string]string{"VV": "three"})
	if _, err := ts.Client.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("ver"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}

	arn := "arn:aws:lambda:us-east-1:000000000000:function:ver"
	cases := []struct {
		name, qualifier, wantV, wantVersion string
	}{
		{"ver", "", "three", "$LATEST"},
		{"ver:$LATEST", "", "three", "$LATEST"},
		{"ver", "$LATEST", "three", "$LATEST"},
		{"ver:1", "", "one", "1"},
		{"ver", "2", "two", "2"},
		{arn + ":2", "", "two", "2"},
		{arn, "1", "one", "1"},
		{"000000000000:function:ver:1", "", "one", "1"},
		{"ver:live", "", "one", "1"},
		{"ver", "live", "one", "1"},
		{arn + ":live", "live", "one", "1"},
	}
	streams := map[string]string{} // version → log stream of its environment
	for _, tc := range cases {
		env, executed := ts.invokeEnvAt(t, tc.name, tc.qualifier)
		if env["VV"] != tc.wantV || executed != tc.wantVersion || env["AWS_LAMBDA_FUNCTION_VERSION"] != tc.wantVersion {
			t.Errorf("Invoke %s qualifier %q: V=%q ExecutedVersion=%q AWS_LAMBDA_FUNCTION_VERSION=%q; want %q, %q",
				tc.name, tc.qualifier, env["VV"], executed, env["AWS_LAMBDA_FUNCTION_VERSION"], tc.wantV, tc.wantVersion)
		}
		if !strings.Contains(env["AWS_LAMBDA_LOG_STREAM_NAME"], "["+tc.wantVersion+"]") {
			t.Errorf("log stream %q does not name version %s", env["AWS_LAMBDA_LOG_STREAM_NAME"], tc.wantVersion)
		}
		if prev, ok := streams[tc.wantVersion]; ok && prev != env["AWS_LAMBDA_LOG_STREAM_NAME"] {
			t.Errorf("version %s ran in a new environment (%s, before %s): warm environments are per version", tc.wantVersion, env["AWS_LAMBDA_LOG_STREAM_NAME"], prev)
		}
		streams[tc.wantVersion] = env["AWS_LAMBDA_LOG_STREAM_NAME"]
	}

	// Streaming reports the executed version too.
	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("ver:live"), Payload: []byte(`{}`)})
	cleanComplete(t, s.finish(t))
	if s.out.ExecutedVersion == nil || *s.out.ExecutedVersion != "1" {
		t.Errorf("stream through alias: ExecutedVersion %v, want 1", aws.ToString(s.out.ExecutedVersion))
	}

	// Updating $LATEST recycles only $LATEST's environments.
	ts.setEnv(t, "ver", map[string]string{"VV": "four"})
	env, _ := ts.invokeEnvAt(t, "ver", "")
	if env["VV"] != "four" || env["AWS_LAMBDA_LOG_STREAM_NAME"] == streams["$LATEST"] {
		t.Errorf("$LATEST after its update: V=%q stream %s (before %s)", env["VV"], env["AWS_LAMBDA_LOG_STREAM_NAME"], streams["$LATEST"])
	}
	env, _ = ts.invokeEnvAt(t, "ver", "1")
	if env["VV"] != "one" || env["AWS_LAMBDA_LOG_STREAM_NAME"] != streams["1"] {
		t.Errorf("version 1 after $LATEST's update: V=%q stream %s, want its warm environment %s", env["VV"], env["AWS_LAMBDA_LOG_STREAM_NAME"], streams["1"])
	}

	// Re-pointing the alias moves its invocations.
	if _, err := ts.Client.UpdateAlias(ctx(t), &lambda.UpdateAliasInput{FunctionName: aws.String("ver"), Name: aws.String("live"), FunctionVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if env, executed := ts.invokeEnvAt(t, "ver:live", ""); env["VV"] != "two" || executed != "2" {
		t.Errorf("alias after UpdateAlias: V=%q executed %q", env["VV"], executed)
	}

	// Wrong names, each with Lambda's error.
	errCases := []struct {
		name, qualifier string
		status          int
		check           func(error) bool
		msg             string
	}{
		{"ver:9", "", 404, isA[*types.ResourceNotFoundException], "Function not found: " + arn + ":9"},
		{"ver", "nope", 404, isA[*types.ResourceNotFoundException], "Function not found: " + arn + ":nope"},
		{"ver:1", "2", 400, isA[*types.InvalidParameterValueException], "The derived qualifier from the function name does not match the specified qualifier."},
		{"arn:aws:lambda:eu-west-1:000000000000:function:ver", "", 404, isA[*types.ResourceNotFoundException], "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"ver", "$LATEST.PUBLISHED", 200, nil, ""},
		{"ver", "bad!", 400, nil, "at 'qualifier' failed to satisfy constraint"},
	}
	for _, tc := range errCases {
		in := &lambda.InvokeInput{FunctionName: aws.String(tc.name), Payload: []byte(`{}`)}
		if tc.qualifier != "" {
			in.Qualifier = aws.String(tc.qualifier)
		}
		out, err := ts.Client.Invoke(ctx(t), in)
		if tc.status == 200 {
			if err != nil || aws.ToString(out.ExecutedVersion) != "2" {
				t.Errorf("Invoke %s %s: %v, executed %v; want the newest version 2", tc.name, tc.qualifier, err, out)
			}
			continue
		}
		if err == nil || statusOf(err) != tc.status || (tc.check != nil && !tc.check(err)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Invoke %s qualifier %q: %v (status %d); want %d %q", tc.name, tc.qualifier, err, statusOf(err), tc.status, tc.msg)
		}
	}
}

func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// TestE2EWeightedAlias: an alias routing 30% to a second version runs each
// version about as often as weighted, and X-Amz-Executed-Version always
// names the version that ran. The tolerance is six standard deviations of
// the binomial count (a false failure once in 10^9 runs).
func TestE2EWeightedAlias(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "canary", "env")
	ts.publish(t, "canary")
	ts.setEnv(t, "canary", map[string]string{"NEW": "yes"})
	ts.publish(t, "canary")
	_, err := ts.Client.CreateAlias(ctx(t), &lambda.CreateAliasInput{
		FunctionName: aws.String("canary"), Name: aws.String("prod"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const n, p = 600, 0.3
	counts := map[string]int{}
	for range n {
		env, executed := ts.invokeEnvAt(t, "canary:prod", "")
		if env["AWS_LAMBDA_FUNCTION_VERSION"] != executed {
			t.Fatalf("ExecutedVersion %q but version %q ran", executed, env["AWS_LAMBDA_FUNCTION_VERSION"])
		}
		if (executed == "2") != (env["NEW"] == "yes") {
			t.Fatalf("version %s ran with the other version's configuration: %v", executed, env["NEW"])
		}
		counts[executed]++
	}
	mean, sd := n*p, 6*sqrt(n*p*(1-p))
	if got := float64(counts["2"]); got < mean-sd || got > mean+sd || counts["1"]+counts["2"] != n {
		t.Fatalf("versions run: %v; want about %.0f of %d on version 2 (±%.0f)", counts, mean, n, sd)
	}
	t.Logf("versions run through a 30%% alias: %v", counts)
}

func sqrt(x float64) float64 {
	z := x
	for range 50 {
		z -= (z*z - x) / (2 * z)
	}
	return z
}

// TestE2EReservedConcurrency: reserved concurrency 0 throttles every
// invoke (Event included); reserved 1 lets one run at a time, and a
// streaming invocation holds its slot until its stream ends.
func TestE2EReservedConcurrency(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "capped", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })
	put := func(n int32) {
		t.Helper()
		if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("capped"), ReservedConcurrentExecutions: aws.Int32(n)}); err != nil {
			t.Fatal(err)
		}
	}
	reserved := func(err error) bool {
		var tm *types.TooManyRequestsException
		return errors.As(err, &tm) && tm.Reason == types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded &&
			statusOf(err) == 429 && aws.ToString(tm.RetryAfterSeconds) != ""
	}

	put(0)
	_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("capped")})
	if !reserved(err) {
		t.Fatalf("Invoke with reserved concurrency 0: %v", err)
	}
	_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("capped"), InvocationType: types.InvocationTypeEvent})
	if !reserved(err) {
		t.Fatalf("Event invoke with reserved concurrency 0: %v", err)
	}
	_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("capped")})
	if !reserved(err) {
		t.Fatalf("stream with reserved concurrency 0: %v", err)
	}

	put(1)
	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("capped"), Payload: []byte(`{"chunks":3,"pauseMs":1000}`)})
	s.firstChunk(t)
	if got := ts.limits.For(ts.scope()).InUseBy("capped"); got != 1 {
		t.Fatalf("in use while streaming: %d", got)
	}
	_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("capped"), Payload: []byte(`{"chunks":1}`)})
	if !reserved(err) {
		t.Fatalf("second invoke while the stream holds the only slot: %v", err)
	}
	cleanComplete(t, s.finish(t))
	if !eventually(5*time.Second, func() bool { return ts.limits.For(ts.scope()).InUse() == 0 }) {
		t.Fatalf("slot not released after the stream ended: %d in use", ts.limits.For(ts.scope()).InUse())
	}
	succeeded(t, ts.invoke(t, "capped", `{"chunks":1}`))

	if _, err := ts.Client.DeleteFunctionConcurrency(ctx(t), &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("capped")}); err != nil {
		t.Fatal(err)
	}
	settings, err := ts.Client.GetAccountSettings(ctx(t), &lambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if settings.AccountLimit.UnreservedConcurrentExecutions == nil || *settings.AccountLimit.UnreservedConcurrentExecutions != 1000 || settings.AccountLimit.ConcurrentExecutions != 1000 {
		t.Fatalf("account limits after deleting the reservation: %+v", settings.AccountLimit)
	}
}

// TestE2EBurst: 1,000 concurrent invocations (buffered and streaming)
// against an account limit of 50 are each answered, either run or
// throttled with ConcurrentInvocationLimitExceeded; never a hang, another
// error or a leaked environment, and the counts return to zero.
func TestE2EBurst(t *testing.T) {
	// Not parallel: it loads the machine, and runs alone before the
	// parallel tests start, so that their timings do not suffer.
	ts := startServer(t, func(c *Config) { c.AccountConcurrency = 50; c.MaxEnvironments = 64 })
	ts.createFunction(t, "sleepy", "sleep", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })

	const n = 1000
	var (
		wg                       sync.WaitGroup
		mu                       sync.Mutex
		ran, throttled, otherErr int
		firstOther               error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var err error
			payload := []byte(`{"ms":300}`)
			if i%2 == 0 {
				var out *lambda.InvokeOutput
				out, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("sleepy"), Payload: payload})
				if err == nil && (out.FunctionError != nil || string(out.Payload) != `"slept"`) {
					err = fmt.Errorf("function error %v: %s", aws.ToString(out.FunctionError), out.Payload)
				}
			} else {
				// One client per stream: the SDK's event-stream decoder
				// (smithy-go restjson1 Protocol codec) is shared by a
				// client's streams and is not safe for concurrent use;
				// the race detector flags it inside the SDK.
				client := lambdaclient.New(ts.URL, ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)
				var out *lambda.InvokeWithResponseStreamOutput
				out, err = client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("sleepy"), Payload: payload})
				if err == nil {
					err = drain(out)
				}
			}
			var tm *types.TooManyRequestsException
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ran++
			case errors.As(err, &tm) && tm.Reason == types.ThrottleReasonConcurrentInvocationLimitExceeded:
				throttled++
			default:
				otherErr++
				if firstOther == nil {
					firstOther = err
				}
			}
		}()
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the burst did not finish within 3 minutes")
	}
	t.Logf("burst of %d: %d ran, %d throttled, %d other errors", n, ran, throttled, otherErr)
	if otherErr != 0 || ran+throttled != n || ran == 0 || throttled == 0 {
		t.Fatalf("burst: %d ran, %d throttled, %d other errors (first: %v)", ran, throttled, otherErr, firstOther)
	}
	if !eventually(10*time.Second, func() bool { return ts.limits.For(ts.scope()).InUse() == 0 }) {
		t.Fatalf("%d executions still counted after the burst", ts.limits.For(ts.scope()).InUse())
	}
	live, idle := ts.pool.Stats()
	if live > 50 || live != idle {
		t.Fatalf("pool after the burst: %d live, %d idle; want at most 50, all idle", live, idle)
	}
	if procs := runtimesOf(ts.cfg.DataDir); len(procs) != live {
		t.Fatalf("%d runtime processes for %d live environments", len(procs), live)
	}
	succeeded(t, ts.invoke(t, "sleepy", `{"ms":1}`)) // still serving
}

// drain reads a response stream to its end and returns its error, if any.
func drain(out *lambda.InvokeWithResponseStreamOutput) error {
	stream := out.GetStream()
	defer stream.Close()
	var complete *types.InvokeWithResponseStreamCompleteEvent
	for ev := range stream.Events() {
		if c, ok := ev.(*types.InvokeWithResponseStreamResponseEventMemberInvokeComplete); ok {
			complete = &c.Value
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	if complete == nil || complete.ErrorCode != nil {
		return fmt.Errorf("stream ended without a clean InvokeComplete: %+v", complete)
	}
	return nil
}
