// Package async delivers asynchronous (Event) invocations: it accepts them
// into the durable queue (internal/asyncq) before the 202 is sent, and
// delivers them from it with Lambda's policy: the function's (or alias's)
// asynchronous invocation configuration (retries, maximum age,
// destinations), retries of function errors after RetryBase and twice
// that, throttled events retried without counting an attempt, and the
// invocation record in AWS's format sent to a Lambda function
// destination, itself as an Event invocation through the same queue.
//
// Delivery is at least once: an event whose delivery was under way when
// sluice stopped (a crash, kill -9) runs again at the next start.
package async

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/asyncq"
	"github.com/sluice-dev/sluice/internal/service"
)

// Services gives the Service of a scope (service.Registry).
type Services interface {
	Service(ctx context.Context, scope sluice.Scope) (*service.Service, error)
}

// Config configures a Dispatcher.
type Config struct {
	Queue    *asyncq.Queue
	Services Services
	// RetryBase is how long after a function error the first retry
	// waits; the second waits twice as long. 0 means a minute, as on
	// Lambda (sluice serve --async-retry-base).
	RetryBase time.Duration
	// ThrottleWait is how long a throttled event waits before it is
	// tried again; 0 means a second.
	ThrottleWait time.Duration
	// MaxQueued caps the events waiting in the queue, all functions
	// together: past it, Event invocations are refused with
	// TooManyRequestsException (429) until the queue drains, so that a
	// client cannot fill the disk with events. 0 means no cap.
	MaxQueued int
	Logger    *slog.Logger
	// Now is the clock of event ages and record timestamps; nil is
	// time.Now.
	Now func() time.Time
}

// Dispatcher accepts events (sluice.EventQueue) and delivers them (Run).
type Dispatcher struct {
	cfg Config
	log *slog.Logger
}

// New returns a Dispatcher of cfg.
func New(cfg Config) *Dispatcher {
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Minute
	}
	if cfg.ThrottleWait <= 0 {
		cfg.ThrottleWait = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{cfg: cfg, log: log}
}

// record is an event as queued (asyncq.Event.Data): the invocation, and
// what its deliveries learnt.
type record struct {
	Region        string `json:"region"`
	Account       string `json:"account"`
	Function      string `json:"function"`
	Qualifier     string `json:"qualifier,omitempty"`
	RequestID     string `json:"requestId"`
	InvokedARN    string `json:"invokedArn"`
	TraceID       string `json:"traceId,omitempty"`
	Payload       []byte `json:"payload"`
	ClientContext []byte `json:"clientContext,omitempty"`
	// Invokes counts the runs of the function (approximateInvokeCount).
	Invokes int `json:"invokes,omitempty"`
	// Last is the response of the last run.
	Last *response `json:"last,omitempty"`
	// Pending is a destination record not yet handed over: the function
	// is not run again, only the record is sent.
	Pending *pending `json:"pending,omitempty"`
}

type response struct {
	ExecutedVersion string `json:"executedVersion"`
	// FunctionError is X-Amz-Function-Error ("Unhandled"), "" on success.
	FunctionError string `json:"functionError,omitempty"`
	// ErrorType is the error's type (e.g. "Sandbox.Timedout").
	ErrorType string `json:"errorType,omitempty"`
	Payload   []byte `json:"payload,omitempty"`
	// LogTail is the end of the run's log (START to REPORT).
	LogTail []byte `json:"logTail,omitempty"`
}

type pending struct {
	Destination string `json:"destination"`
	Condition   string `json:"condition"`
	Record      []byte `json:"record"`
}

// Key is the fairness key of a function's events: region/account/name.
func Key(scope sluice.Scope, function string) string {
	return scope.Region + "/" + scope.Account + "/" + function
}

func splitKey(key string) (sluice.Scope, string, bool) {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return sluice.Scope{}, "", false
	}
	return sluice.Scope{Region: parts[0], Account: parts[1]}, parts[2], true
}

