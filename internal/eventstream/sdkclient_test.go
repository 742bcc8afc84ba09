package eventstream

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// TestLambdaClient reads a stream written by Writer with the real Go SDK
// client's InvokeWithResponseStream.
func TestLambdaClient(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), MaxChunk/16+10) // two frames
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		rw.Header().Set("X-Amz-Executed-Version", "$LATEST")
		rw.WriteHeader(http.StatusOK)
		w := NewWriter(rw, http.NewResponseController(rw).Flush)
		for _, p := range [][]byte{[]byte("first "), big, []byte(" last")} {
			if err := w.Chunk(p); err != nil {
				t.Error(err)
				return
			}
		}
		if err := w.Complete(Complete{ErrorCode: "Unhandled", ErrorDetails: `{"errorMessage":"<boom>"}`, LogResult: "bG9n"}); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()

	// lambdaclient: the SDK client with the fix for its closed-request-body
	// race ("use of closed network connection"), which a plain client hits
	// now and then.
	client := lambdaclient.New(srv.URL, "test", "test")
	out, err := client.InvokeWithResponseStream(context.Background(), &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("my-fn"),
		Payload:      []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Errorf("ExecutedVersion %q", aws.ToString(out.ExecutedVersion))
	}
	stream := out.GetStream()
	defer stream.Close()
	var payload []byte
	var complete *types.InvokeWithResponseStreamCompleteEvent
	chunks := 0
	for ev := range stream.Events() {
		switch ev := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			if complete != nil {
				t.Error("chunk after InvokeComplete")
			}
			chunks++
			payload = append(payload, ev.Value.Payload...)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			complete = &ev.Value
		default:
			t.Errorf("unexpected event %T", ev)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte("first "), big...), " last"...)
	if !bytes.Equal(payload, want) {
		t.Errorf("payload of %d bytes, want %d", len(payload), len(want))
	}
	if chunks != 4 {
		t.Errorf("%d chunk events, want 4", chunks)
	}
	if complete == nil {
		t.Fatal("no InvokeComplete")
	}
	if aws.ToString(complete.ErrorCode) != "Unhandled" || aws.ToString(complete.ErrorDetails) != `{"errorMessage":"<boom>"}` || aws.ToString(complete.LogResult) != "bG9n" {
		t.Errorf("InvokeComplete %q %q %q", aws.ToString(complete.ErrorCode), aws.ToString(complete.ErrorDetails), aws.ToString(complete.LogResult))
	}
}
