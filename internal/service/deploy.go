package service

import (
	"context"
	"errors"

	"github.com/sluice-dev/sluice"
)

// Deployments: the asynchronous half of CreateFunction and
// UpdateFunctionCode, as on Lambda.
//
// The operation checks the package's structure, stores it and writes
// $LATEST with State Pending (create) or LastUpdateStatus InProgress
// (update; the configuration that was applied before stays in Previous and
// serves invocations meanwhile), then returns. A deployment, a goroutine
// owned by the Service, unpacks the package (the slow part, bounded by
// sluice.MaxUnzippedSize), prepares the runtime (Config.Runtimes) and
// settles $LATEST:
//
//   - ready: State Active, LastUpdateStatus Successful;
//   - a bad package, on create: State Failed with the reason, and
//     invocations get ResourceConflictException;
//   - a runtime that cannot be prepared, on create: State Failed,
//     StateReasonCode InvalidRuntime, the reason from Runtimes.Prepare;
//   - either, on update: the previous code and configuration are
//     restored, with LastUpdateStatus Failed and the reason.
//
// Settling is a compare-and-swap on the RevisionID the deployment started
// from and gives $LATEST a new one, as Lambda does. Deployments interrupted
// by a crash or a shutdown are started again by Resume.

// Reasons of the Pending and InProgress states.
const (
	reasonCreating     = "The function is being created."
	reasonCodeCreating = "Creating"
	// reasonCodeBadZip is the StateReasonCode of a package that cannot be
	// unpacked.
	reasonCodeBadZip = "InvalidZipFileException"
	// reasonCodeRuntime is the StateReasonCode of a runtime that cannot be
	// prepared (Lambda's StateReasonCode InvalidRuntime).
	reasonCodeRuntime = "InvalidRuntime"
	// reasonCodeInternal is the StateReasonCode of a failure of sluice.
	reasonCodeInternal = "InternalError"
)

// runtimeError is a failed Runtimes.Prepare.
type runtimeError struct{ err error }

func (e *runtimeError) Error() string { return "prepare the runtime: " + e.err.Error() }
func (e *runtimeError) Unwrap() error { return e.err }

// errInterrupted ends a deployment that a shutdown interrupted before it
// settled; Resume starts it again.
var errInterrupted = errors.New("deployment interrupted by the shutdown; it resumes at the next start")

// startDeploy unpacks fn's package in the background and settles fn.
func (s *Service) startDeploy(fn *sluice.Function) {
	s.deploys.Add(1)
	go func() {
		defer s.deploys.Done()
		_, err := s.deploy(s.bg, fn.Name, fn.RevisionID)
		switch {
		case errors.Is(err, errInterrupted):
			s.log.Info("deployment", sluice.LogKeyFunction, fn.Name, "err", err)
		case err != nil:
			s.log.Warn("deployment", sluice.LogKeyFunction, fn.Name, "err", err)
		}
	}()
}

// deployThenPublish deploys fn (just written by the caller) in the
// request, then publishes a version of it: CreateFunction and
// UpdateFunctionCode with Publish=true.
func (s *Service) deployThenPublish(ctx context.Context, fn *sluice.Function) (*sluice.Function, error) {
	// A deployment started in a request settles even if the caller goes.
	settled, err := s.deploy(context.WithoutCancel(ctx), fn.Name, fn.RevisionID)
	if err != nil {
		return nil, err
	}
	if settled == nil { // deleted or replaced while it was being deployed
		return nil, s.errUpdateInProgress(fn.Name, nil)
	}
	if settled.LastUpdateStatus == sluice.UpdateFailed || settled.State == sluice.StateFailed {
		if settled.LastUpdateStatusReasonCode == reasonCodeRuntime {
			return nil, sluice.Errorf(sluice.EInvalidParameter, "%s", settled.LastUpdateStatusReason)
		}
		return nil, sluice.Errorf(sluice.EInvalidZip, "%s", settled.LastUpdateStatusReason)
	}
	return s.publish(ctx, settled, nil, false)
}