// Enqueue implements sluice.EventQueue: ev is on disk (fsync'd) when it
// returns nil. An error (a full or broken disk) means it was not stored:
// EInternal, so the caller answers 500 rather than 202.
func (d *Dispatcher) Enqueue(ctx context.Context, ev sluice.QueuedEvent) error {
	if d.cfg.MaxQueued > 0 && d.cfg.Queue.Len() >= d.cfg.MaxQueued {
		return sluice.Errorf(sluice.EThrottled, "Rate Exceeded. sluice's queue of asynchronous invocations is full (%d events); try again later.", d.cfg.MaxQueued)
	}
	rec := record{
		Region: ev.Scope.Region, Account: ev.Scope.Account, Function: ev.Function, Qualifier: ev.Qualifier,
		RequestID: ev.Invocation.RequestID, InvokedARN: ev.Invocation.InvokedFunctionARN, TraceID: ev.Invocation.TraceID,
		Payload: ev.Invocation.Payload, ClientContext: ev.Invocation.ClientContext,
	}
	data, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	err = d.cfg.Queue.Put(ctx, asyncq.Event{ID: rec.RequestID, Key: Key(ev.Scope, ev.Function), Enqueued: d.cfg.Now(), Data: data})
	if err != nil {
		d.log.Error("event invocation not stored", sluice.LogKeyRequestID, rec.RequestID, sluice.LogKeyFunction, ev.Function, "err", err)
		return sluice.Errorf(sluice.EInternal, "The event could not be stored; it was not accepted.")
	}
	return nil
}

// Limit is asyncq.Options.Limit: a function's events run at most its
// reserved concurrency at once (1 when it is 0: the invocation is then
// throttled and waits, as on Lambda, until it expires).
func Limit(services Services) func(key string) int {
	return func(key string) int {
		scope, name, ok := splitKey(key)
		if !ok {
			return 0
		}
		svc, err := services.Service(context.Background(), scope)
		if err != nil {
			return 0
		}
		n, ok := svc.ReservedConcurrency(name)
		if !ok {
			return 0
		}
		return max(n, 1)
	}
}

// Run delivers events until ctx ends (asyncq.Queue.Run).
func (d *Dispatcher) Run(ctx context.Context) error {
	return d.cfg.Queue.Run(ctx, d.deliver)
}

// Conditions of invocation records.
const (
	condSuccess          = "Success"
	condRetriesExhausted = "RetriesExhausted"
	condEventAgeExceeded = "EventAgeExceeded"
)

