package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkInvokePath measures the server's whole warm Invoke path (API,
// SigV4, authorization, resolution, concurrency, pool, the Runtime API
// round trip with the aws-lambda-go function, logs, metrics) with as
// little of a client as possible, so that its allocations are the
// server's: one request signed once with the SDK's signer and sent again
// and again by a bare net/http client (a signature stays valid for
// minutes). The function runs in its own process, whose allocations are
// not counted; allocs/op and B/op are the server's and the bare client's.
//
//	go test -run XXX -bench InvokePath -benchmem ./cmd/sluice
func BenchmarkInvokePath(b *testing.B) {
	for _, mode := range sandboxModes {
		b.Run("sandbox="+mode, func(b *testing.B) {
			ts := startServer(b, func(c *Config) { c.Sandbox = mode })
			ts.createFunction(b, "echo", "echo")
			payload := []byte(`{"hello":"world","n":42}`)
			req := signedInvoke(b, ts, "echo", payload)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			invoke := func() {
				r := req.Clone(context.Background())
				r.Body = io.NopCloser(bytes.NewReader(payload))
				resp, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				out, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(out, payload) {
					b.Fatalf("status %d, body %q, %v", resp.StatusCode, out, err)
				}
			}
			invoke() // the cold start
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				invoke()
			}
		})
	}
}

// signedInvoke returns an Invoke request of fn with payload, signed for
// ts's development key.
func signedInvoke(b *testing.B, ts *testServer, fn string, payload []byte) *http.Request {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/2015-03-31/functions/"+fn+"/invocations", bytes.NewReader(payload))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: ts.cfg.AccessKeyID, SecretAccessKey: ts.cfg.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "lambda", ts.cfg.Region, time.Now()); err != nil {
		b.Fatal(err)
	}
	return req
}
