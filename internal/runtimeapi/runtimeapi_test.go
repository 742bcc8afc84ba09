package runtimeapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// backend is a function-field fake of Backend.
type backend struct {
	next      func(ctx context.Context) (*sluice.Invocation, error)
	respond   func(ctx context.Context, id string, resp *Response) error
	fail      func(ctx context.Context, id string, ferr *sluice.FunctionError) error
	initError func(ctx context.Context, ferr *sluice.FunctionError) error
}

func (b *backend) Next(ctx context.Context) (*sluice.Invocation, error) { return b.next(ctx) }
func (b *backend) Respond(ctx context.Context, id string, r *Response) error {
	return b.respond(ctx, id, r)
}
func (b *backend) Fail(ctx context.Context, id string, f *sluice.FunctionError) error {
	return b.fail(ctx, id, f)
}
func (b *backend) InitError(ctx context.Context, f *sluice.FunctionError) error {
	return b.initError(ctx, f)
}

func TestNextHeaders(t *testing.T) {
	deadline := time.UnixMilli(1_900_000_000_123)
	b := &backend{next: func(context.Context) (*sluice.Invocation, error) {
		return &sluice.Invocation{
			RequestID: "rid", InvokedFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:f",
			Payload: []byte(`{"a":1}`), ClientContext: []byte(`{"custom":{}}`), CognitoIdentity: []byte(`{"cognitoIdentityId":"x"}`),
			TraceID: "Root=1-abc", Deadline: deadline,
		}, nil
	}}
	srv := httptest.NewServer(NewHandler(b, nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := map[string]string{
		HeaderRequestID: "rid", HeaderDeadlineMs: "1900000000123", HeaderFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:f",
		HeaderTraceID: "Root=1-abc", HeaderClientContext: `{"custom":{}}`, HeaderCognitoIdentity: `{"cognitoIdentityId":"x"}`,
		"Content-Type": "application/json",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if resp.StatusCode != 200 || string(body) != `{"a":1}` {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}

// TestStreamingResponseWithTrailers sends a chunked body with error trailers,
// as aws-lambda-go and the Node runtime do, and checks that the backend reads
// the body as it arrives and sees the trailer error after EOF.
func TestStreamingResponseWithTrailers(t *testing.T) {
	got := make(chan string, 1)
	var ferr *sluice.FunctionError
	firstRead := make(chan struct{})
	b := &backend{respond: func(ctx context.Context, id string, r *Response) error {
		if id != "rid" || !r.Streaming || r.ContentType != "text/plain" {
			t.Errorf("id %q streaming %v content type %q", id, r.Streaming, r.ContentType)
		}
		buf := make([]byte, 5)
		n, _ := io.ReadFull(r.Body, buf)
		close(firstRead)
		rest, _ := io.ReadAll(r.Body)
		ferr = r.Err()
		got <- string(buf[:n]) + string(rest)
		return nil
	}}
	srv := httptest.NewServer(NewHandler(b, nil))
	defer srv.Close()

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.URL+"/2018-06-01/runtime/invocation/rid/response", pr)
	req.Header.Set(HeaderResponseMode, "streaming")
	req.Header.Set("Content-Type", "text/plain")
	req.Trailer = http.Header{HeaderErrorType: nil, HeaderErrorBody: nil}
	done := make(chan *http.Response)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	pw.Write([]byte("first"))
	select {
	case <-firstRead: // the backend saw the first bytes before the body ended
	case <-time.After(10 * time.Second):
		t.Fatal("first bytes were not delivered before the end of the body")
	}
	pw.Write([]byte("-second"))
	req.Trailer.Set(HeaderErrorType, "errorString")
	req.Trailer.Set(HeaderErrorBody, base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"disk on fire","errorType":"errorString"}`)))
	pw.Close()
	resp := <-done
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if s := <-got; s != "first-second" {
		t.Fatalf("body %q", s)
	}
	if ferr == nil || ferr.Type != "errorString" || !strings.Contains(string(ferr.Payload), "disk on fire") {
		t.Fatalf("trailer error %+v", ferr)
	}
}

func TestErrorEndpoints(t *testing.T) {
	var gotFail, gotInit *sluice.FunctionError
	b := &backend{
		fail:      func(_ context.Context, id string, f *sluice.FunctionError) error { gotFail = f; return nil },
		initError: func(_ context.Context, f *sluice.FunctionError) error { gotInit = f; return nil },
	}
	h := NewHandler(b, nil)
	do := func(path, typ, body string) int {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		if typ != "" {
			r.Header.Set(HeaderErrorType, typ)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if c := do("/2018-06-01/runtime/invocation/rid/error", "", `{"errorMessage":"boom","errorType":"errorString"}`); c != 202 || gotFail.Type != "errorString" {
		t.Fatalf("error: %d %+v", c, gotFail)
	}
	if c := do("/2018-06-01/runtime/invocation/rid/error", "", `not json`); c != 202 || gotFail.Type != "Unhandled" || !json.Valid(gotFail.Payload) {
		t.Fatalf("non-JSON error body: %d %+v", c, gotFail)
	}
	if c := do("/2018-06-01/runtime/init/error", "Runtime.ImportModuleError", `{"errorMessage":"no module"}`); c != 202 || gotInit.Type != "Runtime.ImportModuleError" {
		t.Fatalf("init error: %d %+v", c, gotInit)
	}
	big := bytes.Repeat([]byte("x"), MaxErrorBody+1)
	if c := do("/2018-06-01/runtime/invocation/rid/error", "", string(big)); c != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized error body: %d", c)
	}
}

func TestBackendErrorsAreRendered(t *testing.T) {
	b := &backend{
		respond: func(context.Context, string, *Response) error { return ErrInvalidRequestID },
		fail:    func(context.Context, string, *sluice.FunctionError) error { return errors.New("internal detail") },
		next:    func(context.Context) (*sluice.Invocation, error) { return nil, ErrShuttingDown },
	}
	h := NewHandler(b, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		errType      string
	}{
		{"POST", "/2018-06-01/runtime/invocation/x/response", 400, "InvalidRequestID"},
		{"POST", "/2018-06-01/runtime/invocation/x/error", 500, "InternalError"},
		{"GET", "/2018-06-01/runtime/invocation/next", 410, "EnvironmentShuttingDown"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
		var doc struct{ ErrorType, ErrorMessage string }
		json.Unmarshal(w.Body.Bytes(), &doc)
		if w.Code != tc.status || doc.ErrorType != tc.errType || strings.Contains(w.Body.String(), "internal detail") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, w.Code, w.Body)
		}
	}
}

func TestInvalidResponseMode(t *testing.T) {
	var failed *sluice.FunctionError
	b := &backend{fail: func(_ context.Context, id string, f *sluice.FunctionError) error { failed = f; return nil }}
	r := httptest.NewRequest("POST", "/2018-06-01/runtime/invocation/rid/response", strings.NewReader("x"))
	r.Header.Set(HeaderResponseMode, "sideways")
	w := httptest.NewRecorder()
	NewHandler(b, nil).ServeHTTP(w, r)
	if w.Code != 400 || failed == nil || failed.Type != "Runtime.InvalidResponseModeHeader" {
		t.Fatalf("%d %+v", w.Code, failed)
	}
}

// FuzzRouter sends arbitrary methods, paths, headers and bodies: the handler
// must never panic and must answer every request.
func FuzzRouter(f *testing.F) {
	f.Add("GET", "/2018-06-01/runtime/invocation/next", "", "", []byte(nil))
	f.Add("POST", "/2018-06-01/runtime/invocation/abc/response", "streaming", "", []byte("data"))
	f.Add("POST", "/2018-06-01/runtime/invocation/abc/error", "", "Runtime.X", []byte(`{"errorType":1}`))
	f.Add("POST", "/2018-06-01/runtime/init/error", "", "", []byte("\xff"))
	f.Add("PUT", "/2018-06-01/runtime/invocation/%2e%2e/response", "BUFFERED", "", []byte("{}"))
	f.Fuzz(func(t *testing.T, method, path, mode, errType string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n") || strings.ContainsAny(method, " \r\n") || method == "" {
			return
		}
		b := &backend{
			next: func(context.Context) (*sluice.Invocation, error) {
				return &sluice.Invocation{RequestID: "r", Payload: []byte("{}")}, nil
			},
			respond: func(_ context.Context, _ string, r *Response) error {
				io.Copy(io.Discard, r.Body)
				r.Err()
				return nil
			},
			fail:      func(context.Context, string, *sluice.FunctionError) error { return nil },
			initError: func(context.Context, *sluice.FunctionError) error { return nil },
		}
		r, err := http.NewRequest(method, "http://x"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set(HeaderResponseMode, mode)
		r.Header.Set(HeaderErrorType, errType)
		w := httptest.NewRecorder()
		NewHandler(b, nil).ServeHTTP(w, r)
		if w.Code == 0 {
			t.Fatal("no status written")
		}
	})
}