func (d *Dispatcher) deliver(ctx context.Context, ev asyncq.Event) asyncq.Outcome {
	var rec record
	if err := json.Unmarshal(ev.Data, &rec); err != nil {
		d.log.Error("event invocation dropped: undecodable record", sluice.LogKeyRequestID, ev.ID, "err", err)
		return asyncq.Done{}
	}
	log := d.log.With(sluice.LogKeyRequestID, rec.RequestID, sluice.LogKeyFunction, rec.Function)
	if rec.Pending != nil {
		return d.handOver(ctx, log, &rec)
	}
	now := d.cfg.Now()
	scope := sluice.Scope{Region: rec.Region, Account: rec.Account}
	svc, err := d.cfg.Services.Service(ctx, scope)
	if err != nil {
		log.Warn("event invocation waits: its scope is not available", "err", err)
		return asyncq.Throttled{At: now.Add(d.cfg.ThrottleWait)}
	}
	ref := sluice.FunctionRef{Name: rec.Function}
	cfg, _, err := svc.EventInvokeConfig(ctx, ref, rec.Qualifier)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			log.Info("event invocation dropped: the function is gone", "err", err)
			return asyncq.Done{}
		}
		log.Warn("event invocation waits: its configuration cannot be read", "err", err)
		return asyncq.Throttled{At: now.Add(d.cfg.ThrottleWait)}
	}
	if now.Sub(ev.Enqueued) > cfg.MaxAge() {
		return d.finish(ctx, log, svc, &rec, &cfg, condEventAgeExceeded)
	}
	run, err := svc.ResolveRunnable(ctx, ref, rec.Qualifier)
	switch sluice.ErrorCodeOf(err) {
	case "":
	case sluice.ENotFound:
		log.Info("event invocation dropped: the function is gone", "err", err)
		return asyncq.Done{}
	default: // e.g. Pending: it waits, as on Lambda, until its age runs out
		return asyncq.Throttled{At: now.Add(d.cfg.ThrottleWait)}
	}
	inv := sluice.Invocation{
		RequestID: rec.RequestID, InvokedFunctionARN: rec.InvokedARN, TraceID: rec.TraceID,
		Payload: rec.Payload, ClientContext: rec.ClientContext,
	}
	out, err := svc.InvokeEvent(ctx, run, inv)
	switch sluice.ErrorCodeOf(err) {
	case "":
	case sluice.EThrottled:
		return asyncq.Throttled{At: now.Add(d.cfg.ThrottleWait)}
	case sluice.EServiceUnavailable:
		return nil // shutting down: it stays queued for the next start
	default:
		if ctx.Err() != nil {
			return nil
		}
		// The environment could not start: an attempt that failed.
		rec.Invokes++
		rec.Last = &response{ExecutedVersion: run.ExecutedVersion(), FunctionError: "Unhandled", ErrorType: "Sluice.InvokeError",
			Payload: errorDocument("Sluice.InvokeError", err.Error())}
		return d.failed(ctx, log, svc, ev, &rec, &cfg, d.cfg.Now())
	}
	body, _ := io.ReadAll(io.LimitReader(out, sluice.MaxBufferedResponse))
	_ = out.Close()
	res := out.Result()
	if ctx.Err() != nil && res.Err != nil {
		return nil // cut short by the shutdown: it runs again at the next start
	}
	rec.Invokes++
	rec.Last = &response{ExecutedVersion: run.ExecutedVersion(), Payload: body, LogTail: res.LogTail}
	if res.Err == nil {
		return d.finish(ctx, log, svc, &rec, &cfg, condSuccess)
	}
	rec.Last.FunctionError, rec.Last.ErrorType, rec.Last.Payload = "Unhandled", res.Err.Type, res.Err.Payload
	return d.failed(ctx, log, svc, ev, &rec, &cfg, d.cfg.Now())
}

// failed decides what follows a failed run that ended at now: a retry
// RetryBase after it, then twice that after the next, while attempts remain and the event will still be young
// enough; else the failure destination.
func (d *Dispatcher) failed(ctx context.Context, log *slog.Logger, svc *service.Service, ev asyncq.Event, rec *record, cfg *sluice.EventInvokeConfig, now time.Time) asyncq.Outcome {
	log.Info("event invocation failed", "attempt", rec.Invokes, "error_type", rec.Last.ErrorType)
	if ev.Attempts >= cfg.RetryAttempts() {
		return d.finish(ctx, log, svc, rec, cfg, condRetriesExhausted)
	}
	at := now.Add(d.cfg.RetryBase << ev.Attempts)
	if at.Sub(ev.Enqueued) > cfg.MaxAge() {
		return d.finish(ctx, log, svc, rec, cfg, condEventAgeExceeded)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return asyncq.Retry{At: at}
	}
	return asyncq.Retry{At: at, Data: data}
}

