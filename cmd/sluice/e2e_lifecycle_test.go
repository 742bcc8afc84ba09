package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
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

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// TestE2ERestart: functions survive a restart on the same data dir.
func TestE2ERestart(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.ShutdownGrace = 3 * time.Second

	ts1 := startServerWith(t, cfg)
	ts1.createFunction(t, "echo", "echo", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"KEPT": "yes"}}
	})
	active, err := ts1.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	created := active.Configuration
	succeeded(t, ts1.invoke(t, "echo", `{}`))
	ts1.stop(t)
	if left := runtimesOf(cfg.DataDir); len(left) != 0 {
		t.Fatalf("runtime processes after stop: %+v", left)
	}

	ts2 := startServerWith(t, cfg)
	out := ts2.invoke(t, "echo", `{"again":true}`)
	succeeded(t, out)
	if string(out.Payload) != `{"again":true}` {
		t.Fatalf("payload %s", out.Payload)
	}
	got, err := ts2.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	c := got.Configuration
	if aws.ToString(c.CodeSha256) != aws.ToString(created.CodeSha256) || aws.ToString(c.RevisionId) != aws.ToString(created.RevisionId) ||
		aws.ToString(c.FunctionArn) != aws.ToString(created.FunctionArn) || c.Environment == nil || c.Environment.Variables["KEPT"] != "yes" {
		t.Fatalf("after restart: sha %s rev %s arn %s env %v; before: sha %s rev %s arn %s",
			aws.ToString(c.CodeSha256), aws.ToString(c.RevisionId), aws.ToString(c.FunctionArn), c.Environment,
			aws.ToString(created.CodeSha256), aws.ToString(created.RevisionId), aws.ToString(created.FunctionArn))
	}
}

// TestE2EGracefulShutdown: what a shutdown does to invocations in flight
// and to the runtime processes.
func TestE2EGracefulShutdown(t *testing.T) {
	t.Parallel()

	t.Run("StreamFinishesWithinGrace", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, func(c *Config) { c.ShutdownGrace = 5 * time.Second })
		ts.createFunction(t, "streamer", "stream")
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"chunks":3,"pauseMs":300}`)})
		s.firstChunk(t)
		stopped := ts.stopAsync()

		c := s.finish(t)
		cleanComplete(t, c)
		if got := s.payload(); got != "chunk-0\nchunk-1\nchunk-2\n" {
			t.Fatalf("payload %q: the in-flight stream was cut", got)
		}
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the server did not stop")
		}
		if left := runtimesOf(ts.cfg.DataDir); len(left) != 0 {
			t.Fatalf("runtime processes after stop: %+v", left)
		}
		// And no new requests are served.
		if _, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("streamer")}); err == nil {
			t.Fatalf("Invoke succeeded after the server stopped")
		}
	})

	t.Run("GraceExceeded", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, func(c *Config) { c.ShutdownGrace = 500 * time.Millisecond })
		ts.createFunction(t, "streamer", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })
		// 100 chunks 200 ms apart: 20 s, far longer than the grace.
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"chunks":100,"pauseMs":200}`)})
		s.firstChunk(t)
		procs := runtimesOf(ts.cfg.DataDir)
		if len(procs) != 1 {
			t.Fatalf("%d runtime processes while streaming, want 1", len(procs))
		}
		stopped := ts.stopAsync()

		c := s.finish(t)
		if aws.ToString(c.ErrorCode) != "Sandbox.Failure" {
			t.Fatalf("InvokeComplete %q %q, want Sandbox.Failure", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
		}
		var doc errorDoc
		if err := json.Unmarshal([]byte(aws.ToString(c.ErrorDetails)), &doc); err != nil || doc.ErrorType != "Sandbox.Failure" || !strings.Contains(doc.ErrorMessage, "shutting down") {
			t.Fatalf("ErrorDetails %q", aws.ToString(c.ErrorDetails))
		}
		if n := len(s.chunks); n >= 100 {
			t.Fatalf("%d chunks: the function was not stopped", n)
		}
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second): // the function alone would take 20 s
			t.Fatalf("the server did not stop within 15 s of a 500 ms grace")
		}
		waitGone(t, procs, time.Second) // Serve returns once every child is gone
	})

	t.Run("NoChildSurvives", func(t *testing.T) {
		t.Parallel()
		ts := startServer(t, func(c *Config) { c.ShutdownGrace = 500 * time.Millisecond })
		for _, name := range []string{"a", "b", "c"} {
			ts.createFunction(t, name, "echo")
			succeeded(t, ts.invoke(t, name, `{}`)) // idle, warm
		}
		ts.createFunction(t, "long", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("long"), Payload: []byte(`{"chunks":100,"pauseMs":200}`)})
		s.firstChunk(t) // busy
		ts.createFunction(t, "initcrash", "initcrash")
		doc := functionError(t, ts.invoke(t, "initcrash", `{}`)) // dead
		if doc.ErrorType != "Runtime.ExitError" {
			t.Fatalf("initcrash: %+v", doc)
		}

		during := runtimesOf(ts.cfg.DataDir)
		if len(during) != 4 {
			t.Fatalf("%d runtime processes before stop, want 4 (3 idle, 1 busy): %+v", len(during), during)
		}
		ts.stop(t)
		if left := stillThere(during); len(left) != 0 {
			t.Fatalf("runtime processes that outlived Serve: %+v", left)
		}
		if left := runtimesOf(ts.cfg.DataDir); len(left) != 0 {
			t.Fatalf("runtime processes after Serve returned: %+v", left)
		}
		if c := s.finish(t); aws.ToString(c.ErrorCode) != "Sandbox.Failure" {
			t.Fatalf("InvokeComplete %q %q", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
		}
	})
}

