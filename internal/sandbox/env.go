package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/runtimeapi"
)

// DefaultInitTimeout bounds the init phase (process start to first
// GET /next), as Lambda's 10-second init limit does.
const DefaultInitTimeout = 10 * time.Second

// ErrGone is returned by Invoke when a warm environment died while idle,
// before its runtime took the invocation: nothing ran, the caller may retry
// on another environment.
var ErrGone = errors.New("sandbox: execution environment is gone")

// Spec says what an Env runs.
type Spec struct {
	// Function is the configuration snapshot the environment is built from.
	Function *sluice.Function
	// CodeDir is the unpacked deployment package, the host directory
	// that is /var/task inside (LAMBDA_TASK_ROOT).
	CodeDir string
	Scope   sluice.Scope
	// Bootstrap is what runs; its zero value runs /var/task/bootstrap
	// (the provided.* runtimes).
	Bootstrap Bootstrap
}

// Options are the platform settings of every Env.
type Options struct {
	// Logger receives the platform's own logs. nil discards.
	Logger *slog.Logger
	// FunctionLog receives the function's log stream (its stdout and stderr
	// and the START/END/REPORT lines). It is called once per Env and must
	// return a writer safe to use from one goroutine. nil discards.
	FunctionLog func(function string) io.Writer
	// FunctionLogLimit is how many bytes of the function's own output
	// reach FunctionLog per invocation; the rest is dropped and counted
	// in a LOGS_DROPPED line. 0 means DefaultFunctionLogLimit, < 0 no
	// limit. LogType=Tail is not affected.
	FunctionLogLimit int64
	// InitTimeout bounds the init phase; 0 means DefaultInitTimeout.
	InitTimeout time.Duration
	// AccessKeyID and SecretAccessKey are handed to the function as its
	// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
	AccessKeyID, SecretAccessKey string
	// Driver creates the environments' processes (driver.go); nil means
	// Plain("").
	Driver Driver
	// Starts admits the starts of environments (starts.go): Start waits
	// for a place, and the init timeout counts from then. nil admits
	// every start at once.
	Starts *StartGate
}

// Env is one execution environment: the supervisor of its runtime's
// process. Its methods are safe for concurrent use; at most one
// invocation runs at a time.
type Env struct {
	id   string
	spec Spec
	// fingerprint is the function's Fingerprint: the pool reuses the Env
	// only for invocations of the same one.
	fingerprint string
	opts        Options
	log         *slog.Logger
	startedAt   time.Time // when it started, after its wait at the gate
	// admitted gives back the Env's place at the start gate (once: at the
	// end of init, at exit, or at the init timeout).
	admitted func()

	srv     *http.Server
	serving bool          // srv serves a listener (set during Start)
	served  chan struct{} // closed when the Runtime API server has stopped
	proc    Process       // nil when the runtime never started
	logs    *logCapture

	exited  chan struct{} // closed when the process has exited (or never started)
	exitErr error         // valid once exited is closed
	oom     bool          // valid once exited is closed: the memory limit killed it

	queue    chan *call // the invocation waiting for GET /next
	stopping chan struct{}
	stopOnce sync.Once

	mu           sync.Mutex
	cur          *call
	startErr     error // the runtime's command could not be executed
	initErr      *sluice.FunctionError
	initDone     bool
	initDuration time.Duration
	invocations  int
	killReason   string
	peakMB       int       // last peak memory reading
	peakAt       time.Time // when it was read
	// Freezing between invocations (see freezeLocked): inNext counts the
	// runtime's requests waiting in GET /next; freezePending is set from
	// the end of an invocation until the environment is frozen or the
	// next one begins; freezeTimer freezes it after freezeGrace at the
	// latest.
	inNext        int
	freezePending bool
	freezeTimer   *time.Timer
}

// kill reasons
const (
	reasonTimeout     = "timeout"
	reasonInitTimeout = "init timeout"
	reasonInitError   = "init error"
	reasonStopped     = "stopped"
	reasonTruncated   = "truncated response"
)

