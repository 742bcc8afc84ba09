package sandbox

import (
	"cmp"
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
	// Credentials are the temporary credentials of the function's
	// execution role, minted for this environment: the runtime gets them
	// as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	// Without an AccessKeyID, Options' pair is used (no session token).
	// With an Expiration, the environment is no longer Alive once an
	// invocation starting now could outlast them (see Alive).
	Credentials sluice.Credentials
}

// Options are the platform settings of every Env.
type Options struct {
	// Logger receives the platform's own logs. nil discards.
	Logger *slog.Logger
	// FunctionLog receives the function's log stream (its stdout and stderr
	// and the START/END/REPORT lines), named by the Env's LogStream. It is
	// called once per Env and must return a writer safe to use from one
	// goroutine. nil discards.
	FunctionLog func(LogStream) io.Writer
	// FunctionLogLimit is how many bytes of the function's own output
	// reach FunctionLog per invocation; the rest is dropped and counted
	// in a LOGS_DROPPED line. 0 means DefaultFunctionLogLimit, < 0 no
	// limit. LogType=Tail is not affected.
	FunctionLogLimit int64
	// InitTimeout bounds the init phase; 0 means DefaultInitTimeout.
	InitTimeout time.Duration
	// AccessKeyID and SecretAccessKey are handed to the function as its
	// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) when its
	// Spec has none.
	AccessKeyID, SecretAccessKey string
	// APIEndpoint is the URL of sluice's API (e.g. http://127.0.0.1:9000)
	// as a process on the host's network reaches it. The runtime gets it as
	// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_LAMBDA when it shares the
	// host's network (the plain driver, Isolation.Network NetworkHost);
	// a NetworkIsolated sandbox gets its own listener's address (same
	// scheme, Isolation.APIPort) and a NetworkNone sandbox neither. ""
	// sets neither outside NetworkIsolated.
	APIEndpoint string
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
	stream      LogStream // where its log goes (AWS_LAMBDA_LOG_*)
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
	spec.Bootstrap = spec.Bootstrap.withDefaults().withExecWrapper(spec.Function)
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
	e.stream = newLogStream(spec, e.id, e.startedAt)
	var sink io.Writer
	if opts.FunctionLog != nil {
		sink = opts.FunctionLog(e.stream)
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
		_ = e.srv.Serve(readListener{ln})
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

// Variables of credentials and endpoints.
const (
	envAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envSessionToken    = "AWS_SESSION_TOKEN"
	// envEndpoint is the AWS SDKs' endpoint of every service;
	// envEndpointLambda the Lambda API's, which comes first.
	envEndpoint       = "AWS_ENDPOINT_URL"
	envEndpointLambda = "AWS_ENDPOINT_URL_LAMBDA"
)

// credentialVars are reserved whether set or not: a function never brings
// credentials of its own through its configuration, as on Lambda, where
// they are refused at CreateFunction (internal/api refuses them too; this
// also covers a Bootstrap.Env or a function stored before).
var credentialVars = []string{envAccessKeyID, envSecretAccessKey, envSessionToken, "AWS_ACCESS_KEY"}

// environ builds the runtime's environment for the Runtime API address
// api and sluice's API endpoint as the runtime reaches it ("" for none):
// Lambda's reserved variables and the credentials, then the runtime's
// (Bootstrap.Env), then the function's own. Nothing is inherited from
// sluice's environment. host, when set, maps the paths of the first two
// to the host's.
func (e *Env) environ(api, endpoint string, host func(string) string) []string {
	fn := e.spec.Function
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
		"AWS_LAMBDA_LOG_GROUP_NAME":       e.stream.Group,
		"AWS_LAMBDA_LOG_STREAM_NAME":      e.stream.Stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      e.spec.Scope.Region,
		"AWS_DEFAULT_REGION":              e.spec.Scope.Region,
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              runtimeDir,
	}
	if fn.Logging.LogFormat == sluice.LogFormatJSON {
		// As Lambda: runtimes that honour them log JSON at this level.
		vars["AWS_LAMBDA_LOG_FORMAT"] = sluice.LogFormatJSON
		vars["AWS_LAMBDA_LOG_LEVEL"] = cmp.Or(fn.Logging.ApplicationLogLevel, sluice.DefaultLogLevel)
	}
	if host != nil {
		for _, k := range reservedPaths {
			vars[k] = host(vars[k])
		}
	}
	cred := e.spec.Credentials
	if cred.AccessKeyID == "" {
		cred = sluice.Credentials{AccessKeyID: e.opts.AccessKeyID, SecretAccessKey: e.opts.SecretAccessKey}
	}
	if cred.AccessKeyID != "" {
		vars[envAccessKeyID] = cred.AccessKeyID
		vars[envSecretAccessKey] = cred.SecretAccessKey
		if cred.SessionToken != "" {
			vars[envSessionToken] = cred.SessionToken
		}
	}
	// Lambda's variables are reserved, but for PATH, LANG, TZ and
	// LD_LIBRARY_PATH; the runtime's own (NODE_PATH, PYTHONPATH...) are
	// not: the function may set them, as on Lambda.
	reserved := make(map[string]bool, len(vars)+len(credentialVars))
	for k := range vars {
		reserved[k] = k != "PATH" && k != "LANG" && k != "TZ" && k != "LD_LIBRARY_PATH"
	}
	for _, k := range credentialVars {
		reserved[k] = true
	}
	// sluice's API, which the function's SDKs find there; not reserved: a
	// function that names its own endpoint keeps it (and, since the
	// service-specific variable comes first in the SDKs, a function that
	// sets only AWS_ENDPOINT_URL still reaches sluice for Lambda).
	if endpoint != "" {
		vars[envEndpoint] = endpoint
		vars[envEndpointLambda] = endpoint
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

// Alive reports whether the Env can take another invocation: its runtime
// is up, and its credentials, if they expire, outlast an invocation that
// starts now and runs to the function's timeout (credentialsLast). The
// pool asks before it reuses an idle Env and when one is released, so a
// warm environment never runs with expired credentials: it is replaced.
func (e *Env) Alive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.aliveLocked() && e.credentialsLast(time.Now())
}

// maxCredentialsMargin bounds credentialsMargin.
const maxCredentialsMargin = time.Minute

// credentialsMargin is how long before their Expiration an environment's
// credentials count as expired: a tenth of how long they were valid when
// it started, at most a minute. It covers the hand-over of an invocation
// and the transit of the function's last request to sluice's API.
func credentialsMargin(validity time.Duration) time.Duration {
	return max(0, min(maxCredentialsMargin, validity/10))
}

// credentialsLast reports whether the Env's credentials (if they expire)
// are valid until an invocation that starts at now could end: now plus
// the function's timeout plus credentialsMargin, at most their
// Expiration. Checked for reuse only: the first invocation of an Env runs
// with credentials minted for it.
func (e *Env) credentialsLast(now time.Time) bool {
	exp := e.spec.Credentials.Expiration
	if exp.IsZero() {
		return true
	}
	end := now.Add(time.Duration(e.spec.Function.Timeout)*time.Second + credentialsMargin(exp.Sub(e.startedAt)))
	return !end.After(exp)
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

// LogStream names an execution environment's log as Lambda does: the
// function's log group and one log stream per environment.
type LogStream struct {
	Scope    sluice.Scope
	Function *sluice.Function
	// Group is the function's LoggingConfig.LogGroup, else
	// /aws/lambda/<name>.
	Group string
	// Stream is YYYY/MM/DD/[<version>]<32 hex digits>: the environment's
	// start date (UTC), the function version it runs and its id.
	Stream string
}

func newLogStream(spec Spec, id string, started time.Time) LogStream {
	fn := spec.Function
	group := fn.Logging.LogGroup
	if group == "" {
		group = sluice.DefaultLogGroup(fn.Name)
	}
	return LogStream{Scope: spec.Scope, Function: fn, Group: group,
		Stream: started.UTC().Format("2006/01/02") + "/[" + fn.VersionOrLatest() + "]" + strings.ReplaceAll(id, "-", "")}
}
