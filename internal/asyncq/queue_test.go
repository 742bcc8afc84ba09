package asyncq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, path string, opts Options) *Queue {
	t.Helper()
	q, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func put(t *testing.T, q *Queue, ev Event) {
	t.Helper()
	if err := q.Put(context.Background(), ev); err != nil {
		t.Fatalf("Put %s: %v", ev.ID, err)
	}
}

// run runs q.Run in the background; stop cancels it and waits for it.
func run(t *testing.T, q *Queue, deliver Deliver) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, deliver) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return 30s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// recorder collects deliveries.
type recorder struct {
	mu   sync.Mutex
	evs  []Event
	at   []time.Time
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) add(ev Event) int {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.at = append(r.at, time.Now())
	n := len(r.evs)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
	return n
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.evs...)
}

// wait waits until at least n deliveries were recorded.
func (r *recorder) wait(t *testing.T, n int, d time.Duration) []Event {
	t.Helper()
	deadline := time.After(d)
	for {
		if evs := r.events(); len(evs) >= n {
			return evs
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("%d deliveries after %v, want %d", len(r.events()), d, n)
		}
	}
}

// waitLen waits until q.Len() is n (outcomes are recorded after the
// delivery returns).
func waitLen(t *testing.T, q *Queue, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for q.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("Len = %d, want %d", q.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPutRunDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q := open(t, path, Options{})
	enq := time.Now().Add(-time.Minute).Round(0)
	for i := range 10 {
		put(t, q, Event{ID: fmt.Sprint("e", i), Key: []string{"a", "b"}[i%2], Enqueued: enq, Data: []byte{byte(i), 0, 1}})
	}
	if q.Len() != 10 {
		t.Fatalf("Len = %d, want 10", q.Len())
	}
	rec := newRecorder()
	stop := run(t, q, func(ctx context.Context, ev Event) Outcome { rec.add(ev); return Done{} })
	evs := rec.wait(t, 10, 10*time.Second)
	stop()
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.ID] {
			t.Errorf("%s delivered twice", ev.ID)
		}
		seen[ev.ID] = true
		var i int
		fmt.Sscanf(ev.ID, "e%d", &i)
		if ev.Key != []string{"a", "b"}[i%2] || !bytes.Equal(ev.Data, []byte{byte(i), 0, 1}) || !ev.Enqueued.Equal(enq) || !ev.Due.Equal(enq) || ev.Attempts != 0 {
			t.Errorf("delivered %+v, not what was put", ev)
		}
	}
	if len(seen) != 10 || q.Len() != 0 {
		t.Fatalf("%d distinct deliveries, Len %d; want 10, 0", len(seen), q.Len())
	}
	q.Close()
	q2 := open(t, path, Options{})
	if q2.Len() != 0 {
		t.Fatalf("after reopening, Len = %d, want 0", q2.Len())
	}
}

func TestPutValidatesAndClose(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	for _, ev := range []Event{{ID: "x"}, {ID: "x", Key: string(make([]byte, MaxKeyLen+1))}, {ID: "x", Key: "k", Attempts: -1}} {
		if err := q.Put(context.Background(), ev); err == nil {
			t.Errorf("Put(key of %d bytes, attempts %d) = nil, want an error", len(ev.Key), ev.Attempts)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after refused Puts", q.Len())
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(context.Background(), Event{ID: "x", Key: "k"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
}

func TestDueOrderWithinKey(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{MaxInFlight: 1})
	now := time.Now()
	put(t, q, Event{ID: "later", Key: "k", Due: now.Add(300 * time.Millisecond)})
	put(t, q, Event{ID: "first", Key: "k"})
	put(t, q, Event{ID: "second", Key: "k"})
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome { rec.add(ev); return Done{} })
	evs := rec.wait(t, 3, 10*time.Second)
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	if fmt.Sprint(ids) != "[first second later]" {
		t.Fatalf("order %v, want [first second later]", ids)
	}
	rec.mu.Lock()
	late := rec.at[2].Sub(now)
	rec.mu.Unlock()
	if late < 300*time.Millisecond {
		t.Fatalf("the event due in 300ms was delivered after %v", late)
	}
}

// An abandoned Run (its context ends while deliveries are blocked) leaves
// every event queued, attempts unchanged, delivered again by the next Run
// on a reopened file.
func TestAbandonedRunRedelivers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q := open(t, path, Options{})
	for i := range 5 {
		put(t, q, Event{ID: fmt.Sprint(i), Key: "k"})
	}
	started := newRecorder()
	stop := run(t, q, func(ctx context.Context, ev Event) Outcome {
		started.add(ev)
		<-ctx.Done()
		return Retry{At: time.Now()} // cut short: must not count
	})
	started.wait(t, 5, 10*time.Second)
	stop()
	if q.Len() != 5 {
		t.Fatalf("Len = %d after the abandoned Run, want 5", q.Len())
	}
	// nil is abandonment too.
	stop = run(t, q, func(ctx context.Context, ev Event) Outcome { return nil })
	time.Sleep(100 * time.Millisecond)
	stop()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q = open(t, path, Options{})
	if q.Len() != 5 {
		t.Fatalf("Len = %d after reopening, want 5", q.Len())
	}
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome { rec.add(ev); return Done{} })
	for _, ev := range rec.wait(t, 5, 10*time.Second) {
		if ev.Attempts != 0 {
			t.Errorf("event %s delivered again with Attempts %d, want 0", ev.ID, ev.Attempts)
		}
	}
}

