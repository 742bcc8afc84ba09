package furl

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluice-dev/sluice"
)

func preflightRequest(origin, method, headers string) *http.Request {
	r := httptest.NewRequest("OPTIONS", "http://h/", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if method != "" {
		r.Header.Set("Access-Control-Request-Method", method)
	}
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

func TestPreflight(t *testing.T) {
	specific := &sluice.Cors{AllowOrigins: []string{"https://example.com"}, AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"Content-Type", "X-Custom"}, MaxAge: 300}
	wild := &sluice.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
	creds := &sluice.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, AllowCredentials: true}
	for _, tc := range []struct {
		name    string
		cors    *sluice.Cors
		r       *http.Request
		handled bool
		want    map[string]string // "" = absent
	}{
		{name: "no cors config", cors: nil, r: preflightRequest("https://example.com", "GET", ""), handled: false},
		{name: "not a preflight", cors: specific, r: preflightRequest("https://example.com", "", ""), handled: false},
		{name: "GET is not a preflight", cors: specific, r: httptest.NewRequest("GET", "http://h/", nil), handled: false},
		{name: "allowed", cors: specific, r: preflightRequest("https://example.com", "POST", "content-type, x-custom"), handled: true, want: map[string]string{
			"Access-Control-Allow-Origin": "https://example.com", "Access-Control-Allow-Methods": "GET, POST",
			"Access-Control-Allow-Headers": "Content-Type, X-Custom", "Access-Control-Max-Age": "300", "Access-Control-Allow-Credentials": ""}},
		{name: "origin case-insensitive", cors: specific, r: preflightRequest("HTTPS://EXAMPLE.COM", "GET", ""), handled: true, want: map[string]string{"Access-Control-Allow-Origin": "HTTPS://EXAMPLE.COM"}},
		{name: "other origin", cors: specific, r: preflightRequest("https://evil.example", "GET", ""), handled: true, want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{name: "method not allowed", cors: specific, r: preflightRequest("https://example.com", "DELETE", ""), handled: true, want: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "header not allowed", cors: specific, r: preflightRequest("https://example.com", "GET", "authorization"), handled: true, want: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "wildcards", cors: wild, r: preflightRequest("http://localhost:5173", "PUT", "Authorization, X-Y"), handled: true, want: map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PUT", "Access-Control-Allow-Headers": "authorization, x-y", "Access-Control-Max-Age": ""}},
		{name: "wildcards with credentials", cors: creds, r: preflightRequest("http://localhost:5173", "PUT", ""), handled: true, want: map[string]string{
			"Access-Control-Allow-Origin": "http://localhost:5173", "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Headers": ""}},
		{name: "empty config", cors: &sluice.Cors{}, r: preflightRequest("https://example.com", "GET", ""), handled: true, want: map[string]string{"Access-Control-Allow-Origin": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handled, header := Preflight(tc.cors, tc.r)
			if handled != tc.handled {
				t.Fatalf("handled = %v, want %v", handled, tc.handled)
			}
			if !handled {
				if header != nil {
					t.Errorf("header = %v for an unhandled request", header)
				}
				return
			}
			for k, want := range tc.want {
				if got := header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if header.Get("Vary") == "" {
				t.Error("no Vary")
			}
		})
	}
}

func TestApplyCORS(t *testing.T) {
	withOrigin := func(o string) *http.Request {
		r := httptest.NewRequest("GET", "http://h/", nil)
		if o != "" {
			r.Header.Set("Origin", o)
		}
		return r
	}
	fnHeaders := func() http.Header {
		return http.Header{"Access-Control-Allow-Origin": {"https://fn-chose.example"}, "X-Own": {"1"}}
	}

	// No configuration: the function's headers pass.
	h := fnHeaders()
	ApplyCORS(nil, withOrigin("https://a.example"), h)
	if h.Get("Access-Control-Allow-Origin") != "https://fn-chose.example" {
		t.Errorf("without config: %v", h)
	}

	c := &sluice.Cors{AllowOrigins: []string{"https://a.example"}, ExposeHeaders: []string{"X-Own", "Date"}, AllowCredentials: true}
	h = fnHeaders()
	ApplyCORS(c, withOrigin("https://a.example"), h)
	if h.Get("Access-Control-Allow-Origin") != "https://a.example" || h.Get("Access-Control-Expose-Headers") != "X-Own, Date" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Vary") != "Origin" || h.Get("X-Own") != "1" {
		t.Errorf("allowed origin: %v", h)
	}
	if n := len(h.Values("Access-Control-Allow-Origin")); n != 1 {
		t.Errorf("%d Access-Control-Allow-Origin headers, want 1 (the configuration takes precedence)", n)
	}

	h = fnHeaders()
	ApplyCORS(c, withOrigin("https://other.example"), h)
	if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Vary") != "Origin" {
		t.Errorf("other origin: %v", h)
	}

	h = http.Header{"Vary": {"Accept-Encoding"}}
	ApplyCORS(&sluice.Cors{AllowOrigins: []string{"*"}}, withOrigin("https://x.example"), h)
	if h.Get("Access-Control-Allow-Origin") != "*" || len(h.Values("Vary")) != 1 {
		t.Errorf("wildcard: %v", h)
	}

	h = http.Header{}
	ApplyCORS(c, withOrigin(""), h)
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no Origin: %v", h)
	}
}
