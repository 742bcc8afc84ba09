package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice"
)

const (
	testKey    = "test"
	testSecret = "test"
	testRegion = "us-east-1"
	arnPath    = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations"
)

// signTime is when the tests' requests are signed and, unless a test says
// otherwise, when they are verified.
var signTime = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

func testVerifier() *Verifier {
	return &Verifier{
		Secret:  StaticCredentials(testKey, testSecret),
		Service: "lambda",
		Now:     func() time.Time { return signTime },
	}
}

// result is what the test server reports about one request.
type result struct {
	Code    sluice.ErrorCode
	Message string
}

// newServer starts a server that verifies every request with v and
// answers with the result as JSON.
func newServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var res result
		if _, err := v.Verify(r, body); err != nil {
			var e *sluice.Error
			if !errors.As(err, &e) {
				res = result{Code: "not a *sluice.Error", Message: err.Error()}
			} else {
				res = result{Code: e.Code, Message: e.Message}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("server answered %s: %s", resp.Status, b)
	}
	var res result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func newRequest(t *testing.T, method, target string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type signOpts struct {
	key, secret, service, region string
	at                           time.Time
	payloadHash                  string // "" = sha256 of the body
}

func defaultOpts() signOpts {
	return signOpts{key: testKey, secret: testSecret, service: "lambda", region: testRegion, at: signTime}
}

// sdkSign signs req with the Go SDK's signer, the test oracle.
func sdkSign(t *testing.T, req *http.Request, body []byte, o signOpts) {
	t.Helper()
	ph := o.payloadHash
	if ph == "" {
		ph = sha256Hex(body)
	}
	creds := aws.Credentials{AccessKeyID: o.key, SecretAccessKey: o.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, ph, o.service, o.region, o.at); err != nil {
		t.Fatal(err)
	}
}

func setBody(req *http.Request, body []byte) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = nil
}

func wantOK(t *testing.T, res result) {
	t.Helper()
	if res.Code != "" {
		t.Fatalf("Verify failed: %s: %s", res.Code, res.Message)
	}
}

func wantErr(t *testing.T, res result, code sluice.ErrorCode, msg string) {
	t.Helper()
	if res.Code != code {
		t.Fatalf("code = %q (%s), want %q", res.Code, res.Message, code)
	}
	if msg != "" && res.Message != msg {
		t.Fatalf("message = %q, want %q", res.Message, msg)
	}
}

func wantErrContains(t *testing.T, res result, code sluice.ErrorCode, sub string) {
	t.Helper()
	if res.Code != code || !strings.Contains(res.Message, sub) {
		t.Fatalf("got %q %q, want %q containing %q", res.Code, res.Message, code, sub)
	}
}

// TestSDKSignedRequests sends requests signed by the SDK's signer through
// a real HTTP server.
func TestSDKSignedRequests(t *testing.T) {
	srv := newServer(t, testVerifier())
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	tests := []struct {
		name   string
		method string
		target string
		body   []byte
		header http.Header
	}{
		{"escaped ARN and qualifier", "POST", arnPath + "?Qualifier=%24LATEST", []byte(`{"a":1}`),
			http.Header{"Content-Type": {"application/octet-stream"}, "X-Amz-Log-Type": {"Tail"}}},
		{"qualified ARN in path", "POST", "/2021-11-15/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn%3Alive/response-streaming-invocations", []byte(`{}`), nil},
		{"empty body", "POST", "/2015-03-31/functions/my-fn/invocations", nil, nil},
		{"empty body GET", "GET", "/2015-03-31/functions/my-fn?Qualifier=1", nil, nil},
		{"binary body", "POST", "/2015-03-31/functions/my-fn/invocations", binary,
			http.Header{"Content-Type": {"application/octet-stream"}}},
		{"repeated spaces in header", "POST", "/2015-03-31/functions/my-fn/invocations", []byte("x"),
			http.Header{"X-Amz-Client-Context": {"  a   b    c  "}, "X-Custom": {"one  two"}}},
		{"repeated header", "POST", "/2015-03-31/functions/my-fn/invocations", []byte("x"),
			http.Header{"X-Multi": {"1", "two  2", "3"}}},
		{"query needing encoding", "GET", "/2015-03-31/functions/?Marker=a%2Fb%20c&MaxItems=10&FunctionVersion=ALL", nil, nil},
		{"repeated query key", "GET", "/2015-03-31/functions/?b=2&a=1&a=0", nil, nil},
		{"odd path characters", "GET", "/2015-03-31/functions/a%20b%2Bc%24d~e/configuration", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, tt.method, srv.URL+tt.target, tt.body)
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			sdkSign(t, req, tt.body, defaultOpts())
			wantOK(t, send(t, req))
		})
	}
}

