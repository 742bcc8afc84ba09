package api

import (
	"encoding/base64"
	"net/http"

	"github.com/sluice-dev/sluice"
)

// ListFunctions paging.
const (
	defaultMaxItems = 50
	maxMaxItems     = 10000
)

// listFunctions is ListFunctions: GET /2015-03-31/functions. Functions come
// in name order; Marker is opaque to clients (the base64url form of the
// last name of the previous page). FunctionVersion=ALL lists each
// function's published versions after its $LATEST (MaxItems counts
// functions), $LATEST by its qualified ARN then; MasterRegion is ignored.
func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request, _ []byte) error {
	query := r.URL.Query()
	var v sluice.Violations
	if fv := query.Get("FunctionVersion"); fv != "" && fv != "ALL" {
		v.Add(fv, "functionVersion", "Member must satisfy enum value set: [ALL]")
	}
	limit, err := maxItemsIn(r, &v, defaultMaxItems, maxMaxItems)
	if err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	after := ""
	if m := query.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil || len(b) == 0 {
			return sluice.Errorf(sluice.EInvalidParameter, "Invalid Marker: %s; pass the NextMarker of a previous ListFunctions response", m)
		}
		after = string(b)
	}

	svc, err := s.service(r, sluice.FunctionRef{})
	if err != nil {
		return err
	}
	fns, err := svc.ListFunctions(r.Context(), after, limit+1)
	if err != nil {
		return err
	}
	resp := listFunctionsResponse{Functions: make([]listedConfiguration, 0, min(len(fns), limit))}
	if len(fns) > limit {
		fns = fns[:limit]
		resp.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(fns[len(fns)-1].Name))
	}
	all := query.Get("FunctionVersion") == "ALL"
	for _, fn := range fns {
		c := configurationOf(svc.Scope(), fn)
		if !all {
			resp.Functions = append(resp.Functions, listed(c))
			continue
		}
		// Listing versions, AWS names $LATEST by its qualified ARN.
		c.FunctionArn = svc.Scope().FunctionARN(fn.Name) + ":" + sluice.LatestVersion
		resp.Functions = append(resp.Functions, listed(c))
		// Only the published versions: after 0 skips $LATEST. A function
		// deleted meanwhile has none.
		versions, err := svc.ListVersions(r.Context(), sluice.FunctionRef{Name: fn.Name}, 0, 0)
		if err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
			return err
		}
		for _, v := range versions {
			resp.Functions = append(resp.Functions, listed(configurationOf(svc.Scope(), v)))
		}
	}
	return writeJSON(w, http.StatusOK, resp)
}
