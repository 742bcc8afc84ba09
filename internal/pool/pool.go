// Package pool keeps warm execution environments and decides when a new
// one may start.
//
// Environments are keyed by function name and tagged with the function's
// revision: an idle environment of an older revision is never reused.
// At most MaxEnvironments exist at once, and with MaxWeight the weights of
// the live environments (sluice weighs an environment by its function's
// memory) add up to at most MaxWeight. When an environment does not fit,
// the least recently used idle ones, of any function, are stopped to make
// room; when stopping every idle one would not make room, Acquire fails at
// once with a throttling error (Lambda's TooManyRequestsException).
// Idle environments are stopped after IdleTimeout, or once they are no
// longer Alive; a warm environment is reused only while it is Alive.
//
// The pool never imports package sandbox: it declares the one interface it
// needs, and the caller passes a launch function.
package pool

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
)

// Sandbox is what the pool needs of an execution environment.
type Sandbox interface {
	Key() string
	Revision() string
	// Alive reports whether it can take another invocation.
	Alive() bool
	// Stop ends it and waits until it is gone; it may be called more than
	// once and concurrently with a running invocation.
	Stop()
}

// Defaults.
const (
	DefaultMaxEnvironments = 32
	DefaultIdleTimeout     = 10 * time.Minute
)

// Options configure a Pool.
type Options struct {
	// MaxEnvironments caps live environments; 0 means DefaultMaxEnvironments.
	MaxEnvironments int
	// IdleTimeout is how long an idle environment is kept; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxWeight caps the sum of the weights (AcquireWeighted) of the live
	// environments, busy, idle and starting; 0 means no cap.
	MaxWeight int64
	// OverWeight makes the error of an Acquire whose weight does not fit
	// (want, the weight asked for; inUse, the weight of the busy and
	// starting environments; limit, MaxWeight); nil means a plain
	// throttling error.
	OverWeight func(want, inUse, limit int64) error
	Logger     *slog.Logger
}

type entry[S Sandbox] struct {
	s        S
	ready    bool   // s is set (launch returned)
	gen      uint64 // the key's generation when it was acquired
	weight   int64
	idleFrom time.Time
}

// Pool is a set of execution environments. Its zero value is not usable;
// call New, then Run in a goroutine, and Close at the end.
type Pool[S Sandbox] struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	idle      map[string][]*entry[S] // per key, most recently used last
	all       map[*entry[S]]struct{} // idle and busy
	weight    int64                  // sum of the weights in all
	gen       map[string]uint64      // bumped by Retire
	keep      map[string]string      // per key, the revision the last Retire spared
	closed    bool
	stopper   sync.WaitGroup // environments being stopped in the background
	launching sync.WaitGroup // Acquires running launch
}

