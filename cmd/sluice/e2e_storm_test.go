package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// uuids are left out of failure messages, so that equal ones count
// together.
var uuids = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// stormStreams is how many streams TestE2EColdStartStorm opens at once;
// `make burst` (cmd/sluicebench -burst 1000) is the full-size storm.
const stormStreams = 150

// TestE2EColdStartStorm opens stormStreams InvokeWithResponseStream calls
// of one function at once on a sandboxed server: each needs an environment
// of its own, started cold. Every stream must complete byte-exact, and
// each client must have its first chunk a whole pause before its function
// ended (order, not speed). Before starts were admitted at the machine's
// pace, they all started at once and many failed with "Init timed out"
// (all 150 on a 2-core machine shared with other work).
func TestE2EColdStartStorm(t *testing.T) {
	ts := startSandboxed(t, func(c *Config) {
		c.MaxEnvironments, c.AccountConcurrency = stormStreams+10, stormStreams+10
		// Order, not speed: a slow machine makes the queue long, which must
		// not fail the test.
		c.StartWait = 10 * time.Minute
	})
	ts.createFunction(t, "storm", "stream", func(in *lambda.CreateFunctionInput) {
		in.Timeout = aws.Int32(300)
		// An init of 150 ms of CPU, as a Node.js or Python function's: 150
		// of them at once are 22 CPU-seconds, more than two cores give in
		// the 10-second init timeout.
		in.Environment = &types.Environment{Variables: map[string]string{"INIT_CPU_MS": "150"}}
	})

	const pause = 4 * time.Second
	const size = 200
	payload := fmt.Appendf(nil, `{"chunks":2,"pauseMs":%d,"size":%d,"stamp":true}`, pause.Milliseconds(), size)
	// Each chunk is "chunk-N <when the function wrote it>\n", padded with
	// x to size bytes; chunks returns the write times, or an error for
	// bytes that are not exactly that.
	chunks := func(b []byte) ([]time.Time, error) {
		var at []time.Time
		for i := 0; len(b) > 0; i++ {
			if len(b) < size {
				return nil, fmt.Errorf("chunk %d: %d bytes, want %d", i, len(b), size)
			}
			c := b[:size]
			b = b[size:]
			head, pad, ok := bytes.Cut(c, []byte("\n"))
			var n int
			var ns int64
			if _, err := fmt.Sscanf(string(head), "chunk-%d %d", &n, &ns); err != nil || !ok || n != i ||
				string(pad) != strings.Repeat("x", size-len(head)-2)+"\n" {
				return nil, fmt.Errorf("chunk %d: %q", i, c)
			}
			at = append(at, time.Unix(0, ns))
		}
		if len(at) != 2 {
			return nil, fmt.Errorf("%d chunks, want 2", len(at))
		}
		return at, nil
	}

	type result struct {
		got         []byte
		firstChunk  []byte // the first PayloadChunk event's payload
		first, done time.Time
		err         error
	}
	results := make([]result, stormStreams)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			r := &results[i]
			// A client per stream: aws-sdk-go-v2 shares one event-stream
			// decoder per client.
			c := lambdaclient.New(ts.URL, ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			out, err := c.InvokeWithResponseStream(sctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("storm"), Payload: payload})
			if err != nil {
				r.err = err
				return
			}
			stream := out.GetStream()
			defer stream.Close()
			var buf bytes.Buffer
			for ev := range stream.Events() {
				switch v := ev.(type) {
				case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
					if r.first.IsZero() {
						r.first = time.Now()
						r.firstChunk = bytes.Clone(v.Value.Payload)
					}
					buf.Write(v.Value.Payload)
				case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
					r.done = time.Now()
					if code := aws.ToString(v.Value.ErrorCode); code != "" {
						r.err = fmt.Errorf("InvokeComplete %s: %s", code, aws.ToString(v.Value.ErrorDetails))
					}
				}
			}
			if err := stream.Err(); err != nil && r.err == nil {
				r.err = err
			}
			if r.done.IsZero() && r.err == nil {
				r.err = errors.New("no InvokeComplete")
			}
			r.got = buf.Bytes()
		})
	}
	wg.Wait()

	failures := map[string]int{}
	for i, r := range results {
		var written []time.Time
		if r.err == nil {
			var err error
			if written, err = chunks(r.got); err != nil {
				failures["wrong bytes"]++
				t.Logf("stream %d: %v", i, err)
				continue
			}
		}
		switch {
		case r.err != nil:
			msg := uuids.ReplaceAllString(r.err.Error(), "…")
			failures[msg[:min(len(msg), 160)]]++
		case !bytes.Equal(r.firstChunk, r.got[:size]):
			// The function writes its second chunk a pause after its
			// first: a first event that is not the first chunk alone was
			// held back.
			failures["the first event is not the first chunk alone"]++
		case !r.first.Before(written[1]):
			// Order: the client had the first chunk before the function
			// wrote its last (both clocks are this machine's wall clock).
			failures["first chunk not before the function wrote its last"]++
		}
	}
	if len(failures) > 0 {
		n := 0
		for msg, c := range failures {
			n += c
			t.Errorf("%d × %s", c, msg)
		}
		t.Fatalf("%d of %d streams failed", n, stormStreams)
	}
}
