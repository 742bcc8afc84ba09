package sandbox

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

func TestStartGateBoundsParallelStarts(t *testing.T) {
	g := NewStartGate(3, time.Minute)
	var in, most atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			release, err := g.enter(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := in.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			in.Add(-1)
			release()
			release() // idempotent
		})
	}
	wg.Wait()
	if got := most.Load(); got != 3 {
		t.Fatalf("at most %d starts at once, want 3", got)
	}
	if w := g.Waiting(); w != 0 {
		t.Fatalf("%d waiting after all are done", w)
	}
}

func TestStartGateWaitEnds(t *testing.T) {
	g := NewStartGate(1, 200*time.Millisecond)
	release, err := g.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	// The caller's context ends the wait.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := g.enter(ctx); done <- err }()
	for g.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v, want context.Canceled", err)
	}

	// A wait past maxWait is throttled, as Lambda throttles.
	_, err = g.enter(context.Background())
	var se *sluice.Error
	if !errors.As(err, &se) || se.Code != sluice.EThrottled || se.Reason == "" {
		t.Fatalf("long wait: %v, want EThrottled with a Reason", err)
	}
}

func TestStartGateClose(t *testing.T) {
	g := NewStartGate(1, time.Minute)
	release, err := g.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	done := make(chan error, 1)
	go func() { _, err := g.enter(context.Background()); done <- err }()
	for g.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	g.Close()
	g.Close()
	for _, err := range []error{<-done, func() error { _, err := g.enter(context.Background()); return err }()} {
		if sluice.ErrorCodeOf(err) != sluice.EServiceUnavailable {
			t.Fatalf("after Close: %v, want EServiceUnavailable", err)
		}
	}
}

// TestInitTimeoutCountsFromStart: an environment that waited at the gate
// longer than its init timeout still gets the whole init timeout from
// when it started.
func TestInitTimeoutCountsFromStart(t *testing.T) {
	g := NewStartGate(1, time.Minute)
	release, err := g.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{InitTimeout: 2 * time.Second, Starts: g}
	go func() { time.Sleep(3 * time.Second); release() }() // longer than InitTimeout
	e := start(t, "logs", opts)
	out, res := run(t, e)
	if res.Err != nil || out != "ok" {
		t.Fatalf("got %q, %+v; want ok (the init timeout must count from the start, not the wait)", out, res.Err)
	}
}

// TestStartPlaceFreedAtInit: a start gives its place back when its
// runtime asks for its first invocation, not when the invocation ends.
func TestStartPlaceFreedAtInit(t *testing.T) {
	g := NewStartGate(1, time.Minute)
	opts := Options{Starts: g}
	start(t, "logs", opts)
	// The env is not invoked: its runtime waits in GET /next.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // well under the init timeout
	defer cancel()
	release, err := g.enter(ctx)
	if err != nil {
		t.Fatalf("the place was not given back at the end of init: %v", err)
	}
	release()
}

// TestSlotsFollowDemand: the prepared slots wanted are as many as starts
// took in the last second (at least slotsWanted, at most slotsMax), and
// fall back once the demand is gone.
func TestSlotsFollowDemand(t *testing.T) {
	var p slotPool
	now := time.Now()
	if got := p.wantedLocked(now); got != slotsWanted {
		t.Fatalf("idle: %d wanted, want %d", got, slotsWanted)
	}
	for range 10 {
		p.wantedLocked(now)
		p.cur++
	}
	if got := p.wantedLocked(now.Add(100 * time.Millisecond)); got != 10 {
		t.Fatalf("after 10 takes: %d wanted, want 10", got)
	}
	// The next second still remembers the last one's demand.
	if got := p.wantedLocked(now.Add(1100 * time.Millisecond)); got != 10 {
		t.Fatalf("a second later: %d wanted, want 10", got)
	}
	if got := p.wantedLocked(now.Add(3 * time.Second)); got != slotsWanted {
		t.Fatalf("once the demand is gone: %d wanted, want %d", got, slotsWanted)
	}
	for range 100 {
		p.cur++
	}
	if got := p.wantedLocked(now.Add(3100 * time.Millisecond)); got != slotsMax {
		t.Fatalf("after 100 takes: %d wanted, want the cap %d", got, slotsMax)
	}
}
