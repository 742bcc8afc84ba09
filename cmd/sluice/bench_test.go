package main

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// BenchmarkWarmInvoke measures a warm buffered Invoke through the real SDK
// (client and server in one process: use it for profiles, and
// `go run ./cmd/sluicebench` for figures).
func BenchmarkWarmInvoke(b *testing.B) {
	ts := startServer(b, nil)
	ts.createFunction(b, "echo", "echo")
	in := &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"hello":"world"}`)}
	c := ctx(b)
	if _, err := ts.Client.Invoke(c, in); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		out, err := ts.Client.Invoke(c, in)
		if err != nil || out.FunctionError != nil {
			b.Fatal(err)
		}
	}
}
