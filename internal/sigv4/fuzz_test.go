package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice"
)

// FuzzParseAuthorization feeds arbitrary Authorization header values to the
// parser: it never panics, refuses only with InvalidSignatureException and
// a bounded message, and what it accepts reads back the same when written
// out again in the SDKs' form.
func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=content-length;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,SignedHeaders=host;x-amz-date,Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
		"AWS4-HMAC-SHA256 Signature=, Credential==, SignedHeaders=;;, Foo=bar",
		"AWS4-HMAC-SHA256 Credential=a, Credential=b",
		"AWS4-HMAC-SHA256 ,,, = ,Credential",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256  Credential=x/y/z/w/v",
		"AWS test:abc",
		"Bearer token",
		"",
		"AWS4-HMAC-SHA256 Credential=\x00/\xff/é/λ/aws4_request, SignedHeaders=host, Signature=zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		p, err := parseAuthorization(header)
		if err != nil {
			var e *sluice.Error
			if !errors.As(err, &e) || e.Code != sluice.EInvalidSignature {
				t.Fatalf("parseAuthorization(%q) = %v, want an InvalidSignatureException", header, err)
			}
			if len(e.Message) > 2*maxEcho+512 {
				t.Fatalf("message of %d bytes", len(e.Message))
			}
			return
		}
		if !strings.HasPrefix(header, algorithm+" ") && header != algorithm {
			t.Fatalf("accepted %q, which does not start with the algorithm", header)
		}
		for _, v := range []string{p.credential, p.signedHeaders, p.signature} {
			if strings.Contains(v, ",") || v != strings.TrimSpace(v) {
				t.Fatalf("parameter value %q of %q holds a comma or untrimmed space", v, header)
			}
		}
		// Written out again, the header parses to the same.
		var parts []string
		for _, kv := range [][2]string{{"Credential", p.credential}, {"SignedHeaders", p.signedHeaders}, {"Signature", p.signature}} {
			if !slices.ContainsFunc(p.missing, func(m string) bool { return strings.Contains(m, "'"+kv[0]+"'") }) {
				parts = append(parts, kv[0]+"="+kv[1])
			}
		}
		again := algorithm + " " + strings.Join(parts, ", ")
		q, err := parseAuthorization(again)
		if err != nil {
			t.Fatalf("%q parsed, its rewriting %q does not: %v", header, again, err)
		}
		if q.credential != p.credential || q.signedHeaders != p.signedHeaders || q.signature != p.signature || !slices.Equal(q.missing, p.missing) {
			t.Fatalf("%q parsed to %+v, its rewriting %q to %+v", header, p, again, q)
		}
	})
}

// fuzzSeed is one correctly signed request of FuzzVerify.
type fuzzSeed struct {
	authz, date, token, target string
	body                       []byte
}

// fuzzSeeds are requests that verify: header-signed with a static key,
// header-signed with temporary credentials, presigned with them.
func fuzzSeeds(f testing.TB) []fuzzSeed {
	var seeds []fuzzSeed
	target := arnPath + "?Qualifier=%24LATEST"
	body := []byte(`{"fuzz":1}`)
	for _, creds := range []aws.Credentials{{AccessKeyID: testKey, SecretAccessKey: testSecret}, tempCreds} {
		req, err := http.NewRequest("POST", "http://lambda.local"+target, bytes.NewReader(body))
		if err != nil {
			f.Fatal(err)
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), "lambda", testRegion, signTime); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, fuzzSeed{req.Header.Get("Authorization"), req.Header.Get("X-Amz-Date"), req.Header.Get("X-Amz-Security-Token"), target, body})
	}
	req, err := http.NewRequest("POST", "http://lambda.local"+target+"&X-Amz-Expires=300", bytes.NewReader(body))
	if err != nil {
		f.Fatal(err)
	}
	uri, _, err := v4.NewSigner().PresignHTTP(context.Background(), tempCreds, req, sha256Hex(body), "lambda", testRegion, signTime)
	if err != nil {
		f.Fatal(err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, fuzzSeed{target: u.RequestURI(), body: body})
	return seeds
}

