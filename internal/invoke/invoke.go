// Package invoke implements sluice.Invoker on top of the pool and the
// sandbox: it finds or starts an execution environment for the function's
// current revision, runs the invocation on it, and ties the environment's
// lease to the Output so that closing the Output releases it.
//
// An invocation ends when the function has finished and its output was
// read or discarded, or at the function's timeout, whichever comes first;
// the environment and the concurrency slot are released then, even if the
// caller is still busy with its client (sandbox.Output.OnEnd).
//
// Client disconnects: an invocation is never cancelled because its caller
// went away. The api stops relaying and closes the Output; Close lets the
// function run to completion or to its timeout, discarding what it still
// writes, and then returns the environment to the pool warm. This is what
// Lambda does (a function keeps running when its client disconnects), it
// keeps the function's side effects whole, and it bounds the cost by the
// function's own timeout. See docs/architecture.md.
package invoke

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/concurrency"
	"github.com/sluice-dev/sluice/internal/hotreload"
	"github.com/sluice-dev/sluice/internal/pool"
	"github.com/sluice-dev/sluice/internal/sandbox"
)

// CodeStore resolves a deployment package to its unpacked directory
// (hotreload.Code resolves hot-reloaded functions' directories too).
type CodeStore interface {
	Dir(sha string) (string, error)
}

// Config wires an Invoker.
type Config struct {
	Code CodeStore
	Pool *pool.Pool[*sandbox.Env]
	// HotReload watches the directories of hot-reloaded functions
	// (sluice.HotReloadDir): before each invocation of one, when its
	// directory changed, the environments of its version are retired so
	// that the invocation starts a fresh one. nil: they are never
	// retired for a change of their directory.
	HotReload *hotreload.Watcher
	// Limits accounts for concurrent executions (account limit and
	// reserved concurrency) in each scope: an invocation counts in the
	// Limiter of its request's Scope. nil means no accounting beyond the
	// pool's cap. An execution holds its slot until its invocation ends:
	// its Output is closed, or the function's timeout passed.
	Limits  *concurrency.Limiters
	Sandbox sandbox.Options
	// Bootstrap says what an environment of a function runs (the runtime
	// registry's Bootstrap); it is asked at each cold start, and its
	// error is Invoke's. nil runs every function's /var/task/bootstrap.
	Bootstrap func(*sluice.Function) (sandbox.Bootstrap, error)
	// Credentials mints the temporary credentials of an environment of
	// fn, in scope, for its execution role (fn.Role); it is asked at each
	// environment start (cold start, prepared slot alike), its error is
	// Invoke's as is, and the credentials go to the environment
	// (sandbox.Spec.Credentials). An environment is reused only while its
	// credentials outlast another invocation (sandbox.Env.Alive), so none
	// runs with expired ones. nil: every environment gets
	// Sandbox.AccessKeyID and SecretAccessKey, without a session token or
	// an expiry.
	Credentials func(ctx context.Context, scope sluice.Scope, fn *sluice.Function) (sluice.Credentials, error)
	Logger      *slog.Logger
	// AsyncRetryFor bounds how long an Event invocation waits for a free
	// environment when throttled; 0 means 5 minutes.
	AsyncRetryFor time.Duration
}

// Invoker runs invocations. Call Shutdown to stop it.
type Invoker struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	closing  bool
	inflight sync.WaitGroup // synchronous and asynchronous invocations
	ctx      context.Context
	cancel   context.CancelFunc
}

