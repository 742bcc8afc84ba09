package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// Event invocations survive what may happen to sluice (issue 12): a
// kill -9 while events run and wait, a full disk, a graceful restart; and
// an event too old for its next retry goes to its failure destination.
// The record handler appends "<request id> <start> <end>" to
// RECORD_DIR/<id>.log at each run: counting lines by request id tells
// which accepted invocation ran how often, across sluice processes.

// asyncProc is the real sluice binary serving on dataDir, with a client.
type asyncProc struct {
	*sluiceProcess
	client *lambda.Client
}

func startAsyncProc(t *testing.T, bin, dataDir string, extra ...string) *asyncProc {
	t.Helper()
	args := append([]string{"--data-dir", dataDir, "--sandbox", "none", "--runtimes-dir", testRuntimesDir, "--shutdown-grace", "2s"}, extra...)
	s := startSluice(t, bin, args...)
	return &asyncProc{sluiceProcess: s, client: lambdaclient.New(s.url, "test", "test")}
}

// kill9 SIGKILLs the process and waits until it is gone.
func (p *asyncProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// createRecordFunction creates a record function writing to recDir with
// reserved concurrency reserved (0: none).
func (p *asyncProc) createRecordFunction(t *testing.T, name, recDir string, reserved int32) {
	t.Helper()
	_, err := p.client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("record"),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: testFunctionZip},
		Environment:  &types.Environment{Variables: map[string]string{"RECORD_DIR": recDir}},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(p.client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if reserved > 0 {
		if _, err := p.client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(reserved)}); err != nil {
			t.Fatal(err)
		}
	}
}

// acceptEvents makes n Event invocations of name with payload, 16 at a
// time, and returns the request ids of the 202s; any other answer fails
// the test.
func acceptEvents(t *testing.T, client *lambda.Client, name, payload string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out, err := client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: []byte(payload)})
				if err == nil && out.StatusCode != 202 {
					err = fmt.Errorf("status %d", out.StatusCode)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
					continue
				}
				ids[i] = requestIDOf(t, out.ResultMetadata)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d Event invokes not accepted, first: %s", len(errs), n, errs[0])
	}
	return ids
}

// runsByRequest counts the lines of RECORD_DIR/<id>.log by request id;
// it tolerates a last line cut short (a run killed while it wrote).
func runsByRequest(t *testing.T, dir, id string) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, id+".log"))
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runs := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 3 {
			runs[fs[0]]++
		}
	}
	return runs
}

