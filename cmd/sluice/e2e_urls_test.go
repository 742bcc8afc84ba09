package main

// Function URLs end to end: the five configuration operations through the
// Go SDK, and requests to the URLs through a plain HTTP client (host style
// and path style), with the aws-lambda-go test function's urlreply and
// urlstream handlers.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// urlClient is an HTTP client that reaches sluice whatever host name the
// URL has (Go's resolver does not map *.localhost to loopback).
func (ts *testServer) urlClient() *http.Client {
	addr := ts.Addr()
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
			DisableCompression: true,
		},
	}
}

// createURL gives fn a URL (qualifier "" or an alias) and returns its
// FunctionUrl.
func (ts *testServer) createURL(t *testing.T, fn, qualifier string, mod ...func(*lambda.CreateFunctionUrlConfigInput)) string {
	t.Helper()
	in := &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(fn), AuthType: types.FunctionUrlAuthTypeNone}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	for _, m := range mod {
		m(in)
	}
	out, err := ts.Client.CreateFunctionUrlConfig(ctx(t), in)
	if err != nil {
		t.Fatalf("CreateFunctionUrlConfig %s: %v", fn, err)
	}
	return aws.ToString(out.FunctionUrl)
}

func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want %s %q", err, code, msg)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("error %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func TestFunctionURLConfigLifecycle(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "web", "urlreply")
	c := ts.Client
	arn := "arn:aws:lambda:us-east-1:000000000000:function:web"

	created, err := c.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(aws.ToString(created.FunctionUrl))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ts.Addr())
	if !strings.HasSuffix(u.Hostname(), ".lambda-url.us-east-1.localhost") || u.Port() != port || u.Path != "/" || len(strings.Split(u.Hostname(), ".")[0]) != 32 {
		t.Errorf("FunctionUrl %s, want http://<32 chars>.lambda-url.us-east-1.localhost:%s/", aws.ToString(created.FunctionUrl), port)
	}
	if aws.ToString(created.FunctionArn) != arn || created.AuthType != types.FunctionUrlAuthTypeNone || created.InvokeMode != "" || created.CreationTime == nil {
		t.Errorf("create: %+v", created)
	}

	_, err = c.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone})
	apiError(t, err, "ResourceConflictException", "Failed to create function url config for [functionArn = "+arn+"]. Error message:  FunctionUrlConfig exists for this Lambda function")

	got, err := c.GetFunctionUrlConfig(ctx(t), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if got.InvokeMode != types.InvokeModeBuffered || got.LastModifiedTime == nil || aws.ToString(got.FunctionUrl) != aws.ToString(created.FunctionUrl) {
		t.Errorf("get: %+v", got)
	}

	upd, err := c.UpdateFunctionUrlConfig(ctx(t), &lambda.UpdateFunctionUrlConfigInput{
		FunctionName: aws.String("web"), InvokeMode: types.InvokeModeResponseStream,
		Cors: &types.Cors{AllowOrigins: []string{"https://example.com"}, AllowMethods: []string{"POST"}, MaxAge: aws.Int32(300)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if upd.InvokeMode != types.InvokeModeResponseStream || upd.AuthType != types.FunctionUrlAuthTypeNone || upd.Cors == nil || upd.Cors.AllowOrigins[0] != "https://example.com" || aws.ToInt32(upd.Cors.MaxAge) != 300 {
		t.Errorf("update: %+v", upd)
	}

	_, err = c.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone, InvokeMode: "UNKNOWN"})
	apiError(t, err, "ValidationException", "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
	for _, q := range []string{"1", "$LATEST"} {
		_, err = c.GetFunctionUrlConfig(ctx(t), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("web"), Qualifier: aws.String(q)})
		apiError(t, err, "ValidationException", "1 validation error detected: Value '"+q+"' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)")
	}
	_, err = c.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("nope"), AuthType: types.FunctionUrlAuthTypeNone})
	apiError(t, err, "ResourceNotFoundException", "Function does not exist")
	_, err = c.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), Qualifier: aws.String("nope"), AuthType: types.FunctionUrlAuthTypeNone})
	apiError(t, err, "ResourceNotFoundException", "Function does not exist")
	_, err = c.GetFunctionUrlConfig(ctx(t), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("web"), Qualifier: aws.String("nope")})
	apiError(t, err, "ResourceNotFoundException", "The resource you requested does not exist.")

	// An alias's URL: listed after the function's own, paged, and gone
	// with the alias.
	if _, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("web"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	aliasURL := ts.createURL(t, "web", "live")
	if aliasURL == aws.ToString(created.FunctionUrl) {
		t.Fatalf("the alias's URL is the function's")
	}
	page1, err := c.ListFunctionUrlConfigs(ctx(t), &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("web"), MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.FunctionUrlConfigs) != 1 || aws.ToString(page1.FunctionUrlConfigs[0].FunctionArn) != arn || page1.NextMarker == nil {
		t.Fatalf("list page 1: %+v", page1)
	}
	page2, err := c.ListFunctionUrlConfigs(ctx(t), &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("web"), Marker: page1.NextMarker})
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.FunctionUrlConfigs) != 1 || aws.ToString(page2.FunctionUrlConfigs[0].FunctionArn) != arn+":live" || page2.NextMarker != nil ||
		page2.FunctionUrlConfigs[0].InvokeMode != types.InvokeModeBuffered {
		t.Fatalf("list page 2: %+v", page2)
	}
	if _, err := c.DeleteAlias(ctx(t), &lambda.DeleteAliasInput{FunctionName: aws.String("web"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	resp, err := ts.urlClient().Get(aliasURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || string(b) != `{"Message":null}` || resp.Header.Get("X-Amzn-Errortype") != "AccessDeniedException" {
		t.Errorf("the URL of a deleted alias: %d %s %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), b)
	}

	if _, err := c.DeleteFunctionUrlConfig(ctx(t), &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunctionUrlConfig(ctx(t), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("web")})
	apiError(t, err, "ResourceNotFoundException", "The resource you requested does not exist.")
	_, err = c.DeleteFunctionUrlConfig(ctx(t), &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("web")})
	apiError(t, err, "ResourceNotFoundException", "The resource you requested does not exist.")
}

// post sends body to u and returns status, headers and the whole body.
func post(t *testing.T, c *http.Client, u, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Post(u, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", u, err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestFunctionURLBuffered(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "web", "urlreply")
	fu := ts.createURL(t, "web", "")
	hc := ts.urlClient()
	id := strings.Split(strings.TrimPrefix(fu, "http://"), ".")[0]
	pathStyle := ts.URL + "/lambda-url/" + id + "/"

	for _, base := range []string{fu, pathStyle} {
		// A response object: status, headers, cookies, body.
		status, h, b := post(t, hc, base+"x", "application/json",
			[]byte(`{"statusCode":201,"headers":{"Content-Type":"text/plain","X-Custom":"yes"},"cookies":["a=1","b=2; Path=/"],"body":"created"}`))
		if status != 201 || string(b) != "created" || h.Get("Content-Type") != "text/plain" || h.Get("X-Custom") != "yes" ||
			strings.Join(h.Values("Set-Cookie"), "|") != "a=1|b=2; Path=/" {
			t.Errorf("%s: response object: %d %v %q", base, status, h, b)
		}
		// A string status code, as AWS accepts.
		if status, _, b := post(t, hc, base, "application/json", []byte(`{"statusCode":"418","body":"i'm a teapot"}`)); status != 418 || string(b) != "i'm a teapot" {
			t.Errorf("%s: string statusCode: %d %q", base, status, b)
		}
		// A base64 body.
		bin := []byte{0, 1, 2, 0xff, 0xfe}
		if status, _, b := post(t, hc, base, "application/json", []byte(`{"statusCode":200,"body":"`+base64.StdEncoding.EncodeToString(bin)+`","isBase64Encoded":true}`)); status != 200 || !bytes.Equal(b, bin) {
			t.Errorf("%s: base64 body: %d %x", base, status, b)
		}
		// Values that are not response objects: 200, application/json, as
		// recorded from AWS (a string is sent unquoted).
		for in, want := range map[string]string{`"hello"`: "hello", `3`: "3", `3.1`: "3.1", `true`: "true", `["hello",3,true]`: `["hello",3,true]`, `{"hello":"world"}`: `{"hello":"world"}`} {
			status, h, b := post(t, hc, base, "application/json", []byte(in))
			if status != 200 || string(b) != want || h.Get("Content-Type") != "application/json" {
				t.Errorf("%s: returning %s: %d %q %q, want 200 %q application/json", base, in, status, b, h.Get("Content-Type"), want)
			}
		}
		// A function error.
		if status, _, b := post(t, hc, base+"fail", "application/json", []byte(`{}`)); status != 502 || string(b) != "Internal Server Error" {
			t.Errorf("%s: function error: %d %q, want 502 Internal Server Error", base, status, b)
		}
	}

	// The event the function sees.
	req, _ := http.NewRequest("POST", fu+"event?a=1&a=2&b=x%20y", bytes.NewReader([]byte{0xff, 0x00, 0x01}))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("Cookie", "c1=v1; c2=v2")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ev struct {
		Version, RawPath, RawQueryString, Body string
		Cookies                                []string
		Headers, QueryStringParameters         map[string]string
		IsBase64Encoded                        bool
		RequestContext                         struct {
			AccountID, APIID, DomainName, DomainPrefix, RequestID string
			HTTP                                                  struct{ Method, Path, Protocol, SourceIP string }
			TimeEpoch                                             int64
		}
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("event %s: %v", b, err)
	}
	if ev.Version != "2.0" || ev.RawPath != "/event" || ev.RawQueryString != "a=1&a=2&b=x%20y" ||
		ev.QueryStringParameters["a"] != "1,2" || ev.QueryStringParameters["b"] != "x y" ||
		strings.Join(ev.Cookies, "|") != "c1=v1|c2=v2" || ev.Headers["x-multi"] != "one,two" || ev.Headers["content-type"] != "application/octet-stream" ||
		!ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0x01}) {
		t.Errorf("event: %s", b)
	}
	rc := ev.RequestContext
	if rc.AccountID != "anonymous" || rc.APIID != id || rc.DomainPrefix != id || rc.HTTP.Method != "POST" || rc.HTTP.Path != "/event" ||
		rc.HTTP.SourceIP != "127.0.0.1" || rc.RequestID != resp.Header.Get("X-Amzn-Requestid") || rc.TimeEpoch == 0 {
		t.Errorf("requestContext: %+v (X-Amzn-Requestid %q)", rc, resp.Header.Get("X-Amzn-Requestid"))
	}
	// The invocation's log carries the same request id.
	if rid := rc.RequestID; !eventually(5*time.Second, func() bool { return strings.Contains(ts.logs.String(), "END RequestId: "+rid) }) {
		t.Errorf("no END line for request %s in the function log", rid)
	}

	// A URL id nobody has.
	status, h, body := post(t, hc, ts.URL+"/lambda-url/0123456789abcdefghijklmnopqrstuv/", "application/json", []byte(`{}`))
	if status != 403 || string(body) != `{"Message":null}` || h.Get("X-Amzn-Errortype") != "AccessDeniedException" || h.Get("Content-Type") != "application/json" {
		t.Errorf("unknown URL: %d %v %q", status, h, body)
	}
	// The same id in another region's host name names nothing here.
	other := strings.Replace(fu, ".us-east-1.", ".eu-west-1.", 1)
	if status, h, body := post(t, hc, other, "application/json", []byte(`{}`)); status != 403 || h.Get("X-Amzn-Errortype") != "AccessDeniedException" || string(body) != `{"Message":null}` {
		t.Errorf("another region's host: %d %v %q", status, h, body)
	}
	// Over 6 MB.
	if status, _, _ := post(t, hc, fu, "application/json", bytes.Repeat([]byte("x"), 6*1024*1024+1)); status != 413 {
		t.Errorf("a 6 MB + 1 request: %d, want 413", status)
	}
}

// readTimed reads r to the end, returning each piece with the time it
// arrived.
type piece struct {
	data string
	at   time.Time
}

func readTimed(r io.Reader) ([]piece, error) {
	var ps []piece
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		buf := make([]byte, 64<<10)
		n, err := br.Read(buf)
		if n > 0 {
			ps = append(ps, piece{string(buf[:n]), time.Now()})
		}
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return ps, err
		}
	}
}

