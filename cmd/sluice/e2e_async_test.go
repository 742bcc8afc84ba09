package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Event invocations (issue 12): durable, retried, sent to destinations.
// The record handler of the test function appends one line per attempt to
// RECORD_DIR/<id>.log; the sink handler keeps each record it gets as
// RECORD_DIR/sink-<request id>.json.

// recordDir is a directory the functions (run without a sandbox) write.
func recordDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func withRecordDir(dir string) func(*lambda.CreateFunctionInput) {
	return func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"RECORD_DIR": dir}}
	}
}

// attempt is one line of a record log.
type attempt struct {
	requestID  string
	start, end time.Time
}

func attempts(t *testing.T, dir, id string) []attempt {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, id+".log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []attempt
	// Only whole lines: the function may have created the file and not
	// yet written its line.
	whole := string(b[:bytes.LastIndexByte(b, '\n')+1])
	for _, line := range strings.Split(strings.TrimSpace(whole), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("%s.log: bad line %q", id, line)
		}
		s, _ := strconv.ParseInt(f[1], 10, 64)
		e, _ := strconv.ParseInt(f[2], 10, 64)
		out = append(out, attempt{requestID: f[0], start: time.Unix(0, s), end: time.Unix(0, e)})
	}
	return out
}

// destinationRecord is the invocation record Lambda sends to a destination.
type destinationRecord struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext *struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
	raw             map[string]json.RawMessage
}

// sinkRecord waits for the record of the invocation requestID at the sink.
func sinkRecord(t *testing.T, dir, requestID string, within time.Duration) destinationRecord {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "sink-*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var r destinationRecord
			if json.Unmarshal(b, &r) == nil && r.RequestContext.RequestID == requestID {
				_ = json.Unmarshal(b, &r.raw)
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no record of %s reached the destination within %s", requestID, within)
	return destinationRecord{}
}

func invokeEvent(t *testing.T, ts *testServer, name, payload string) string {
	t.Helper()
	out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("Event invoke of %s: %v", name, err)
	}
	if out.StatusCode != 202 {
		t.Fatalf("Event invoke of %s: status %d, want 202", name, out.StatusCode)
	}
	return requestIDOf(t, out.ResultMetadata)
}

func waitAttempts(t *testing.T, dir, id string, n int, within time.Duration) []attempt {
	t.Helper()
	var got []attempt
	if !eventually(within, func() bool { got = attempts(t, dir, id); return len(got) >= n }) {
		t.Fatalf("%s ran %d times within %s, want %d", id, len(got), within, n)
	}
	return got
}

