package api

import (
	"encoding/json"
	"net/http"

	"github.com/sluice-dev/sluice"
)

// PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency
// and GetAccountSettings (see service.PutFunctionConcurrency).

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
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.PutFunctionConcurrency(r.Context(), ref, n); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, concurrencyBody{ReservedConcurrentExecutions: &n})
}

// getFunctionConcurrency is GetFunctionConcurrency:
// GET /2019-09-30/functions/{name}/concurrency; {} when none is reserved.
func (s *Server) getFunctionConcurrency(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref := writeTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	n, ok, err := svc.GetFunctionConcurrency(r.Context(), ref)
	if err != nil {
		return err
	}
	var resp concurrencyBody
	if ok {
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
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.DeleteFunctionConcurrency(r.Context(), ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getAccountSettings is GetAccountSettings: GET /2016-08-19/account-settings,
// the caller's account in the region the request is signed for.
func (s *Server) getAccountSettings(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, err := s.service(r, sluice.FunctionRef{})
	if err != nil {
		return err
	}
	u, err := svc.AccountSettings(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accountSettings{
		AccountLimit: accountLimit{
			TotalCodeSize:                  u.CodeStorageLimit,
			CodeSizeUnzipped:               sluice.MaxUnzippedSize,
			CodeSizeZipped:                 sluice.MaxZipSize,
			ConcurrentExecutions:           u.ConcurrentExecutions,
			UnreservedConcurrentExecutions: u.UnreservedConcurrentExecutions,
		},
		AccountUsage: accountUsage{FunctionCount: u.FunctionCount, TotalCodeSize: u.TotalCodeSize},
	})
}