// New returns an Invoker.
func New(cfg Config) *Invoker {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AsyncRetryFor <= 0 {
		cfg.AsyncRetryFor = 5 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Invoker{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel}
}

var _ sluice.Invoker = (*Invoker)(nil)

// begin registers an invocation unless the invoker is shutting down.
func (iv *Invoker) begin() error {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.closing {
		return sluice.Errorf(sluice.EServiceUnavailable, "sluice is shutting down")
	}
	iv.inflight.Add(1)
	return nil
}

// Invoke implements sluice.Invoker.
func (iv *Invoker) Invoke(ctx context.Context, req sluice.InvokeRequest) (sluice.Output, error) {
	if err := iv.begin(); err != nil {
		return nil, err
	}
	st, err := iv.invoke(ctx, req)
	if err != nil {
		iv.inflight.Done()
		return nil, err
	}
	lo := &leasedOutput{Output: st.Output, release: func() { st.release(); iv.inflight.Done() }}
	st.Output.OnEnd(lo.done)
	return lo, nil
}

// started is a running invocation: its output, and the release of its
// environment and its concurrency slot.
type started struct {
	*sandbox.Output
	release func()
}

// invoke takes a concurrency slot and an environment and starts req on it.
func (iv *Invoker) invoke(ctx context.Context, req sluice.InvokeRequest) (started, error) {
	slot := func() {}
	if iv.cfg.Limits != nil {
		var err error
		if slot, err = iv.cfg.Limits.For(req.Scope).Acquire(req.Function.Name); err != nil {
			return started{}, err
		}
	}
	lease, out, err := iv.start(ctx, req)
	if err != nil {
		slot()
		return started{}, err
	}
	// The pool checks that the environment is alive before reusing it.
	return started{Output: out, release: func() { lease.Release(true); slot() }}, nil
}

// start finds or launches an environment of the function's version (in
// its scope) and hands it the invocation.
func (iv *Invoker) start(ctx context.Context, req sluice.InvokeRequest) (*pool.Lease[*sandbox.Env], *sandbox.Output, error) {
	fn := req.Function
	key := sluice.EnvironmentKey(req.Scope, fn.Name, fn.VersionOrLatest())
	launch := func(ctx context.Context) (*sandbox.Env, error) {
		var b sandbox.Bootstrap
		if iv.cfg.Bootstrap != nil {
			var err error
			if b, err = iv.cfg.Bootstrap(fn); err != nil {
				return nil, err
			}
		}
		dir, err := iv.cfg.Code.Dir(fn.CodeSHA256)
		if err != nil {
			return nil, err
		}
		var cred sluice.Credentials
		if iv.cfg.Credentials != nil {
			if cred, err = iv.cfg.Credentials(ctx, req.Scope, fn); err != nil {
				return nil, err
			}
		}
		return sandbox.Start(ctx, sandbox.Spec{Function: fn, CodeDir: dir, Scope: req.Scope, Bootstrap: b, Credentials: cred}, iv.cfg.Sandbox)
	}
	if dir, ok := sluice.HotReloadDir(fn.CodeSHA256); ok && iv.cfg.HotReload != nil && iv.cfg.HotReload.Changed(key, dir) {
		iv.log.Debug("hot reload: code changed, retiring warm environments", sluice.LogKeyFunction, fn.Name, "version", fn.VersionOrLatest())
		iv.cfg.Pool.Retire(key, "")
	}
	// A warm environment can die while idle (its runtime exited after the
	// previous invocation); nothing ran then, so take another one.
	for attempt := 0; ; attempt++ {
		// Weighed by memory: the pool keeps the environments' memory
		// within the host-wide limit it was given (if any).
		lease, err := iv.cfg.Pool.AcquireWeighted(ctx, key, fn.Fingerprint(), int64(fn.MemorySize), launch)
		if err != nil {
			return nil, nil, err
		}
		out, err := lease.Sandbox.Invoke(req.Invocation)
		if errors.Is(err, sandbox.ErrGone) && attempt < 3 {
			lease.Release(false)
			continue
		}
		if err != nil {
			lease.Release(false)
			return nil, nil, err
		}
		return lease, out, nil
	}
}

// leasedOutput releases the environment and the concurrency slot when the
// invocation ends (at Close, or earlier at the function's timeout).
type leasedOutput struct {
	*sandbox.Output
	once    sync.Once
	release func()
}

func (o *leasedOutput) done() { o.once.Do(o.release) }

func (o *leasedOutput) Close() error {
	err := o.Output.Close()
	o.done()
	return err
}

// InvokeAsync implements sluice.Invoker: the invocation runs in the
// background, owned by the Invoker; a throttled one waits for a free
// environment (up to AsyncRetryFor) as Lambda's event queue does.
func (iv *Invoker) InvokeAsync(req sluice.InvokeRequest) error {
	if err := iv.begin(); err != nil {
		return err
	}
	go func() {
		defer iv.inflight.Done()
		log := iv.log.With(sluice.LogKeyRequestID, req.Invocation.RequestID, sluice.LogKeyFunction, req.Function.Name)
		giveUp := time.Now().Add(iv.cfg.AsyncRetryFor)
		backoff := 50 * time.Millisecond
		for {
			st, err := iv.invoke(iv.ctx, req)
			if sluice.ErrorCodeOf(err) == sluice.EThrottled && time.Now().Before(giveUp) {
				select {
				case <-time.After(backoff):
					backoff = min(backoff*2, 5*time.Second)
					continue
				case <-iv.ctx.Done():
					log.Warn("event invocation dropped: shutting down")
					return
				}
			}
			if err != nil {
				log.Warn("event invocation failed to start", "err", err)
				return
			}
			_, _ = io.Copy(io.Discard, st.Output)
			st.Output.Close()
			st.release()
			if res := st.Output.Result(); res.Err != nil {
				log.Info("event invocation failed", "error_type", res.Err.Type)
			}
			return
		}
	}()
	return nil
}

// Retire implements sluice.Invoker.
func (iv *Invoker) Retire(scope sluice.Scope, functionName, version, keep string) {
	key := sluice.EnvironmentKey(scope, functionName, version)
	iv.cfg.Pool.Retire(key, keep)
	if keep == "" && iv.cfg.HotReload != nil {
		// none of its environments is left: the next one starts from
		// the tree as it is then
		iv.cfg.HotReload.Forget(key)
	}
}

// Shutdown refuses new invocations and waits for running ones until ctx
// ends; then it stops every environment (running invocations end with
// Sandbox.Failure) and waits for them to finish.
func (iv *Invoker) Shutdown(ctx context.Context) {
	iv.mu.Lock()
	iv.closing = true
	iv.mu.Unlock()
	done := make(chan struct{})
	go func() { iv.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	iv.cancel()
	iv.cfg.Pool.Close()
	<-done
}
