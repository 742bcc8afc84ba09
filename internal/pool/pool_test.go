package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// fake is a Sandbox that records its life.
type fake struct {
	key, rev string
	dead     atomic.Bool
	expired  atomic.Bool // running, but unfit for another invocation (its credentials)
	stops    atomic.Int32
}

func (f *fake) Key() string      { return f.key }
func (f *fake) Revision() string { return f.rev }
func (f *fake) Alive() bool      { return !f.dead.Load() && !f.expired.Load() }
func (f *fake) Stop()            { f.dead.Store(true); f.stops.Add(1) }

type launcher struct {
	mu       sync.Mutex
	launched []*fake
}

func (l *launcher) launch(key, rev string) func(context.Context) (*fake, error) {
	return func(context.Context) (*fake, error) {
		f := &fake{key: key, rev: rev}
		l.mu.Lock()
		l.launched = append(l.launched, f)
		l.mu.Unlock()
		return f, nil
	}
}

func (l *launcher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.launched)
}

func acquire(t *testing.T, p *Pool[*fake], l *launcher, key, rev string) *Lease[*fake] {
	t.Helper()
	lease, err := p.Acquire(context.Background(), key, rev, l.launch(key, rev))
	if err != nil {
		t.Fatalf("Acquire(%s): %v", key, err)
	}
	return lease
}

// waitStopped waits for background stops.
func waitStopped(t *testing.T, f *fake) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.stops.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s was not stopped", f.key)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWarmReuse(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	if !a.Cold {
		t.Fatal("first lease should be cold")
	}
	a.Release(true)
	b := acquire(t, p, l, "f", "r1")
	if b.Cold || b.Sandbox != a.Sandbox || l.count() != 1 {
		t.Fatalf("second lease did not reuse the warm sandbox (cold=%v launched=%d)", b.Cold, l.count())
	}
	b.Release(true)
	b.Release(true) // idempotent
	if live, idle := p.Stats(); live != 1 || idle != 1 {
		t.Fatalf("Stats = %d live, %d idle; want 1, 1", live, idle)
	}
}

func TestBusyStartsAnother(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	b := acquire(t, p, l, "f", "r1")
	if a.Sandbox == b.Sandbox || l.count() != 2 {
		t.Fatal("a busy sandbox was handed out twice")
	}
	a.Release(true)
	b.Release(true)
}

func TestNewRevisionIsNotReused(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	a.Release(true)
	b := acquire(t, p, l, "f", "r2")
	if b.Sandbox == a.Sandbox || !b.Cold {
		t.Fatal("sandbox of an old revision was reused")
	}
	waitStopped(t, a.Sandbox)
	b.Release(true)
}

func TestDeadIsNotReused(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	a.Sandbox.dead.Store(true)
	a.Release(true)
	if live, _ := p.Stats(); live != 0 {
		t.Fatalf("dead sandbox kept: %d live", live)
	}
	b := acquire(t, p, l, "f", "r1")
	if b.Sandbox == a.Sandbox {
		t.Fatal("dead sandbox reused")
	}
	b.Release(false)
	waitStopped(t, b.Sandbox)
}

func TestThrottleAndEviction(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 1})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	_, err := p.Acquire(context.Background(), "g", "r1", l.launch("g", "r1"))
	var e *sluice.Error
	if !errors.As(err, &e) || e.Code != sluice.EThrottled || e.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Fatalf("Acquire while full: %v", err)
	}
	a.Release(true)
	// f's idle sandbox is evicted to make room for g.
	b := acquire(t, p, l, "g", "r1")
	waitStopped(t, a.Sandbox)
	if live, _ := p.Stats(); live != 1 {
		t.Fatalf("live = %d after eviction", live)
	}
	b.Release(true)
}

func TestLaunchErrorFreesSlot(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 1})
	defer p.Close()
	boom := errors.New("boom")
	_, err := p.Acquire(context.Background(), "f", "r1", func(context.Context) (*fake, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	l := &launcher{}
	acquire(t, p, l, "f", "r1").Release(true)
}

func TestRetire(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	defer p.Close()
	l := &launcher{}
	idle := acquire(t, p, l, "f", "r1")
	busy := acquire(t, p, l, "f", "r1")
	idle.Release(true)
	p.Retire("f", "")
	waitStopped(t, idle.Sandbox)
	if busy.Sandbox.stops.Load() != 0 {
		t.Fatal("Retire stopped a busy sandbox")
	}
	busy.Release(true) // retired meanwhile: stopped, not kept
	waitStopped(t, busy.Sandbox)
	if live, idleN := p.Stats(); live != 0 || idleN != 0 {
		t.Fatalf("Stats after retire = %d, %d", live, idleN)
	}
}

// Retire spares the revision it is told to keep: an invocation of the new
// deployment that started before the old one was retired stays warm, and
// so do idle environments of that revision; the old ones are stopped.
func TestRetireKeepsNewRevision(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 8})
	defer p.Close()
	l := &launcher{}
	oldIdle := acquire(t, p, l, "f", "r1")
	oldBusy := acquire(t, p, l, "f", "r1")
	newIdle := acquire(t, p, l, "f", "r2")
	newBusy := acquire(t, p, l, "f", "r2")
	oldIdle.Release(true)
	newIdle.Release(true)

	p.Retire("f", "r2")
	waitStopped(t, oldIdle.Sandbox)
	oldBusy.Release(true)
	waitStopped(t, oldBusy.Sandbox)
	newBusy.Release(true)
	if n := newIdle.Sandbox.stops.Load() + newBusy.Sandbox.stops.Load(); n != 0 {
		t.Fatalf("Retire(keep r2) stopped %d environments of r2", n)
	}
	if live, idle := p.Stats(); live != 2 || idle != 2 {
		t.Fatalf("Stats after Retire(keep r2) = %d live, %d idle; want 2, 2", live, idle)
	}
	a, b := acquire(t, p, l, "f", "r2"), acquire(t, p, l, "f", "r2")
	if a.Cold || b.Cold {
		t.Fatal("the kept environments of r2 were not reused")
	}

	// A later Retire without keep (the function was deleted) spares nothing.
	a.Release(true)
	p.Retire("f", "")
	waitStopped(t, a.Sandbox)
	b.Release(true)
	waitStopped(t, b.Sandbox)
	if live, _ := p.Stats(); live != 0 {
		t.Fatalf("%d live environments after Retire without keep", live)
	}
}

