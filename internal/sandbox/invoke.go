package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/runtimeapi"
)

// call is one invocation inside an Env.
type call struct {
	inv       sluice.Invocation
	timeout   time.Duration
	queuedAt  time.Time
	taken     chan struct{} // closed when the runtime took it (GET /next)
	delivered chan delivery // the runtime's answer, at most one
	released  chan struct{} // closed when the caller is done with the response body
	relOnce   sync.Once
	startOnce sync.Once // the START line is written once
	cold      bool      // the environment's first invocation (Output.Init)

	mu        sync.Mutex
	takenAt   time.Time
	timer     *time.Timer
	responded bool
	complete  bool // the response body reached its end
	timedOut  bool
	timeoutAt time.Time   // when the deadline timer fired
	ended     atomic.Bool // finish ran: the invocation is over (Read checks it without the lock)
	onEnd     []func()    // run once when it ends (Output.OnEnd)

	endOnce sync.Once
	result  sluice.Result // valid once ended
}

type delivery struct {
	resp *runtimeapi.Response
	ferr *sluice.FunctionError
}

func (c *call) release() { c.relOnce.Do(func() { close(c.released) }) }

// Invoke runs inv and returns once the runtime starts to answer, or the
// invocation has failed before that (crash, timeout, init failure: the
// Output then carries the error and no bytes). inv.Deadline is set here,
// when the runtime takes the invocation: the function's timeout starts
// then, as in Lambda.
//
// The caller owns the Output and must Close it. The invocation ends, and
// the Env is free, when Close has let the function finish, or at the
// function's timeout, whichever comes first: a caller stuck elsewhere (on
// a client that does not read) does not hold the Env past the timeout.
// ErrGone means the Env died while idle and nothing ran.
func (e *Env) Invoke(inv sluice.Invocation) (*Output, error) {
	c := &call{
		inv:       inv,
		timeout:   time.Duration(e.spec.Function.Timeout) * time.Second,
		queuedAt:  time.Now(),
		taken:     make(chan struct{}),
		delivered: make(chan delivery, 1),
		released:  make(chan struct{}),
	}
	e.mu.Lock()
	if e.cur != nil {
		e.mu.Unlock()
		return nil, errors.New("sandbox: Invoke on a busy environment")
	}
	warm := e.invocations > 0
	if warm && !e.aliveLocked() {
		e.mu.Unlock()
		return nil, ErrGone
	}
	e.cur = c
	c.cold = !warm
	e.invocations++
	e.freezePending = false // the previous invocation's freeze, if still to come
	// The init phase counts from the start (after the start gate), as
	// INIT_REPORT's duration does; a warm runtime gets a full period to
	// come back to GET /next (so does one that has just finished init).
	initLeft := e.opts.InitTimeout
	if !e.initDone {
		initLeft -= time.Since(e.startedAt)
	}
	e.mu.Unlock()

	if e.startErr != nil {
		return e.failed(c, e.entrypointError(c)), nil
	}
	e.proc.Thaw() // frozen since the previous invocation ended
	e.queue <- c

	initTimer := time.NewTimer(initLeft)
	defer initTimer.Stop()
	select {
	case <-c.taken:
	case <-e.exited:
		select {
		case <-c.taken:
		default:
			if warm {
				e.abandon(c)
				return nil, ErrGone
			}
			return e.failed(c, e.initFailure(c)), nil
		}
	case <-initTimer.C:
		select {
		case <-c.taken:
		default:
			e.kill(reasonInitTimeout)
			<-e.exited
			e.logs.write(fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: timeout\n", msSince(e.startedAt)))
			return e.failed(c, timeoutError(c.inv.RequestID, "Init", e.opts.InitTimeout)), nil
		}
	}

	select {
	case d := <-c.delivered:
		if d.ferr != nil {
			return e.failed(c, d.ferr), nil
		}
		return &Output{e: e, c: c, resp: d.resp}, nil
	case <-e.exited:
		select {
		case d := <-c.delivered: // answered just before exiting
			if d.ferr != nil {
				return e.failed(c, d.ferr), nil
			}
			return &Output{e: e, c: c, resp: d.resp}, nil
		default:
		}
		return e.failed(c, e.exitFailure(c)), nil
	}
}

func (e *Env) aliveLocked() bool {
	select {
	case <-e.exited:
		return false
	case <-e.stopping:
		return false
	default:
	}
	return e.killReason == "" && e.startErr == nil
}

// abandon forgets c, which never reached the runtime (and never logged).
func (e *Env) abandon(c *call) {
	c.release()
	e.mu.Lock()
	e.cur = nil
	e.mu.Unlock()
}

// failed returns the Output of an invocation that ended without a response.
func (e *Env) failed(c *call, ferr *sluice.FunctionError) *Output {
	e.logStart(c, false)
	return &Output{e: e, c: c, ferr: ferr, eof: true}
}

// logStart writes c's START line once: when the runtime takes c (before it
// sees the event, so everything it printed earlier stays before START, and
// out of c's tail: taken), or when c fails before reaching the runtime.
func (e *Env) logStart(c *call, taken bool) {
	c.startOnce.Do(func() {
		e.logs.begin("START RequestId: "+c.inv.RequestID+" Version: "+e.spec.Function.VersionOrLatest()+"\n", taken)
	})
}

func (e *Env) entrypointError(c *call) *sluice.FunctionError {
	msg := e.startErr.Error()
	var pe *exec.Error
	if errors.As(e.startErr, &pe) {
		msg = pe.Err.Error()
	} else if u := errors.Unwrap(e.startErr); u != nil {
		msg = u.Error()
	}
	return runtimeapi.NewFunctionError("Runtime.InvalidEntrypoint", nil,
		fmt.Sprintf("RequestId: %s Error: fork/exec %s: %s", c.inv.RequestID, e.spec.Bootstrap.Command[0], msg))
}

// initFailure explains an Env that died before taking its first invocation.
func (e *Env) initFailure(c *call) *sluice.FunctionError {
	e.mu.Lock()
	initErr := e.initErr
	e.mu.Unlock()
	if initErr != nil {
		return initErr
	}
	return e.exitFailure(c)
}

// exitFailure explains an Env that died during an invocation.
func (e *Env) exitFailure(c *call) *sluice.FunctionError {
	e.mu.Lock()
	reason := e.killReason
	e.mu.Unlock()
	c.mu.Lock()
	timedOut := c.timedOut
	c.mu.Unlock()
	switch {
	case timedOut || reason == reasonTimeout:
		return timeoutError(c.inv.RequestID, "Task", c.timeout)
	case reason == reasonStopped:
		return runtimeapi.NewFunctionError("Sandbox.Failure", nil,
			fmt.Sprintf("RequestId: %s Error: the execution environment was stopped (sluice is shutting down)", c.inv.RequestID))
	case reason == reasonTruncated:
		return runtimeapi.NewFunctionError("Runtime.TruncatedResponse", nil,
			fmt.Sprintf("RequestId: %s Error: the runtime ended the response without completing it", c.inv.RequestID))
	}
	why := "Runtime exited without providing a reason" // status 0: Wait returned nil
	var ee *exec.ExitError
	if errors.As(e.exitErr, &ee) {
		why = "Runtime exited with error: " + ee.Error() // "exit status 2", "signal: killed"
	}
	if e.oom {
		// Lambda's error for a runtime the memory limit killed.
		return runtimeapi.NewFunctionError("Runtime.OutOfMemory", nil, fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed", c.inv.RequestID))
	}
	return runtimeapi.NewFunctionError("Runtime.ExitError", nil, fmt.Sprintf("RequestId: %s Error: %s", c.inv.RequestID, why))
}

func timeoutError(requestID, phase string, d time.Duration) *sluice.FunctionError {
	return runtimeapi.NewFunctionError("Sandbox.Timedout", nil,
		fmt.Sprintf("RequestId: %s Error: %s timed out after %.2f seconds", requestID, phase, d.Seconds()))
}

// onTimeout fires at the invocation's deadline. It kills the process and
// ends the invocation at once, whether or not its caller still reads or
// closes the Output: a caller blocked on a client that does not read
// holds neither the Env nor its slot past the function's timeout.
func (e *Env) onTimeout(c *call) {
	c.mu.Lock()
	if c.complete || c.ended.Load() {
		c.mu.Unlock()
		return
	}
	c.timedOut, c.timeoutAt = true, time.Now()
	c.mu.Unlock()
	e.maxMemoryMB() // the peak, read while the sandbox's cgroup is still there
	e.kill(reasonTimeout)
	<-e.exited
	e.finish(c, timeoutError(c.inv.RequestID, "Task", c.timeout))
}

// brokenResponse classifies a response body that failed before its end.
func (e *Env) brokenResponse(c *call) *sluice.FunctionError {
	// The socket closes a moment before the process is reaped; give the
	// exit a chance to be seen so a crash is reported as one.
	select {
	case <-e.exited:
	case <-time.After(500 * time.Millisecond):
		e.kill(reasonTruncated)
		<-e.exited
	}
	return e.exitFailure(c)
}

// finish ends the invocation once: it waits nothing, writes END/REPORT,
// frees the Env for the next invocation, runs the OnEnd functions and
// returns the Result. Later calls return the first one's Result.
func (e *Env) finish(c *call, ferr *sluice.FunctionError) sluice.Result {
	c.endOnce.Do(func() {
		c.result = e.end(c, ferr)
		c.mu.Lock()
		c.ended.Store(true)
		fns := c.onEnd
		c.onEnd = nil
		c.mu.Unlock()
		for _, f := range fns {
			f()
		}
	})
	return c.result
}

func (e *Env) end(c *call, ferr *sluice.FunctionError) sluice.Result {
	c.release()
	c.mu.Lock()
	c.complete = true // a timer that fires now finds nothing to end
	if c.timer != nil {
		c.timer.Stop()
	}
	start, timedOut, timeoutAt := c.takenAt, c.timedOut, c.timeoutAt
	c.mu.Unlock()
	if start.IsZero() {
		start = c.queuedAt
	}
	dur := msSince(start)
	if timedOut && !timeoutAt.IsZero() {
		// The invocation lasted until its deadline; killing the sandbox
		// and reaping it is the platform's time, not the function's.
		dur = float64(timeoutAt.Sub(start).Microseconds()) / 1000
	}

	e.mu.Lock()
	cold := e.invocations == 1
	initDuration := e.initDuration
	e.mu.Unlock()

	var b strings.Builder
	if ferr != nil && isPlatformError(ferr.Type) {
		fmt.Fprintf(&b, "%s\n%s\n", errorMessage(ferr), ferr.Type)
	}
	// END and REPORT without fmt: they are written for every invocation.
	line := make([]byte, 0, 256)
	line = append(line, "END RequestId: "...)
	line = append(line, c.inv.RequestID...)
	line = append(line, "\nREPORT RequestId: "...)
	line = append(line, c.inv.RequestID...)
	line = append(line, "\tDuration: "...)
	line = strconv.AppendFloat(line, dur, 'f', 2, 64)
	line = append(line, " ms\tBilled Duration: "...)
	line = strconv.AppendInt(line, int64(dur+0.999999), 10)
	line = append(line, " ms\tMemory Size: "...)
	line = strconv.AppendInt(line, int64(e.spec.Function.MemorySize), 10)
	line = append(line, " MB\tMax Memory Used: "...)
	line = strconv.AppendInt(line, int64(e.maxMemoryMB()), 10)
	line = append(line, " MB\t"...)
	if cold && initDuration > 0 {
		line = append(line, "Init Duration: "...)
		line = strconv.AppendFloat(line, float64(initDuration.Microseconds())/1000, 'f', 2, 64)
		line = append(line, " ms\t"...)
	}
	b.Write(line)
	if timedOut {
		b.WriteString("Status: timeout")
	} else if ferr != nil && isPlatformError(ferr.Type) {
		b.WriteString("Status: error\tError Type: " + ferr.Type)
	}
	b.WriteString("\n")
	tail := e.logs.end(b.String())

	e.mu.Lock()
	e.freezeLocked()
	e.cur = nil
	e.mu.Unlock()
	return sluice.Result{Err: ferr, LogTail: tail}
}

// freezeGrace is how long, after an invocation ended, the environment is
// left to run until its runtime is back in GET /next, before it is frozen
// anyway.
const freezeGrace = 10 * time.Millisecond

// freezeLocked freezes the environment at the end of an invocation.
// Between invocations nothing of the function runs, as on Lambda: the
// whole environment (the runtime, its goroutines and threads, whatever it
// started) is frozen until the next Invoke thaws it. The best moment is
// when the runtime is back in GET /next: then the next invocation is
// handed to a request already waiting, as without freezing. So: frozen now
// if the runtime already waits there; else by Next when it arrives, or
// after freezeGrace at the latest (a runtime that does not come back is
// frozen too; its 202 and its GET /next wait in the socket until the
// thaw). An environment being killed is not frozen (its processes must
// take their SIGKILL). Called with e.mu held.
func (e *Env) freezeLocked() {
	if e.proc == nil || !e.aliveLocked() {
		return
	}
	if e.inNext > 0 {
		e.proc.Freeze()
		return
	}
	e.freezePending = true
	if e.freezeTimer == nil {
		e.freezeTimer = time.AfterFunc(freezeGrace, e.freezeLate)
	} else {
		e.freezeTimer.Reset(freezeGrace)
	}
}

// freezeLate freezes the environment freezeGrace after an invocation
// ended, if neither Next nor the next Invoke came first.
func (e *Env) freezeLate() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.freezePending {
		e.freezePending = false
		if e.aliveLocked() {
			e.proc.Freeze()
		}
	}
}

func isPlatformError(typ string) bool {
	return strings.HasPrefix(typ, "Runtime.") || strings.HasPrefix(typ, "Sandbox.")
}

// errorMessage is the errorMessage of an error document, for the log.
func errorMessage(ferr *sluice.FunctionError) string {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(ferr.Payload, &doc) == nil && doc.ErrorMessage != "" {
		return doc.ErrorMessage
	}
	return string(ferr.Payload)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// Output is the sluice.Output of one invocation. Read is the runtime's
// request body; Close drains it, releases the runtime's request and
// finishes the invocation, unless the function's timeout finished it
// first (Read then returns io.EOF and Close returns at once).
type Output struct {
	e    *Env
	c    *call
	resp *runtimeapi.Response // nil when the invocation failed before answering
	ferr *sluice.FunctionError
	eof  bool

	closeOnce sync.Once
	result    sluice.Result
}

func (o *Output) ContentType() string {
	if o.resp == nil {
		return "application/json"
	}
	return o.resp.ContentType
}

// Read returns the function's bytes as the runtime sends them. A broken
// response ends the stream with io.EOF; its cause is in Result.
func (o *Output) Read(p []byte) (int, error) {
	if o.eof {
		return 0, io.EOF
	}
	if o.c.ended.Load() { // the timeout ended the invocation
		o.eof = true
		return 0, io.EOF
	}
	n, err := o.resp.Body.Read(p)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		o.eof = true
		o.c.mu.Lock()
		o.c.complete = true
		o.c.mu.Unlock()
		o.ferr = o.resp.Err()
	default:
		o.eof = true
		o.ferr = o.e.brokenResponse(o.c)
	}
	return n, io.EOF
}

// Close lets the function run to its end (discarding output the caller did
// not read), then finishes the invocation. It always returns nil.
func (o *Output) Close() error {
	o.closeOnce.Do(func() {
		if !o.eof {
			_, _ = io.Copy(io.Discard, o)
		}
		o.result = o.e.finish(o.c, o.ferr)
	})
	return nil
}

func (o *Output) Result() sluice.Result { return o.result }

// Init says whether this invocation was its environment's first (a cold
// start) and, for one, how long the environment's init phase took (0
// when it did not finish), as REPORT's Init Duration says.
func (o *Output) Init() (cold bool, d time.Duration) {
	if !o.c.cold {
		return false, 0
	}
	o.e.mu.Lock()
	defer o.e.mu.Unlock()
	return true, o.e.initDuration
}

// OnEnd arranges for f to run once when the invocation ends: in Close, or
// at the function's timeout if that comes first (on the timer's
// goroutine). If it has ended already, f runs now. The invoker releases
// the environment and the concurrency slot with it.
func (o *Output) OnEnd(f func()) {
	c := o.c
	c.mu.Lock()
	if !c.ended.Load() {
		c.onEnd = append(c.onEnd, f)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	f()
}

var _ sluice.Output = (*Output)(nil)

// Runtime API backend: the methods runtimeapi.Handler calls.

// Next hands the queued invocation to the runtime and arms its deadline.
func (e *Env) Next(ctx context.Context) (*sluice.Invocation, error) {
	e.mu.Lock()
	first := !e.initDone
	proc := e.proc // nil while Start has not set it: Start calls InitDone then
	if first {
		e.initDone = true
		e.initDuration = time.Since(e.startedAt)
	}
	e.inNext++
	if e.freezePending { // back after an invocation: freeze now (freezeLocked)
		e.freezePending = false
		if e.aliveLocked() {
			e.proc.Freeze()
		}
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.inNext--
		e.mu.Unlock()
	}()
	if first {
		if proc != nil {
			proc.InitDone() // its own CPU weight from now on
		}
		e.admitted() // init is over: the next start may go
		e.log.Debug("init done", "duration", e.initDuration)
	}

	select {
	case c := <-e.queue:
		e.logStart(c, true)
		c.mu.Lock()
		c.takenAt = time.Now()
		c.inv.Deadline = c.takenAt.Add(c.timeout)
		c.timer = time.AfterFunc(c.timeout, func() { e.onTimeout(c) })
		inv := c.inv
		c.mu.Unlock()
		close(c.taken)
		return &inv, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.stopping:
		return nil, runtimeapi.ErrShuttingDown
	}
}

// current returns the invocation id refers to, if the runtime holds it.
func (e *Env) current(id string) (*call, error) {
	e.mu.Lock()
	c := e.cur
	e.mu.Unlock()
	if c == nil || c.inv.RequestID != id {
		return nil, runtimeapi.ErrInvalidRequestID
	}
	select {
	case <-c.taken:
	default:
		return nil, runtimeapi.ErrInvalidRequestID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.responded {
		return nil, runtimeapi.ErrInvalidStateTransition
	}
	c.responded = true
	return c, nil
}

// Respond hands the response to the waiting Invoke and holds the runtime's
// request open until the caller has closed the Output.
func (e *Env) Respond(ctx context.Context, id string, resp *runtimeapi.Response) error {
	c, err := e.current(id)
	if err != nil {
		return err
	}
	c.delivered <- delivery{resp: resp}
	select {
	case <-c.released:
	case <-ctx.Done():
	}
	return nil
}

// Fail delivers a function error.
func (e *Env) Fail(ctx context.Context, id string, ferr *sluice.FunctionError) error {
	c, err := e.current(id)
	if err != nil {
		return err
	}
	c.delivered <- delivery{ferr: ferr}
	return nil
}

// InitError records an init failure and ends the environment, as Lambda
// does; the waiting invocation reports the runtime's error document.
func (e *Env) InitError(ctx context.Context, ferr *sluice.FunctionError) error {
	e.mu.Lock()
	if e.initErr == nil {
		e.initErr = ferr
	}
	e.mu.Unlock()
	e.logs.write(fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s\n", msSince(e.startedAt), ferr.Type))
	e.kill(reasonInitError) // only signals: the runtime may still get its 202
	return nil
}

var _ runtimeapi.Backend = (*Env)(nil)
