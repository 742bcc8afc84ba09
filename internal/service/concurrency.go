package service

import (
	"context"

	"github.com/sluice-dev/sluice"
)

// Reserved concurrency and the account's settings. Reservations are kept
// durably in the store and enforced by the concurrency.Limiter the invoker
// consults; the Limiter checks Lambda's rule that at least
// concurrency.MinUnreserved executions stay unreserved, atomically with
// the store write.

// PutFunctionConcurrency reserves n (>= 0) concurrent executions for the
// function ref names (unqualified). Errors: those of the concurrency
// target (see GetFunctionConcurrency); EInvalidParameter when fewer than
// concurrency.MinUnreserved executions would stay unreserved.
func (s *Service) PutFunctionConcurrency(ctx context.Context, ref sluice.FunctionRef, n int) error {
	if err := s.concurrencyTarget(ctx, ref); err != nil {
		return err
	}
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	err := s.cfg.Limits.Reserve(ref.Name, n, func() error {
		return s.cfg.Store.SetReservedConcurrency(ctx, ref.Name, n)
	})
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return s.notFound(ref.Name, sluice.LatestVersion)
	}
	return err
}

// concurrencyTarget checks that ref names an existing function, unqualified.
func (s *Service) concurrencyTarget(ctx context.Context, ref sluice.FunctionRef) error {
	q, err := s.cfg.Scope.Resolve(ref, "")
	if err != nil {
		return err
	}
	if q != "" {
		return sluice.Errorf(sluice.EInvalidParameter, "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	if _, err := s.cfg.Store.GetFunction(ctx, ref.Name); err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return s.notFound(ref.Name, sluice.LatestVersion)
		}
		return err
	}
	return nil
}

// GetFunctionConcurrency returns the reserved concurrency of the function
// ref names (unqualified); ok is false when none is reserved. Errors:
// those of sluice.Scope.Resolve; EInvalidParameter for a qualified name;
// ENotFound.
func (s *Service) GetFunctionConcurrency(ctx context.Context, ref sluice.FunctionRef) (n int, ok bool, err error) {
	if err := s.concurrencyTarget(ctx, ref); err != nil {
		return 0, false, err
	}
	n, ok = s.cfg.Limits.Reserved(ref.Name)
	return n, ok, nil
}

// ReservedConcurrency returns the reserved concurrency of the named
// function, ok false when none is reserved.
func (s *Service) ReservedConcurrency(name string) (n int, ok bool) {
	return s.cfg.Limits.Reserved(name)
}

// DeleteFunctionConcurrency removes the reservation of the function ref
// names (unqualified). Errors: those of GetFunctionConcurrency.
func (s *Service) DeleteFunctionConcurrency(ctx context.Context, ref sluice.FunctionRef) error {
	if err := s.concurrencyTarget(ctx, ref); err != nil {
		return err
	}
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	err := s.cfg.Limits.Reserve(ref.Name, -1, func() error {
		return s.cfg.Store.SetReservedConcurrency(ctx, ref.Name, -1)
	})
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return s.notFound(ref.Name, "")
	}
	return err
}

// AccountUsage is the account's use of concurrency and storage.
type AccountUsage struct {
	// ConcurrentExecutions is the account's limit; UnreservedConcurrentExecutions
	// what no function has reserved.
	ConcurrentExecutions           int
	UnreservedConcurrentExecutions int
	FunctionCount                  int64
	// TotalCodeSize is the storage the account's packages take, each
	// counted once however many versions use it (storage.go), and
	// CodeStorageLimit the most they may take.
	TotalCodeSize    int64
	CodeStorageLimit int64
}

// AccountSettings returns the account's limits and usage in the scope's
// region (on AWS both are per region).
func (s *Service) AccountSettings(ctx context.Context) (AccountUsage, error) {
	fns, err := s.cfg.Store.ListFunctions(ctx, "", 0)
	if err != nil {
		return AccountUsage{}, err
	}
	u := AccountUsage{FunctionCount: int64(len(fns))}
	if u.TotalCodeSize, u.CodeStorageLimit, err = s.CodeStorage(ctx); err != nil {
		return AccountUsage{}, err
	}
	u.ConcurrentExecutions = s.cfg.Limits.AccountLimit()
	u.UnreservedConcurrentExecutions = s.cfg.Limits.Unreserved()
	return u, nil
}
