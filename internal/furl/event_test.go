package furl

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/sluice-dev/sluice"
)

const testID = "abcdefghijklmnopqrstuvwxyz012345"

func testContext(auth string) EventContext {
	return EventContext{
		Config:    &sluice.FunctionURLConfig{FunctionName: "fn", URLID: testID, AuthType: auth},
		AccountID: "123456789012",
		RequestID: "0c3a2b1e-1111-4222-8333-944445555666",
		SourceIP:  "127.0.0.1",
		Time:      time.Date(2020, 3, 12, 19, 3, 58, 390_000_000, time.UTC),
	}
}

// TestEventShape builds the event of the AWS documentation's example
// request and decodes it with aws-lambda-go's type, as a Go function does.
func TestEventShape(t *testing.T) {
	r := httptest.NewRequest("POST", "http://"+testID+".lambda-url.us-east-1.localhost:9001/my/path?parameter1=value1&parameter1=value2&parameter2=value", strings.NewReader("Hello from client!"))
	r.Header.Set("Content-Type", "text/plain")
	r.Header.Add("Header2", "value1")
	r.Header.Add("header2", "value2") // canonicalised: one header, two values
	r.Header.Add("Cookie", "cookie1=a; cookie2=b")
	r.Header.Add("Cookie", "cookie3=c")
	r.Header.Set("User-Agent", "agent")
	r.Header.Set("Connection", "keep-alive")
	r.Header.Set("X-Forwarded-For", "10.0.0.1")
	ec := testContext(sluice.URLAuthNone)
	ec.TraceID = "Root=1-5e6a8a7e-0123456789abcdef01234567"
	b, err := Event(r, []byte("Hello from client!"), ec)
	if err != nil {
		t.Fatal(err)
	}
	var e events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("aws-lambda-go cannot decode the event: %v\n%s", err, b)
	}
	want := events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        "/my/path",
		RawQueryString: "parameter1=value1&parameter1=value2&parameter2=value",
		Cookies:        []string{"cookie1=a", "cookie2=b", "cookie3=c"},
		Headers: map[string]string{
			"content-type":      "text/plain",
			"header2":           "value1,value2",
			"user-agent":        "agent",
			"host":              testID + ".lambda-url.us-east-1.localhost:9001",
			"x-forwarded-for":   "10.0.0.1, 127.0.0.1",
			"x-forwarded-proto": "http",
			"x-forwarded-port":  "9001",
			"x-amzn-trace-id":   "Root=1-5e6a8a7e-0123456789abcdef01234567",
			"content-length":    "18",
		},
		QueryStringParameters: map[string]string{"parameter1": "value1,value2", "parameter2": "value"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    "anonymous",
			RequestID:    "0c3a2b1e-1111-4222-8333-944445555666",
			APIID:        testID,
			DomainName:   testID + ".lambda-url.us-east-1.localhost",
			DomainPrefix: testID,
			Time:         "12/Mar/2020:19:03:58 +0000",
			TimeEpoch:    1584039838390,
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: "POST", Path: "/my/path", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "agent",
			},
		},
		Body: "Hello from client!",
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("event:\n got %+v\nwant %+v", e, want)
	}
	// The raw JSON has AWS's constant members and no authorizer for NONE.
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	rc := raw["requestContext"].(map[string]any)
	if raw["routeKey"] != "$default" || rc["routeKey"] != "$default" || rc["stage"] != "$default" {
		t.Errorf("routeKey/stage: %v %v %v", raw["routeKey"], rc["routeKey"], rc["stage"])
	}
	if _, ok := rc["authorizer"]; ok {
		t.Error("a NONE URL's event has an authorizer")
	}
	if raw["isBase64Encoded"] != false {
		t.Errorf("isBase64Encoded = %v", raw["isBase64Encoded"])
	}
}