// Start launches an execution environment for spec: the driver creates
// the runtime's process and places the Runtime API listener, which the
// Env serves. A command that cannot be executed is not an error of Start:
// the Env is returned dead and its first Invoke reports
// Runtime.InvalidEntrypoint. Errors are the platform's own (ports, pipes,
// sandbox set-up), ctx's while Start waits at opts.Starts, and EThrottled
// when that wait was too long.
func Start(ctx context.Context, spec Spec, opts Options) (e *Env, err error) {
	queued := time.Now()
	admitted, err := opts.Starts.enter(ctx)
	if err != nil {
		return nil, err
	}
	release := admitted
	defer func() {
		if err != nil {
			release()
		}
	}()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.Driver == nil {
		opts.Driver = Plain("")
	}
	spec.Bootstrap = spec.Bootstrap.withDefaults()
	e = &Env{
		id:          sluice.NewRequestID(),
		spec:        spec,
		fingerprint: spec.Function.Fingerprint(),
		opts:        opts,
		startedAt:   time.Now(),
		served:      make(chan struct{}),
		exited:      make(chan struct{}),
		queue:       make(chan *call, 1),
		stopping:    make(chan struct{}),
	}
	hold := time.AfterFunc(opts.InitTimeout, admitted)
	e.admitted = func() { hold.Stop(); admitted() }
	release = e.admitted
	e.log = opts.Logger.With(sluice.LogKeyFunction, spec.Function.Name, sluice.LogKeyEnv, e.id[:8])
	e.srv = &http.Server{Handler: runtimeapi.NewHandler(e, e.log), ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)}
	var sink io.Writer
	if opts.FunctionLog != nil {
		sink = opts.FunctionLog(spec.Function.Name)
	}
	e.logs = newLogCapture(sink, opts.FunctionLogLimit)

	// The sandbox starts even when the command is unusable; tell that
	// case apart first, as Runtime.InvalidEntrypoint.
	b := spec.Bootstrap
	if err := checkEntrypoint(b.Command[0], spec.CodeDir, b.RuntimeDir); err != nil {
		e.initStart()
		return e.dead(err), nil
	}
	proc, err := opts.Driver.Start(ctx, &Launch{ID: e.id, Spec: spec, Logger: e.log, env: e})
	var ee *entrypointError
	switch {
	case errors.As(err, &ee):
		e.initStart()
		return e.dead(ee.err), nil
	case err != nil:
		e.stopServing()
		go e.logs.run()
		<-e.logs.done
		return nil, err
	}
	// A fast runtime may have finished its init already (Next runs on the
	// Runtime API server's goroutine): whoever comes second ends the boost.
	e.mu.Lock()
	e.proc = proc
	initDone := e.initDone
	e.mu.Unlock()
	if initDone {
		proc.InitDone()
	}
	e.log.Debug("environment started", "waited", e.startedAt.Sub(queued), "start", time.Since(e.startedAt))
	// The runtime's first bytes wait in the pipe until the capture takes
	// it: INIT_START comes first.
	e.initStart()
	e.logs.attach(proc.Output())
	go e.logs.run()
	go e.wait()
	return e, nil
}

// initStart writes the INIT_START line and the runtime's notice.
func (e *Env) initStart() {
	e.logs.write(fmt.Sprintf("INIT_START Runtime Version: sluice:%s\n", e.spec.Function.Runtime))
	if n := e.spec.Bootstrap.Notice; n != "" {
		e.logs.write(strings.TrimRight(n, "\n") + "\n")
	}
}

// serve serves the Runtime API on ln (Launch.Serve).
func (e *Env) serve(ln net.Listener) {
	e.serving = true
	go func() {
		defer close(e.served)
		_ = e.srv.Serve(ln)
	}()
}

// stopServing ends the Runtime API server of an Env whose runtime never
// started.
func (e *Env) stopServing() {
	e.srv.Close()
	if e.serving {
		<-e.served
	} else {
		close(e.served)
		e.serving = true
	}
}

// dead returns e as an environment whose runtime could not be started:
// its invocations fail with Runtime.InvalidEntrypoint.
func (e *Env) dead(err error) *Env {
	e.admitted()
	e.startErr = err
	if !e.serving {
		close(e.served)
		e.serving = true
	}
	go e.logs.run()
	close(e.exited)
	return e
}

// wait reaps the process (its driver cleans up after it).
func (e *Env) wait() {
	err := e.proc.Wait()
	e.admitted() // it died during init
	e.exitErr = err
	e.oom = e.proc.OOMKilled()
	close(e.exited)
	e.log.Debug("runtime exited", "err", err)
}