// TestTamper changes one part of a signed request at a time.
func TestTamper(t *testing.T) {
	body := []byte(`{"key":"value"}`)
	target := arnPath + "?Qualifier=%24LATEST"
	tests := []struct {
		name   string
		opts   func(*signOpts)
		verify func(*Verifier)
		after  func(*http.Request)
		code   sluice.ErrorCode
		msg    string
	}{
		{name: "untouched"},
		{name: "unsigned header added", after: func(r *http.Request) {
			r.Header.Set("X-Unsigned", "x")
			r.Header.Set("User-Agent", "something else")
		}},
		{name: "body same length", after: func(r *http.Request) { setBody(r, []byte(`{"key":"VALUE"}`)) },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "body other length", after: func(r *http.Request) { setBody(r, []byte(`{}`)) },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "path", after: func(r *http.Request) {
			r.URL.RawPath = strings.Replace(r.URL.RawPath, "my-fn", "my-fm", 1)
			r.URL.Path = strings.Replace(r.URL.Path, "my-fn", "my-fm", 1)
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "path escaping", after: func(r *http.Request) {
			// Same decoded path, different bytes on the wire.
			r.URL.RawPath = strings.ReplaceAll(r.URL.RawPath, "%3A", "%3a")
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "query value", after: func(r *http.Request) { r.URL.RawQuery = "Qualifier=1" },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "query added", after: func(r *http.Request) { r.URL.RawQuery += "&x=1" },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "query removed", after: func(r *http.Request) { r.URL.RawQuery = "" },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "signed header", after: func(r *http.Request) { r.Header.Set("X-Amz-Log-Type", "None") },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "signed header removed", after: func(r *http.Request) { r.Header.Del("Content-Type") },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "method", after: func(r *http.Request) { r.Method = "PUT" },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "date second", after: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260101T001001Z") },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "date day", after: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20251231T235959Z") },
			code: sluice.EInvalidSignature,
			msg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20251231', from '20251231T235959Z'."},
		{name: "signature", after: func(r *http.Request) {
			r.Header.Set("Authorization", flipLast(r.Header.Get("Authorization")))
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "signature not hex", after: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1]+"z")
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "secret", opts: func(o *signOpts) { o.secret = "wrong" },
			code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "access key", opts: func(o *signOpts) { o.key = "other" },
			code: sluice.EUnrecognizedClient, msg: msgUnknownClient},
		{name: "service", opts: func(o *signOpts) { o.service = "s3" },
			code: sluice.EInvalidSignature, msg: "Credential should be scoped to correct service: 'lambda'."},
		{name: "region, any accepted", opts: func(o *signOpts) { o.region = "eu-west-1" }},
		{name: "region, one accepted", opts: func(o *signOpts) { o.region = "eu-west-1" },
			verify: func(v *Verifier) { v.Region = testRegion },
			code:   sluice.EInvalidSignature, msg: "Credential should be scoped to a valid region, not 'eu-west-1'."},
		{name: "region in header", after: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/us-east-2/", 1))
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "authorization removed", after: func(r *http.Request) { r.Header.Del("Authorization") },
			code: sluice.EMissingToken, msg: msgMissingToken},
		{name: "content sha256 wrong", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("other")))
		}, code: sluice.EInvalidSignature, msg: msgContentSHA},
		{name: "content sha256 right but unsigned", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte(`{"key":"value"}`)))
		}},
		{name: "content sha256 upper case", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", strings.ToUpper(sha256Hex([]byte(`{"key":"value"}`))))
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		// The body's hash was signed: the claim changes nothing.
		{name: "unsigned payload claimed afterwards", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}},
		{name: "unsigned payload claimed afterwards, body swapped", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			setBody(r, []byte(`{"key":"VALUE"}`))
		}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "streaming payload", after: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		}, code: sluice.EInvalidSignature},
		{name: "too old", verify: func(v *Verifier) { v.Now = func() time.Time { return signTime.Add(15*time.Minute + time.Second) } },
			code: sluice.EInvalidSignature, msg: "Signature expired: 20260101T001000Z is now earlier than 20260101T001001Z (20260101T002501Z - 15 min.)"},
		{name: "just old enough", verify: func(v *Verifier) { v.Now = func() time.Time { return signTime.Add(15 * time.Minute) } }},
		{name: "too new", verify: func(v *Verifier) { v.Now = func() time.Time { return signTime.Add(-15*time.Minute - time.Second) } },
			code: sluice.EInvalidSignature, msg: "Signature not yet current: 20260101T001000Z is still later than 20260101T000959Z (20251231T235459Z + 15 min.)"},
		{name: "just new enough", verify: func(v *Verifier) { v.Now = func() time.Time { return signTime.Add(-15 * time.Minute) } }},
		{name: "no secret func", verify: func(v *Verifier) { v.Secret = nil },
			code: sluice.EUnrecognizedClient, msg: msgUnknownClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := testVerifier()
			if tt.verify != nil {
				tt.verify(v)
			}
			srv := newServer(t, v)
			o := defaultOpts()
			if tt.opts != nil {
				tt.opts(&o)
			}
			req := newRequest(t, "POST", srv.URL+target, body)
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("X-Amz-Log-Type", "Tail")
			sdkSign(t, req, body, o)
			if tt.after != nil {
				tt.after(req)
			}
			res := send(t, req)
			if tt.code == "" {
				wantOK(t, res)
				return
			}
			wantErr(t, res, tt.code, tt.msg)
		})
	}
}