// missing lists the ids of accepted that have not run.
func missing(accepted []string, runs map[string]int) []string {
	var out []string
	for _, id := range accepted {
		if runs[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// duplicates returns the requests of runs that ran more than once, and
// the most runs of one.
func duplicates(runs map[string]int) (dup []string, most int) {
	for id, n := range runs {
		if n > 1 {
			dup = append(dup, id)
		}
		most = max(most, n)
	}
	return dup, most
}

// waitRuns waits until n requests ran (attempts of e2e_async_test.go
// would trip on the log file created but not yet written).
func waitRuns(t *testing.T, dir, id string, n int, within time.Duration) {
	t.Helper()
	var runs map[string]int
	if !eventually(within, func() bool { runs = runsByRequest(t, dir, id); return len(runs) >= n }) {
		t.Fatalf("%d requests ran within %s, want %d", len(runs), within, n)
	}
}

// waitAllRan waits until every accepted request ran at least once.
func waitAllRan(t *testing.T, dir, id string, accepted []string, within time.Duration) map[string]int {
	t.Helper()
	var runs map[string]int
	var left []string
	if !eventually(within, func() bool { runs = runsByRequest(t, dir, id); left = missing(accepted, runs); return len(left) == 0 }) {
		t.Fatalf("%d of %d accepted Event invocations never ran within %s, e.g. %v", len(left), len(accepted), within, left[:min(5, len(left))])
	}
	return runs
}

// TestE2EAsyncCrashKill9: sluice is SIGKILLed while accepted events run
// (reserved concurrency 4) and hundreds still wait; the next sluice on the
// same data dir runs every accepted one, and runs twice only events whose
// delivery was under way at the kill: at most 4 (a delivery holds its
// function's slot until its outcome is on disk, so at most the reserved
// concurrency are between start and recorded outcome at any instant).
func TestE2EAsyncCrashKill9(t *testing.T) {
	t.Parallel()
	const (
		n        = 500
		reserved = 4
	)
	bin := buildSluice(t)
	data := t.TempDir()
	rec := recordDir(t)
	p1 := startAsyncProc(t, bin, data)
	p1.createRecordFunction(t, "crash", rec, reserved)
	accepted := acceptEvents(t, p1.client, "crash", `{"id":"crash","ms":25}`, n)

	// Kill it while events run and others wait.
	var before map[string]int
	if !eventually(60*time.Second, func() bool { before = runsByRequest(t, rec, "crash"); return len(before) >= 50 }) {
		t.Fatalf("only %d events ran within 60 s", len(before))
	}
	p1.kill9(t)
	before = runsByRequest(t, rec, "crash")
	if len(before) >= n {
		t.Fatalf("all %d events had run before the kill: the test proves nothing", n)
	}
	time.Sleep(200 * time.Millisecond) // a runtime that outlived sluice would have written by now
	atKill := runsByRequest(t, rec, "crash")
	// The runs under way at the kill: START in sluice's function log
	// without END.
	underWay := map[string]bool{}
	for _, line := range strings.Split(p1.stderr.String(), "\n") {
		if _, rest, ok := strings.Cut(line, "START RequestId: "); ok {
			underWay[strings.Fields(rest)[0]] = true
		} else if _, rest, ok := strings.Cut(line, "END RequestId: "); ok {
			delete(underWay, strings.TrimSpace(rest))
		}
	}
	if len(underWay) > reserved {
		t.Errorf("%d runs under way at the kill, more than the reserved concurrency %d", len(underWay), reserved)
	}

	began := time.Now()
	p2 := startAsyncProc(t, bin, data)
	runs := waitAllRan(t, rec, "crash", accepted, 120*time.Second)
	drained := time.Since(began)
	time.Sleep(time.Second) // a straggler would show now
	runs = runsByRequest(t, rec, "crash")

	dup, most := duplicates(runs)
	t.Logf("FIGURE kill -9 with %d of %d accepted events run (%d lines after the kill), %d runs under way; after the restart all ran within %s; %d ran twice (bound %d), most runs of one event %d",
		len(before), n, len(atKill), len(underWay), drained.Round(time.Millisecond), len(dup), reserved, most)
	if len(runs) != n {
		t.Errorf("%d distinct requests ran, want %d", len(runs), n)
	}
	if len(dup) > reserved || most > 2 {
		t.Errorf("%d events ran more than once (most %d times), want at most %d, each at most twice: %v", len(dup), most, reserved, dup)
	}
	for _, id := range dup {
		if atKill[id] == 0 {
			t.Errorf("%s ran twice but had not run before the kill", id)
		}
	}
	_ = p2
}

// fillDisk writes zeros to a file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "fill")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	// The last partial pages too.
	for _, size := range []int{64 << 10, 4 << 10, 512, 1} {
		for {
			if _, err := f.Write(buf[:size]); err != nil {
				break
			}
		}
	}
	return path
}

// TestE2EAsyncFullDisk: events accepted, then the data dir's file system
// fills up and sluice is SIGKILLed; a sluice started on the full disk
// starts, refuses new Event invocations with a 5xx AWS error rather than a
// 202, and once space is freed every event accepted runs.
func TestE2EAsyncFullDisk(t *testing.T) {
	t.Parallel()
	const n = 40
	bin := buildSluice(t)
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs (the test needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		// The functions die with sluice (Pdeathsig); give them a moment
		// to let go of the file system.
		var out []byte
		var err error
		eventually(5*time.Second, func() bool { out, err = exec.Command("umount", data).CombinedOutput(); return err == nil })
		if err != nil {
			t.Errorf("umount %s: %v: %s", data, err, out)
		}
	})
	rec := recordDir(t) // not on the tmpfs
	p1 := startAsyncProc(t, bin, data)
	// One at a time and slow: most events are still queued at the kill.
	p1.createRecordFunction(t, "full", rec, 1)
	accepted := acceptEvents(t, p1.client, "full", `{"id":"full","ms":100}`, n)
	waitRuns(t, rec, "full", 2, 30*time.Second) // some ran, most wait
	fill := fillDisk(t, data)
	p1.kill9(t)
	ranBefore := len(runsByRequest(t, rec, "full"))

	p2 := startAsyncProc(t, bin, data)
	// A new event is refused, AWS-shaped, rather than accepted and lost.
	// bbolt reuses the pages its file already has, so small events may
	// still be stored (fsync'd: their 202 is true, and they must run like
	// the others); big ones need new pages soon.
	pad := strings.Repeat("x", 200<<10)
	var refused, acceptedOnFull int
	for i := 0; refused == 0 && i < 60; i++ {
		out, err := p2.client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("full"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"id":"full","ms":100,"pad":"` + pad + `"}`)})
		if err == nil {
			if out.StatusCode != 202 {
				t.Fatalf("invoke %d on the full disk: status %d", i, out.StatusCode)
			}
			accepted = append(accepted, requestIDOf(t, out.ResultMetadata))
			acceptedOnFull++
			continue
		}
		var api smithy.APIError
		if !errors.As(err, &api) || statusOf(err) < 500 || api.ErrorCode() == "" || api.ErrorMessage() == "" {
			t.Fatalf("invoke %d on the full disk: %v (status %d), want a 5xx AWS error", i, err, statusOf(err))
		}
		t.Logf("on the full disk, after %d events of 200 KiB were stored: %d %s: %s", acceptedOnFull, statusOf(err), api.ErrorCode(), api.ErrorMessage())
		refused++
	}
	if refused == 0 {
		t.Errorf("%d Event invokes of 200 KiB on the full disk were all accepted", acceptedOnFull)
	}
	// Deliveries go on while the disk is full (their outcomes wait).
	var onFull int
	eventually(5*time.Second, func() bool { onFull = len(runsByRequest(t, rec, "full")); return onFull > ranBefore })

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	runs := waitAllRan(t, rec, "full", accepted, 120*time.Second)
	time.Sleep(500 * time.Millisecond)
	runs = runsByRequest(t, rec, "full")
	dup, most := duplicates(runs)
	t.Logf("sluice on the full disk logged %d times that an outcome could not be recorded yet", strings.Count(p2.stderr.String(), "recording a delivery's outcome; trying again"))
	t.Logf("FIGURE full disk: %d events accepted, %d had run at the kill, %d ran while the disk was full, %d Event invokes refused on the full disk and %d stored; after freeing space all ran within %s; %d ran twice (most %d)",
		n, ranBefore, onFull, refused, acceptedOnFull, time.Since(began).Round(time.Millisecond), len(dup), most)
	if len(dup) > 1 || most > 2 {
		t.Errorf("%d events ran more than once (most %d times), want at most 1 (reserved concurrency 1): %v", len(dup), most, dup)
	}
}

// TestE2EAsyncEventAgeExceeded: with a retry base of 25 s and a maximum
// event age of 60 s, an event that always fails runs at 0 and +25 s; the
// next retry would be at +75 s, past its age, so its failure record goes
// to the destination at once with condition EventAgeExceeded,
// approximateInvokeCount 2 and the last response (the shape AWS sent in
// LocalStack's recording of test_maxeventage).
func TestE2EAsyncEventAgeExceeded(t *testing.T) {
	t.Parallel()
	const base = 25 * time.Second
	dir := recordDir(t)
	ts := startServer(t, func(c *Config) { c.AsyncRetryBase = base })
	ts.createFunction(t, "aging", "record", withRecordDir(dir))
	ts.createFunction(t, "sink", "sink", withRecordDir(dir))
	sinkARN := "arn:aws:lambda:" + ts.cfg.Region + ":" + ts.cfg.AccountID + ":function:sink"
	agingARN := "arn:aws:lambda:" + ts.cfg.Region + ":" + ts.cfg.AccountID + ":function:aging"
	if _, err := ts.Client.PutFunctionEventInvokeConfig(ctx(t), &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName:             aws.String("aging"),
		MaximumRetryAttempts:     aws.Int32(2),
		MaximumEventAgeInSeconds: aws.Int32(60),
		DestinationConfig:        &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(sinkARN)}},
	}); err != nil {
		t.Fatal(err)
	}
	payload := `{"id":"aging","failTimes":100}`
	sent := time.Now()
	rid := invokeEvent(t, ts, "aging", payload)
	r := sinkRecord(t, dir, rid, 70*time.Second)
	arrived := time.Since(sent)
	got := attempts(t, dir, "aging")
	if len(got) != 2 {
		t.Fatalf("ran %d times before the record, want 2", len(got))
	}
	if gap := got[1].start.Sub(got[0].end); gap < base*9/10 {
		t.Errorf("the retry ran %s after the failure, want >= %s", gap, base)
	}
	// Sent when the second run failed, not when the third would be due.
	if arrived >= 60*time.Second {
		t.Errorf("the record arrived %s after the invoke, want it at the second failure (~%s)", arrived, base)
	}
	t.Logf("FIGURE EventAgeExceeded: runs at +%s and +%s, record at +%s",
		got[0].start.Sub(sent).Round(time.Millisecond), got[1].start.Sub(sent).Round(time.Millisecond), arrived.Round(time.Millisecond))
	c := r.RequestContext
	if r.Version != "1.0" || c.Condition != "EventAgeExceeded" || c.ApproximateInvokeCount != 2 || c.RequestID != rid || c.FunctionArn != agingARN+":$LATEST" {
		t.Errorf("record %+v, want version 1.0, condition EventAgeExceeded, approximateInvokeCount 2, requestId %s, functionArn %s:$LATEST", r, rid, agingARN)
	}
	if string(r.RequestPayload) != payload {
		t.Errorf("requestPayload %s, want %s", r.RequestPayload, payload)
	}
	if r.ResponseContext == nil || r.ResponseContext.StatusCode != 200 || r.ResponseContext.ExecutedVersion != "$LATEST" || r.ResponseContext.FunctionError != "Unhandled" {
		t.Errorf("responseContext %+v, want statusCode 200, executedVersion $LATEST, functionError Unhandled", r.ResponseContext)
	}
	var doc struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(r.ResponsePayload, &doc); err != nil || doc.ErrorMessage != "attempt 2 of aging fails on purpose" || doc.ErrorType == "" {
		t.Errorf("responsePayload %s (%v), want the second run's error", r.ResponsePayload, err)
	}
	for _, k := range []string{"version", "timestamp", "requestContext", "requestPayload", "responseContext", "responsePayload"} {
		if _, ok := r.raw[k]; !ok {
			t.Errorf("the record has no %s: %v", k, r.raw)
		}
	}
	time.Sleep(2 * time.Second)
	if n := len(attempts(t, dir, "aging")); n != 2 {
		t.Errorf("ran %d times after the record, want 2", n)
	}
}

// TestE2EAsyncGracefulRestart: sluice is stopped (as by SIGTERM) while
// events wait; a new sluice on the same data dir runs every one of them,
// each once: a graceful stop lets the deliveries under way finish.
func TestE2EAsyncGracefulRestart(t *testing.T) {
	t.Parallel()
	const n = 30
	dir := recordDir(t)
	ts := startServer(t, nil)
	ts.createFunction(t, "calm", "record", withRecordDir(dir))
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("calm"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	accepted := acceptEvents(t, ts.Client, "calm", `{"id":"calm","ms":100}`, n)
	waitRuns(t, dir, "calm", 3, 30*time.Second)
	ts.stop(t)
	before := runsByRequest(t, dir, "calm")
	if len(before) >= n {
		t.Fatalf("all %d events ran before the stop: the test proves nothing", n)
	}

	ts2 := startServerWith(t, ts.cfg)
	_ = ts2
	runs := waitAllRan(t, dir, "calm", accepted, 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	runs = runsByRequest(t, dir, "calm")
	dup, most := duplicates(runs)
	t.Logf("FIGURE graceful restart: %d of %d events had run at the stop; all ran after the restart; %d ran twice", len(before), n, len(dup))
	if len(runs) != n || len(dup) > 0 || most > 1 {
		t.Errorf("%d distinct requests ran, %d more than once (most %d times), want %d, each once: %v", len(runs), len(dup), most, n, dup)
	}
}
