package service

import (
	"context"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/concurrency"
)

// Invoke runs r (from ResolveRunnable or Route) with inv and returns its
// output once the runtime starts to respond; the caller reads it and must
// Close it. inv carries at least the RequestID and the Payload; an empty
// InvokedFunctionARN is r's (as the caller qualified it); TraceID is the
// caller's trace header ("" for none), which the invocation extends
// (Lineage). Errors: ERecursiveInvocation (Lineage); those of
// sluice.Invoker.Invoke (EThrottled, EServiceUnavailable, ...).
func (s *Service) Invoke(ctx context.Context, r *Runnable, inv sluice.Invocation) (sluice.Output, error) {
	var err error
	if inv.TraceID, err = s.Lineage(ctx, r.Function.Name, inv.TraceID); err != nil {
		return nil, err // ERecursiveInvocation: a recursive loop (recursion.go)
	}
	return s.cfg.Invoker.Invoke(ctx, s.request(r, inv))
}

// InvokeAsync queues r with inv (InvocationType Event) and returns at
// once; inv as for Invoke (an event stopped as part of a recursive loop
// is accepted and dropped). Events are queued, not throttled, unless the
// function may not run at all (reserved concurrency 0): EThrottled with
// Reason ReservedFunctionConcurrentInvocationLimitExceeded, as on Lambda.
func (s *Service) InvokeAsync(r *Runnable, inv sluice.Invocation) error {
	if n, ok := s.cfg.Limits.Reserved(r.Function.Name); ok && n == 0 {
		return &sluice.Error{Code: sluice.EThrottled, Reason: concurrency.ReasonReserved, Message: concurrency.ThrottleMessage}
	}
	trace, ok, err := s.lineageOfEvent(r, inv)
	if !ok {
		return err // nil: a recursive loop's event is accepted and dropped
	}
	inv.TraceID = trace
	return s.cfg.Invoker.InvokeAsync(s.request(r, inv))
}

func (s *Service) request(r *Runnable, inv sluice.Invocation) sluice.InvokeRequest {
	if inv.InvokedFunctionARN == "" {
		inv.InvokedFunctionARN = r.Target.InvokedARN
	}
	if inv.TraceID == "" {
		inv.TraceID = sluice.NewTraceID(time.Now())
	}
	return sluice.InvokeRequest{Scope: s.cfg.Scope, Function: r.Function, Invocation: inv}
}
