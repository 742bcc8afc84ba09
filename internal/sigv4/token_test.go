package sigv4

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluice-dev/sluice"
)

// Temporary credentials of the tests: a key that is only accepted with its
// session token (tempToken, or tempToken2, which the Secret also takes, so
// that swapping one for the other shows what the signature covers).
const (
	tempKey    = "ASIAEXAMPLE0000TEMP"
	tempSecret = "temporary/secret+key"
	tempToken  = "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars"
	tempToken2 = "FwoGZXIvYXdzEXAMPLE//second-token"
	expiredKey = "ASIAEXAMPLE00EXPIRED"
)

// tokenSecret accepts testKey without a token, tempKey with tempToken or
// tempToken2, and says expiredKey's token has expired.
func tokenSecret(id, token string) (string, error) {
	switch {
	case id == testKey && token == "":
		return testSecret, nil
	case id == tempKey && (token == tempToken || token == tempToken2):
		return tempSecret, nil
	case id == expiredKey && token != "":
		return "", fail(sluice.EExpiredToken, "The security token included in the request is expired")
	}
	return "", fail(sluice.EUnrecognizedClient, msgUnknownClient)
}

func tokenVerifier() *Verifier {
	v := testVerifier()
	v.Secret = tokenSecret
	return v
}

var tempCreds = aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken}

// TestSessionTokenHeader: the SDK signs X-Amz-Security-Token among its
// headers; a token the signature does not cover is refused, and so is one
// given twice.
func TestSessionTokenHeader(t *testing.T) {
	body := []byte(`{"temp":true}`)
	sign := func(t *testing.T, creds aws.Credentials) *http.Request {
		req := newRequest(t, "POST", "http://lambda.local"+arnPath, body)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), "lambda", testRegion, signTime); err != nil {
			t.Fatal(err)
		}
		return req
	}
	verify := func(req *http.Request) (*Signature, error) { return tokenVerifier().Verify(req, body) }

	req := sign(t, tempCreds)
	if !strings.Contains(req.Header.Get("Authorization"), "x-amz-security-token") {
		t.Fatalf("the SDK did not sign the token: %s", req.Header.Get("Authorization"))
	}
	sig, err := verify(req)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if sig.AccessKeyID != tempKey || sig.SessionToken != tempToken || sig.Region != testRegion || sig.Service != "lambda" || !sig.Time.Equal(signTime) {
		t.Errorf("Signature = %+v", sig)
	}

	for _, tt := range []struct {
		name  string
		creds aws.Credentials
		after func(*http.Request)
		code  sluice.ErrorCode
		msg   string
	}{
		{name: "other accepted token swapped in", creds: tempCreds,
			after: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", tempToken2) },
			code:  sluice.EInvalidSignature, msg: msgMismatch},
		{name: "unknown token", creds: tempCreds,
			after: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "forged") },
			code:  sluice.EUnrecognizedClient, msg: msgUnknownClient},
		{name: "token removed", creds: tempCreds,
			after: func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") },
			code:  sluice.EUnrecognizedClient, msg: msgUnknownClient},
		{name: "token twice", creds: tempCreds,
			after: func(r *http.Request) { r.Header.Add("X-Amz-Security-Token", tempToken) },
			code:  sluice.EInvalidSignature, msg: "The request carries more than one 'X-Amz-Security-Token' header."},
		{name: "token in header and query", creds: tempCreds,
			after: func(r *http.Request) { r.URL.RawQuery = "X-Amz-Security-Token=" + tempToken },
			code:  sluice.EInvalidSignature, msg: "The request carries 'X-Amz-Security-Token' both as a header and in the query string."},
		// AWS's test suite's post-sts-header-after: the token added after
		// signing. Some AWS services accept it; sluice does not.
		{name: "token added after signing", creds: aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret},
			after: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", tempToken) },
			code:  sluice.EInvalidSignature, msg: "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "static key with a token", creds: aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret, SessionToken: tempToken},
			code: sluice.EUnrecognizedClient, msg: msgUnknownClient},
		{name: "expired token", creds: aws.Credentials{AccessKeyID: expiredKey, SecretAccessKey: "x", SessionToken: "old"},
			code: sluice.EExpiredToken, msg: "The security token included in the request is expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := sign(t, tt.creds)
			if tt.after != nil {
				tt.after(req)
			}
			_, err := verify(req)
			var e *sluice.Error
			if !errors.As(err, &e) || e.Code != tt.code || e.Message != tt.msg {
				t.Fatalf("Verify = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
}

// TestSessionTokenPresigned: PresignHTTP puts the token in the query,
// where the signature covers it.
func TestSessionTokenPresigned(t *testing.T) {
	v := tokenVerifier()
	srv := newServer(t, v)
	body := []byte(`{"presigned":"with a token"}`)
	req := newRequest(t, "POST", srv.URL+arnPath+"?Qualifier=%24LATEST&X-Amz-Expires=300", body)
	uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), tempCreds, req, sha256Hex(body), "lambda", testRegion, signTime)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(uri, "X-Amz-Security-Token=") || !strings.Contains(uri, "X-Amz-Signature=") {
		t.Fatalf("presigned URL without a token: %s", uri)
	}
	post := func(uri string, mod func(*http.Request)) result {
		r := newRequest(t, "POST", uri, body)
		for k, vs := range hdr {
			if k != "Host" {
				r.Header[k] = vs
			}
		}
		if mod != nil {
			mod(r)
		}
		return send(t, r)
	}
	wantOK(t, post(uri, nil))

	// Verify reports the token.
	r := newRequest(t, "POST", uri, body)
	for k, vs := range hdr {
		r.Header[k] = vs
	}
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	if sig, err := v.Verify(r, body); err != nil || sig.SessionToken != tempToken || sig.AccessKeyID != tempKey {
		t.Errorf("Verify = %+v, %v", sig, err)
	}

	escaped := strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(tempToken)
	if !strings.Contains(uri, "X-Amz-Security-Token="+escaped) {
		t.Fatalf("token not found escaped as %s in %s", escaped, uri)
	}
	wantErr(t, post(strings.Replace(uri, "X-Amz-Security-Token="+escaped, "X-Amz-Security-Token="+strings.ReplaceAll(tempToken2, "/", "%2F"), 1), nil),
		sluice.EInvalidSignature, msgMismatch)
	wantErr(t, post(strings.Replace(uri, "X-Amz-Security-Token="+escaped, "X-Amz-Foo=1", 1), nil),
		sluice.EUnrecognizedClient, msgUnknownClient)
	wantErr(t, post(uri+"&X-Amz-Security-Token=x", nil),
		sluice.EInvalidSignature, "The query string has more than one 'X-Amz-Security-Token' parameter.")
	wantErr(t, post(uri, func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", tempToken) }),
		sluice.EInvalidSignature, "The request carries 'X-Amz-Security-Token' both as a header and in the query string.")
	wantErr(t, post(uri, func(r *http.Request) { setBody(r, []byte(`{"presigned":"with a tokeN"}`)) }),
		sluice.EInvalidSignature, msgMismatch)

	// X-Amz-Expires never lengthens the 15 minutes AWS allows.
	req = newRequest(t, "POST", srv.URL+arnPath+"?X-Amz-Expires=3600", body)
	uri, hdr, err = v4.NewSigner().PresignHTTP(context.Background(), tempCreds, req, sha256Hex(body), "lambda", testRegion, signTime)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return signTime.Add(20 * time.Minute) }
	wantErr(t, post(uri, nil), sluice.EInvalidSignature,
		"Signature expired: 20260101T001000Z is now earlier than 20260101T001500Z (20260101T003000Z - 15 min.)")
	v.Now = func() time.Time { return signTime.Add(15 * time.Minute) }
	wantOK(t, post(uri, nil))
}

