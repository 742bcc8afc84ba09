// Package pool keeps warm execution environments and decides when a new
// one may start.
//
// Environments are keyed by function name and tagged with the function's
// revision: an idle environment of an older revision is never reused.
// At most MaxEnvironments exist at once. When all are busy an Acquire fails
// at once with a throttling error (Lambda's TooManyRequestsException); when
// some are idle but belong to other functions, the least recently used is
// stopped to make room. Idle environments are stopped after IdleTimeout.
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
	Logger      *slog.Logger
}

type entry[S Sandbox] struct {
	s        S
	ready    bool   // s is set (launch returned)
	gen      uint64 // the key's generation when it was acquired
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
	gen       map[string]uint64      // bumped by Retire
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
		delete(p.all, e)
		stale = append(stale, e)
	}
	p.idle[key] = list
	if len(p.all) >= p.opts.MaxEnvironments {
		victim := p.oldestIdleLocked()
		if victim == nil {
			p.mu.Unlock()
			return nil, errThrottled()
		}
		p.removeIdleLocked(victim)
		stale = append(stale, victim)
	}
	e := &entry[S]{gen: p.gen[key]}
	p.all[e] = struct{}{} // reserve the slot while launching
	p.launching.Add(1)
	p.mu.Unlock()
	defer p.launching.Done()

	s, err := launch(ctx)
	if err != nil {
		p.mu.Lock()
		delete(p.all, e)
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
	if reuse && !p.closed && e.gen == p.gen[key] && e.s.Alive() {
		e.idleFrom = time.Now()
		p.idle[key] = append(p.idle[key], e)
		p.mu.Unlock()
		return
	}
	delete(p.all, e)
	p.mu.Unlock()
	p.stopAll([]*entry[S]{e})
}

// Retire stops the idle environments of key; busy ones are stopped when
// released.
func (p *Pool[S]) Retire(key string) {
	p.mu.Lock()
	p.gen[key]++
	list := p.idle[key]
	delete(p.idle, key)
	for _, e := range list {
		delete(p.all, e)
	}
	p.mu.Unlock()
	p.stopAll(list)
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

// Run stops idle environments older than IdleTimeout until ctx ends.
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
			if now.Sub(e.idleFrom) >= p.opts.IdleTimeout {
				delete(p.all, e)
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
	delete(p.all, e)
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
