package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// Functions every side runs; a function's handler is its name up to the first "-".
const (
	fnEcho   = "echo"
	fnStream = "stream"
	fnBig    = "big"
)

// echoPayload is the small payload of the warm Invoke measurement.
var echoPayload = []byte(`{"hello":"world","n":42}`)

// ttfbPayload is the TTFB measurement's event: one small chunk, a 200 ms
// pause, one more chunk.
var ttfbPayload = []byte(`{"chunks":2,"pauseMs":200}`)

// ttfbWant is what that stream carries.
const ttfbWant = "chunk-0\nchunk-1\n"

// sideResult holds the samples of one side.
type sideResult struct {
	warm []time.Duration // warm Invoke latency
	// warmCPU is the server's CPU over the warm Invoke calls (warm of
	// them).
	warmCPU time.Duration
	conc    *concurrentSamples
	ttfb    []time.Duration // call start → first PayloadChunk
	mibs    []float64       // throughput of each large stream through the SDK, MiB/s
	rawMibs []float64       // the same through the raw client
	// streamCPU is the server's CPU over the throughput runs (SDK and
	// raw), streamMiB what they streamed.
	streamCPU time.Duration
	streamMiB float64
	// cold is the cold-start figure: the first Invoke of a new function for
	// sluice; fork/exec of the bootstrap until its first GET /next for the
	// relay.
	cold []time.Duration
	// coldInvoke is the client-measured first Invoke of each new function.
	coldInvoke []time.Duration
	// coldCPU is the server's CPU over the Go cold starts (the invokes,
	// not the creates).
	coldCPU time.Duration
	// runtimes are the cold starts of the other runtimes, by
	// runtimeCase.key, measured the same way.
	runtimes map[string]*coldSamples
	open     *openSamples // nil if not measured (measureOpen)
}

// coldSamples are the cold starts of one runtime on one side.
type coldSamples struct {
	cold   []time.Duration // as sideResult.cold
	invoke []time.Duration // as sideResult.coldInvoke
	cpu    time.Duration   // as sideResult.coldCPU
}

// results are the samples of every side.
type results struct {
	sides       map[string]*sideResult // by target name
	largeStream string                 // the function and event of the throughput stream
	ceiling     []float64              // MiB/s of the two-hop loopback ceiling, per run
}