func TestFunctionURLStreaming(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "live", "urlstream")
	fu := ts.createURL(t, "live", "", func(in *lambda.CreateFunctionUrlConfigInput) { in.InvokeMode = types.InvokeModeResponseStream })
	hc := ts.urlClient()

	// The function writes part-0, then part-1 700 ms later, part-2 700 ms
	// after that: the client reads part-0 long before part-2 exists.
	resp, err := hc.Get(fu + "?chunks=3&pauseMs=700")
	if err != nil {
		t.Fatal(err)
	}
	headersAt := time.Now()
	ps, err := readTimed(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || resp.Header.Get("X-Stream") != "yes" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		resp.Header.Get("Set-Cookie") != "flavour=oat; Path=/" || len(resp.TransferEncoding) == 0 {
		t.Errorf("streamed response: %d %v (transfer encoding %v)", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	var all strings.Builder
	for _, p := range ps {
		all.WriteString(p.data)
	}
	if all.String() != "part-0\npart-1\npart-2\n" {
		t.Fatalf("body %q", all.String())
	}
	if len(ps) < 2 || !strings.HasPrefix(ps[0].data, "part-0") || ps[len(ps)-1].at.Sub(ps[0].at) < 1000*time.Millisecond {
		t.Errorf("pieces %v: the first part did not arrive well before the last (headers at %v)", ps, headersAt)
	}

	// A failure before the first byte is a 502; after it, the response is
	// cut: the client sees an error, not a clean end.
	if status, _, b := post(t, hc, fu+"?fail=first", "application/json", nil); status != 502 || string(b) != "Internal Server Error" {
		t.Errorf("fail=first: %d %q", status, b)
	}
	resp, err = hc.Get(fu + "?fail=mid&pauseMs=200")
	if err != nil {
		t.Fatal(err)
	}
	ps, err = readTimed(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || err == nil || len(ps) == 0 || ps[0].data != "part-0\n" {
		t.Errorf("fail=mid: status %d, pieces %v, read error %v; want 201, part-0, then a broken body", resp.StatusCode, ps, err)
	}
}

func TestFunctionURLCORS(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "web", "urlreply")
	fu := ts.createURL(t, "web", "", func(in *lambda.CreateFunctionUrlConfigInput) {
		in.Cors = &types.Cors{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"POST"}, AllowHeaders: []string{"x-token"},
			ExposeHeaders: []string{"x-custom"}, MaxAge: aws.Int32(600)}
	})
	hc := ts.urlClient()

	req, _ := http.NewRequest("OPTIONS", fu, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "X-Token")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "x-token") || h.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %d %v", resp.StatusCode, h)
	}
	// The preflight did not run the function.
	if strings.Contains(ts.logs.String(), "START RequestId") {
		t.Errorf("the preflight invoked the function:\n%s", ts.logs.String())
	}
	// A preflight from an origin not allowed gets no CORS headers.
	req.Header.Set("Origin", "https://evil.example")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin allowed: %v", resp.Header)
	}

	req, _ = http.NewRequest("POST", fu, strings.NewReader(`{"statusCode":200,"body":"ok"}`))
	req.Header.Set("Origin", "https://app.example")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")), "x-custom") {
		t.Errorf("CORS on the response: %d %v %q", resp.StatusCode, resp.Header, b)
	}
}

