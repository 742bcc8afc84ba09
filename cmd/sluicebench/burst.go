package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// The burst mode (-burst N): a storm of cold starts. N
// InvokeWithResponseStream calls of one function are opened -burst-gap
// apart (uniformly random between its bounds, a fixed seed), each from a
// fresh client (aws-sdk-go-v2 shares one event-stream decoder per client),
// each stream held open -burst-hold (the function writes a chunk, then one
// a second until the hold is over), so that all N are open at once and
// each needs its own execution environment. sluice runs with its
// environment and concurrency limits raised to N + 200. The figures: how
// many completed byte-exact, time to first byte (call start to the first
// PayloadChunk), how many failed and why, and sluice's peak resident
// memory during the burst.

// burstChunkSize is the size of each chunk of a burst stream.
const burstChunkSize = 64

// burstPayload is the event of a burst stream held for hold, and what it
// streams.
func burstPayload(hold time.Duration) (payload []byte, want []byte) {
	const pause = time.Second
	chunks := 1 + int(hold/pause)
	payload = fmt.Appendf(nil, `{"chunks":%d,"pauseMs":%d,"size":%d}`, chunks, pause.Milliseconds(), burstChunkSize)
	for i := range chunks {
		line := fmt.Sprintf("chunk-%d\n", i)
		want = append(want, line+strings.Repeat("x", burstChunkSize-len(line)-1)+"\n"...)
	}
	return payload, want
}

// burstStream is one stream of the burst as its client saw it.
type burstStream struct {
	first time.Duration // call start → first PayloadChunk (0: none)
	total time.Duration // call start → the end
	err   error
}

// burstResult is the burst's figures.
type burstResult struct {
	N        int
	OK       int            // completed byte-exact
	Failures map[string]int // error → count
	TTFB     []time.Duration
	Total    []time.Duration
	Span     time.Duration // first call to last call opened
	// PeakRSSKiB is sluice's peak resident set during the burst (VmHWM,
	// reset before it), RSSBeforeKiB its resident set before.
	PeakRSSKiB, RSSBeforeKiB, RSSAfterKiB int64
}

// runBurst creates the burst function on sluice and runs the burst.
func runBurst(ctx context.Context, cfg config, url string, pid int, zip []byte, progress func(string, ...any)) (*burstResult, error) {
	const name = fnStream + "-burst"
	t := &child{url: url}
	if err := t.sluiceTarget().create(ctx, name, function{runtime: types.RuntimeProvidedal2023, handler: fnStream, zip: zip}); err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	payload, want := burstPayload(cfg.burstHold)
	res := &burstResult{N: cfg.burst, Failures: map[string]int{}}
	res.RSSBeforeKiB = procStatusKiB(pid, "VmRSS")
	// Reset the peak so that VmHWM is the burst's (root or the owner may).
	_ = os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0)

	progress("burst: %d streams %v-%v apart, each held %v", cfg.burst, cfg.burstGap[0], cfg.burstGap[1], cfg.burstHold)
	rng := rand.New(rand.NewPCG(1, 2))
	streams := make([]burstStream, cfg.burst)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.burst {
		if i > 0 {
			gap := cfg.burstGap[0] + time.Duration(rng.Int64N(int64(cfg.burstGap[1]-cfg.burstGap[0])+1))
			select {
			case <-time.After(gap):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		wg.Go(func() { streams[i] = burstOnce(ctx, url, name, payload, want) })
		if (i+1)%100 == 0 {
			progress("burst: %d streams opened", i+1)
		}
	}
	res.Span = time.Since(start)
	wg.Wait()
	res.PeakRSSKiB = procStatusKiB(pid, "VmHWM")
	res.RSSAfterKiB = procStatusKiB(pid, "VmRSS")
	for _, s := range streams {
		if s.first > 0 {
			res.TTFB = append(res.TTFB, s.first)
		}
		if s.err != nil {
			msg := requestIDs.ReplaceAllString(s.err.Error(), "RequestId: …")
			if len(msg) > 160 {
				msg = msg[:160] + "…"
			}
			res.Failures[msg]++
			continue
		}
		res.OK++
		res.Total = append(res.Total, s.total)
	}
	return res, nil
}

// requestIDs are left out of failure messages, so that equal ones count
// together.
var requestIDs = regexp.MustCompile(`(?i)RequestId: [0-9a-f-]+…?`)

// burstOnce runs one stream of the burst with a client of its own and
// checks its bytes.
func burstOnce(ctx context.Context, url, fn string, payload, want []byte) (s burstStream) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	c := lambdaclient.New(url, accessKeyID, secretAccessKey)
	start := time.Now()
	defer func() { s.total = time.Since(start) }()
	out, err := c.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil {
		s.err = err
		return s
	}
	stream := out.GetStream()
	defer stream.Close()
	var got bytes.Buffer
	completed := false
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			if s.first == 0 {
				s.first = time.Since(start)
			}
			got.Write(v.Value.Payload)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			if code := aws.ToString(v.Value.ErrorCode); code != "" {
				s.err = fmt.Errorf("InvokeComplete error %s: %s", code, aws.ToString(v.Value.ErrorDetails))
				return s
			}
			completed = true
		}
	}
	switch {
	case stream.Err() != nil:
		s.err = stream.Err()
	case !completed:
		s.err = errors.New("stream ended without InvokeComplete")
	case !bytes.Equal(got.Bytes(), want):
		s.err = fmt.Errorf("%w: %d bytes, not the %d expected", errShortStream, got.Len(), len(want))
	}
	return s
}