func TestEventIAM(t *testing.T) {
	r := httptest.NewRequest("GET", "http://127.0.0.1:9001/lambda-url/"+testID+"/x", nil)
	ec := testContext(sluice.URLAuthIAM)
	ec.RawPath = "/x"
	ec.Caller = &IAMCaller{AccessKey: "AKIAEXAMPLE", AccountID: "111122223333", CallerID: "AIDAEXAMPLE", UserARN: "arn:aws:iam::111122223333:user/u", UserID: "AIDAEXAMPLE"}
	b, err := Event(r, nil, ec)
	if err != nil {
		t.Fatal(err)
	}
	var e events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.RequestContext.AccountID != "123456789012" {
		t.Errorf("accountId = %q, want the owner's", e.RequestContext.AccountID)
	}
	iam := e.RequestContext.Authorizer.IAM
	if iam == nil || iam.AccessKey != "AKIAEXAMPLE" || iam.AccountID != "111122223333" || iam.UserARN != "arn:aws:iam::111122223333:user/u" {
		t.Errorf("authorizer.iam = %+v", iam)
	}
	if e.RawPath != "/x" || e.RequestContext.HTTP.Path != "/x" || e.RequestContext.DomainName != "127.0.0.1" {
		t.Errorf("path-style: rawPath %q, http.path %q, domainName %q", e.RawPath, e.RequestContext.HTTP.Path, e.RequestContext.DomainName)
	}
	if strings.Contains(string(b), `"body"`) || e.Cookies != nil || e.QueryStringParameters != nil {
		t.Errorf("empty members not omitted: %s", b)
	}
	if e.Headers["content-length"] != "" {
		t.Errorf("content-length %q for an empty body", e.Headers["content-length"])
	}
}

func TestEventBody(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		body        string
		b64         bool
	}{
		{"text/plain", "text", false},
		{"text/html; charset=utf-8", "<p>ü</p>", false},
		{"application/json", `{"a":1}`, false},
		{"application/problem+json", `{}`, false},
		{"application/xml", "<a/>", false},
		{"application/javascript", "x()", false},
		{"application/octet-stream", "bytes", true},
		{"image/png", "\x89PNG", true},
		// Recorded: test_lambda_url_form_payload sends multipart and gets base64.
		{"multipart/form-data; boundary=4efd", "--4efd\r\n", true},
		{"application/x-www-form-urlencoded", "a=1&b=2", true},
		{"", "no type", true},
		{"text/plain", "\xff\xfe not utf-8", true},
	} {
		r := httptest.NewRequest("POST", "http://h/", strings.NewReader(tc.body))
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		b, err := Event(r, []byte(tc.body), testContext(sluice.URLAuthNone))
		if err != nil {
			t.Fatal(err)
		}
		var e events.LambdaFunctionURLRequest
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if e.IsBase64Encoded != tc.b64 {
			t.Errorf("%q: isBase64Encoded = %v, want %v", tc.contentType, e.IsBase64Encoded, tc.b64)
		}
		got := e.Body
		if e.IsBase64Encoded {
			d, err := base64.StdEncoding.DecodeString(got)
			if err != nil {
				t.Fatal(err)
			}
			got = string(d)
		}
		if got != tc.body {
			t.Errorf("%q: body = %q, want %q", tc.contentType, got, tc.body)
		}
	}
}

func TestEventTLSAndPorts(t *testing.T) {
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	b, err := Event(r, nil, testContext(sluice.URLAuthNone))
	if err != nil {
		t.Fatal(err)
	}
	var e events.LambdaFunctionURLRequest
	_ = json.Unmarshal(b, &e)
	if e.Headers["x-forwarded-proto"] != "https" || e.Headers["x-forwarded-port"] != "443" || e.RawPath != "/" {
		t.Errorf("headers %v rawPath %q", e.Headers, e.RawPath)
	}
	if _, err := Event(r, nil, EventContext{}); err == nil {
		t.Error("Event without a configuration succeeded")
	}
	r2 := httptest.NewRequest("GET", "http://h/", nil)
	r2.Header.Set("X-Forwarded-Proto", "https") // the client cannot claim TLS
	ec := testContext(sluice.URLAuthNone)
	ec.Port = "8443"
	b, _ = Event(r2, nil, ec)
	_ = json.Unmarshal(b, &e)
	if e.Headers["x-forwarded-proto"] != "http" || e.Headers["x-forwarded-port"] != "8443" {
		t.Errorf("headers %v", e.Headers)
	}
	_ = http.MethodGet
}
