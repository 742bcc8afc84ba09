package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// sandboxModes are the drivers the benchmarks compare in one run: plain
// child processes and bubblewrap sandboxes with cgroups.
var sandboxModes = []string{"none", "bwrap"}

// BenchmarkWarmInvoke measures a warm buffered Invoke through the real SDK
// (client and server in one process: use it for profiles, and
// `go run ./cmd/sluicebench` for figures), unsandboxed and sandboxed.
func BenchmarkWarmInvoke(b *testing.B) {
	for _, mode := range sandboxModes {
		b.Run("sandbox="+mode, func(b *testing.B) {
			ts := startServer(b, func(c *Config) { c.Sandbox = mode })
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
		})
	}
}

// BenchmarkColdStart measures the first Invoke of a just-deployed function
// (environment spawn to its first GET /next, plus the invocation), for
// each driver, and each sandbox network, in the same run; it reports the
// median as median-ms.
//
//	go test -run XXX -bench ColdStart -benchtime 50x ./cmd/sluice
func BenchmarkColdStart(b *testing.B) {
	type mode struct{ sandbox, network string }
	modes := []mode{{"none", ""}}
	for _, n := range []string{"isolated", "none", "host"} {
		modes = append(modes, mode{"bwrap", n})
	}
	for _, m := range modes {
		name := "sandbox=" + m.sandbox
		if m.network != "" {
			name += "/network=" + m.network
		}
		b.Run(name, func(b *testing.B) {
			ts := startServer(b, func(c *Config) {
				c.Sandbox, c.MaxEnvironments = m.sandbox, 256
				if m.network != "" {
					c.SandboxNetwork = m.network
				}
			})
			c := ctx(b)
			var times []time.Duration
			i := 0
			b.ReportAllocs() // the test process's: client, server and supervisor together
			for b.Loop() {
				b.StopTimer()
				name := fmt.Sprintf("cold%d", i)
				i++
				ts.createFunction(b, name, "echo")
				in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)}
				b.StartTimer()
				start := time.Now()
				out, err := ts.Client.Invoke(c, in)
				times = append(times, time.Since(start))
				if err != nil || out.FunctionError != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(times)
			ms := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
			b.ReportMetric(ms(0.5), "median-ms")
			b.ReportMetric(ms(0.1), "p10-ms")
			b.ReportMetric(ms(0.9), "p90-ms")
		})
	}
}
