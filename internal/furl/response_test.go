package furl

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestMapBuffered(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		status        int
		header        map[string][]string
		body          string
	}{
		// Recorded against AWS: LocalStack test_lambda_url_invocation[*]
		// (Python handlers; the runtime sends compact JSON).
		{name: "dict", payload: `{"hello":"world"}`, status: 200, header: map[string][]string{"Content-Type": {"application/json"}}, body: `{"hello":"world"}`},
		{name: "http-response", payload: `{"statusCode":200,"body":"body123"}`, status: 200, header: map[string][]string{"Content-Type": {"application/json"}}, body: "body123"},
		{name: "http-response-json", payload: `{"statusCode":200,"body":"{\"hello\": \"world\"}"}`, status: 200, header: map[string][]string{"Content-Type": {"application/json"}}, body: `{"hello": "world"}`},
		{name: "list-mixed", payload: `["hello",3,true]`, status: 200, body: `["hello",3,true]`},
		{name: "string", payload: `"hello"`, status: 200, header: map[string][]string{"Content-Type": {"application/json"}}, body: "hello"},
		{name: "integer", payload: `3`, status: 200, body: "3"},
		{name: "float", payload: `3.1`, status: 200, body: "3.1"},
		{name: "boolean", payload: `true`, status: 200, body: "true"},
		// test_lambda_url_headers_and_status.
		{name: "custom", payload: `{"statusCode":201,"headers":{"Content-Type":"application/json","My-Custom-Header":"Custom Value"},"body":"{\"message\":\"hello-world\"}","isBase64Encoded":false}`,
			status: 201, header: map[string][]string{"Content-Type": {"application/json"}, "My-Custom-Header": {"Custom Value"}}, body: `{"message":"hello-world"}`},
		{name: "string status", payload: `{"statusCode":"418","body":"i'm a teapot","isBase64Encoded":false}`, status: 418, body: "i'm a teapot"},
		// The documentation's cookies example.
		{name: "cookies", payload: `{"statusCode":201,"headers":{"Content-Type":"text/plain"},"body":"x","cookies":["Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT","Cookie_2=Value2; Max-Age=78000"]}`,
			status: 201, header: map[string][]string{"Content-Type": {"text/plain"}, "Set-Cookie": {"Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT", "Cookie_2=Value2; Max-Age=78000"}}, body: "x"},
		{name: "base64", payload: `{"statusCode":200,"headers":{"content-type":"image/png"},"body":"iVBORw0=","isBase64Encoded":true}`,
			status: 200, header: map[string][]string{"Content-Type": {"image/png"}}, body: "\x89PNG\r"},
		{name: "no body", payload: `{"statusCode":204}`, status: 204, body: ""},
		{name: "object body", payload: `{"statusCode":200,"body":{"a":1}}`, status: 200, body: `{"a":1}`},
		{name: "number header", payload: `{"statusCode":200,"headers":{"X-N":5,"X-B":true,"X-Null":null}}`, status: 200, header: map[string][]string{"X-N": {"5"}, "X-B": {"true"}}},
		{name: "hop-by-hop dropped", payload: `{"statusCode":200,"headers":{"Connection":"close","Transfer-Encoding":"chunked","Content-Length":"99","X-Ok":"1"}}`,
			status: 200, header: map[string][]string{"X-Ok": {"1"}, "Connection": nil, "Transfer-Encoding": nil, "Content-Length": nil}},
		{name: "header injection", payload: `{"statusCode":200,"headers":{"X-A":"a\r\nSet-Cookie: evil"}}`, status: 200, header: map[string][]string{"X-A": {"a  Set-Cookie: evil"}, "Set-Cookie": nil}},
		{name: "object without statusCode", payload: `{"body":"x","headers":{"X-A":"1"}}`, status: 200, header: map[string][]string{"X-A": nil}, body: `{"body":"x","headers":{"X-A":"1"}}`},
		{name: "not json", payload: `plain bytes`, status: 200, body: "plain bytes"},
		{name: "null", payload: `null`, status: 200, body: "null"},
		{name: "empty", payload: ``, status: 200, body: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body, err := MapBuffered([]byte(tc.payload))
			if err != nil {
				t.Fatalf("MapBuffered: %v", err)
			}
			if status != tc.status || string(body) != tc.body {
				t.Errorf("= %d %q, want %d %q", status, body, tc.status, tc.body)
			}
			if _, ok := tc.header["Content-Type"]; !ok && header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q, want the default application/json", header.Get("Content-Type"))
			}
			for k, want := range tc.header {
				if got := header.Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestMapBufferedGoResponse maps what aws-lambda-go's
// LambdaFunctionURLResponse marshals to (null headers and cookies).
func TestMapBufferedGoResponse(t *testing.T) {
	b, _ := json.Marshal(events.LambdaFunctionURLResponse{StatusCode: 202, Body: "ok"})
	status, header, body, err := MapBuffered(b)
	if err != nil || status != 202 || string(body) != "ok" || header.Get("Content-Type") != "application/json" {
		t.Errorf("MapBuffered(%s) = %d %v %q %v", b, status, header, body, err)
	}
}

func TestMapBufferedErrors(t *testing.T) {
	for _, p := range []string{
		`{"statusCode":0}`,
		`{"statusCode":99}`,
		`{"statusCode":600}`,
		`{"statusCode":"abc"}`,
		`{"statusCode":true}`,
		`{"statusCode":200.5}`,
		`{"statusCode":200,"headers":"x"}`,
		`{"statusCode":200,"headers":{"X":{"a":1}}}`,
		`{"statusCode":200,"cookies":"a=b"}`,
		`{"statusCode":200,"isBase64Encoded":"yes"}`,
		`{"statusCode":200,"body":"!!!","isBase64Encoded":true}`,
	} {
		if _, _, _, err := MapBuffered([]byte(p)); !errors.Is(err, ErrBadResponse) {
			t.Errorf("MapBuffered(%s) error = %v, want ErrBadResponse", p, err)
		}
	}
}

func TestSplitPrelude(t *testing.T) {
	ct := HTTPIntegrationContentType
	for _, tc := range []struct {
		name, contentType, stream string
		status                    int
		header                    map[string][]string
		body                      string
	}{
		{name: "plain", contentType: "text/event-stream", stream: "data: 1\n\n", status: 200, header: map[string][]string{"Content-Type": {"text/event-stream"}}, body: "data: 1\n\n"},
		{name: "no type", contentType: "", stream: "x", status: 200, header: map[string][]string{"Content-Type": {"application/octet-stream"}}, body: "x"},
		{name: "prelude", contentType: ct, stream: `{"statusCode":201,"headers":{"Content-Type":"text/html","X-A":"1"},"cookies":["a=1","b=2"]}` + PreludeDelimiter + "<p>hi</p>",
			status: 201, header: map[string][]string{"Content-Type": {"text/html"}, "X-A": {"1"}, "Set-Cookie": {"a=1", "b=2"}}, body: "<p>hi</p>"},
		{name: "defaults", contentType: ct + "; charset=x", stream: `{}` + PreludeDelimiter, status: 200, header: map[string][]string{"Content-Type": {"application/octet-stream"}}, body: ""},
		{name: "body with NULs", contentType: ct, stream: `{"statusCode":200}` + PreludeDelimiter + "a\x00\x00\x00\x00\x00\x00\x00\x00b", status: 200, body: "a\x00\x00\x00\x00\x00\x00\x00\x00b"},
		{name: "status string", contentType: ct, stream: `{"statusCode":"404"}` + PreludeDelimiter + "nf", status: 404, body: "nf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body, err := SplitPrelude(strings.NewReader(tc.stream), tc.contentType)
			if err != nil {
				t.Fatalf("SplitPrelude: %v", err)
			}
			b, _ := io.ReadAll(body)
			if status != tc.status || string(b) != tc.body {
				t.Errorf("= %d %q, want %d %q", status, b, tc.status, tc.body)
			}
			for k, want := range tc.header {
				if got := header.Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestSplitPreludeGoStreamingResponse reads what aws-lambda-go's
// LambdaFunctionURLStreamingResponse writes, one byte per Read.
func TestSplitPreludeGoStreamingResponse(t *testing.T) {
	resp := &events.LambdaFunctionURLStreamingResponse{StatusCode: 418, Headers: map[string]string{"Content-Type": "text/plain"}, Cookies: []string{"c=1"}, Body: strings.NewReader("teapot")}
	status, header, body, err := SplitPrelude(iotestOneByte{resp}, resp.ContentType())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	if status != 418 || header.Get("Content-Type") != "text/plain" || header.Get("Set-Cookie") != "c=1" || string(b) != "teapot" {
		t.Errorf("= %d %v %q", status, header, b)
	}
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestSplitPreludeErrors(t *testing.T) {
	ct := HTTPIntegrationContentType
	for name, stream := range map[string]string{
		"no delimiter": `{"statusCode":200}`,
		"empty":        ``,
		"not json":     `{nope` + PreludeDelimiter,
		"array":        `[1]` + PreludeDelimiter,
		"bad status":   `{"statusCode":1000}` + PreludeDelimiter,
		"bad headers":  `{"headers":[1]}` + PreludeDelimiter,
		"bad cookies":  `{"cookies":{"a":1}}` + PreludeDelimiter,
		"too long":     `{"headers":{"X":"` + strings.Repeat("a", MaxPreludeSize) + `"}}` + PreludeDelimiter,
	} {
		if _, _, _, err := SplitPrelude(strings.NewReader(stream), ct); !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s: error = %v, want ErrBadResponse", name, err)
		}
	}
	// A stream without a prelude is not read past the limit.
	r := &countingReader{r: strings.NewReader(strings.Repeat("x", 10*MaxPreludeSize))}
	if _, _, _, err := SplitPrelude(r, ct); !errors.Is(err, ErrBadResponse) {
		t.Errorf("error = %v", err)
	}
	if r.n > MaxPreludeSize+len(PreludeDelimiter)+1 {
		t.Errorf("read %d bytes looking for a prelude, want at most %d", r.n, MaxPreludeSize+len(PreludeDelimiter)+1)
	}
	// A read error is returned as is.
	boom := errors.New("boom")
	if _, _, _, err := SplitPrelude(io.MultiReader(strings.NewReader("{"), errReader{boom}), ct); !errors.Is(err, boom) {
		t.Errorf("error = %v, want boom", err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestSplitPreludeStreams proves that SplitPrelude does not wait for the
// body: the function writes the prelude and "a", pauses, then "b"; the
// status, headers and "a" arrive before "b" is written.
func TestSplitPreludeStreams(t *testing.T) {
	pr, pw := io.Pipe()
	bWritten := make(chan struct{})
	release := make(chan struct{})
	go func() {
		defer pw.Close()
		_, _ = pw.Write([]byte(`{"statusCode":202,"headers":{"Content-Type":"text/plain"}}` + PreludeDelimiter + "a"))
		select {
		case <-release:
		case <-time.After(5 * time.Second): // generous: the reader must have seen "a" long before
		}
		close(bWritten)
		_, _ = pw.Write([]byte("b"))
	}()
	done := make(chan struct{})
	var status int
	var header http.Header
	var first []byte
	var body io.Reader
	go func() {
		defer close(done)
		var err error
		status, header, body, err = SplitPrelude(pr, HTTPIntegrationContentType)
		if err != nil {
			t.Error(err)
			return
		}
		first = make([]byte, 1)
		if _, err := io.ReadFull(body, first); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
	case <-bWritten:
		t.Fatal(`"b" was written before the reader had the status and "a"`)
	}
	select {
	case <-bWritten:
		t.Fatal(`"b" was written before the reader had the status and "a"`)
	default:
	}
	if status != 202 || header.Get("Content-Type") != "text/plain" || string(first) != "a" {
		t.Fatalf("before b: status %d, header %v, first %q", status, header, first)
	}
	close(release)
	rest, err := io.ReadAll(bufio.NewReader(body))
	if err != nil || string(rest) != "b" {
		t.Errorf("rest = %q, %v; want b", rest, err)
	}
}
