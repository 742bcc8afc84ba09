package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-dev/sluice"
)

// wireBody decodes an error body, failing on anything but flat strings.
func wireBody(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return v
}

func TestErrorWireFormat(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		exception                string
		want                     map[string]any
	}{
		{"not found", http.MethodGet, "/2015-03-31/functions/nope", "", 404, "ResourceNotFoundException",
			map[string]any{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"}},
		{"not found by escaped ARN", http.MethodGet, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Anope/configuration", "", 404, "ResourceNotFoundException",
			map[string]any{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"}},
		{"invalid parameter", http.MethodPost, "/2015-03-31/functions", `{"FunctionName":"f","Role":"` + testRole + `","Code":{}}`, 400, "InvalidParameterValueException",
			map[string]any{"Type": "User", "message": "Runtime and Handler are mandatory parameters for functions created with deployment packages."}},
		{"validation", http.MethodPost, "/2015-03-31/functions", `{}`, 400, "ValidationException",
			map[string]any{"Type": "User", "message": "3 validation errors detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null; Value null at 'role' failed to satisfy constraint: Member must not be null; Value null at 'code' failed to satisfy constraint: Member must not be null"}},
		{"malformed json", http.MethodPost, "/2015-03-31/functions", `{"FunctionName":`, 400, "InvalidRequestContentException",
			map[string]any{"Type": "User", "message": "Could not parse request body into json: unexpected end of JSON input (at offset 16)"}},
		{"wrong json type", http.MethodPut, "/2015-03-31/functions/f/configuration", `{"Timeout":"ten"}`, 400, "InvalidRequestContentException",
			map[string]any{"Type": "User", "message": "Could not parse request body into json: unexpected string for member Timeout"}},
		{"not an object", http.MethodPut, "/2015-03-31/functions/f/code", `[1]`, 400, "InvalidRequestContentException",
			map[string]any{"Type": "User", "message": "Could not parse request body into json: the body must be a JSON object, not array"}},
		{"bad base64", http.MethodPut, "/2015-03-31/functions/f/code", `{"ZipFile":"***"}`, 400, "InvalidRequestContentException",
			map[string]any{"Type": "User", "message": "Could not parse request body into json: a blob member is not valid base64 (illegal data at input byte 0)"}},
		{"unknown operation", http.MethodPost, "/2015-03-31/event-source-mappings", "", 404, "UnknownOperationException",
			map[string]any{"Type": "User", "Message": "sluice does not implement POST /2015-03-31/event-source-mappings"}},
		{"unknown subresource", http.MethodGet, "/2015-03-31/functions/f/nonexistent-subresource", "", 404, "UnknownOperationException",
			map[string]any{"Type": "User", "Message": "sluice does not implement GET /2015-03-31/functions/f/nonexistent-subresource"}},
		// ListAliases is an operation now: its errors are its own.
		{"list aliases of unknown function", http.MethodGet, "/2015-03-31/functions/f/aliases", "", 404, "ResourceNotFoundException",
			map[string]any{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f"}},
		{"unknown method", http.MethodPatch, "/2015-03-31/functions", "", 404, "UnknownOperationException",
			map[string]any{"Type": "User", "Message": "sluice does not implement PATCH /2015-03-31/functions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.signedRequest(tt.method, tt.path, []byte(tt.body), nil)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.exception {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.exception)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if resp.Header.Get("X-Amzn-RequestId") == "" {
				t.Error("no X-Amzn-RequestId")
			}
			if resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
			}
			got := wireBody(t, body)
			if len(got) != len(tt.want) {
				t.Errorf("body = %s, want %v", body, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("body[%q] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestRequestIDOnSuccess(t *testing.T) {
	e := newEnv(t)
	resp, body := e.signedRequest(http.MethodGet, "/2015-03-31/functions", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	id := resp.Header.Get("X-Amzn-RequestId")
	if len(id) != 36 {
		t.Errorf("X-Amzn-RequestId = %q, want a UUID", id)
	}
	resp2, _ := e.signedRequest(http.MethodGet, "/2015-03-31/functions", nil, nil)
	if resp2.Header.Get("X-Amzn-RequestId") == id {
		t.Error("two requests share a request id")
	}
	// The SDK sees it too.
	out, err := e.client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if rid, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); len(rid) != 36 {
		t.Errorf("SDK request id = %q", rid)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	e.create("secret")
	ctx := context.Background()

	wrongSecret := newClient(e.srv.URL, "test", "wrong")
	_, err := wrongSecret.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("secret")})
	wantAuthError(t, err, "InvalidSignatureException")

	wrongKey := newClient(e.srv.URL, "someone", "test")
	_, err = wrongKey.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("secret")})
	wantAuthError(t, err, "UnrecognizedClientException")

	// Unsigned requests do not even learn whether the function exists.
	resp, err := http.Get(e.srv.URL + "/2015-03-31/functions/secret")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
	if strings.Contains(string(body), "secret") {
		t.Errorf("unsigned response reveals the function: %s", body)
	}
}

// wantAuthError checks a 403 with the given error code.
func wantAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("error = %v, want an HTTP API error", err)
	}
	if re.HTTPStatusCode() != http.StatusForbidden || ae.ErrorCode() != code {
		t.Fatalf("error = %d %s (%v), want 403 %s", re.HTTPStatusCode(), ae.ErrorCode(), err, code)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, path string
		size       int64
		status     int
		exception  string
		messageKey string
		message    string
	}{
		{"control plane", "/2015-03-31/functions", 70_167_212, 413, "RequestEntityTooLargeException", "Message",
			"Request must be smaller than 70167211 bytes for the CreateFunction operation"},
		{"invoke", "/2015-03-31/functions/f/invocations", sluice.MaxSyncPayload + 1, 413, "RequestTooLargeException", "message",
			"Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{"invoke stream", "/2021-11-15/functions/f/response-streaming-invocations", sluice.MaxSyncPayload + 1, 413, "RequestTooLargeException", "message",
			"Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+tt.path, io.LimitReader(zeros{}, tt.size))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.size
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-ErrorType") != tt.exception {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
			}
			if got := wireBody(t, body)[tt.messageKey]; got != tt.message {
				t.Errorf("%s = %v, want %q", tt.messageKey, got, tt.message)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCodeDownloadErrors(t *testing.T) {
	e := newEnv(t)
	for _, sha := range []string{"nothex", strings.Repeat("0", 64), strings.Repeat("A", 64)} {
		resp, err := http.Get(e.srv.URL + e.api.SignedCodePath(sha))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" {
			t.Errorf("GET code %s: %d %s", sha, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
}

func TestDataPlaneRoutesExist(t *testing.T) {
	e := newEnv(t)
	// The invoke stubs answer through the same wrapper: authenticated,
	// with a Lambda error, not the mux's 404/405.
	for _, path := range []string{"/2015-03-31/functions/f/invocations", "/2021-11-15/functions/f/response-streaming-invocations"} {
		resp, body := e.signedRequest(http.MethodPost, path, []byte("{}"), nil)
		if resp.Header.Get("X-Amzn-ErrorType") == "" || resp.Header.Get("X-Amzn-RequestId") == "" {
			t.Errorf("POST %s: %d %s", path, resp.StatusCode, body)
		}
	}
}