// fuzzRequest is the request FuzzVerify verifies.
func fuzzRequest(s fuzzSeed) *http.Request {
	r := &http.Request{
		Method:        "POST",
		Host:          "lambda.local",
		RequestURI:    s.target,
		Header:        http.Header{},
		ContentLength: int64(len(s.body)),
	}
	for k, v := range map[string]string{"Authorization": s.authz, "X-Amz-Date": s.date, "X-Amz-Security-Token": s.token} {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	u, err := url.ParseRequestURI(s.target)
	if err != nil {
		u = &url.URL{Path: s.target}
	}
	r.URL = u
	return r
}

// fingerprint is what a request's signature covers, written out
// independently of the canonical request: two requests with one
// fingerprint are the same request to a SigV4 verifier.
func fingerprint(s fuzzSeed) string {
	path, rawQuery, _ := strings.Cut(s.target, "?")
	var query []string
	for _, p := range parseQuery(rawQuery) {
		if p.key != "X-Amz-Signature" {
			query = append(query, url.QueryEscape(p.key)+"="+url.QueryEscape(p.value))
		}
	}
	slices.Sort(query)
	fields := []string{"path " + normalizePath(path), "query " + strings.Join(query, "&"), "body " + string(s.body)}
	if p, err := parseAuthorization(strings.TrimSpace(s.authz)); err == nil {
		fields = append(fields, "credential "+p.credential, "signed "+p.signedHeaders, "signature "+p.signature,
			"date "+strings.Join(strings.Fields(s.date), " "), "token "+strings.Join(strings.Fields(s.token), " "))
	} else {
		for _, p := range parseQuery(rawQuery) {
			if p.key == "X-Amz-Signature" {
				fields = append(fields, "signature "+p.value)
			}
		}
	}
	return strings.Join(fields, "\n")
}

// FuzzVerify feeds arbitrary Authorization headers, dates, session tokens,
// request targets and bodies, starting from correctly signed requests:
// Verify never panics, only ever refuses with an authentication error, and
// verifies nothing but the seeds' own requests (any request that verifies
// has the fingerprint of one of them).
func FuzzVerify(f *testing.F) {
	seeds := fuzzSeeds(f)
	good := map[string]bool{}
	for _, s := range seeds {
		good[fingerprint(s)] = true
		f.Add(s.authz, s.date, s.token, s.target, s.body)
	}
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=zz", "20260101T001000Z", "", "/", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 ,,,=,=", "x", "t", "/a/../b//c/./d?&&=&a=%zz&+=%2B", []byte("x"))
	f.Add("", "", "", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Signature=00&X-Amz-Date=20260101T001000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=300", []byte(nil))
	f.Add("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;;CONTENT-LENGTH;transfer-encoding, Signature=", "Thu, 01 Jan 2026 00:10:00 GMT", "", "/%", []byte("\x00"))
	f.Add("AWS4-HMAC-SHA256 Credential="+tempKey+"/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=00", "20260101T001000Z", tempToken, "/?X-Amz-Security-Token=x", []byte("{}"))
	v := tokenVerifier()
	f.Fuzz(func(t *testing.T, authz, date, token, target string, body []byte) {
		in := fuzzSeed{authz, date, token, target, body}
		sig, err := v.Verify(fuzzRequest(in), body)
		if err == nil {
			if !good[fingerprint(in)] {
				t.Fatalf("a request that is none of the signed ones verified:\n%s", fingerprint(in))
			}
			if sig == nil || (sig.AccessKeyID != testKey && sig.AccessKeyID != tempKey) {
				t.Fatalf("verified as %+v", sig)
			}
			return
		}
		var e *sluice.Error
		if !errors.As(err, &e) {
			t.Fatalf("Verify returned %T %v", err, err)
		}
		switch e.Code {
		case sluice.EMissingToken, sluice.EUnrecognizedClient, sluice.EInvalidSignature, sluice.EExpiredToken:
		default:
			t.Fatalf("Verify returned code %q", e.Code)
		}
		if len(e.Message) > 4*maxEcho+1024 {
			t.Fatalf("message of %d bytes", len(e.Message))
		}
	})
}

// TestFuzzSeedsVerify: the seeds FuzzVerify starts from do verify, so the
// fuzzer starts from the whole path, signature comparison included.
func TestFuzzSeedsVerify(t *testing.T) {
	seeds := fuzzSeeds(t)
	v := tokenVerifier()
	for i, s := range seeds {
		sig, err := v.Verify(fuzzRequest(s), s.body)
		if err != nil {
			t.Errorf("seed %d does not verify: %v", i, err)
			continue
		}
		if want := map[bool]string{false: "", true: tempToken}[s.token != "" || strings.Contains(s.target, "X-Amz-Security-Token")]; sig.SessionToken != want {
			t.Errorf("seed %d: session token %q, want %q", i, sig.SessionToken, want)
		}
	}
	if len(seeds) != 3 || !strings.Contains(seeds[2].target, "X-Amz-Signature=") {
		t.Fatalf("seeds: %+v", seeds)
	}
}