func TestReapIdle(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4, IdleTimeout: time.Minute})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	b := acquire(t, p, l, "f", "r1")
	a.Release(true)
	b.Release(true)
	p.reap(time.Now()) // nothing is a minute old yet
	if live, _ := p.Stats(); live != 2 {
		t.Fatalf("reaped too early: %d live", live)
	}
	p.reap(time.Now().Add(2 * time.Minute))
	waitStopped(t, a.Sandbox)
	waitStopped(t, b.Sandbox)
	if live, _ := p.Stats(); live != 0 {
		t.Fatalf("%d live after reaping", live)
	}
}

// TestNotAliveIdleReplaced: an idle environment that is no longer Alive
// while its process still runs (its credentials would expire during
// another invocation) is not reused but stopped and replaced, and the
// reaper stops such an environment without waiting for IdleTimeout.
func TestNotAliveIdleReplaced(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4, IdleTimeout: time.Hour})
	defer p.Close()
	l := &launcher{}
	a := acquire(t, p, l, "f", "r1")
	a.Release(true)
	a.Sandbox.expired.Store(true)
	b := acquire(t, p, l, "f", "r1")
	if !b.Cold || b.Sandbox == a.Sandbox || l.count() != 2 {
		t.Fatalf("an environment that is no longer Alive was reused (cold=%v launched=%d)", b.Cold, l.count())
	}
	waitStopped(t, a.Sandbox)

	b.Release(true)
	if live, idle := p.Stats(); live != 1 || idle != 1 {
		t.Fatalf("%d live, %d idle after release, want 1 and 1", live, idle)
	}
	p.reap(time.Now()) // b is fit: kept
	if live, _ := p.Stats(); live != 1 || b.Sandbox.stops.Load() != 0 {
		t.Fatalf("reaped a fit environment: %d live", live)
	}
	b.Sandbox.expired.Store(true)
	p.reap(time.Now()) // long before IdleTimeout
	waitStopped(t, b.Sandbox)
	if live, idle := p.Stats(); live != 0 || idle != 0 {
		t.Fatalf("%d live, %d idle after reaping an unfit environment, want none", live, idle)
	}
}

func TestCloseStopsBusyAndRefuses(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	l := &launcher{}
	busy := acquire(t, p, l, "f", "r1")
	idle := acquire(t, p, l, "g", "r1")
	idle.Release(true)
	p.Close()
	if busy.Sandbox.stops.Load() == 0 || idle.Sandbox.stops.Load() == 0 {
		t.Fatal("Close left a sandbox running")
	}
	busy.Release(true) // after Close: must not panic or keep it
	_, err := p.Acquire(context.Background(), "f", "r1", l.launch("f", "r1"))
	if sluice.ErrorCodeOf(err) != sluice.EServiceUnavailable {
		t.Fatalf("Acquire after Close: %v", err)
	}
}

func TestCloseWaitsForLaunch(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 4})
	started := make(chan struct{})
	unblock := make(chan struct{})
	var launched *fake
	done := make(chan error)
	go func() {
		_, err := p.Acquire(context.Background(), "f", "r1", func(context.Context) (*fake, error) {
			close(started)
			<-unblock
			launched = &fake{key: "f", rev: "r1"}
			return launched, nil
		})
		done <- err
	}()
	<-started
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a launch was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(unblock)
	<-closed
	if err := <-done; sluice.ErrorCodeOf(err) != sluice.EServiceUnavailable {
		t.Fatalf("Acquire racing Close: %v", err)
	}
	if launched.stops.Load() == 0 {
		t.Fatal("the sandbox launched during Close was not stopped")
	}
}

func TestConcurrentAcquireRelease(t *testing.T) {
	p := New[*fake](Options{MaxEnvironments: 3})
	defer p.Close()
	l := &launcher{}
	var wg sync.WaitGroup
	var inUse sync.Map
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				lease, err := p.Acquire(context.Background(), "f", "r1", l.launch("f", "r1"))
				if sluice.ErrorCodeOf(err) == sluice.EThrottled {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if _, dup := inUse.LoadOrStore(lease.Sandbox, true); dup {
					t.Error("sandbox handed to two holders at once")
				}
				inUse.Delete(lease.Sandbox)
				lease.Release(true)
			}
		}()
	}
	wg.Wait()
	if live, _ := p.Stats(); live > 3 {
		t.Fatalf("%d live sandboxes exceed the cap of 3", live)
	}
}