// New returns an empty pool.
func New[S Sandbox](opts Options) *Pool[S] {
	if opts.MaxEnvironments <= 0 {
		opts.MaxEnvironments = DefaultMaxEnvironments
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pool[S]{
		opts: opts,
		log:  opts.Logger,
		idle: map[string][]*entry[S]{},
		all:  map[*entry[S]]struct{}{},
		gen:  map[string]uint64{},
		keep: map[string]string{},
	}
}

// Lease is the exclusive use of one environment; Release ends it.
type Lease[S Sandbox] struct {
	p       *Pool[S]
	e       *entry[S]
	Sandbox S
	// Cold is true when the environment was started for this lease.
	Cold bool
	once sync.Once
}

// ErrThrottled is returned when every environment is busy.
func errThrottled() error {
	return &sluice.Error{Code: sluice.EThrottled, Reason: "ConcurrentInvocationLimitExceeded", Message: "Rate Exceeded."}
}

// Acquire returns a warm idle environment of key at revision rev, or starts
// one with launch. Errors: sluice.EThrottled when MaxEnvironments are all
// busy; sluice.EServiceUnavailable after Close; launch's error.
func (p *Pool[S]) Acquire(ctx context.Context, key, rev string, launch func(context.Context) (S, error)) (*Lease[S], error) {
	return p.AcquireWeighted(ctx, key, rev, 0, launch)
}

// AcquireWeighted is Acquire for an environment of the given weight (0 or
// more; a warm one was weighed when it started). A new environment that
// would take the live environments' weight above MaxWeight first stops
// idle ones, least recently used first, and waits until they are gone
// (their resources are free before the new one takes its own); when even
// stopping all of them would not make room, it fails with OverWeight's
// error and stops none.
func (p *Pool[S]) AcquireWeighted(ctx context.Context, key, rev string, weight int64, launch func(context.Context) (S, error)) (*Lease[S], error) {
	var stale []*entry[S]
	defer func() { p.stopAll(stale) }()

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, sluice.Errorf(sluice.EServiceUnavailable, "sluice is shutting down")
	}
	list := p.idle[key]
	for len(list) > 0 {
		e := list[len(list)-1]
		list = list[:len(list)-1]
		if e.s.Revision() == rev && e.s.Alive() {
			p.idle[key] = list
			e.gen = p.gen[key]
			p.mu.Unlock()
			return &Lease[S]{p: p, e: e, Sandbox: e.s}, nil
		}
		p.forgetLocked(e)
		stale = append(stale, e)
	}
	p.idle[key] = list
	if err := p.fitLocked(weight); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	var evicted []*entry[S] // for weight: stopped before the launch
	for len(p.all) >= p.opts.MaxEnvironments || p.overWeightLocked(weight) {
		victim := p.oldestIdleLocked()
		p.removeIdleLocked(victim)
		if p.opts.MaxWeight > 0 && victim.weight > 0 {
			evicted = append(evicted, victim)
		} else {
			stale = append(stale, victim)
		}
	}
	e := &entry[S]{gen: p.gen[key], weight: weight}
	p.all[e] = struct{}{} // reserve the slot while launching
	p.weight += weight
	p.launching.Add(1)
	p.mu.Unlock()
	defer p.launching.Done()
	for _, v := range evicted {
		v.s.Stop()
	}

	s, err := launch(ctx)
	if err != nil {
		p.mu.Lock()
		p.forgetLocked(e)
		p.mu.Unlock()
		return nil, err
	}
	p.mu.Lock()
	e.s, e.ready = s, true
	closed := p.closed
	p.mu.Unlock()
	if closed { // Close is waiting for this launch: stop what it started
		p.release(e, false)
		return nil, sluice.Errorf(sluice.EServiceUnavailable, "sluice is shutting down")
	}
	return &Lease[S]{p: p, e: e, Sandbox: s, Cold: true}, nil
}

// Release returns the environment. With reuse it goes back to the idle set
// if it is still alive and its function was not retired meanwhile;
// otherwise it is stopped. Release is idempotent.
func (l *Lease[S]) Release(reuse bool) {
	l.once.Do(func() { l.p.release(l.e, reuse) })
}

func (p *Pool[S]) release(e *entry[S], reuse bool) {
	p.mu.Lock()
	key := e.s.Key()
	if reuse && !p.closed && p.currentLocked(e, key) && e.s.Alive() {
		e.idleFrom = time.Now()
		p.idle[key] = append(p.idle[key], e)
		p.mu.Unlock()
		return
	}
	p.forgetLocked(e)
	p.mu.Unlock()
	p.stopAll([]*entry[S]{e})
}

// currentLocked reports whether e was not retired: acquired after the last
// Retire of key, or built from the revision that Retire spared.
func (p *Pool[S]) currentLocked(e *entry[S], key string) bool {
	if e.gen == p.gen[key] {
		return true
	}
	keep, ok := p.keep[key]
	return ok && keep != "" && e.s.Revision() == keep
}

// Retire stops the idle environments of key, except those of revision
// keep ("" keeps none); busy ones of other revisions are stopped when
// released. Sparing keep closes a race: a change is stored, a client sees
// it and invokes the new revision, and only then is the old one retired.
func (p *Pool[S]) Retire(key, keep string) {
	p.mu.Lock()
	p.gen[key]++
	if keep == "" {
		delete(p.keep, key)
	} else {
		p.keep[key] = keep
	}
	var stale, kept []*entry[S]
	for _, e := range p.idle[key] {
		if keep != "" && e.s.Revision() == keep {
			e.gen = p.gen[key]
			kept = append(kept, e)
			continue
		}
		p.forgetLocked(e)
		stale = append(stale, e)
	}
	if len(kept) > 0 {
		p.idle[key] = kept
	} else {
		delete(p.idle, key)
	}
	p.mu.Unlock()
	p.stopAll(stale)
}

