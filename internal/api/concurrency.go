package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/sluice-dev/sluice"
)

// PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency
// and GetAccountSettings. Reservations are kept durably in the store and
// enforced by the concurrency.Limiter the invoker consults; the Limiter
// checks Lambda's rule that at least concurrency.MinUnreserved executions
// stay unreserved, atomically with the store write.

// putFunctionConcurrency is PutFunctionConcurrency:
// PUT /2017-10-31/functions/{name}/concurrency.
func (s *Server) putFunctionConcurrency(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req struct {
		ReservedConcurrentExecutions *json.Number `json:"ReservedConcurrentExecutions"`
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref := writeTarget(r, &v)
	n := 0
	if req.ReservedConcurrentExecutions == nil {
		v.AddNull("reservedConcurrentExecutions")
	} else if i, err := req.ReservedConcurrentExecutions.Int64(); err != nil {
		return sluice.Errorf(sluice.EInvalidContent, "Could not parse request body into json: ReservedConcurrentExecutions must be an integer")
	} else {
		n = int(min(max(i, -1), 1<<31))
		validateRange(&n, "reservedConcurrentExecutions", 0, 1<<31-1, &v)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.concurrencyTarget(r.Context(), ref); err != nil {
		return err
	}
	ctx := r.Context()
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	err := s.cfg.Limits.Reserve(ref.Name, n, func() error {
		return s.cfg.Store.SetReservedConcurrency(ctx, ref.Name, n)
	})
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return s.notFound(ref.Name, sluice.LatestVersion)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, concurrencyBody{ReservedConcurrentExecutions: &n})
}

// concurrencyTarget checks that ref names an existing function, unqualified.
func (s *Server) concurrencyTarget(ctx context.Context, ref sluice.FunctionRef) error {
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

// getFunctionConcurrency is GetFunctionConcurrency:
// GET /2019-09-30/functions/{name}/concurrency; {} when none is reserved.
func (s *Server) getFunctionConcurrency(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref := writeTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.concurrencyTarget(r.Context(), ref); err != nil {
		return err
	}
	var resp concurrencyBody
	if n, ok := s.cfg.Limits.Reserved(ref.Name); ok {
		resp.ReservedConcurrentExecutions = &n
	}
	return writeJSON(w, http.StatusOK, resp)
}

// deleteFunctionConcurrency is DeleteFunctionConcurrency:
// DELETE /2017-10-31/functions/{name}/concurrency, 204.
func (s *Server) deleteFunctionConcurrency(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref := writeTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	ctx := r.Context()
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
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getAccountSettings is GetAccountSettings: GET /2016-08-19/account-settings.
// TotalCodeSize counts the packages of $LATEST and of every version, as
// Lambda does.
func (s *Server) getAccountSettings(w http.ResponseWriter, r *http.Request, _ []byte) error {
	ctx := r.Context()
	fns, err := s.cfg.Store.ListFunctions(ctx, "", 0)
	if err != nil {
		return err
	}
	usage := accountUsage{FunctionCount: int64(len(fns))}
	for _, fn := range fns {
		usage.TotalCodeSize += fn.CodeSize
		versions, err := s.cfg.Store.ListVersions(ctx, fn.Name, 0, 0)
		if err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
			return err
		}
		for _, v := range versions {
			usage.TotalCodeSize += v.CodeSize
		}
	}
	return writeJSON(w, http.StatusOK, accountSettings{
		AccountLimit: accountLimit{
			TotalCodeSize:                  totalCodeSizeLimit,
			CodeSizeUnzipped:               sluice.MaxUnzippedSize,
			CodeSizeZipped:                 sluice.MaxZipSize,
			ConcurrentExecutions:           s.cfg.Limits.AccountLimit(),
			UnreservedConcurrentExecutions: s.cfg.Limits.Unreserved(),
		},
		AccountUsage: usage,
	})
}

// totalCodeSizeLimit is Lambda's default storage quota for packages (75 GB).
const totalCodeSizeLimit = 80530636800