// TestE2EAsyncRetriesAndDestinations: a function that fails twice runs
// three times, the retries RetryBase and twice that apart, and its success
// record reaches the destination with every field AWS sends; with
// MaximumRetryAttempts 0 a failing event runs once and its failure record
// (RetriesExhausted) carries the error.
func TestE2EAsyncRetriesAndDestinations(t *testing.T) {
	t.Parallel()
	const base = 400 * time.Millisecond
	dir := recordDir(t)
	ts := startServer(t, func(c *Config) { c.AsyncRetryBase = base })
	ts.createFunction(t, "flaky", "record", withRecordDir(dir))
	ts.createFunction(t, "sink", "sink", withRecordDir(dir))
	sinkARN := "arn:aws:lambda:" + ts.cfg.Region + ":" + ts.cfg.AccountID + ":function:sink"
	flakyARN := "arn:aws:lambda:" + ts.cfg.Region + ":" + ts.cfg.AccountID + ":function:flaky"
	_, err := ts.Client.PutFunctionEventInvokeConfig(ctx(t), &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("flaky"),
		DestinationConfig: &types.DestinationConfig{
			OnSuccess: &types.OnSuccess{Destination: aws.String(sinkARN)},
			OnFailure: &types.OnFailure{Destination: aws.String(sinkARN)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("FailsTwiceThenSucceeds", func(t *testing.T) {
		payload := `{"id":"thrice","failTimes":2}`
		rid := invokeEvent(t, ts, "flaky", payload)
		rec := sinkRecord(t, dir, rid, 60*time.Second)
		got := attempts(t, dir, "thrice")
		if len(got) != 3 {
			t.Fatalf("ran %d times, want 3", len(got))
		}
		for i, a := range got {
			if a.requestID != rid {
				t.Errorf("attempt %d ran as request %s, want the 202's %s", i+1, a.requestID, rid)
			}
		}
		// The retries wait RetryBase, then twice that (order, not speed:
		// at least that long).
		if gap := got[1].start.Sub(got[0].end); gap < base*9/10 {
			t.Errorf("first retry %s after the failure, want >= %s", gap, base)
		}
		if gap := got[2].start.Sub(got[1].end); gap < 2*base*9/10 {
			t.Errorf("second retry %s after the failure, want >= %s", gap, 2*base)
		}
		if rec.Version != "1.0" || rec.RequestContext.Condition != "Success" || rec.RequestContext.ApproximateInvokeCount != 3 ||
			rec.RequestContext.FunctionArn != flakyARN+":$LATEST" {
			t.Errorf("record: %+v", rec)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", rec.Timestamp); err != nil {
			t.Errorf("timestamp %q: %v", rec.Timestamp, err)
		}
		if string(rec.RequestPayload) != payload {
			t.Errorf("requestPayload %s, want %s", rec.RequestPayload, payload)
		}
		if rec.ResponseContext == nil || rec.ResponseContext.StatusCode != 200 || rec.ResponseContext.ExecutedVersion != "$LATEST" || rec.ResponseContext.FunctionError != "" {
			t.Errorf("responseContext %+v", rec.ResponseContext)
		}
		if string(rec.ResponsePayload) != `{"attempt":3,"id":"thrice"}` {
			t.Errorf("responsePayload %s", rec.ResponsePayload)
		}
		for _, k := range []string{"version", "timestamp", "requestContext", "requestPayload", "responseContext", "responsePayload"} {
			if _, ok := rec.raw[k]; !ok {
				t.Errorf("the record has no %s: %v", k, rec.raw)
			}
		}
	})

	t.Run("NoRetries", func(t *testing.T) {
		if _, err := ts.Client.UpdateFunctionEventInvokeConfig(ctx(t), &lambda.UpdateFunctionEventInvokeConfigInput{
			FunctionName: aws.String("flaky"), MaximumRetryAttempts: aws.Int32(0),
		}); err != nil {
			t.Fatal(err)
		}
		rid := invokeEvent(t, ts, "flaky", `{"id":"once","failTimes":5}`)
		rec := sinkRecord(t, dir, rid, 60*time.Second)
		if rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 1 {
			t.Errorf("record: %+v", rec.RequestContext)
		}
		if rec.ResponseContext == nil || rec.ResponseContext.FunctionError != "Unhandled" {
			t.Errorf("responseContext %+v, want functionError Unhandled", rec.ResponseContext)
		}
		var doc struct{ ErrorMessage, ErrorType string }
		if err := json.Unmarshal(rec.ResponsePayload, &doc); err != nil || doc.ErrorMessage != "attempt 1 of once fails on purpose" {
			t.Errorf("responsePayload %s (%v)", rec.ResponsePayload, err)
		}
		time.Sleep(4 * base) // no retry comes after all
		if got := attempts(t, dir, "once"); len(got) != 1 {
			t.Errorf("ran %d times, want 1", len(got))
		}
	})
}

// TestE2EAsyncReservedConcurrency: with reserved concurrency 1, 100 queued
// events all run, one at a time, none dropped.
func TestE2EAsyncReservedConcurrency(t *testing.T) {
	t.Parallel()
	dir := recordDir(t)
	ts := startServer(t, nil)
	ts.createFunction(t, "one", "record", withRecordDir(dir))
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("one"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invokeEvent(t, ts, "one", fmt.Sprintf(`{"id":"rc","ms":%d}`, 10+i%3*10))
		}()
	}
	wg.Wait()
	got := waitAttempts(t, dir, "rc", n, 120*time.Second)
	if len(got) != n {
		t.Fatalf("%d runs, want %d", len(got), n)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].start.Before(got[j].start) })
	seen := map[string]bool{}
	for i, a := range got {
		seen[a.requestID] = true
		if i > 0 && a.start.Before(got[i-1].end) {
			t.Errorf("run %d started at %s, before run %d ended at %s: two at once under reserved concurrency 1", i, a.start.Format(time.StampMicro), i-1, got[i-1].end.Format(time.StampMicro))
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct requests ran, want %d", len(seen), n)
	}
}

// asyncBacklog is how many events the fairness test queues for one
// function (make async-soak runs it with 100,000: SLUICE_ASYNC_BACKLOG).
func asyncBacklog(t *testing.T) int {
	if s := os.Getenv("SLUICE_ASYNC_BACKLOG"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SLUICE_ASYNC_BACKLOG=%q", s)
		}
		return n
	}
	return 1500
}

