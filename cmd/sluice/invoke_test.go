package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// streamEvent is one event as the client received it, with its arrival time.
type streamEvent struct {
	at       time.Time
	chunk    []byte
	complete *types.InvokeWithResponseStreamCompleteEvent
}

// invokeStream runs InvokeWithResponseStream and collects every event.
func invokeStream(t *testing.T, c *lambda.Client, in *lambda.InvokeWithResponseStreamInput) (*lambda.InvokeWithResponseStreamOutput, []streamEvent) {
	t.Helper()
	out, err := c.InvokeWithResponseStream(ctx(t), in)
	if err != nil {
		t.Fatalf("InvokeWithResponseStream: %v", err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var evs []streamEvent
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			evs = append(evs, streamEvent{at: time.Now(), chunk: v.Value.Payload})
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			c := v.Value
			evs = append(evs, streamEvent{at: time.Now(), complete: &c})
		default:
			t.Fatalf("unexpected event %T", ev)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if len(evs) == 0 || evs[len(evs)-1].complete == nil {
		t.Fatalf("stream did not end with InvokeComplete: %d events", len(evs))
	}
	for _, ev := range evs[:len(evs)-1] {
		if ev.complete != nil {
			t.Fatalf("InvokeComplete before the end of the stream")
		}
	}
	return out, evs
}

func payloadOf(evs []streamEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		b.Write(ev.chunk)
	}
	return b.String()
}

func TestInvokeBufferedEcho(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "echo", "echo")
	out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"hello":"world"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || string(out.Payload) != `{"hello":"world"}` || out.FunctionError != nil {
		t.Fatalf("got status %d payload %s error %v", out.StatusCode, out.Payload, aws.ToString(out.FunctionError))
	}
	if aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("ExecutedVersion = %q", aws.ToString(out.ExecutedVersion))
	}
}

func TestStreamChunksArriveAsWritten(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "streamer", "stream")
	start := time.Now()
	out, evs := invokeStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("streamer"),
		Payload:      []byte(`{"chunks":4,"pauseMs":400}`),
	})
	if got, want := payloadOf(evs), "chunk-0\nchunk-1\nchunk-2\nchunk-3\n"; got != want {
		t.Fatalf("payload %q, want %q", got, want)
	}
	if aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("ExecutedVersion = %q", aws.ToString(out.ExecutedVersion))
	}
	first, last := evs[0].at, evs[len(evs)-2].at
	// The function pauses 3 x 400 ms between its first and last write: the
	// first chunk must arrive well before the last, not all together at the end.
	if last.Sub(first) < 800*time.Millisecond {
		t.Fatalf("first chunk at +%v, last at +%v: chunks were not streamed as written", first.Sub(start), last.Sub(start))
	}
	if c := evs[len(evs)-1].complete; c.ErrorCode != nil || c.ErrorDetails != nil {
		t.Fatalf("InvokeComplete reports an error: %v %v", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
	}
}

func TestStreamFailsMidStream(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "streamfail", "streamfail")
	_, evs := invokeStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamfail"), LogType: types.LogTypeTail})
	if got := payloadOf(evs); got != "partial-1\npartial-2\n" {
		t.Fatalf("payload %q: chunks sent before the failure must stay sent", got)
	}
	c := evs[len(evs)-1].complete
	if aws.ToString(c.ErrorCode) != "errorString" || !strings.Contains(aws.ToString(c.ErrorDetails), "disk on fire") {
		t.Fatalf("InvokeComplete = %q %q", aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
	}
	logs, _ := base64.StdEncoding.DecodeString(aws.ToString(c.LogResult))
	if !strings.Contains(string(logs), "END RequestId:") {
		t.Fatalf("LogResult has no END line: %q", logs)
	}
}

func TestInvokeErrors(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "fail", "fail")
	ts.createFunction(t, "crash", "crash")
	ts.createFunction(t, "timeout", "sleep", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	for _, tc := range []struct {
		fn, payload, errorType, message string
	}{
		{"fail", `{}`, "errorString", "boom"},
		{"crash", `{}`, "Runtime.ExitError", "Runtime exited with error: exit status 2"},
		{"timeout", `{"ms":5000}`, "Sandbox.Timedout", "Task timed out after 1.00 seconds"},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			for i := 0; i < 2; i++ { // the second call runs on a fresh or reused environment
				out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(tc.fn), Payload: []byte(tc.payload)})
				if err != nil {
					t.Fatal(err)
				}
				var doc struct{ ErrorType, ErrorMessage string }
				if err := json.Unmarshal(out.Payload, &doc); err != nil {
					t.Fatalf("error payload %s: %v", out.Payload, err)
				}
				if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || doc.ErrorType != tc.errorType || !strings.Contains(doc.ErrorMessage, tc.message) {
					t.Fatalf("call %d: status %d FunctionError %q payload %s", i, out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
				}
			}
		})
	}
}

func TestInvokeUnknownFunction(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "function:nope:$LATEST") {
		t.Fatalf("got %v", err)
	}
}