// TestE2ESigterm runs the sluice binary, sends it SIGTERM during a stream
// and checks that it ends the stream, exits 0 and leaves no process behind.
func TestE2ESigterm(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := buildSluice(t)

	const grace = 2 * time.Second
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--function-logs-stderr", "--data-dir", filepath.Join(dir, "data"), "--shutdown-grace", grace.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once sluice has exited and waitErr is set.
	exited := make(chan struct{})
	var waitErr error
	var readOut sync.WaitGroup
	addr := make(chan string, 1)
	readOut.Add(1)
	go func() {
		defer readOut.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "sluice listening on http://"); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { readOut.Wait(); waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("sluice stderr:\n%s", stderr.String())
		}
	})

	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-exited:
		t.Fatalf("sluice exited before listening: %v\n%s", waitErr, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("sluice did not print its address within 30 s\n%s", stderr.String())
	}

	client := lambdaclient.New(url, "test", "test")
	_, err = client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String("long"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("stream"),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: testFunctionZip},
		Timeout:      aws.Int32(60),
	})
	if err != nil {
		t.Fatal(err)
	}
	active := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := active.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("long")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("long"), Payload: []byte(`{"chunks":150,"pauseMs":200}`)})
	s.firstChunk(t)

	var children []proc
	for _, p := range childrenOf(cmd.Process.Pid) {
		if p.comm == "bootstrap" {
			children = append(children, p)
		}
	}
	if len(children) != 1 {
		t.Fatalf("sluice has %d bootstrap children during the stream, want 1: %+v", len(children), childrenOf(cmd.Process.Pid))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c := s.finish(t) // the stream ends with InvokeComplete, not a cut connection
	if aws.ToString(c.ErrorCode) != "Sandbox.Failure" {
		t.Fatalf("InvokeComplete %q %q, want Sandbox.Failure (grace exceeded)", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
	}
	if len(s.chunks) >= 150 {
		t.Fatalf("%d chunks: the function was not stopped", len(s.chunks))
	}

	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("sluice exited with %v, want status 0\n%s", waitErr, stderr.String())
		}
	case <-time.After(grace + 10*time.Second): // the function alone would run 30 s
		t.Fatalf("sluice did not exit within %v of SIGTERM", grace+10*time.Second)
	}
	if left := stillThere(children); len(left) != 0 {
		t.Fatalf("runtime processes outlived sluice: %+v", left)
	}
	logs := stderr.String()
	for _, want := range []string{"shutting down", "[long] START RequestId: " + requestIDOf(t, s.out.ResultMetadata)} {
		if !strings.Contains(logs, want) {
			t.Fatalf("sluice stderr lacks %q:\n%s", want, logs)
		}
	}
	if bytes.Contains([]byte(logs), []byte("panic:")) {
		t.Fatalf("sluice panicked:\n%s", logs)
	}
}
