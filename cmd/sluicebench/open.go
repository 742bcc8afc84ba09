package main

// Open streams: n InvokeWithResponseStream calls of one function, all open
// at once, on a fresh sluice (its limits raised to admit them) and a fresh
// relay, one after the other, once the other measurements are over. Each
// stream writes one small chunk, holds the stream open, then writes a
// second chunk and ends; so each needs an execution environment of its own
// (a bootstrap of the relay). The streams are opened as fast as the server
// admits them: at most openPending calls wait for their first byte at any
// time, each from the raw client on a connection of its own. Each stream is
// held about openSlack times as long as opening the streams not yet open is
// expected to take (from the rate of a first round of openPending streams
// of the same function, and the rate so far), so that all are open at once
// and yet end soon after. Once every stream has its first chunk, the
// server's resident memory is read; the figure is its growth over the
// resident memory before, per open stream. Each stream must then complete
// byte-exact. make burst (burst.go) is the longer storm of cold starts.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// openPending is how many streams may wait for their first byte at once.
const openPending = 32

// openChunkSize is the size of each chunk of an open stream.
const openChunkSize = 64

// openFn is the function of the open streams (its handler: stream).
const openFn = fnStream + "-open"

// The hold of a stream: openSlack times the expected time until all are
// open, plus openMargin.
const (
	openSlack  = 1.25
	openMargin = 2 * time.Second
)

// openSamples are one side's figures of the open streams.
type openSamples struct {
	n, ok     int
	failures  map[string]int
	rssBefore int64 // KiB, before the first stream
	rssOpen   int64 // KiB, once every stream had its first chunk
	// anonBefore and anonOpen are the same of RssAnon (the resident
	// memory that is not file pages: the heap, the stacks).
	anonBefore, anonOpen int64
	opening              time.Duration // first call until the last stream's first chunk
	maxHold              time.Duration // the longest hold of a stream
	// overlapped says whether all were open at once; else
	// openWhenFirstEnded were open when the first one ended.
	overlapped         bool
	openWhenFirstEnded int
}

// perStreamKiB is the growth of resident memory per open stream.
func (o *openSamples) perStreamKiB() float64 {
	if o.n == 0 {
		return 0
	}
	return float64(o.rssOpen-o.rssBefore) / float64(o.n)
}

// streamBytes is what the "stream" handler writes for chunks chunks of
// size bytes.
func streamBytes(chunks, size int) []byte {
	var b []byte
	for i := range chunks {
		line := fmt.Sprintf("chunk-%d\n", i)
		if size > len(line) {
			line = line + strings.Repeat("x", size-len(line)-1) + "\n"
		}
		b = append(b, line...)
	}
	return b
}

// errNotOverlapped says that a stream ended before all were open.
var errNotOverlapped = errors.New("a stream ended before every stream was open")

