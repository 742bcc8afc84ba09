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
// InvokedFunctionARN is r's (as the caller qualified it) and an empty
// TraceID a new one. Errors: those of sluice.Invoker.Invoke (EThrottled,
// EServiceUnavailable, ...).
func (s *Service) Invoke(ctx context.Context, r *Runnable, inv sluice.Invocation) (sluice.Output, error) {
	return s.cfg.Invoker.Invoke(ctx, s.request(r, inv))
}

// InvokeAsync queues r with inv (InvocationType Event) and returns at
// once; inv as for Invoke. Events are queued, not throttled, unless the
// function may not run at all (reserved concurrency 0): EThrottled with
// Reason ReservedFunctionConcurrentInvocationLimitExceeded, as on Lambda.
func (s *Service) InvokeAsync(r *Runnable, inv sluice.Invocation) error {
	if n, ok := s.cfg.Limits.Reserved(r.Function.Name); ok && n == 0 {
		return &sluice.Error{Code: sluice.EThrottled, Reason: concurrency.ReasonReserved, Message: concurrency.ThrottleMessage}
	}
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