// measure runs every measurement on every target, one call at a time
// (except the concurrent invokes and the open streams). The targets take
// turns, so that both see the same machine (other load, CPU frequency,
// page cache) over the run. goZip is the Go test function's package;
// runtimes are the other runtimes whose cold starts are measured after the
// Go one's; ceil is the two-hop loopback ceiling.
func measure(ctx context.Context, cfg config, targets []*target, goZip []byte, runtimes []runtimeCase, ceil *ceiling, progress func(string, ...any)) (*results, error) {
	res := &results{sides: map[string]*sideResult{}}
	goFn := func(handler string) function {
		return function{runtime: types.RuntimeProvidedal2023, handler: handler, zip: goZip}
	}
	for _, t := range targets {
		res.sides[t.name] = &sideResult{runtimes: map[string]*coldSamples{}}
		for _, fn := range []string{fnEcho, fnStream, fnBig} {
			if err := t.create(ctx, fn, goFn(fn)); err != nil {
				return nil, fmt.Errorf("%s: creating %s: %w", t.name, fn, err)
			}
		}
	}
	// turns runs f n times on every target, taking turns (and turns about
	// who goes first).
	turns := func(what string, n int, f func(*target, *sideResult) error) error {
		order := slices.Clone(targets)
		for range n {
			for _, t := range order {
				if err := f(t, res.sides[t.name]); err != nil {
					return fmt.Errorf("%s: %s: %w", t.name, what, err)
				}
			}
			slices.Reverse(order)
		}
		return nil
	}
	// cpu measures f's span on t's server and adds it to *sum.
	cpu := func(t *target, sum *time.Duration, f func() error) error {
		m := &cpuMeter{pid: t.pid}
		if err := m.span(f); err != nil {
			return err
		}
		*sum += m.total
		return m.err
	}

	progress("warm Invoke: %d warm-up + %d calls per side, in blocks of %d", cfg.warmup, cfg.n, cfg.block)
	err := turns("warm-up", cfg.warmup, func(t *target, _ *sideResult) error {
		_, err := invokeOnce(ctx, t.client, fnEcho, echoPayload)
		return err
	})
	if err == nil {
		blocks := (cfg.n + cfg.block - 1) / cfg.block
		err = turns("warm Invoke", blocks, func(t *target, r *sideResult) error {
			return cpu(t, &r.warmCPU, func() error {
				for range min(cfg.block, cfg.n-len(r.warm)) {
					d, err := invokeOnce(ctx, t.client, fnEcho, echoPayload)
					if err != nil {
						return err
					}
					r.warm = append(r.warm, d)
				}
				return nil
			})
		})
	}
	if err != nil {
		return nil, err
	}

	progress("invokes/s: %d concurrent clients × %d calls, %d rounds per side", cfg.conc, cfg.concCalls, cfg.concRounds)
	conc, err := concurrentInvokes(ctx, targets, cfg.conc, cfg.concCalls, cfg.concRounds)
	if err != nil {
		return nil, err
	}
	for name, c := range conc {
		res.sides[name].conc = c
	}

	progress("streaming TTFB: %d warm-up + %d calls per side, each at least 200 ms", cfg.warmup, cfg.ttfb)
	err = turns("warm-up", cfg.warmup, func(t *target, _ *sideResult) error {
		// the same function and environment, without the pause
		_, err := streamOnce(ctx, t.client, fnStream, []byte(`{"chunks":2,"pauseMs":0}`), int64(len(ttfbWant)))
		return err
	})
	if err == nil {
		err = turns("streaming TTFB", cfg.ttfb, func(t *target, r *sideResult) error {
			s, err := streamOnce(ctx, t.client, fnStream, ttfbPayload, int64(len(ttfbWant)))
			r.ttfb = append(r.ttfb, s.first)
			return err
		})
	}
	if err != nil {
		return nil, err
	}

	fn, payload, err := largeStream(ctx, targets[0], cfg.mb)
	if err != nil {
		return nil, err
	}
	res.largeStream = fmt.Sprintf("%s %s", fn, payload)
	progress("throughput: %d × %d MiB stream per side through the SDK, the same through a raw client, and the two-hop ceiling (%s)", cfg.runs, cfg.mb, res.largeStream)
	raws := map[string]*rawClient{}
	for _, t := range targets {
		raws[t.name] = newRawClient(t.url)
	}
	err = turns("warm-up", min(cfg.warmup, 3), func(t *target, _ *sideResult) error {
		warm := fmt.Appendf(nil, `{"mb":1,"chunks":16,"size":%d}`, 64<<10) // 1 MiB from either handler
		_, err := streamOnce(ctx, t.client, fn, warm, 1<<20)
		if err == nil {
			_, err = raws[t.name].stream(ctx, fn, warm, 1<<20)
		}
		return err
	})
	want := int64(cfg.mb) << 20
	mibs := func(d time.Duration) float64 { return float64(want) / (1 << 20) / d.Seconds() }
	if err == nil {
		_, err = ceil.run(ctx, 1<<20) // warm-up
	}
	for i := 0; i < cfg.runs && err == nil; i++ {
		if i%2 == 0 {
			err = ceilingRun(ctx, ceil, want, res)
		}
		order := slices.Clone(targets)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			if err != nil {
				break
			}
			r := res.sides[t.name]
			err = cpu(t, &r.streamCPU, func() error {
				s, err := streamOnce(ctx, t.client, fn, payload, want)
				if err != nil {
					return fmt.Errorf("%s: throughput, SDK client: %w", t.name, err)
				}
				r.mibs = append(r.mibs, mibs(s.total))
				if s, err = raws[t.name].stream(ctx, fn, payload, want); err != nil {
					return fmt.Errorf("%s: throughput, raw client: %w", t.name, err)
				}
				r.rawMibs = append(r.rawMibs, mibs(s.total))
				r.streamMiB += 2 * float64(cfg.mb)
				return nil
			})
		}
		if i%2 == 1 && err == nil {
			err = ceilingRun(ctx, ceil, want, res)
		}
	}
	if err != nil {
		return nil, err
	}

	progress("cold start: %d new functions per side", cfg.cold)
	goCold, err := coldStarts(ctx, cfg.cold, runtimeCase{prefix: fnEcho, fn: goFn(fnEcho)}, targets, invokeOnce)
	if err != nil {
		return nil, err
	}
	for name, c := range goCold {
		res.sides[name].cold, res.sides[name].coldInvoke, res.sides[name].coldCPU = c.cold, c.invoke, c.cpu
	}
	for _, rc := range runtimes {
		progress("cold start of %s: %d new functions per side (the first create provisions the runtime; a first Node.js provisioning builds its client, a minute or more)", rc.fn.runtime, cfg.cold)
		cold, err := coldStarts(ctx, cfg.cold, rc, targets, invokeEvent)
		if err != nil {
			return nil, err
		}
		for name, c := range cold {
			res.sides[name].runtimes[rc.key] = c
		}
	}

	return res, nil
}