// reservedPaths are the reserved variables whose values are paths inside
// the environment (mapped by the plain driver).
var reservedPaths = []string{"LD_LIBRARY_PATH", "TMPDIR", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

// environ builds the runtime's environment for the Runtime API address
// api: Lambda's reserved variables, then the runtime's (Bootstrap.Env),
// then the function's own. Nothing is inherited from sluice's environment.
// host, when set, maps the paths of the first two to the host's.
func (e *Env) environ(api string, host func(string) string) []string {
	fn := e.spec.Function
	now := time.Now().UTC()
	vars := map[string]string{
		"PATH":                            "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LD_LIBRARY_PATH":                 "/var/lang/lib:/lib64:/usr/lib64:" + runtimeDir + ":" + runtimeDir + "/lib:" + taskRoot + ":" + taskRoot + "/lib:/opt/lib",
		"TMPDIR":                          sandboxTmp,
		"AWS_LAMBDA_RUNTIME_API":          api,
		"_HANDLER":                        fn.Handler,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + fn.Runtime,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.VersionOrLatest(),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      now.Format("2006/01/02") + "/[" + fn.VersionOrLatest() + "]" + strings.ReplaceAll(e.id, "-", ""),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      e.spec.Scope.Region,
		"AWS_DEFAULT_REGION":              e.spec.Scope.Region,
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              runtimeDir,
	}
	if host != nil {
		for _, k := range reservedPaths {
			vars[k] = host(vars[k])
		}
	}
	if e.opts.AccessKeyID != "" {
		vars["AWS_ACCESS_KEY_ID"] = e.opts.AccessKeyID
		vars["AWS_SECRET_ACCESS_KEY"] = e.opts.SecretAccessKey
	}
	// Lambda's variables are reserved, but for PATH, LANG, TZ and
	// LD_LIBRARY_PATH; the runtime's own (NODE_PATH, PYTHONPATH...) are
	// not: the function may set them, as on Lambda.
	reserved := make(map[string]bool, len(vars))
	for k := range vars {
		reserved[k] = k != "PATH" && k != "LANG" && k != "TZ" && k != "LD_LIBRARY_PATH"
	}
	overridable := func(k string) bool { return !reserved[k] }
	for k, v := range e.spec.Bootstrap.Env {
		if overridable(k) {
			if host != nil {
				v = host(v)
			}
			vars[k] = v
		}
	}
	for k, v := range fn.Environment {
		if overridable(k) {
			vars[k] = v
		}
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// Function returns the configuration snapshot the Env runs.
func (e *Env) Function() *sluice.Function { return e.spec.Function }

// Key and Revision identify what the Env runs, for the pool.
func (e *Env) Key() string {
	return sluice.EnvironmentKey(e.spec.Scope, e.spec.Function.Name, e.spec.Function.VersionOrLatest())
}
func (e *Env) Revision() string { return e.fingerprint }

// Alive reports whether the Env can take another invocation.
func (e *Env) Alive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.aliveLocked()
}

// kill ends the process group, recording why (the first reason wins).
func (e *Env) kill(reason string) {
	e.mu.Lock()
	if e.killReason == "" {
		e.killReason = reason
	}
	e.mu.Unlock()
	select {
	case <-e.exited:
		return
	default:
	}
	if e.proc != nil {
		e.proc.Kill()
	}
}

// Stop kills the environment and waits until its process, its Runtime API
// server and its log reader are gone. It is safe to call more than once
// and concurrently with an invocation, which then fails (Sandbox.Failure).
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		close(e.stopping)
		e.kill(reasonStopped)
		e.srv.Close()
	})
	<-e.exited
	<-e.served
	<-e.logs.done
}

// peakSampleInterval bounds how often maxMemoryMB reads /proc: the read
// costs tens of microseconds on every invocation's path otherwise.
const peakSampleInterval = 100 * time.Millisecond

// maxMemoryMB returns the environment's peak memory, for REPORT's "Max
// Memory Used": the cgroup's peak when sandboxed, else the runtime
// process's VmHWM. The peak only grows, so a reading at most
// peakSampleInterval old is kept, and the last one stands once the
// process is gone.
func (e *Env) maxMemoryMB() int {
	if e.proc == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.peakAt) < peakSampleInterval {
		return e.peakMB
	}
	if mb := e.proc.PeakMemoryMB(); mb >= 0 {
		e.peakMB, e.peakAt = mb, time.Now()
	}
	return e.peakMB
}