// TestSkewMessage reproduces AWS's wording with a 5-minute window.
func TestSkewMessage(t *testing.T) {
	v := testVerifier()
	v.MaxSkew = 5 * time.Minute
	v.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC) }
	for _, tt := range []struct {
		at  time.Time
		msg string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			"Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)"},
		{time.Date(2026, 1, 1, 0, 20, 0, 0, time.UTC),
			"Signature not yet current: 20260101T002000Z is still later than 20260101T001500Z (20260101T001000Z + 5 min.)"},
	} {
		req := newRequest(t, "POST", "http://lambda.local"+arnPath, []byte("{}"))
		o := defaultOpts()
		o.at = tt.at
		sdkSign(t, req, []byte("{}"), o)
		_, err := v.Verify(req, []byte("{}"))
		var e *sluice.Error
		if !errors.As(err, &e) || e.Code != sluice.EInvalidSignature || e.Message != tt.msg {
			t.Errorf("Verify = %v, want %s", err, tt.msg)
		}
	}
}

// TestUnsignedPayload: Lambda does not support unsigned payloads (issue 9).
// A request signed over UNSIGNED-PAYLOAD is refused, with its own body and
// with a swapped one: the canonical request's payload hash is always the
// hash of the body received, so the signature must cover the body.
func TestUnsignedPayload(t *testing.T) {
	srv := newServer(t, testVerifier())
	for _, tt := range []struct {
		name string
		sent []byte
	}{
		{"swapped body", []byte("ANYTHING")}, // same length: content-length is signed
		{"own body", []byte("anything")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("anything")
			req := newRequest(t, "POST", srv.URL+arnPath, body)
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			o := defaultOpts()
			o.payloadHash = "UNSIGNED-PAYLOAD"
			sdkSign(t, req, body, o)
			setBody(req, tt.sent)
			wantErr(t, send(t, req), sluice.EInvalidSignature, msgMismatch)
		})
	}
	// A client that sends the header but signs the body's hash passes: the
	// signature covers the body.
	t.Run("header only", func(t *testing.T) {
		body := []byte("anything")
		req := newRequest(t, "POST", srv.URL+arnPath, body)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		sdkSign(t, req, body, defaultOpts())
		wantOK(t, send(t, req))
	})
	// The same with a presigned URL: its payload is the body's too.
	t.Run("presigned", func(t *testing.T) {
		body := []byte("anything")
		req := newRequest(t, "POST", srv.URL+arnPath, body)
		creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "lambda", testRegion, signTime)
		if err != nil {
			t.Fatal(err)
		}
		req2 := newRequest(t, "POST", u, []byte("ANYTHING"))
		wantErr(t, send(t, req2), sluice.EInvalidSignature, msgMismatch)
	})
}