func TestFunctionURLIAM(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "private", "urlreply")
	fu := ts.createURL(t, "private", "", func(in *lambda.CreateFunctionUrlConfigInput) { in.AuthType = types.FunctionUrlAuthTypeAwsIam })
	hc := ts.urlClient()

	// Unsigned: refused, and the function never runs.
	status, h, b := post(t, hc, fu+"event", "application/json", []byte(`{}`))
	if status != 403 || h.Get("X-Amzn-Errortype") != "AccessDeniedException" || !strings.Contains(string(b), "Forbidden") {
		t.Errorf("unsigned: %d %v %q", status, h, b)
	}
	// Signed with the wrong secret: refused.
	sign := func(secret string, body []byte) *http.Request {
		req, _ := http.NewRequest("POST", fu+"event", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256(body)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: secret},
			req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	resp, err := hc.Do(sign("wrong", []byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("wrong secret: %d, want 403", resp.StatusCode)
	}
	if strings.Contains(ts.logs.String(), "START RequestId") {
		t.Errorf("a refused request invoked the function")
	}
	// Signed: the function runs and sees who called.
	resp, err = hc.Do(sign("test", []byte(`{"x":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var ev struct {
		RequestContext struct {
			AccountID  string
			Authorizer struct {
				IAM struct{ AccessKey, AccountID string }
			}
		}
	}
	if err := json.Unmarshal(b, &ev); err != nil || resp.StatusCode != 200 {
		t.Fatalf("signed: %d %q (%v)", resp.StatusCode, b, err)
	}
	if rc := ev.RequestContext; rc.AccountID != "000000000000" || rc.Authorizer.IAM.AccessKey != "test" || rc.Authorizer.IAM.AccountID != "000000000000" {
		t.Errorf("signed: requestContext %+v", rc)
	}
}
