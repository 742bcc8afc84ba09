package furl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

// FuzzEvent: any request becomes valid JSON whose body round-trips.
func FuzzEvent(f *testing.F) {
	f.Add("POST", "/my/path", "a=1&a=2&b", "Content-Type: text/plain\nCookie: a=1; b=2", []byte("hello"))
	f.Add("GET", "/p%2Fq", "%zz=1&x", "X-Forwarded-For: 1.2.3.4", []byte{})
	f.Add("PUT", "/", "", "Content-Type: application/json", []byte("\xff\x00"))
	f.Fuzz(func(t *testing.T, method, path, query, headers string, body []byte) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}, Host: "h:1", Proto: "HTTP/1.1"}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				r.Header.Add(k, v)
			}
		}
		ec := testContext(sluice.URLAuthIAM)
		ec.Caller = &IAMCaller{AccessKey: "AKIA"}
		b, err := Event(r, body, ec)
		if err != nil {
			t.Fatalf("Event: %v", err)
		}
		var e struct {
			Body            string            `json:"body"`
			IsBase64Encoded bool              `json:"isBase64Encoded"`
			Headers         map[string]string `json:"headers"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("event is not JSON: %v\n%s", err, b)
		}
		got := []byte(e.Body)
		if e.IsBase64Encoded {
			if got, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("body %q came back as %q", body, got)
		}
		if e.Headers["host"] != "h:1" {
			t.Fatalf("host = %q", e.Headers["host"])
		}
	})
}

// FuzzMapBuffered: any payload maps to a status in range and headers
// without CR or LF, or to ErrBadResponse.
func FuzzMapBuffered(f *testing.F) {
	for _, s := range []string{`{"statusCode":200,"body":"x"}`, `"s"`, `3`, `{"statusCode":"201","cookies":["a"],"headers":{"A":"b"},"body":"eA==","isBase64Encoded":true}`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		status, header, _, err := MapBuffered(payload)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if status < 100 || status > 599 {
			t.Fatalf("status %d", status)
		}
		for k, vs := range header {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n\x00") {
					t.Fatalf("header %q: %q", k, v)
				}
			}
		}
		if header.Get("Content-Type") == "" {
			t.Fatal("no Content-Type")
		}
	})
}

// FuzzSplitPrelude: any stream gives an error or a body that is exactly
// the bytes after the first delimiter.
func FuzzSplitPrelude(f *testing.F) {
	f.Add([]byte(`{"statusCode":200}`+PreludeDelimiter+"body"), true)
	f.Add([]byte(`{}`+PreludeDelimiter), true)
	f.Add([]byte("raw"), false)
	f.Add([]byte(`{"headers":{"a":"b"},"cookies":["c"]}`+PreludeDelimiter+PreludeDelimiter), true)
	f.Fuzz(func(t *testing.T, stream []byte, integration bool) {
		ct := "text/plain"
		if integration {
			ct = HTTPIntegrationContentType
		}
		status, header, body, err := SplitPrelude(iotestOneByte{bytes.NewReader(stream)}, ct)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		rest, _ := io.ReadAll(body)
		want := stream
		if integration {
			i := bytes.Index(stream, []byte(PreludeDelimiter))
			if i < 0 {
				t.Fatal("success without a delimiter")
			}
			want = stream[i+len(PreludeDelimiter):]
		}
		if !bytes.Equal(rest, want) {
			t.Fatalf("body %q, want %q", rest, want)
		}
		if status < 100 || status > 599 || header.Get("Content-Type") == "" {
			t.Fatalf("status %d, header %v", status, header)
		}
	})
}