// procStatusKiB reads a "kB" field of /proc/PID/status; -1 if unknown.
func procStatusKiB(pid int, field string) int64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb
		}
	}
	return -1
}

// perStreamKiB is sluice's memory per open stream: its RSS growth from
// before the burst to its peak, while all streams were open at once (each
// is held longer than the burst takes to open), over the streams opened.
// An upper bound: the peak also counts garbage not yet collected.
func (r *burstResult) perStreamKiB() float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.PeakRSSKiB-r.RSSBeforeKiB) / float64(r.N)
}

// markdown prints the burst's figures.
func (r *burstResult) markdown(w io.Writer, command string, cfg config, sandboxed bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## sluicebench: burst\n\n`%s`\n\n", command)
	fmt.Fprintf(&b, "| measurement | sluice |\n|---|--:|\n")
	fmt.Fprintf(&b, "| streams completed byte-exact | %d of %d (%.1f %%) |\n", r.OK, r.N, 100*float64(r.OK)/float64(r.N))
	if len(r.TTFB) > 0 {
		fmt.Fprintf(&b, "| time to first byte p50 | %s |\n", formatMs(ms(percentile(r.TTFB, .5))))
		fmt.Fprintf(&b, "| time to first byte p99 | %s |\n", formatMs(ms(percentile(r.TTFB, .99))))
		fmt.Fprintf(&b, "| time to first byte max | %s |\n", formatMs(ms(percentile(r.TTFB, 1))))
	}
	fmt.Fprintf(&b, "| sluice peak RSS during the burst | %.1f MiB |\n", float64(r.PeakRSSKiB)/1024)
	fmt.Fprintf(&b, "| sluice RSS before / after | %.1f / %.1f MiB |\n", float64(r.RSSBeforeKiB)/1024, float64(r.RSSAfterKiB)/1024)
	if r.N > 0 {
		fmt.Fprintf(&b, "| sluice memory per open stream ((peak RSS − RSS before) ÷ streams) | %.1f KiB |\n", r.perStreamKiB())
	}
	fmt.Fprintf(&b, "\n- %d streams opened over %s (%v–%v apart), each held %v by the function; each from its own client. Sandboxed: %v.\n", r.N, r.Span.Round(time.Millisecond), cfg.burstGap[0], cfg.burstGap[1], cfg.burstHold, sandboxed)
	if len(r.Failures) > 0 {
		type kv struct {
			k string
			n int
		}
		var fs []kv
		for k, n := range r.Failures {
			fs = append(fs, kv{k, n})
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].n > fs[j].n })
		fmt.Fprintf(&b, "- Failures:\n")
		for _, f := range fs[:min(len(fs), 8)] {
			fmt.Fprintf(&b, "  - %d × %s\n", f.n, f.k)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// burstJSON is the burst's figures as one line of JSON.
func (r *burstResult) writeJSON(w io.Writer) error {
	out := map[string]any{
		"n": r.N, "ok": r.OK, "failures": r.Failures,
		"peak_rss_kib": r.PeakRSSKiB, "rss_before_kib": r.RSSBeforeKiB, "rss_after_kib": r.RSSAfterKiB,
		"span_ms": ms(r.Span), "per_stream_kib": r.perStreamKiB(),
	}
	if len(r.TTFB) > 0 {
		out["ttfb_p50_ms"] = ms(percentile(r.TTFB, .5))
		out["ttfb_p99_ms"] = ms(percentile(r.TTFB, .99))
		out["ttfb_max_ms"] = ms(slices.Max(r.TTFB))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\n%s\n", b)
	return err
}