// TestBotocoreHeaderSet signs without content-length, as botocore does:
// the SDK signer adds content-length only when ContentLength > 0.
func TestBotocoreHeaderSet(t *testing.T) {
	srv := newServer(t, testVerifier())
	body := []byte(`{"hello":"world"}`)
	req := newRequest(t, "POST", srv.URL+arnPath+"?Qualifier=%24LATEST", body)
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	req.Header.Set("X-Amz-Log-Type", "Tail")
	req.ContentLength = 0
	sdkSign(t, req, body, defaultOpts())
	req.ContentLength = int64(len(body))
	if got := req.Header.Get("Authorization"); strings.Contains(got, "content-length") {
		t.Fatalf("content-length signed: %s", got)
	}
	// Sent after signing, as botocore does.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "Botocore/1.43.11")
	wantOK(t, send(t, req))

	setBody(req, []byte(`{"hello":"World"}`))
	wantErr(t, send(t, req), sluice.EInvalidSignature, msgMismatch)
}

// handSign signs with an independent, minimal SigV4 implementation that
// takes the canonical URI, query and header lines literally, so a test can
// state what a client other than the Go SDK puts in its canonical request.
func handSign(req *http.Request, canonicalURI, canonicalQuery string, headers [][2]string, payloadHash, amzDate, region, secret string) {
	var names, lines []string
	for _, h := range headers {
		names = append(names, h[0])
		lines = append(lines, h[0]+":"+h[1]+"\n")
	}
	signed := strings.Join(names, ";")
	creq := req.Method + "\n" + canonicalURI + "\n" + canonicalQuery + "\n" + strings.Join(lines, "") + "\n" + signed + "\n" + payloadHash
	scope := amzDate[:8] + "/" + region + "/lambda/aws4_request"
	sum := sha256.Sum256([]byte(creq))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	k := mac(mac(mac(mac([]byte("AWS4"+secret), amzDate[:8]), region), "lambda"), "aws4_request")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKey+"/"+scope+", SignedHeaders="+signed+", Signature="+hex.EncodeToString(mac(k, sts)))
}

// TestHandSignerAgreesWithSDK checks the test's own signer against the
// oracle, so the tests below that rely on it mean something.
func TestHandSignerAgreesWithSDK(t *testing.T) {
	body := []byte(`{"a":"b"}`)
	a := newRequest(t, "POST", "http://127.0.0.1:9001"+arnPath+"?Qualifier=%24LATEST", body)
	a.Header.Set("Content-Type", "application/json")
	a.Header.Set("X-Amz-Log-Type", "  Tail  ")
	sdkSign(t, a, body, defaultOpts())

	b := newRequest(t, "POST", "http://127.0.0.1:9001"+arnPath+"?Qualifier=%24LATEST", body)
	handSign(b, strings.ReplaceAll(arnPath, "%", "%25"), "Qualifier=%24LATEST", [][2]string{
		{"content-length", "9"},
		{"content-type", "application/json"},
		{"host", "127.0.0.1:9001"},
		{"x-amz-date", "20260101T001000Z"},
		{"x-amz-log-type", "Tail"},
	}, sha256Hex(body), "20260101T001000Z", testRegion, testSecret)
	if a.Header.Get("Authorization") != b.Header.Get("Authorization") {
		t.Fatalf("hand signer disagrees with the SDK:\n sdk  %s\n hand %s", a.Header.Get("Authorization"), b.Header.Get("Authorization"))
	}
}