// ceilingRun streams want bytes through the ceiling once.
func ceilingRun(ctx context.Context, ceil *ceiling, want int64, res *results) error {
	d, err := ceil.run(ctx, want)
	if err != nil {
		return fmt.Errorf("two-hop ceiling: %w", err)
	}
	res.ceiling = append(res.ceiling, float64(want)/(1<<20)/d.Seconds())
	return nil
}

// coldSettle is the pause before each measured cold start.
const coldSettle = 250 * time.Millisecond

// coldStarts creates n functions of rc on every target, then invokes each
// once, the targets taking turns, each after coldSettle, with invoke. For a target with
// initTimes the cold start is fork/exec until the first GET /next, else
// the client-measured first Invoke. The result is by target name.
func coldStarts(ctx context.Context, n int, rc runtimeCase, targets []*target, invoke func(context.Context, *lambda.Client, string, []byte) (time.Duration, error)) (map[string]*coldSamples, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-cold-%03d", rc.prefix, i)
	}
	for _, t := range targets {
		for _, name := range names {
			if err := t.create(ctx, name, rc.fn); err != nil {
				return nil, fmt.Errorf("%s: creating %s (%s): %w", t.name, name, rc.fn.runtime, err)
			}
		}
	}
	out := map[string]*coldSamples{}
	for _, t := range targets {
		out[t.name] = &coldSamples{}
	}
	// Each server's CPU over the whole of it: each does only its own
	// side's work, and any it does in the background (refills) belongs
	// to its cold starts.
	meters := map[string]*cpuMeter{}
	for _, t := range targets {
		meters[t.name] = &cpuMeter{pid: t.pid}
		meters[t.name].begin()
	}
	order := slices.Clone(targets)
	for _, name := range names {
		for _, t := range order {
			// Each start on a settled machine: neither side's start
			// overlaps the background work of the start before it
			// (sluice refills its pool of prepared sandboxes after a
			// start), which would slow whichever start came next.
			select {
			case <-time.After(coldSettle):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			d, err := invoke(ctx, t.client, name, echoPayload)
			if err != nil {
				return nil, fmt.Errorf("%s: cold start of %s (%s): %w", t.name, name, rc.fn.runtime, err)
			}
			out[t.name].invoke = append(out[t.name].invoke, d)
		}
		slices.Reverse(order)
	}
	for _, t := range targets {
		m := meters[t.name]
		if m.end(); m.err != nil {
			return nil, fmt.Errorf("%s: server CPU: %w", t.name, m.err)
		}
		out[t.name].cpu = m.total
	}
	for _, t := range targets {
		c := out[t.name]
		if t.initTimes == nil {
			c.cold = c.invoke
			continue
		}
		init, err := t.initTimes(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: init times: %w", t.name, err)
		}
		for _, name := range names {
			d, ok := init[name]
			if !ok {
				return nil, fmt.Errorf("%s: no init time for %s", t.name, name)
			}
			c.cold = append(c.cold, d)
		}
	}
	return out, nil
}

