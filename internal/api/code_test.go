package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluice-dev/sluice/internal/api"
)

// get fetches u and returns its status, content type and body.
func get(t *testing.T, u string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestCodeLocationSigned: GetFunction's Code.Location is a signed URL that
// expires after 10 minutes, as Lambda's presigned S3 URL does; without its
// signature, tampered with, or expired, it is refused with S3's 403 and
// error document (issue 9).
func TestCodeLocationSigned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("dl")
	e.create("other")
	zip := makeZip(t, "dl")

	location := func() string {
		t.Helper()
		out, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("dl")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Code.Location)
	}
	loc := location()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/_sluice/code/"+sha256Hex(zip) || q.Get("X-Amz-Expires") != "600" || q.Get("X-Amz-Date") == "" || len(q.Get("X-Amz-Signature")) != 64 {
		t.Fatalf("Code.Location = %s; want a signed URL of the package valid for 600 s", loc)
	}
	if st, ct, b := get(t, loc); st != http.StatusOK || ct != "application/zip" || !bytes.Equal(b, zip) {
		t.Fatalf("GET Code.Location: %d %s, %d bytes; want the package", st, ct, len(b))
	}

	with := func(change func(url.Values)) string {
		v := u.Query()
		change(v)
		c := *u
		c.RawQuery = v.Encode()
		return c.String()
	}
	denied := []struct {
		name, url, code string
	}{
		{"no query", e.srv.URL + u.Path, "AccessDenied"},
		{"no signature", with(func(v url.Values) { v.Del("X-Amz-Signature") }), "AccessDenied"},
		{"empty signature", with(func(v url.Values) { v.Set("X-Amz-Signature", "") }), "SignatureDoesNotMatch"},
		{"two signatures", with(func(v url.Values) { v.Add("X-Amz-Signature", v.Get("X-Amz-Signature")) }), "AccessDenied"},
		{"signature changed", with(func(v url.Values) {
			s := []byte(v.Get("X-Amz-Signature"))
			s[len(s)-1] ^= 1
			v.Set("X-Amz-Signature", string(s))
		}), "SignatureDoesNotMatch"},
		{"expiry extended", with(func(v url.Values) { v.Set("X-Amz-Expires", "604800") }), "SignatureDoesNotMatch"},
		{"date moved", with(func(v url.Values) { v.Set("X-Amz-Date", time.Now().Add(time.Hour).UTC().Format("20060102T150405Z")) }), "SignatureDoesNotMatch"},
		{"another package", strings.Replace(loc, sha256Hex(zip), sha256Hex(makeZip(t, "other")), 1), "SignatureDoesNotMatch"},
	}
	for _, tt := range denied {
		st, ct, b := get(t, tt.url)
		if st != http.StatusForbidden || ct != "application/xml" || !bytes.Contains(b, []byte("<Code>"+tt.code+"</Code>")) || bytes.Contains(b, []byte("PK")) {
			t.Errorf("%s: %d %s %s; want 403 %s", tt.name, st, ct, b, tt.code)
		}
	}

	// Valid until its 600 s are over, then expired; GetFunction gives a
	// new one.
	e.clock.Advance(api.CodeURLExpiry - time.Second)
	if st, _, b := get(t, loc); st != http.StatusOK || !bytes.Equal(b, zip) {
		t.Errorf("GET Code.Location after 599 s: %d, %d bytes; want the package", st, len(b))
	}
	e.clock.Advance(2 * time.Second)
	if st, ct, b := get(t, loc); st != http.StatusForbidden || ct != "application/xml" || !bytes.Contains(b, []byte("<Code>AccessDenied</Code><Message>Request has expired</Message>")) {
		t.Errorf("GET Code.Location after 601 s: %d %s %s; want 403 Request has expired", st, ct, b)
	}
	if st, _, b := get(t, location()); st != http.StatusOK || !bytes.Equal(b, zip) {
		t.Errorf("GET a new Code.Location: %d, %d bytes; want the package", st, len(b))
	}
}
