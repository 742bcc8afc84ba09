package sigv4

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestKeyCache: keys come back as derived, the least recently used go
// first, and the cache never holds more than keyCacheSize.
func TestKeyCache(t *testing.T) {
	var c keyCache
	if _, ok := c.get(keyID{"s", "20260101", "us-east-1", "lambda"}); ok {
		t.Fatal("the zero cache has a key")
	}
	id := func(i int) keyID { return keyID{fmt.Sprintf("secret-%d", i), "20260101", "us-east-1", "lambda"} }
	for i := range keyCacheSize {
		c.put(id(i), []byte{byte(i)})
	}
	// id(0) is used again: id(1) is now the least recently used.
	if k, ok := c.get(id(0)); !ok || !bytes.Equal(k, []byte{0}) {
		t.Fatalf("get(0) = %v, %v", k, ok)
	}
	c.put(id(keyCacheSize), []byte{1, 2})
	if n := c.len(); n != keyCacheSize {
		t.Fatalf("%d keys cached, want %d", n, keyCacheSize)
	}
	if _, ok := c.get(id(1)); ok {
		t.Error("the least recently used key is still cached")
	}
	for _, i := range []int{0, 2, keyCacheSize - 1, keyCacheSize} {
		if _, ok := c.get(id(i)); !ok {
			t.Errorf("key %d is gone", i)
		}
	}
	// Each part of the id counts.
	base := keyID{"s", "20260101", "us-east-1", "lambda"}
	c.put(base, []byte("base"))
	for _, other := range []keyID{
		{"t", "20260101", "us-east-1", "lambda"},
		{"s", "20260102", "us-east-1", "lambda"},
		{"s", "20260101", "us-east-2", "lambda"},
		{"s", "20260101", "us-east-1", "sts"},
	} {
		if _, ok := c.get(other); ok {
			t.Errorf("%+v found under %+v", other, base)
		}
	}
}

// TestVerifierCachesKeys: the verifier derives a client's key once, and
// the cached key is the derived one.
func TestVerifierCachesKeys(t *testing.T) {
	v := testVerifier()
	body := []byte("{}")
	for range 3 {
		req := newRequest(t, "POST", "http://lambda.local"+arnPath, body)
		sdkSign(t, req, body, defaultOpts())
		if _, err := v.Verify(req, body); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.keys.len(); n != 1 {
		t.Fatalf("%d keys cached after three requests of one client, want 1", n)
	}
	k, ok := v.keys.get(keyID{testSecret, "20260101", testRegion, "lambda"})
	if !ok || !bytes.Equal(k, deriveKey(testSecret, "20260101", testRegion, "lambda")) {
		t.Fatalf("cached key %x, %v", k, ok)
	}
	// A wrong secret gets a key of its own, and still fails.
	o := defaultOpts()
	o.secret = "wrong"
	req := newRequest(t, "POST", "http://lambda.local"+arnPath, body)
	sdkSign(t, req, body, o)
	if _, err := v.Verify(req, body); err == nil {
		t.Fatal("a wrong secret verified")
	}
}

// TestVerifierConcurrent verifies from many goroutines at once (run with
// -race).
func TestVerifierConcurrent(t *testing.T) {
	v := testVerifier()
	body := []byte(`{"n":1}`)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("POST", "http://lambda.local"+arnPath, bytes.NewReader(body))
			if err == nil {
				creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
				err = v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), "lambda", fmt.Sprintf("region-%d", i%8), signTime)
			}
			if err == nil {
				_, err = v.Verify(req, body)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := v.keys.len(); n != 8 {
		t.Errorf("%d keys cached, want 8 (one per region)", n)
	}
}