// TestSignatureCase: the signature is compared as AWS sends it, lower-case
// hex; the same bytes in upper case are not the signature.
func TestSignatureCase(t *testing.T) {
	body := []byte("{}")
	req := newRequest(t, "POST", "http://lambda.local"+arnPath, body)
	sdkSign(t, req, body, defaultOpts())
	if _, err := testVerifier().Verify(req, body); err != nil {
		t.Fatal(err)
	}
	a := req.Header.Get("Authorization")
	i := strings.Index(a, "Signature=") + len("Signature=")
	req.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
	if code := sluice.ErrorCodeOf(second(testVerifier().Verify(req, body))); code != sluice.EInvalidSignature {
		t.Fatalf("upper-case signature: code %q, want %s", code, sluice.EInvalidSignature)
	}
}

// TestAWSSuiteTokenAfter: the suite's post-sts-header-after vector (the
// token added after signing, post-vanilla's signature) is refused; the
// same request without the token passes.
func TestAWSSuiteTokenAfter(t *testing.T) {
	v := &Verifier{
		Secret: func(id, _ string) (string, error) {
			return StaticCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")(id, "")
		},
		Service: "service",
		Now:     func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) },
	}
	req, _ := http.NewRequest("POST", "http://example.amazonaws.com/", nil)
	req.Header.Set("X-Amz-Date", "20150830T123600Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
	if _, err := v.Verify(req, nil); err != nil {
		t.Fatalf("post-vanilla: %v", err)
	}
	req.Header.Set("X-Amz-Security-Token", "AQoDYXdzEPT//////////wEXAMPLE")
	_, err := v.Verify(req, nil)
	var e *sluice.Error
	if !errors.As(err, &e) || e.Code != sluice.EInvalidSignature || !strings.Contains(e.Message, "must be a 'SignedHeader'") {
		t.Fatalf("post-sts-header-after: %v, want the token refused as unsigned", err)
	}
}