// ShutdownGrace lets a delivery under way finish and be recorded.
func TestShutdownGrace(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{ShutdownGrace: 5 * time.Second})
	put(t, q, Event{ID: "x", Key: "k"})
	started := make(chan struct{})
	stop := run(t, q, func(ctx context.Context, ev Event) Outcome {
		close(started)
		time.Sleep(200 * time.Millisecond)
		if ctx.Err() != nil {
			t.Errorf("the delivery's context ended within the grace")
		}
		return Done{}
	})
	<-started
	stop()
	if q.Len() != 0 {
		t.Fatalf("Len = %d, want 0: the delivery finished within the grace", q.Len())
	}
}

func TestRetryDelaysAndAttempts(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	put(t, q, Event{ID: "x", Key: "k", Data: []byte("v0")})
	const delay = 150 * time.Millisecond
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome {
		if n := rec.add(ev); n < 3 {
			return Retry{At: time.Now().Add(delay), Data: []byte(fmt.Sprint("v", n))}
		}
		return Done{}
	})
	evs := rec.wait(t, 3, 10*time.Second)
	time.Sleep(2 * delay)
	if evs = rec.events(); len(evs) != 3 {
		t.Fatalf("%d deliveries, want 3", len(evs))
	}
	rec.mu.Lock()
	at := rec.at
	rec.mu.Unlock()
	for i, ev := range evs {
		if ev.Attempts != i || string(ev.Data) != fmt.Sprint("v", i) || ev.ID != "x" {
			t.Errorf("delivery %d: Attempts %d, Data %q; want %d, v%d", i, ev.Attempts, ev.Data, i, i)
		}
		if i > 0 && at[i].Sub(at[i-1]) < delay {
			t.Errorf("delivery %d came %v after the previous one, before the retry delay %v", i, at[i].Sub(at[i-1]), delay)
		}
	}
	waitLen(t, q, 0)
}

func TestThrottledKeepsAttempts(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	put(t, q, Event{ID: "x", Key: "k", Attempts: 1})
	const delay = 100 * time.Millisecond
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome {
		switch rec.add(ev) {
		case 1, 2:
			return Throttled{At: time.Now().Add(delay)}
		case 3:
			return Retry{}
		}
		return Done{}
	})
	evs := rec.wait(t, 4, 10*time.Second)
	want := []int{1, 1, 1, 2}
	for i, ev := range evs {
		if ev.Attempts != want[i] {
			t.Errorf("delivery %d: Attempts %d, want %d (throttles do not count)", i, ev.Attempts, want[i])
		}
	}
	rec.mu.Lock()
	if d := rec.at[1].Sub(rec.at[0]); d < delay {
		t.Errorf("redelivered %v after a throttle, before its time %v", d, delay)
	}
	rec.mu.Unlock()
}

// Options.Limit caps one key's deliveries at once; another key is not
// held up by it; MaxInFlight caps them all.
func TestPerKeyLimit(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{
		MaxInFlight: 6,
		Limit: func(key string) int {
			if key == "limited" {
				return 2
			}
			return 0
		},
	})
	for i := range 20 {
		put(t, q, Event{ID: fmt.Sprint("l", i), Key: "limited"})
		put(t, q, Event{ID: fmt.Sprint("f", i), Key: "free"})
	}
	var mu sync.Mutex
	cur := map[string]int{}
	peak := map[string]int{}
	total, peakTotal := 0, 0
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome {
		mu.Lock()
		cur[ev.Key]++
		total++
		peak[ev.Key] = max(peak[ev.Key], cur[ev.Key])
		peakTotal = max(peakTotal, total)
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		cur[ev.Key]--
		total--
		mu.Unlock()
		rec.add(ev)
		return Done{}
	})
	rec.wait(t, 40, 30*time.Second)
	waitLen(t, q, 0)
	mu.Lock()
	defer mu.Unlock()
	if peak["limited"] != 2 {
		t.Errorf("at most %d deliveries of the limited key at once, want exactly 2", peak["limited"])
	}
	if peak["free"] < 3 || peakTotal > 6 {
		t.Errorf("peak of the free key %d (want > 2), of all %d (want <= 6)", peak["free"], peakTotal)
	}
	waitLen(t, q, 0)
}

// Pointers to outcomes are outcomes too.
func TestPointerOutcomes(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	put(t, q, Event{ID: "x", Key: "k"})
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome {
		switch rec.add(ev) {
		case 1:
			return &Retry{}
		case 2:
			return &Throttled{}
		}
		return &Done{}
	})
	evs := rec.wait(t, 3, 10*time.Second)
	if evs[1].Attempts != 1 || evs[2].Attempts != 1 {
		t.Fatalf("attempts %d, %d; want 1, 1", evs[1].Attempts, evs[2].Attempts)
	}
	waitLen(t, q, 0)
}

func TestRunTwice(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	run(t, q, func(ctx context.Context, ev Event) Outcome { return Done{} })
	time.Sleep(50 * time.Millisecond)
	if err := q.Run(context.Background(), func(ctx context.Context, ev Event) Outcome { return Done{} }); err == nil {
		t.Fatal("a second Run at once started")
	}
}
