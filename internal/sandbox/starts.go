package sandbox

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
)

// Admission of cold starts. Starting an environment costs the machine CPU
// (bubblewrap's namespaces and mounts, the runtime's own init) and, with
// cgroup v1, wall time in the kernel. Started all at once, a storm of them
// shares the CPUs so thinly that each one's init takes longer than the init
// timeout: 1,000 streams opened 5-90 ms apart on two cores failed three in
// four with "Init timed out after 10.00 seconds". A StartGate lets at most
// Parallel environments start at once; the others wait their turn (their
// caller's context, and a bounded wait, decide how long), and the init
// timeout of each counts from when it starts, not from when it queued.
//
// An environment holds its place from the moment it starts until its
// runtime asks for its first invocation (the end of init), it dies, or its
// init timeout has passed, whichever comes first. A place is not given
// back any earlier: under load every init slows down, and places given
// back to slow inits let more starts in, which slow each other down
// further, until they all time out (measured: a 2 s cap turned 16 places
// into 212 init timeouts out of 300 streams). A function whose init waits
// on the network thus holds its place up to its init timeout.

// DefaultStartWait is how long a start may wait for its turn before it is
// refused with TooManyRequestsException.
const DefaultStartWait = 30 * time.Second

// DefaultStartParallel is how many environments start at once by default:
// two per CPU (a start is partly CPU, partly waiting on the kernel), at
// least two. On a 2-core machine shared with other work, 8 places made
// each init take twice as long as 4 did, and fewer streams of a burst
// completed: starts are CPU-bound there.
func DefaultStartParallel() int { return max(2, 2*runtime.NumCPU()) }

// StartGate admits environment starts, Parallel at a time, in arrival
// order. Its methods are safe for concurrent use. A nil *StartGate admits
// every start at once.
type StartGate struct {
	places    chan struct{}
	maxWait   time.Duration
	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	waiting int // starts waiting for a place
}

// NewStartGate returns a gate of parallel places (0: DefaultStartParallel)
// whose waits end after maxWait (0: DefaultStartWait).
func NewStartGate(parallel int, maxWait time.Duration) *StartGate {
	if parallel <= 0 {
		parallel = DefaultStartParallel()
	}
	if maxWait <= 0 {
		maxWait = DefaultStartWait
	}
	return &StartGate{places: make(chan struct{}, parallel), maxWait: maxWait, closed: make(chan struct{})}
}

// Close ends every wait, and refuses every later one, with
// EServiceUnavailable: at shutdown, once the grace period is over, nothing
// waits to start any more. Starts that have their place go on. Safe to
// call more than once.
func (g *StartGate) Close() {
	if g != nil {
		g.closeOnce.Do(func() { close(g.closed) })
	}
}

func errShuttingDown() error {
	return sluice.Errorf(sluice.EServiceUnavailable, "sluice is shutting down")
}

// Parallel is how many starts the gate admits at once.
func (g *StartGate) Parallel() int { return cap(g.places) }

// Waiting is how many starts wait for a place now.
func (g *StartGate) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// errStartThrottled is the answer to a start that waited maxWait: Lambda's
// throttling error, which clients retry.
func errStartThrottled() error {
	return &sluice.Error{Code: sluice.EThrottled, Reason: "ConcurrentInvocationLimitExceeded",
		Message: "Rate Exceeded. Too many execution environments are starting; retry later."}
}

// enter waits for a place. It returns the place's release (idempotent,
// safe from any goroutine), or ctx's error, EThrottled after maxWait, or
// EServiceUnavailable once the gate is closed.
func (g *StartGate) enter(ctx context.Context) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select {
	case <-g.closed:
		return nil, errShuttingDown()
	default:
	}
	select {
	case g.places <- struct{}{}:
		return g.releaser(), nil
	default:
	}
	g.mu.Lock()
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	t := time.NewTimer(g.maxWait)
	defer t.Stop()
	select {
	case g.places <- struct{}{}:
		return g.releaser(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.closed:
		return nil, errShuttingDown()
	case <-t.C:
		return nil, errStartThrottled()
	}
}

func (g *StartGate) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { <-g.places }) }
}
