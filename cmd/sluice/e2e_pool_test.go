package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// TestE2EConcurrencyLimit: with one environment allowed, a second function
// is throttled while the first is busy, and runs once it is idle.
func TestE2EConcurrencyLimit(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxEnvironments = 1 })
	ts.createFunction(t, "busy", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })
	ts.createFunction(t, "other", "echo")

	// Busy for 3 s after its first chunk: ample time for the calls below
	// to find it busy, however slow the machine.
	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("busy"), Payload: []byte(`{"chunks":3,"pauseMs":1500}`)})
	if got := string(s.firstChunk(t)); got != "chunk-0\n" {
		t.Fatalf("first chunk %q", got)
	}
	busy := runtimesOf(ts.cfg.DataDir)

	for _, fn := range []string{"other", "busy"} { // another function, or the same one: no free environment either way
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(fn)})
		var tm *types.TooManyRequestsException
		if !errors.As(err, &tm) || statusOf(err) != 429 || tm.Reason != types.ThrottleReasonConcurrentInvocationLimitExceeded {
			t.Fatalf("Invoke %s while the only environment is busy: %v (status %d)", fn, err, statusOf(err))
		}
		_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn)})
		if !errors.As(err, &tm) || statusOf(err) != 429 {
			t.Fatalf("InvokeWithResponseStream %s while the only environment is busy: %v", fn, err)
		}
	}

	// The first invocation is undisturbed.
	cleanComplete(t, s.finish(t))
	if got := s.payload(); got != "chunk-0\nchunk-1\nchunk-2\n" {
		t.Fatalf("payload %q", got)
	}

	// Now its environment is idle: it makes room for the other function.
	out := ts.invoke(t, "other", `{"x":1}`)
	succeeded(t, out)
	if string(out.Payload) != `{"x":1}` {
		t.Fatalf("payload %s", out.Payload)
	}
	waitGone(t, busy, 10*time.Second)
	if live, idle := ts.pool.Stats(); live != 1 || idle != 1 {
		t.Fatalf("pool: %d live, %d idle; want the other function's one environment", live, idle)
	}
}

// TestE2EClientDisconnect: a client that goes away mid-stream does not
// cancel the function; it runs to completion and its environment is kept.
func TestE2EClientDisconnect(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "talker", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })

	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("talker"), Payload: []byte(`{"chunks":6,"pauseMs":300}`)})
	id := requestIDOf(t, s.out.ResultMetadata)
	s.firstChunk(t)
	procs := runtimesOf(ts.cfg.DataDir)
	if len(procs) != 1 {
		t.Fatalf("%d runtime processes while streaming, want 1", len(procs))
	}
	s.cancel()
	s.stream.Close()

	// The function runs to its end (about 1.5 s more): END and REPORT of
	// the abandoned invocation are written.
	end := "END RequestId: " + id + "\n"
	if !eventually(15*time.Second, func() bool { return strings.Contains(ts.logs.String(), end) }) {
		t.Fatalf("the abandoned invocation did not end within 15 s:\n%s", ts.logs.String())
	}
	logs := ts.logs.String()
	for _, want := range []string{"START RequestId: " + id + " Version: $LATEST\n", end, "REPORT RequestId: " + id + "\tDuration: "} {
		if strings.Count(logs, want) != 1 {
			t.Fatalf("function log has %d times %q, want 1:\n%s", strings.Count(logs, want), want, logs)
		}
	}
	if strings.Contains(logs, "Status: timeout") || strings.Contains(logs, "Error Type:") {
		t.Fatalf("the abandoned invocation ended with an error:\n%s", logs)
	}
	// It ran to its end, not to a kill: it lasted the 5 pauses of 300 ms.
	var report string
	for _, l := range strings.Split(logs, "\n") {
		if strings.HasPrefix(l, "REPORT RequestId: "+id) {
			report = l
		}
	}
	if d := reportDuration(t, report); d < 1400*time.Millisecond {
		t.Fatalf("the abandoned invocation lasted %v, want its whole 1.5 s: %s", d, report)
	}

	// Its environment went back to the pool, warm, and serves the next call.
	if !eventually(5*time.Second, func() bool { live, idle := ts.pool.Stats(); return live == 1 && idle == 1 }) {
		live, idle := ts.pool.Stats()
		t.Fatalf("pool: %d live, %d idle; want the one environment, idle", live, idle)
	}
	// A client of its own: the abandoned stream's event reader may still
	// be running, and aws-sdk-go-v2 shares one event-stream decoder
	// between a client's streams (not safe for concurrent use; see
	// docs/decisions.md).
	c2 := lambdaclient.New(ts.URL, ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)
	s2 := openStream(t, c2, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("talker"), Payload: []byte(`{"chunks":2}`)})
	cleanComplete(t, s2.finish(t))
	if got := s2.payload(); got != "chunk-0\nchunk-1\n" {
		t.Fatalf("payload %q", got)
	}
	if now := runtimesOf(ts.cfg.DataDir); identities(now) != identities(procs) {
		t.Fatalf("runtime processes %+v, want the same one as before %+v", now, procs)
	}
	if live, _ := ts.pool.Stats(); live != 1 {
		t.Fatalf("%d live environments, want 1", live)
	}
}

// reportDuration parses the Duration of a REPORT line.
func reportDuration(t *testing.T, report string) time.Duration {
	t.Helper()
	_, rest, ok := strings.Cut(report, "\tDuration: ")
	if !ok {
		t.Fatalf("no Duration in %q", report)
	}
	ms, _, _ := strings.Cut(rest, " ms")
	d, err := time.ParseDuration(ms + "ms")
	if err != nil {
		t.Fatalf("Duration in %q: %v", report, err)
	}
	return d
}

// TestE2EIdleReaping: an idle environment is stopped after IdleTimeout.
func TestE2EIdleReaping(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.IdleTimeout = 500 * time.Millisecond })
	ts.createFunction(t, "brief", "env")
	first := ts.invokeEnv(t, "brief")["AWS_LAMBDA_LOG_STREAM_NAME"]
	procs := runtimesOf(ts.cfg.DataDir)
	if len(procs) != 1 {
		t.Fatalf("%d runtime processes after an invocation, want 1", len(procs))
	}
	if !eventually(10*time.Second, func() bool { live, _ := ts.pool.Stats(); return live == 0 }) {
		live, idle := ts.pool.Stats()
		t.Fatalf("pool after 10 s: %d live, %d idle; want the idle environment reaped", live, idle)
	}
	waitGone(t, procs, 10*time.Second)
	// The next invocation starts a new environment.
	if second := ts.invokeEnv(t, "brief")["AWS_LAMBDA_LOG_STREAM_NAME"]; second == first || second == "" {
		t.Fatalf("log stream %q after the reaping of %q: want a new environment", second, first)
	}
}