// TestJSClientHeaderSet reproduces what the JS SDK v3 signs: it adds
// x-amz-content-sha256 and x-amz-user-agent, collapses every run of white
// space (tabs included) and normalises the path before double-escaping it.
func TestJSClientHeaderSet(t *testing.T) {
	srv := newServer(t, testVerifier())
	host := strings.TrimPrefix(srv.URL, "http://")
	body := []byte(`{"js":true}`)
	// The Go client sends the path exactly as given, "./" included.
	req := newRequest(t, "POST", srv.URL+"/2015-03-31/functions/./arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn//invocations?Qualifier=%24LATEST", body)
	req.Header.Set("Amz-Sdk-Invocation-Id", "6b1d7a7c-0000-4000-8000-000000000000")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=1")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
	req.Header.Set("X-Amz-Date", "20260101T001000Z")
	req.Header.Set("X-Amz-User-Agent", "aws-sdk-js/3.1163.0 \t ua/2.1")
	req.Header.Set("Connection", "keep-alive")
	handSign(req,
		"/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Amy-fn/invocations",
		"Qualifier=%24LATEST",
		[][2]string{
			{"amz-sdk-invocation-id", "6b1d7a7c-0000-4000-8000-000000000000"},
			{"amz-sdk-request", "attempt=1; max=1"},
			{"content-length", "11"},
			{"content-type", "application/octet-stream"},
			{"host", host},
			{"x-amz-content-sha256", sha256Hex(body)},
			{"x-amz-date", "20260101T001000Z"},
			{"x-amz-user-agent", "aws-sdk-js/3.1163.0 ua/2.1"},
		}, sha256Hex(body), "20260101T001000Z", testRegion, testSecret)
	wantOK(t, send(t, req))

	req.Header.Set("X-Amz-User-Agent", "aws-sdk-js/3.1163.0 ua/2.2")
	setBody(req, body)
	wantErr(t, send(t, req), sluice.EInvalidSignature, msgMismatch)
}

// TestDateHeader accepts a Date header in HTTP format instead of X-Amz-Date.
func TestDateHeader(t *testing.T) {
	req := newRequest(t, "GET", "http://lambda.local/2015-03-31/functions/f", nil)
	req.Header.Set("Date", "Thu, 01 Jan 2026 00:10:00 GMT")
	handSign(req, "/2015-03-31/functions/f", "", [][2]string{
		{"date", "Thu, 01 Jan 2026 00:10:00 GMT"},
		{"host", "lambda.local"},
	}, sha256Hex(nil), "20260101T001000Z", testRegion, testSecret)
	if _, err := testVerifier().Verify(req, nil); err != nil {
		t.Fatal(err)
	}
}

// TestPresigned verifies query signatures made by the SDK's PresignHTTP.
func TestPresigned(t *testing.T) {
	v := testVerifier()
	srv := newServer(t, v)
	for _, expires := range []string{"", "300"} {
		target := srv.URL + "/2015-03-31/functions/my-fn?Qualifier=1"
		if expires != "" {
			target += "&X-Amz-Expires=" + expires
		}
		req := newRequest(t, "GET", target, nil)
		uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
			req, sha256Hex(nil), "lambda", testRegion, signTime)
		if err != nil {
			t.Fatal(err)
		}
		get := func() result {
			r := newRequest(t, "GET", uri, nil)
			for k, vs := range hdr {
				if k != "Host" {
					r.Header[k] = vs
				}
			}
			return send(t, r)
		}
		wantOK(t, get())

		v.Now = func() time.Time { return signTime.Add(10 * time.Minute) }
		if expires == "" {
			wantOK(t, get())
		} else {
			// A shorter X-Amz-Expires is honoured.
			wantErr(t, get(), sluice.EInvalidSignature,
				"Signature expired: 20260101T001000Z is now earlier than 20260101T001500Z (20260101T002000Z - X-Amz-Expires 300 sec.)")
		}
		v.Now = func() time.Time { return signTime.Add(5 * time.Minute) }
		wantOK(t, get()) // exactly X-Amz-Expires old
		v.Now = func() time.Time { return signTime }

		tampered := strings.Replace(uri, "Qualifier=1", "Qualifier=2", 1)
		r := newRequest(t, "GET", tampered, nil)
		wantErr(t, send(t, r), sluice.EInvalidSignature, msgMismatch)

		r = newRequest(t, "GET", uri, nil)
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		wantErrContains(t, send(t, r), sluice.EInvalidSignature, "Only one auth mechanism allowed")
	}
}

