package service

import (
	"context"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/lineage"
)

// Recursive loop detection (docs/decisions.md, "Recursive loops"): every
// invocation extends the lineage of its trace header; the AWS SDKs inside
// a function send the header their runtime got (_X_AMZN_TRACE_ID) back
// as X-Amzn-Trace-Id on their own calls, so a function that invokes
// itself, directly or through others, is counted once more at each hop.

// ErrRecursiveInvocation is Lambda's answer to an invocation stopped as
// part of a recursive loop (the API reference's description of
// RecursiveInvocationException).
func ErrRecursiveInvocation() error {
	return sluice.Errorf(sluice.ERecursiveInvocation, "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation.")
}

// Lineage admits one invocation of the function named name (of this
// scope) that arrives with the trace header traceHeader (the caller's
// X-Amzn-Trace-Id; "" when it sent none) and returns the trace header
// the invocation carries (sluice.Invocation.TraceID, the runtime's
// Lambda-Runtime-Trace-Id): the caller's trace, or a new one when it
// sent none, with the lineage extended by this invocation. Call it once
// per invocation (an Event invocation: once, when it is accepted or when
// it is delivered, not both). Errors: ERecursiveInvocation when the
// function would run more than lineage.MaxInvocations times in this
// chain and its recursion setting (PutFunctionRecursionConfig) is not
// Allow; those of the store when the setting must be read.
func (s *Service) Lineage(ctx context.Context, name, traceHeader string) (string, error) {
	h := lineage.Parse(traceHeader)
	if h.Root == "" {
		h.Root, h.Parent = sluice.NewTraceParts(time.Now())
		h.Sampled = "0"
	}
	next, count := h.Extend(lineage.Hash(s.cfg.Scope.FunctionARN(name)))
	if lineage.Stopped(count, "") {
		// Only past the limit is the setting read: it is the
		// function's, held by its $LATEST.
		fn, err := s.cfg.Store.GetFunction(ctx, name)
		if err != nil {
			return "", err
		}
		if lineage.Stopped(count, fn.Settings.RecursiveLoop) {
			return "", ErrRecursiveInvocation()
		}
	}
	return next.String(), nil
}

// lineageOfEvent is Lineage for an Event invocation being accepted: a
// stopped one is accepted and dropped (ok false), as Lambda drops an
// event of a loop that has no failure destination.
func (s *Service) lineageOfEvent(r *Runnable, inv sluice.Invocation) (trace string, ok bool, err error) {
	ctx := context.Background() // InvokeAsync has none; the store read is local
	trace, err = s.Lineage(ctx, r.Function.Name, inv.TraceID)
	if sluice.ErrorCodeOf(err) == sluice.ERecursiveInvocation {
		s.logger(ctx).Warn("event invocation dropped: recursive loop", sluice.LogKeyRequestID, inv.RequestID, sluice.LogKeyFunction, r.Function.Name, "trace", inv.TraceID)
		return "", false, nil
	}
	return trace, err == nil, err
}