// largeStream returns the function and event that stream mb MiB as fast as
// the function can: "big" {"mb":N}, or, where "big" does not stream (the
// aws-lambda-go of internal/testfunction sends an *io.LimitedReader as its
// JSON, {"R":{},"N":...}), "stream" with N*16 chunks of 64 KiB and no pause.
// It asks t once with 1 MiB.
func largeStream(ctx context.Context, t *target, mb int) (fn string, payload []byte, err error) {
	if _, err := streamOnce(ctx, t.client, fnBig, []byte(`{"mb":1}`), 1<<20); err == nil {
		return fnBig, fmt.Appendf(nil, `{"mb":%d}`, mb), nil
	} else if !errors.Is(err, errShortStream) {
		return "", nil, fmt.Errorf("%s: %s: %w", t.name, fnBig, err)
	}
	return fnStream, fmt.Appendf(nil, `{"chunks":%d,"pauseMs":0,"size":%d}`, mb*16, 64<<10), nil
}

// errShortStream is the error of a stream of the wrong length.
var errShortStream = errors.New("stream of the wrong length")

// invokeOnce runs one Invoke and checks that it echoed the payload.
func invokeOnce(ctx context.Context, c *lambda.Client, fn string, payload []byte) (time.Duration, error) {
	return invokeCheck(ctx, c, fn, payload, func(out []byte) bool { return jsonEqual(out, payload) })
}

// invokeEvent runs one Invoke and checks that it answered {"event":
// payload, ...}, as the Node.js and Python test functions (and the relay's
// interpreters) do.
func invokeEvent(ctx context.Context, c *lambda.Client, fn string, payload []byte) (time.Duration, error) {
	return invokeCheck(ctx, c, fn, payload, func(out []byte) bool {
		var v struct {
			Event json.RawMessage `json:"event"`
		}
		return json.Unmarshal(out, &v) == nil && jsonEqual(v.Event, payload)
	})
}

// invokeCheck runs one Invoke and checks its payload with ok.
func invokeCheck(ctx context.Context, c *lambda.Client, fn string, payload []byte, ok func([]byte) bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, lambdaclient.DefaultTimeout)
	defer cancel()
	start := time.Now()
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if out.FunctionError != nil {
		return 0, fmt.Errorf("function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	if !ok(out.Payload) {
		return 0, fmt.Errorf("payload %q, unexpected for the event %q", out.Payload, payload)
	}
	return d, nil
}

func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// streamSample is one InvokeWithResponseStream as the client saw it.
type streamSample struct {
	first time.Duration // call start → first PayloadChunk received
	total time.Duration // call start → InvokeComplete received
}

// streamOnce runs one InvokeWithResponseStream, reads every event and
// checks that want bytes arrived and the stream ended with a clean
// InvokeComplete.
func streamOnce(ctx context.Context, c *lambda.Client, fn string, payload []byte, want int64) (streamSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var s streamSample
	start := time.Now()
	out, err := c.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil {
		return s, err
	}
	stream := out.GetStream()
	defer stream.Close()
	var n int64
	completed := false
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			if n == 0 {
				s.first = time.Since(start)
			}
			n += int64(len(v.Value.Payload))
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			s.total = time.Since(start)
			if code := aws.ToString(v.Value.ErrorCode); code != "" {
				return s, fmt.Errorf("InvokeComplete error %s: %s", code, aws.ToString(v.Value.ErrorDetails))
			}
			completed = true
		default:
			return s, fmt.Errorf("unexpected event %T", ev)
		}
	}
	if err := stream.Err(); err != nil {
		return s, err
	}
	switch {
	case !completed:
		return s, errors.New("stream ended without InvokeComplete")
	case n != want:
		return s, fmt.Errorf("%w: %d bytes, want %d", errShortStream, n, want)
	}
	return s, nil
}

// percentile is the q-quantile (0 ≤ q ≤ 1) of d, interpolated linearly
// between the closest ranks (q = 0.5 is the median).
func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	r := q * float64(len(s)-1)
	i := int(r)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + time.Duration((r-float64(i))*float64(s[i+1]-s[i]))
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

func medianFloat(f []float64) float64 {
	s := slices.Clone(f)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