// TestMalformed checks the messages of malformed signatures.
func TestMalformed(t *testing.T) {
	const cred = "Credential=test/20260101/us-east-1/lambda/aws4_request"
	const rest = ", SignedHeaders=host;x-amz-date, Signature=0123"
	tests := []struct {
		name   string
		authz  []string
		date   string
		query  string
		code   sluice.ErrorCode
		msg    string
		prefix bool
	}{
		{name: "no authorization", code: sluice.EMissingToken, msg: msgMissingToken},
		{name: "blank authorization", authz: []string{"  "}, code: sluice.EMissingToken, msg: msgMissingToken},
		{name: "other algorithm", authz: []string{"Bearer abc"}, code: sluice.EInvalidSignature,
			msg: "Unsupported AWS 'algorithm': 'Bearer'; only 'AWS4-HMAC-SHA256' is accepted. Authorization=Bearer abc"},
		{name: "sigv2", authz: []string{"AWS test:abc"}, code: sluice.EInvalidSignature, msg: "Unsupported AWS 'algorithm': 'AWS'", prefix: true},
		{name: "algorithm only", authz: []string{"AWS4-HMAC-SHA256"}, code: sluice.EInvalidSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{name: "credential only", authz: []string{"AWS4-HMAC-SHA256 " + cred}, code: sluice.EInvalidSignature,
			msg: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 " + cred},
		{name: "no date", authz: []string{"AWS4-HMAC-SHA256 " + cred + rest}, date: "-", code: sluice.EInvalidSignature,
			msg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 " + cred + rest},
		{name: "missing equal sign", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders"}, code: sluice.EInvalidSignature,
			msg: "Invalid key=value pair (missing equal-sign) in Authorization header: 'SignedHeaders'.", prefix: true},
		{name: "duplicate parameter", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", " + cred + rest}, code: sluice.EInvalidSignature,
			msg: "Authorization header has more than one 'Credential' parameter.", prefix: true},
		{name: "two authorization headers", authz: []string{"AWS4-HMAC-SHA256 " + cred + rest, "AWS4-HMAC-SHA256 " + cred + rest},
			code: sluice.EInvalidSignature, msg: "The request carries more than one Authorization header."},
		{name: "short credential", authz: []string{"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda" + rest}, code: sluice.EInvalidSignature,
			msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'test/20260101/us-east-1/lambda'"},
		{name: "slash in key", authz: []string{"AWS4-HMAC-SHA256 Credential=te/st/20260101/us-east-1/lambda/aws4_request" + rest}, code: sluice.EInvalidSignature,
			msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'te/st/20260101/us-east-1/lambda/aws4_request'"},
		{name: "terminator", authz: []string{"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4" + rest}, code: sluice.EInvalidSignature,
			msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'."},
		{name: "service", authz: []string{"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sts/aws4_request" + rest}, code: sluice.EInvalidSignature,
			msg: "Credential should be scoped to correct service: 'lambda'."},
		{name: "empty region", authz: []string{"AWS4-HMAC-SHA256 Credential=test/20260101//lambda/aws4_request" + rest}, code: sluice.EInvalidSignature,
			msg: "Credential should be scoped to a valid region."},
		{name: "scope date", authz: []string{"AWS4-HMAC-SHA256 Credential=test/20260102/us-east-1/lambda/aws4_request" + rest}, code: sluice.EInvalidSignature,
			msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260102' != '20260101', from '20260101T001000Z'."},
		{name: "date format", authz: []string{"AWS4-HMAC-SHA256 " + cred + rest}, date: "2026-01-01T00:10:00Z", code: sluice.EInvalidSignature,
			msg: "Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:10:00Z'."},
		{name: "host not signed", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date, Signature=0123"}, code: sluice.EInvalidSignature,
			msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "unknown key", authz: []string{"AWS4-HMAC-SHA256 Credential=nobody/20260101/us-east-1/lambda/aws4_request" + rest},
			code: sluice.EUnrecognizedClient, msg: msgUnknownClient},
		{name: "unknown parameter ignored", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", Foo=bar" + rest}, code: sluice.EInvalidSignature, msg: msgMismatch},
		{name: "query incomplete", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256", code: sluice.EInvalidSignature,
			msg: "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."},
		{name: "query algorithm", code: sluice.EInvalidSignature,
			query: "X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Signature=00&X-Amz-Date=20260101T001000Z&X-Amz-SignedHeaders=host",
			msg:   "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256', not 'AWS4-HMAC-SHA1'."},
		{name: "query expires", code: sluice.EInvalidSignature,
			query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Signature=00&X-Amz-Date=20260101T001000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=604801",
			msg:   "X-Amz-Expires must be a number of seconds between 1 and 604800, not '604801'."},
		{name: "query duplicate", code: sluice.EInvalidSignature,
			query: "X-Amz-Signature=00&X-Amz-Signature=01",
			msg:   "The query string has more than one 'X-Amz-Signature' parameter."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/2015-03-31/functions/f/invocations?"+tt.query, nil)
			req.Header["Authorization"] = tt.authz
			switch tt.date {
			case "":
				req.Header.Set("X-Amz-Date", "20260101T001000Z")
			case "-":
			default:
				req.Header.Set("X-Amz-Date", tt.date)
			}
			_, err := testVerifier().Verify(req, nil)
			var e *sluice.Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify = %v, want a *sluice.Error", err)
			}
			if e.Code != tt.code {
				t.Errorf("code = %q (%s), want %q", e.Code, e.Message, tt.code)
			}
			if tt.prefix && !strings.HasPrefix(e.Message, tt.msg) || !tt.prefix && e.Message != tt.msg {
				t.Errorf("message = %q, want %q", e.Message, tt.msg)
			}
		})
	}
}

// TestMismatchDetail checks that a mismatch carries the canonical request
// for logs, not for the client.
func TestMismatchDetail(t *testing.T) {
	req := newRequest(t, "POST", "http://lambda.local"+arnPath+"?Qualifier=%24LATEST", []byte("{}"))
	o := defaultOpts()
	o.secret = "wrong"
	sdkSign(t, req, []byte("{}"), o)
	_, err := testVerifier().Verify(req, []byte("{}"))
	var e *sluice.Error
	if !errors.As(err, &e) || e.Err == nil {
		t.Fatalf("Verify = %v, want an error with a cause", err)
	}
	detail := e.Err.Error()
	for _, want := range []string{`arn%253Aaws%253Alambda`, `Qualifier=%24LATEST`, `host:lambda.local`, "AWS4-HMAC-SHA256"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %s lacks %s", detail, want)
		}
	}
	if strings.Contains(e.Message, "arn") {
		t.Errorf("client message leaks detail: %s", e.Message)
	}
}

// TestAWSSuite runs vectors of the AWS SigV4 test suite (service "service",
// as the suite's fixture in the JS SDK states them).
func TestAWSSuite(t *testing.T) {
	v := &Verifier{
		// The suite's keys are temporary ones in the post-sts vector: the
		// token is passed to Secret, whose job it is to check it.
		Secret: func(id, _ string) (string, error) {
			return StaticCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")(id, "")
		},
		Service: "service",
		Region:  "us-east-1",
		Now:     func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) },
	}
	const prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	tests := []struct {
		name, method, target string
		header               http.Header
		body                 string
		authz                string
	}{
		{"get-vanilla", "GET", "/", nil, "", "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-header-key-duplicate", "GET", "/", http.Header{"My-Header1": {"value2", "value2", "value1"}}, "",
			"SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
		{"get-header-value-order", "GET", "/", http.Header{"My-Header1": {"value4", "value1", "value3", "value2"}}, "",
			"SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
		{"get-header-value-trim", "GET", "/", http.Header{"My-Header1": {"value1"}, "My-Header2": {`"a   b   c"`}}, "",
			"SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
		{"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
		{"get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"get-vanilla-query-unreserved", "GET", "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
		{"get-vanilla-utf8-query", "GET", "/?%E1%88%B4=bar", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
		{"post-vanilla", "POST", "/", nil, "", "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{"post-header-key-sort", "POST", "/", http.Header{"My-Header1": {"value1"}}, "",
			"SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
		{"post-header-value-case", "POST", "/", http.Header{"My-Header1": {"VALUE1"}}, "",
			"SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
		{"post-sts-header-before", "POST", "/", http.Header{"X-Amz-Security-Token": {"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="}}, "",
			"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
		{"post-vanilla-query", "POST", "/?Param1=value1", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
		{"post-vanilla-query-nonunreserved", "POST", "/?%40%23%24%25%5E=&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"},
		{"post-vanilla-query-space", "POST", "/?p=", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=e71688addb58a26418614085fb730ba3faa623b461c17f48f2fbdb9361b94a9b"},
		{"post-x-www-form-urlencoded", "POST", "/", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "Param1=value1",
			"SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
		{"post-x-www-form-urlencoded-parameters", "POST", "/", http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf8"}}, "Param1=value1",
			"SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
		// The suite's request line holds raw UTF-8, which is escaped once;
		// SDK clients send it escaped already, and that is escaped again.
		{"get-utf8", "GET", "/ሴ", nil, "",
			"SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://example.amazonaws.com/", strings.NewReader(tt.body))
			req.RequestURI = tt.target
			req.Header = http.Header{"X-Amz-Date": {"20150830T123600Z"}, "Authorization": {prefix + tt.authz}}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			if _, err := v.Verify(req, []byte(tt.body)); err != nil {
				t.Fatal(err)
			}
			// One bit off fails.
			req.Header.Set("Authorization", flipLast(req.Header.Get("Authorization")))
			if code := sluice.ErrorCodeOf(second(v.Verify(req, []byte(tt.body)))); code != sluice.EInvalidSignature {
				t.Fatalf("tampered signature: code %q", code)
			}
		})
	}
}

// flipLast changes the last hex digit of s.
func flipLast(s string) string {
	if strings.HasSuffix(s, "0") {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"/":                 "/",
		"":                  "",
		"/a/b":              "/a/b",
		"/a//b/":            "/a/b/",
		"/a/./b/../c":       "/a/c",
		"/../..":            "/",
		"//":                "/",
		"/a/b/..":           "/a",
		"/a%2F./b":          "/a%2F./b",
		"/functions/f/./x/": "/functions/f/x/",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUriEncode(t *testing.T) {
	for _, tt := range []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"/a%3Ab/c", true, "/a%253Ab/c"},
		{"a/b c+d", false, "a%2Fb%20c%2Bd"},
		{"-._~AZaz09", false, "-._~AZaz09"},
		{"$LATEST", false, "%24LATEST"},
		{"\xff\x00", false, "%FF%00"},
	} {
		if got := uriEncode(tt.in, tt.keepSlash); got != tt.want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", tt.in, tt.keepSlash, got, tt.want)
		}
	}
}

func TestStaticCredentials(t *testing.T) {
	f := StaticCredentials("AKID", "SECRET")
	if s, err := f("AKID", ""); err != nil || s != "SECRET" {
		t.Errorf(`f("AKID") = %q, %v`, s, err)
	}
	for _, id := range []string{"", "akid", "AKID2"} {
		if s, err := f(id, ""); sluice.ErrorCodeOf(err) != sluice.EUnrecognizedClient || s != "" {
			t.Errorf("f(%q) = %q, %v", id, s, err)
		}
	}
	if s, err := f("AKID", "a-token"); sluice.ErrorCodeOf(err) != sluice.EUnrecognizedClient || s != "" {
		t.Errorf("f(AKID, a token) = %q, %v; a static key has no session token", s, err)
	}
}

func second[T any](_ T, err error) error { return err }

// CheckHeader looks the key up once, Header.Verify finishes without a
// second lookup, and both halves still refuse what Verify refuses: a body
// that does not match, a signature that expired while the body came.
func TestCheckHeaderThenVerify(t *testing.T) {
	lookups := 0
	now := signTime
	v := &Verifier{
		Secret: func(id, token string) (string, error) {
			lookups++
			return StaticCredentials(testKey, testSecret)(id, token)
		},
		Service: "lambda",
		Now:     func() time.Time { return now },
	}
	body := []byte(`{"hello":"world"}`)
	req := newRequest(t, http.MethodPost, "http://127.0.0.1/2015-03-31/functions/f/invocations", body)
	sdkSign(t, req, body, defaultOpts())
	h, err := v.CheckHeader(req)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := h.Verify(req, body)
	if err != nil || sig.AccessKeyID != testKey || lookups != 1 {
		t.Fatalf("Verify = %+v, %v after %d key lookups, want the signature after one", sig, err, lookups)
	}
	if _, err := h.Verify(req, []byte(`{"hello":"there"}`)); sluice.ErrorCodeOf(err) != sluice.EInvalidSignature {
		t.Fatalf("another body: %v, want %s", err, sluice.EInvalidSignature)
	}
	now = signTime.Add(time.Hour) // the body took an hour
	if _, err := h.Verify(req, body); sluice.ErrorCodeOf(err) != sluice.EInvalidSignature {
		t.Fatalf("after an hour: %v, want %s", err, sluice.EInvalidSignature)
	}
}
