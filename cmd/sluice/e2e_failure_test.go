package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestE2ERuntimeDies: a runtime that exits or panics mid-invocation fails
// that invocation, and the next one gets a fresh environment.
func TestE2ERuntimeDies(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "crash", "crash")
	ts.createFunction(t, "panic", "panic")

	t.Run("Crash", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("crash"), LogType: types.LogTypeTail})
			if err != nil {
				t.Fatal(err)
			}
			doc := functionError(t, out)
			id := requestIDOf(t, out.ResultMetadata)
			if doc.ErrorType != "Runtime.ExitError" || doc.ErrorMessage != "RequestId: "+id+" Error: Runtime exited with error: exit status 2" {
				t.Fatalf("call %d: error %+v", i, doc)
			}
			tail := decodeTail(t, out.LogResult)
			for _, want := range []string{"START RequestId: " + id, "about to crash\n", "END RequestId: " + id, "Status: error\tError Type: Runtime.ExitError"} {
				if !strings.Contains(tail, want) {
					t.Fatalf("call %d: tail lacks %q:\n%s", i, want, tail)
				}
			}
		}
	})

	t.Run("Panic", func(t *testing.T) {
		// aws-lambda-go reports a panic as an error whose type is the type
		// of the panic value, with a stack trace, then exits: each call
		// needs a fresh environment and must get the same error, not hang.
		for i := 0; i < 3; i++ {
			doc := functionError(t, ts.invoke(t, "panic", `{}`))
			if doc.ErrorType != "string" || doc.ErrorMessage != "something went badly wrong" || len(doc.StackTrace) == 0 {
				t.Fatalf("call %d: error %+v", i, doc)
			}
		}
		// The dead environments are not kept.
		if !eventually(10*time.Second, func() bool { return len(runtimesOf(ts.cfg.DataDir)) == 0 }) {
			t.Fatalf("runtime processes left after the panics: %+v", runtimesOf(ts.cfg.DataDir))
		}
	})

	t.Run("PanicThenWorks", func(t *testing.T) {
		// The same function works again once its handler stops panicking.
		_, err := ts.Client.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("panic"), Handler: aws.String("echo")})
		if err != nil {
			t.Fatal(err)
		}
		ts.waitUpdated(t, "panic")
		out := ts.invoke(t, "panic", `{"fine":true}`)
		succeeded(t, out)
		if string(out.Payload) != `{"fine":true}` {
			t.Fatalf("payload %s", out.Payload)
		}
	})
}

// TestE2EInitFailure: a runtime that dies before asking for its first
// invocation, or cannot be started at all.
func TestE2EInitFailure(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "initcrash", "initcrash")

	t.Run("ExitDuringInit", func(t *testing.T) {
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("initcrash"), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		doc := functionError(t, out)
		if doc.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(doc.ErrorMessage, "Runtime exited with error: exit status 3") {
			t.Fatalf("error %+v", doc)
		}
		if tail := decodeTail(t, out.LogResult); !strings.Contains(tail, "initcrash: exiting during init\n") {
			t.Fatalf("tail lacks the init output:\n%s", tail)
		}

		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("initcrash")})
		c := s.finish(t)
		if len(s.chunks) != 0 {
			t.Fatalf("chunks %q from a function that never ran", s.payload())
		}
		if aws.ToString(c.ErrorCode) != "Runtime.ExitError" || !strings.Contains(aws.ToString(c.ErrorDetails), "exit status 3") {
			t.Fatalf("InvokeComplete %q %q", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
		}
	})

	for _, tc := range []struct {
		name  string
		zip   []byte
		cause string
	}{
		{"NoBootstrap", zipFiles(map[string][]byte{"README": []byte("no bootstrap here\n")}, 0o644), "no such file or directory"},
		{"NotExecutable", zipFiles(map[string][]byte{"bootstrap": []byte("#!/bin/sh\necho hi\n")}, 0o644), "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "entry-" + strings.ToLower(tc.name)
			ts.createFunction(t, name, "echo", func(in *lambda.CreateFunctionInput) { in.Code = &types.FunctionCode{ZipFile: tc.zip} })
			for i := 0; i < 2; i++ {
				out := ts.invoke(t, name, `{}`)
				doc := functionError(t, out)
				id := requestIDOf(t, out.ResultMetadata)
				if doc.ErrorType != "Runtime.InvalidEntrypoint" || !strings.HasPrefix(doc.ErrorMessage, "RequestId: "+id+" Error: ") || !strings.Contains(doc.ErrorMessage, tc.cause) {
					t.Fatalf("call %d: error %+v, want Runtime.InvalidEntrypoint (%s)", i, doc, tc.cause)
				}
			}
			s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(name)})
			if c := s.finish(t); aws.ToString(c.ErrorCode) != "Runtime.InvalidEntrypoint" {
				t.Fatalf("InvokeComplete %q %q", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
			}
		})
	}
}

// TestE2EStreamTimeout: a streaming function that outlives its timeout
// keeps what it sent, ends with Sandbox.Timedout, and its process is gone.
func TestE2EStreamTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "slowstream", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })

	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("slowstream"),
		LogType:      types.LogTypeTail,
		Payload:      []byte(`{"chunks":50,"pauseMs":100}`),
	})
	s.firstChunk(t)
	procs := runtimesOf(ts.cfg.DataDir)
	if len(procs) != 1 {
		t.Fatalf("%d runtime processes while streaming, want 1: %+v", len(procs), procs)
	}
	c := s.finish(t)
	id := requestIDOf(t, s.out.ResultMetadata)

	got := s.payload()
	if !strings.HasPrefix(got, "chunk-0\n") || strings.Contains(got, "chunk-49") {
		t.Fatalf("payload %q: want the chunks written before the timeout, not all 50", got)
	}
	if aws.ToString(c.ErrorCode) != "Sandbox.Timedout" {
		t.Fatalf("InvokeComplete %q %q", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
	}
	var doc errorDoc
	if err := json.Unmarshal([]byte(aws.ToString(c.ErrorDetails)), &doc); err != nil {
		t.Fatalf("ErrorDetails %q: %v", aws.ToString(c.ErrorDetails), err)
	}
	if doc.ErrorType != "Sandbox.Timedout" || doc.ErrorMessage != "RequestId: "+id+" Error: Task timed out after 1.00 seconds" {
		t.Fatalf("ErrorDetails %+v", doc)
	}
	tail := decodeTail(t, c.LogResult)
	if !strings.Contains(tail, "END RequestId: "+id+"\n") || !strings.Contains(tail, "Status: timeout") {
		t.Fatalf("tail lacks END or Status: timeout:\n%s", tail)
	}

	// The timed-out environment's process is gone and the pool forgot it.
	waitGone(t, procs, 10*time.Second)
	if live, _ := ts.pool.Stats(); live != 0 {
		t.Fatalf("%d live environments after the timeout, want 0", live)
	}

	// The next invocation runs in a fresh environment and completes.
	s2 := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("slowstream"), Payload: []byte(`{"chunks":2,"pauseMs":10}`)})
	cleanComplete(t, s2.finish(t))
	if got := s2.payload(); got != "chunk-0\nchunk-1\n" {
		t.Fatalf("payload after the timeout %q", got)
	}
	if now := runtimesOf(ts.cfg.DataDir); len(now) != 1 || now[0].pid == procs[0].pid {
		t.Fatalf("runtime processes after the next invocation: %+v (timed out: %+v)", now, procs)
	}
}