// Stats reports live and idle environment counts.
func (p *Pool[S]) Stats() (live, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.idle {
		idle += len(l)
	}
	return len(p.all), idle
}

// Run stops idle environments older than IdleTimeout, and idle ones that
// are no longer Alive (their runtime exited, their credentials would not
// outlast another invocation), until ctx ends.
func (p *Pool[S]) Run(ctx context.Context) {
	tick := p.opts.IdleTimeout / 4
	if tick > 30*time.Second {
		tick = 30 * time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.reap(now)
		}
	}
}

func (p *Pool[S]) reap(now time.Time) {
	var old []*entry[S]
	p.mu.Lock()
	for key, list := range p.idle {
		keep := list[:0]
		for _, e := range list {
			if now.Sub(e.idleFrom) >= p.opts.IdleTimeout || !e.s.Alive() {
				p.forgetLocked(e)
				old = append(old, e)
			} else {
				keep = append(keep, e)
			}
		}
		p.idle[key] = keep
	}
	p.mu.Unlock()
	if len(old) > 0 {
		p.log.Debug("reaping idle environments", "count", len(old))
	}
	p.stopAll(old)
}

// Close stops every environment, busy ones included, and waits until all
// are gone. Acquire fails afterwards.
func (p *Pool[S]) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.launching.Wait()

	p.mu.Lock()
	var all []*entry[S]
	for e := range p.all {
		if e.ready {
			all = append(all, e)
		}
	}
	p.all = map[*entry[S]]struct{}{}
	p.weight = 0
	p.idle = map[string][]*entry[S]{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Add(1)
		go func() { defer wg.Done(); e.s.Stop() }()
	}
	wg.Wait()
	p.stopper.Wait()
}

func (p *Pool[S]) oldestIdleLocked() *entry[S] {
	var oldest *entry[S]
	for _, list := range p.idle {
		if len(list) > 0 && (oldest == nil || list[0].idleFrom.Before(oldest.idleFrom)) {
			oldest = list[0]
		}
	}
	return oldest
}

func (p *Pool[S]) removeIdleLocked(e *entry[S]) {
	key := e.s.Key()
	list := p.idle[key]
	for i, x := range list {
		if x == e {
			p.idle[key] = append(list[:i], list[i+1:]...)
			break
		}
	}
	p.forgetLocked(e)
}

// forgetLocked removes e from the live environments.
func (p *Pool[S]) forgetLocked(e *entry[S]) {
	if _, ok := p.all[e]; ok {
		delete(p.all, e)
		p.weight -= e.weight
	}
}

// overWeightLocked reports whether an environment of weight w does not
// fit beside the live ones.
func (p *Pool[S]) overWeightLocked(w int64) bool {
	return p.opts.MaxWeight > 0 && p.weight+w > p.opts.MaxWeight
}

// fitLocked reports, as Acquire's error, whether a new environment of
// weight w cannot start even once every idle environment is stopped.
func (p *Pool[S]) fitLocked(w int64) error {
	idle, idleWeight := 0, int64(0)
	for _, list := range p.idle {
		for _, e := range list {
			idle++
			idleWeight += e.weight
		}
	}
	if len(p.all)-idle >= p.opts.MaxEnvironments {
		return errThrottled()
	}
	if inUse := p.weight - idleWeight; p.opts.MaxWeight > 0 && inUse+w > p.opts.MaxWeight {
		if p.opts.OverWeight != nil {
			return p.opts.OverWeight(w, inUse, p.opts.MaxWeight)
		}
		return errThrottled()
	}
	return nil
}

// Weight returns the sum of the weights of the live environments.
func (p *Pool[S]) Weight() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.weight
}

// stopAll stops environments in the background, tracked for Close; once
// the pool is closed it stops them in the caller's goroutine instead.
func (p *Pool[S]) stopAll(list []*entry[S]) {
	if len(list) == 0 {
		return
	}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.stopper.Add(len(list))
	}
	p.mu.Unlock()
	for _, e := range list {
		if closed {
			e.s.Stop()
			continue
		}
		go func() { defer p.stopper.Done(); e.s.Stop() }()
	}
}