// finish ends an event with condition: its record goes to the success or
// failure destination, if there is one.
func (d *Dispatcher) finish(ctx context.Context, log *slog.Logger, svc *service.Service, rec *record, cfg *sluice.EventInvokeConfig, condition string) asyncq.Outcome {
	dest := cfg.OnFailure
	if condition == condSuccess {
		dest = cfg.OnSuccess
	}
	if condition != condSuccess {
		log.Warn("event invocation discarded", "condition", condition, "invokes", rec.Invokes, "destination", dest)
	}
	if dest == "" {
		return asyncq.Done{}
	}
	rec.Pending = &pending{Destination: dest, Condition: condition, Record: d.invocationRecord(rec, condition)}
	rec.Payload, rec.Last = nil, nil // the record holds them now
	return d.handOver(ctx, log, rec)
}

// handOver queues the pending record as an Event invocation of its
// destination; when that fails, the event keeps it and tries again.
func (d *Dispatcher) handOver(ctx context.Context, log *slog.Logger, rec *record) asyncq.Outcome {
	p := rec.Pending
	var v sluice.Violations
	ref, ok := sluice.ParseFunctionName(p.Destination, &v)
	if !ok {
		log.Error("destination record dropped: not a function ARN", "destination", p.Destination)
		return asyncq.Done{}
	}
	scope := sluice.Scope{Region: ref.Region, Account: ref.Account}
	if scope.Region == "" || scope.Account == "" {
		scope = sluice.Scope{Region: rec.Region, Account: rec.Account}
	}
	err := d.Enqueue(ctx, sluice.QueuedEvent{
		Scope: scope, Function: ref.Name, Qualifier: ref.Qualifier,
		Invocation: sluice.Invocation{
			RequestID:          sluice.NewRequestID(),
			InvokedFunctionARN: p.Destination,
			TraceID:            rec.TraceID,
			Payload:            p.Record,
		},
	})
	if err == nil {
		log.Info("invocation record sent", "condition", p.Condition, "destination", p.Destination)
		return asyncq.Done{}
	}
	data, merr := json.Marshal(rec)
	if merr != nil {
		return asyncq.Throttled{At: d.cfg.Now().Add(d.cfg.ThrottleWait)}
	}
	return asyncq.Retry{At: d.cfg.Now().Add(d.cfg.ThrottleWait), Data: data}
}

// invocationRecord is the record Lambda sends to a destination: version,
// timestamp, requestContext, requestPayload, and, when the function ran,
// responseContext and responsePayload (LocalStack's recordings of AWS,
// test_lambda_destinations.snapshot.json).
func (d *Dispatcher) invocationRecord(rec *record, condition string) []byte {
	qualifier := rec.Qualifier
	if qualifier == "" {
		qualifier = sluice.LatestVersion
	}
	scope := sluice.Scope{Region: rec.Region, Account: rec.Account}
	type requestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	}
	type responseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	}
	out := struct {
		Version         string           `json:"version"`
		Timestamp       string           `json:"timestamp"`
		RequestContext  requestContext   `json:"requestContext"`
		RequestPayload  json.RawMessage  `json:"requestPayload"`
		ResponseContext *responseContext `json:"responseContext,omitempty"`
		ResponsePayload json.RawMessage  `json:"responsePayload,omitempty"`
	}{
		Version:   "1.0",
		Timestamp: d.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: requestContext{
			RequestID:              rec.RequestID,
			FunctionArn:            scope.FunctionARN(rec.Function) + ":" + qualifier,
			Condition:              condition,
			ApproximateInvokeCount: rec.Invokes,
		},
		RequestPayload: asJSON(rec.Payload),
	}
	if rec.Last != nil {
		out.ResponseContext = &responseContext{StatusCode: 200, ExecutedVersion: rec.Last.ExecutedVersion, FunctionError: rec.Last.FunctionError}
		out.ResponsePayload = asJSON(rec.Last.Payload)
	}
	b, err := json.Marshal(out)
	if err != nil { // asJSON gives valid JSON: not reached
		return nil
	}
	return b
}

// asJSON is b when it is JSON, else b as a JSON string (null when empty).
func asJSON(b []byte) json.RawMessage {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}

func errorDocument(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return b
}