// openStreams opens n streams of fn on t; hold says how long the function
// holds a stream open that is launched when opened streams are open, elapsed
// after the first was.
func openStreams(ctx context.Context, t *target, fn string, n int, hold func(opened int, elapsed time.Duration) time.Duration) (*openSamples, error) {
	want := streamBytes(2, openChunkSize)
	client := newRawClient(t.url)
	client.http.Transport.(*http.Transport).DisableKeepAlives = true // one connection per stream

	res := &openSamples{n: n, failures: map[string]int{}, rssBefore: procStatusKiB(t.pid, "VmRSS"), anonBefore: procStatusKiB(t.pid, "RssAnon")}
	var (
		opened, ended atomic.Int64
		allOpen       = make(chan struct{})
		overlapped    atomic.Bool
		firstEnd      atomic.Int64 // streams open when the first ended
		pending       = make(chan struct{}, openPending)
		wg            sync.WaitGroup
		mu            sync.Mutex
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	fail := func(err error) {
		msg := requestIDs.ReplaceAllString(err.Error(), "RequestId: …")
		if len(msg) > 160 {
			msg = msg[:160] + "…"
		}
		mu.Lock()
		res.failures[msg]++
		mu.Unlock()
	}
	for range n {
		select {
		case pending <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		h := hold(int(opened.Load()), time.Since(start))
		res.maxHold = max(res.maxHold, h)
		payload := fmt.Appendf(nil, `{"chunks":2,"pauseMs":%d,"size":%d}`, h.Milliseconds(), openChunkSize)
		wg.Go(func() {
			released := false
			release := func() {
				if !released {
					released = true
					<-pending
				}
			}
			defer release()
			var got bytes.Buffer
			err := client.streamTo(ctx, fn, payload, &got, func() {
				release()
				if opened.Add(1) == int64(n) {
					res.opening = time.Since(start)
					res.rssOpen = procStatusKiB(t.pid, "VmRSS")
					res.anonOpen = procStatusKiB(t.pid, "RssAnon")
					overlapped.Store(ended.Load() == 0)
					close(allOpen)
				}
			})
			if ended.Add(1) == 1 {
				firstEnd.Store(opened.Load())
			}
			switch {
			case err != nil:
				fail(err)
			case !bytes.Equal(got.Bytes(), want):
				fail(fmt.Errorf("%w: %q, want %q", errShortStream, got.Bytes(), want))
			default:
				mu.Lock()
				res.ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	select {
	case <-allOpen:
		res.overlapped = overlapped.Load()
		res.openWhenFirstEnded = int(firstEnd.Load())
	default:
		// some stream failed before its first chunk: no memory figure
		res.rssOpen, res.anonOpen = res.rssBefore, res.anonBefore
	}
	return res, nil
}

// measureOpen runs the open streams on a fresh sluice and a fresh relay
// (their data and logs under dir/open), the relay first, and returns them
// by side.
func measureOpen(ctx context.Context, cfg config, bins *binaries, dir string, progress func(string, ...any)) (map[string]*openSamples, error) {
	dir = filepath.Join(dir, "open")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ocfg := cfg
	ocfg.runtimes, ocfg.cold, ocfg.conc = false, 0, 0
	sl, err := startSluice(ctx, bins, dir, ocfg, interpreters{})
	if err != nil {
		return nil, err
	}
	defer sl.stop()
	rl, err := startRelay(ctx, bins, dir, interpreters{})
	if err != nil {
		return nil, err
	}
	defer rl.stop()
	out := map[string]*openSamples{}
	for _, c := range []*child{rl, sl} {
		t := c.relayTarget()
		if c == sl {
			t = c.sluiceTarget()
		}
		o, err := openSide(ctx, t, cfg.open, bins.zip, progress)
		if err != nil {
			return nil, fmt.Errorf("%s: open streams: %w\n%s", t.name, err, c.logTail())
		}
		out[t.name] = o
		if err := c.stop(); err != nil {
			return nil, fmt.Errorf("stopping %s: %w\n%s", t.name, err, c.logTail())
		}
	}
	return out, nil
}

// openSide runs the open streams on t: a round of openPending streams
// that gives the rate, then n streams, of the same function.
func openSide(ctx context.Context, t *target, n int, zip []byte, progress func(string, ...any)) (*openSamples, error) {
	if err := t.create(ctx, openFn, function{runtime: types.RuntimeProvidedal2023, handler: fnStream, zip: zip}); err != nil {
		return nil, fmt.Errorf("creating %s: %w", openFn, err)
	}
	calibration, err := openStreams(ctx, t, openFn, openPending, func(int, time.Duration) time.Duration { return time.Second })
	if err == nil && calibration.ok < openPending {
		err = fmt.Errorf("calibration: %d of %d streams complete: %v", calibration.ok, openPending, calibration.failures)
	}
	if err == nil {
		err = settle(ctx, t)
	}
	if err != nil {
		return nil, err
	}
	perStream := calibration.opening / openPending
	progress("open streams: %d streams on %s (a first round opened %d in %v)", n, t.name, openPending, calibration.opening.Round(time.Millisecond))
	res, err := openStreams(ctx, t, openFn, n, func(opened int, elapsed time.Duration) time.Duration {
		per := perStream
		if opened >= openPending {
			per = max(per, elapsed/time.Duration(opened)) // the slower of the two
		}
		return time.Duration(openSlack*float64(time.Duration(n-opened)*per)) + openMargin
	})
	if err == nil && !res.overlapped && res.ok == n {
		err = fmt.Errorf("%w: %d of %d open when the first ended; all open after %v", errNotOverlapped, res.openWhenFirstEnded, n, res.opening.Round(time.Millisecond))
	}
	return res, err
}

// settle makes the garbage of t's server (the function's deployment
// package: a CreateFunction grows sluice's heap by about five times the
// zip) collected and returned to the system before its resident memory is
// read: it streams settleMiB MiB of events through the server, enough for
// its garbage collector to run, and waits for its scavenger.
func settle(ctx context.Context, t *target) error {
	const settleMiB = 64
	pad := bytes.Repeat([]byte("x"), 1<<20)
	event := fmt.Appendf(nil, `{"chunks":1,"pauseMs":0,"size":%d,"pad":"%s"}`, openChunkSize, pad)
	c := newRawClient(t.url)
	want := int64(len(streamBytes(1, openChunkSize)))
	for range settleMiB {
		if _, err := c.stream(ctx, openFn, event, want); err != nil {
			return fmt.Errorf("settling: %w", err)
		}
	}
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
