package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

func TestE2EInvocationTypes(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "logger", "logs")

	t.Run("Event", func(t *testing.T) {
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{
			FunctionName:   aws.String("logger"),
			InvocationType: types.InvocationTypeEvent,
			Payload:        []byte(`{"lines":1}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 202 || len(out.Payload) != 0 || out.FunctionError != nil || out.LogResult != nil {
			t.Fatalf("status %d payload %q FunctionError %v: want 202 and nothing else", out.StatusCode, out.Payload, out.FunctionError)
		}
		id := requestIDOf(t, out.ResultMetadata)
		// The function runs in the background, with the request id the
		// caller was given.
		want := []string{"START RequestId: " + id + " Version: $LATEST\n", "stdout line 0 of " + id + "\n", "END RequestId: " + id + "\n", "REPORT RequestId: " + id + "\t"}
		if !eventually(10*time.Second, func() bool { return strings.Contains(ts.logs.String(), want[3]) }) {
			t.Fatalf("the Event invocation %s did not run within 10 s; function log:\n%s", id, ts.logs.String())
		}
		logs, at := ts.logs.String(), 0
		for _, w := range want {
			i := strings.Index(logs[at:], w)
			if i < 0 {
				t.Fatalf("function log lacks %q (in this order):\n%s", w, logs)
			}
			at += i + len(w)
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		before := ts.logs.String()
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), InvocationType: types.InvocationTypeDryRun})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 204 || len(out.Payload) != 0 {
			t.Fatalf("Invoke DryRun: status %d payload %q, want 204", out.StatusCode, out.Payload)
		}
		sout, err := ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("logger"), InvocationType: types.ResponseStreamingInvocationTypeDryRun})
		if err != nil {
			t.Fatal(err)
		}
		if sout.StatusCode != 204 {
			t.Fatalf("InvokeWithResponseStream DryRun: status %d, want 204", sout.StatusCode)
		}
		if st := sout.GetStream(); st != nil {
			for ev := range st.Events() {
				t.Fatalf("DryRun stream has an event %T", ev)
			}
			st.Close()
		}
		time.Sleep(200 * time.Millisecond)
		if after := ts.logs.String(); after != before {
			t.Fatalf("DryRun ran the function:\n%s", after[len(before):])
		}

		var nf *types.ResourceNotFoundException
		_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nope"), InvocationType: types.InvocationTypeDryRun})
		if !errors.As(err, &nf) || statusOf(err) != 404 {
			t.Fatalf("Invoke DryRun of an unknown function: %v", err)
		}
		_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("nope"), InvocationType: types.ResponseStreamingInvocationTypeDryRun})
		if !errors.As(err, &nf) || statusOf(err) != 404 {
			t.Fatalf("InvokeWithResponseStream DryRun of an unknown function: %v", err)
		}
	})

	t.Run("BadEnums", func(t *testing.T) {
		// The SDK lets unknown enum strings through; the server rejects them.
		_, err := ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("logger"), LogType: "Bogus"})
		wantValidation(t, err, "Bogus")
		_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), LogType: "Bogus"})
		wantValidation(t, err, "Bogus")
		_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), InvocationType: "Sometimes"})
		wantValidation(t, err, "Sometimes")
		// Event is not a response-streaming invocation type.
		_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("logger"), InvocationType: "Event"})
		wantValidation(t, err, "Event")
	})
}

// wantValidation checks err is a 400 ValidationException whose message
// mentions value.
func wantValidation(t *testing.T, err error, value string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || statusOf(err) != 400 {
		t.Fatalf("got %v (status %d), want ValidationException 400", err, statusOf(err))
	}
	if !strings.Contains(ae.ErrorMessage(), value) {
		t.Fatalf("ValidationException message %q does not name %q", ae.ErrorMessage(), value)
	}
}

func TestE2EPayloadLimits(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	// Generous timeouts: moving 6-7 MB through the race detector on a
	// loaded machine can take seconds; these tests are about sizes.
	ts.createFunction(t, "echo", "echo", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })
	ts.createFunction(t, "streamer", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })

	t.Run("InvalidJSON", func(t *testing.T) {
		for _, p := range []string{`{"a":`, `not json`, "\"\xff\""} {
			_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(p)})
			var e *types.InvalidRequestContentException
			if !errors.As(err, &e) || statusOf(err) != 400 || !strings.HasPrefix(e.ErrorMessage(), "Could not parse request body into json") {
				t.Fatalf("payload %q: got %v", p, err)
			}
			_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo"), Payload: []byte(p)})
			if !errors.As(err, &e) || statusOf(err) != 400 {
				t.Fatalf("stream payload %q: got %v", p, err)
			}
		}
	})

	const limit = 6 * 1024 * 1024
	jsonString := func(n int) []byte { // a JSON string of exactly n bytes
		b := bytes.Repeat([]byte{'x'}, n)
		b[0], b[n-1] = '"', '"'
		return b
	}

	t.Run("TooLarge", func(t *testing.T) {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: jsonString(limit + 1)})
		var e *types.RequestTooLargeException
		if !errors.As(err, &e) || statusOf(err) != 413 || e.ErrorMessage() != "Request must be smaller than 6291456 bytes for the InvokeFunction operation" {
			t.Fatalf("got %v (status %d), want RequestTooLargeException 413", err, statusOf(err))
		}
		_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo"), Payload: jsonString(limit + 1)})
		if !errors.As(err, &e) || statusOf(err) != 413 {
			t.Fatalf("stream: got %v (status %d), want RequestTooLargeException 413", err, statusOf(err))
		}
		// Event invocations have a 1 MB limit.
		_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: jsonString(1<<20 + 1)})
		if !errors.As(err, &e) || statusOf(err) != 413 || !strings.Contains(e.ErrorMessage(), "1048576 bytes") {
			t.Fatalf("Event: got %v (status %d), want RequestTooLargeException 413", err, statusOf(err))
		}
	})

	t.Run("AtLimit", func(t *testing.T) {
		p := jsonString(limit)
		out := ts.invoke(t, "echo", string(p))
		succeeded(t, out)
		if !bytes.Equal(out.Payload, p) {
			t.Fatalf("echo of a %d-byte payload returned %d bytes", len(p), len(out.Payload))
		}
	})

	// 7 MiB, streamed by the function as fast as it can: 112 lines of 64 KiB.
	// ("big" would be the natural handler, but it does not stream: see
	// sevenMiB.)
	const sevenMiB = `{"chunks":112,"pauseMs":0,"size":65536}`
	t.Run("BufferedResponseTooLarge", func(t *testing.T) {
		doc := functionError(t, ts.invoke(t, "streamer", sevenMiB))
		if doc.ErrorType != "Function.ResponseSizeTooLarge" || !strings.Contains(doc.ErrorMessage, "6291556 bytes") {
			t.Fatalf("error %+v", doc)
		}
		// The environment survives: the function completed, its output
		// was discarded, and the next invocation runs in the same process.
		before := runtimesOf(ts.cfg.DataDir)
		out := ts.invoke(t, "streamer", `{"chunks":16,"pauseMs":0,"size":65536}`)
		succeeded(t, out)
		if len(out.Payload) != 1<<20 {
			t.Fatalf("1 MiB response came back as %d bytes", len(out.Payload))
		}
		if after := runtimesOf(ts.cfg.DataDir); identities(after) != identities(before) || len(before) != 2 {
			t.Fatalf("runtime processes changed: before %+v, after %+v", before, after)
		}
	})

	t.Run("StreamedResponseOver6MB", func(t *testing.T) {
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("streamer"), Payload: []byte(sevenMiB)})
		cleanComplete(t, s.finish(t))
		got := s.payload()
		if len(got) != 7<<20 {
			t.Fatalf("streamed %d bytes, want %d", len(got), 7<<20)
		}
		for i := 0; i < 112; i++ { // every line whole and in order
			line := got[i<<16 : (i+1)<<16]
			head := fmt.Sprintf("chunk-%d\n", i)
			if !strings.HasPrefix(line, head) || strings.Trim(line[len(head):len(line)-1], "x") != "" || line[len(line)-1] != '\n' {
				t.Fatalf("line %d of the stream is %.40q...", i, line)
			}
		}
		if len(s.chunks) < 2 {
			t.Fatalf("7 MiB arrived in %d chunk(s)", len(s.chunks))
		}
	})
}

func TestE2EFunctionNames(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "echo", "echo")
	ts.createFunction(t, "whoami", "clientcontext")
	const arn = "arn:aws:lambda:us-east-1:000000000000:function:"

	for _, tc := range []struct{ name, qualifier, invokedARN string }{
		{"echo", "", arn + "echo"},
		{arn + "echo", "", arn + "echo"},
		{"000000000000:function:echo", "", arn + "echo"},
		{"echo:$LATEST", "", arn + "echo:$LATEST"},
		{"echo", "$LATEST", arn + "echo:$LATEST"},
		{arn + "echo:$LATEST", "$LATEST", arn + "echo:$LATEST"},
	} {
		t.Run("Valid/"+tc.name+"/"+tc.qualifier, func(t *testing.T) {
			in := &lambda.InvokeInput{FunctionName: aws.String(tc.name), Payload: []byte(`{"n":1}`)}
			if tc.qualifier != "" {
				in.Qualifier = aws.String(tc.qualifier)
			}
			out, err := ts.Client.Invoke(ctx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			succeeded(t, out)
			if string(out.Payload) != `{"n":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" {
				t.Fatalf("payload %s version %q", out.Payload, aws.ToString(out.ExecutedVersion))
			}
			// The function sees the ARN as the caller named it.
			who := strings.Replace(tc.name, "echo", "whoami", 1)
			s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(who), Qualifier: in.Qualifier})
			cleanComplete(t, s.finish(t))
			want := strings.Replace(tc.invokedARN, "echo", "whoami", 1)
			if !strings.Contains(s.payload(), `"arn":"`+want+`"`) {
				t.Fatalf("function saw %s, want invoked ARN %s", s.payload(), want)
			}
		})
	}

	t.Run("UnknownVersion", func(t *testing.T) {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("1")})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || statusOf(err) != 404 || !strings.Contains(nf.ErrorMessage(), ":function:echo:1") {
			t.Fatalf("got %v", err)
		}
		_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("echo:1")})
		if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), ":function:echo:1") {
			t.Fatalf("stream: got %v", err)
		}
	})
	t.Run("OtherRegion", func(t *testing.T) {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:000000000000:function:echo")})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || statusOf(err) != 404 || !strings.Contains(nf.ErrorMessage(), "not reachable in this region") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("OtherAccount", func(t *testing.T) {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:111111111111:function:echo")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || statusOf(err) != 403 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("QualifierMismatch", func(t *testing.T) {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(arn + "echo:$LATEST"), Qualifier: aws.String("x")})
		var ip *types.InvalidParameterValueException
		if !errors.As(err, &ip) || statusOf(err) != 400 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("BadName", func(t *testing.T) {
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("my-function!")})
		wantValidation(t, err, "my-function!")
		_, err = ts.Client.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("my-function!")})
		wantValidation(t, err, "my-function!")
		_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("bad qualifier")})
		wantValidation(t, err, "bad qualifier")
	})
}