// deploy unpacks the package of $LATEST at revision rev, prepares its
// runtime and settles it. It returns the settled function, or nil when
// $LATEST was deleted or replaced meanwhile (nothing to do). When ctx ends
// while the runtime is being prepared, it returns errInterrupted and leaves
// $LATEST as it is, for Resume; once it settles, it settles whatever ctx
// does.
func (s *Service) deploy(ctx context.Context, name, rev string) (*sluice.Function, error) {
	interrupt := ctx
	ctx = context.WithoutCancel(ctx) // a started deployment settles
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound || (err == nil && fn.RevisionID != rev) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	_, deployErr := s.codeDir(fn.CodeSHA256)
	if deployErr == nil && s.cfg.Runtimes != nil {
		if err := s.cfg.Runtimes.Prepare(interrupt, fn.Runtime); err != nil {
			if interrupt.Err() != nil {
				return nil, errInterrupted
			}
			deployErr = &runtimeError{err}
		}
	}
	next := settle(fn, deployErr)

	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	switch err := s.cfg.Store.UpdateFunction(ctx, next, rev); sluice.ErrorCodeOf(err) {
	case "":
	case sluice.EPrecondition, sluice.ENotFound:
		return nil, nil // superseded or deleted: its own change cleans up
	default:
		return nil, err
	}
	if deployErr != nil {
		s.logger(ctx).Info("deployment failed", sluice.LogKeyFunction, name, "err", deployErr)
	}
	if fn.Previous != nil {
		if deployErr != nil {
			s.releaseCode(ctx, name, fn.CodeSHA256)
		} else if fn.Previous.CodeSHA256 != fn.CodeSHA256 {
			s.releaseCode(ctx, name, fn.Previous.CodeSHA256)
		}
		// The environments of the previous configuration are stale now.
		s.cfg.Invoker.Retire(s.cfg.Scope, name, sluice.LatestVersion, next.Fingerprint())
	}
	return next, nil
}

// settle returns fn after its deployment ended with err.
func settle(fn *sluice.Function, err error) *sluice.Function {
	next := settled(fn, err)
	next.RevisionID = sluice.NewRequestID()
	return next
}

func settled(fn *sluice.Function, err error) *sluice.Function {
	if err == nil {
		next := fn.Clone()
		next.State, next.StateReason, next.StateReasonCode = sluice.StateActive, "", ""
		next.LastUpdateStatus = sluice.UpdateSuccessful
		next.LastUpdateStatusReason, next.LastUpdateStatusReasonCode = "", ""
		next.Previous = nil
		return next
	}
	reason, code := "Lambda could not deploy the function: an internal error occurred.", reasonCodeInternal
	var rt *runtimeError
	if errors.As(err, &rt) {
		// Only a *sluice.Error's message is meant for clients; another
		// error may name host paths (the runtimes directory), so it goes
		// to the log (deploy logs deployErr) and the reason says so.
		reason, code = "sluice could not prepare the runtime (its log says why).", reasonCodeRuntime
		var e *sluice.Error
		if errors.As(rt.err, &e) {
			reason = e.Message
		}
	} else {
		switch sluice.ErrorCodeOf(err) {
		case sluice.EInvalidZip, sluice.EInvalidParameter:
			var e *sluice.Error
			if errors.As(err, &e) {
				reason = e.Message
			}
			code = reasonCodeBadZip
		}
	}
	var next *sluice.Function
	if fn.Previous != nil {
		// A failed update keeps what ran before, as Lambda does.
		next = fn.Previous.Clone()
		next.LastModified = fn.LastModified
	} else {
		next = fn.Clone()
		next.State, next.StateReason, next.StateReasonCode = sluice.StateFailed, reason, code
	}
	next.LastUpdateStatus = sluice.UpdateFailed
	next.LastUpdateStatusReason, next.LastUpdateStatusReasonCode = reason, code
	next.Previous = nil
	return next
}

// Resume restarts the deployments that a crash or a shutdown interrupted:
// every function still Pending or InProgress. Call it once at start.
func (s *Service) Resume(ctx context.Context) error {
	fns, err := s.cfg.Store.ListFunctions(ctx, "", 0)
	if err != nil {
		return err
	}
	for _, fn := range fns {
		if fn.State == sluice.StatePending || fn.LastUpdateStatus == sluice.UpdateInProgress {
			s.logger(ctx).Info("resuming deployment", sluice.LogKeyFunction, fn.Name)
			s.startDeploy(fn)
		}
	}
	return nil
}