// TestE2EAsyncFairness: one function with a backlog of queued events does
// not starve another's event, which runs while the backlog is still being
// worked off.
func TestE2EAsyncFairness(t *testing.T) {
	t.Parallel()
	dir := recordDir(t)
	ts := startServer(t, nil)
	ts.createFunction(t, "busy", "record", withRecordDir(dir))
	ts.createFunction(t, "other", "record", withRecordDir(dir))
	// The backlog drains 2 at a time.
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("busy"), ReservedConcurrentExecutions: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	n := asyncBacklog(t)
	// The rate of synchronous invokes of a warm function by 16 clients,
	// beside which the Event acceptance rate below is reported.
	ts.createFunction(t, "echo", "echo")
	const syncN = 400
	syncTook := from16(t, syncN, func() {
		out := ts.invoke(t, "echo", `{}`)
		succeeded(t, out)
	})
	// One context for all the calls (ctx(t) registers a cleanup per call,
	// which would weigh in the heap figure).
	callCtx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	heapBefore := heapInUse()
	took := from16(t, n, func() {
		out, err := ts.Client.Invoke(callCtx, &lambda.InvokeInput{FunctionName: aws.String("busy"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":"busy","ms":5}`)})
		if err != nil || out.StatusCode != 202 {
			t.Errorf("Event invoke: %v", err)
		}
	})
	t.Logf("FIGURE heap in use (server and test in one process, after GC): %.1f MiB before queueing, %.1f MiB with the backlog queued (%d events on disk: %d)",
		heapBefore, heapInUse(), n, ts.Server.events.Len())
	t.Logf("FIGURE %d Event invocations accepted by 16 clients in %s (%.0f/s, each fsync'd before its 202); synchronous Invoke of a warm function by 16 clients: %.0f/s",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(syncN)/syncTook.Seconds())
	accepted := time.Now()
	invokeEvent(t, ts, "other", `{"id":"other"}`)
	other := waitAttempts(t, dir, "other", 1, 60*time.Second)
	busy := attempts(t, dir, "busy")
	if len(busy) >= n {
		t.Fatalf("the backlog (%d) was worked off before the other function's event ran: the test proves nothing", n)
	}
	t.Logf("FIGURE the other function's event ran %s after its 202, with %d of the %d backlog events still queued",
		other[0].start.Sub(accepted).Round(time.Millisecond), ts.Server.events.Len(), n)
}

// TestE2EAsyncQueueCap: past --max-queued-events, Event invocations are
// refused with TooManyRequestsException (429), not accepted and lost, and
// accepted again once the queue drains.
func TestE2EAsyncQueueCap(t *testing.T) {
	t.Parallel()
	dir := recordDir(t)
	ts := startServer(t, func(c *Config) { c.MaxQueuedEvents = 3 })
	ts.createFunction(t, "slow", "record", withRecordDir(dir))
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("slow"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		invokeEvent(t, ts, "slow", `{"id":"cap","ms":1500}`)
	}
	_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":"cap"}`)})
	var tooMany *types.TooManyRequestsException
	if !errors.As(err, &tooMany) {
		t.Fatalf("the 4th event: %v, want TooManyRequestsException", err)
	}
	waitAttempts(t, dir, "cap", 3, 60*time.Second)
	if !eventually(10*time.Second, func() bool {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":"cap"}`)})
		return err == nil
	}) {
		t.Fatal("Event invocations are still refused after the queue drained")
	}
	waitAttempts(t, dir, "cap", 4, 60*time.Second)
}

// from16 runs call n times from 16 goroutines and returns how long it took.
func from16(t *testing.T, n int, call func()) time.Duration {
	t.Helper()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				call()
			}
		}()
	}
	began := time.Now()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return time.Since(began)
}

// heapInUse is runtime.MemStats.HeapInuse after a GC, in MiB.
func heapInUse() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}
