package api

import (
	"encoding/base64"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice"
)

// CreateAlias, GetAlias, UpdateAlias, DeleteAlias and ListAliases. An alias
// points to $LATEST or a published version and may route a share of
// invocations to one other published version (RoutingConfig); the rules of
// routing are the service's (service.CreateAlias).

// createAlias is CreateAlias: POST /2015-03-31/functions/{name}/aliases, 201.
func (s *Server) createAlias(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req createAliasRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref := writeTarget(r, &v)
	if req.Name == nil {
		v.AddNull("name")
	} else {
		sluice.ValidateAlias(*req.Name, "name", &v)
	}
	if req.FunctionVersion == nil {
		v.AddNull("functionVersion")
	}
	req.validate(&v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	a := &sluice.Alias{Name: *req.Name}
	req.apply(a)
	a, err = svc.CreateAlias(r.Context(), ref, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, aliasConfigurationOf(svc.Scope(), a))
}

// validate adds the model-constraint violations of the given members to v.
func (a *aliasSettings) validate(v *sluice.Violations) {
	if a.FunctionVersion != nil {
		sluice.ValidateVersion(*a.FunctionVersion, "functionVersion", v)
	}
	validateDescription(a.Description, v)
	if a.RoutingConfig != nil {
		weights := a.RoutingConfig.AdditionalVersionWeights
		badKey, badValue := false, false
		for k, w := range weights {
			badKey = badKey || !sluice.IsVersionNumber(k) || len(k) > sluice.MaxVersionLength
			badValue = badValue || w < 0 || w > 1
		}
		// Lambda shows the whole map, Java-style: {2=0.5}.
		if badKey {
			v.Add(javaMap(weights), "routingConfig.additionalVersionWeights", "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
		}
		if badValue {
			v.Add(javaMap(weights), "routingConfig.additionalVersionWeights", "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
		}
	}
}

// javaMap renders weights as Java's Map.toString does, keys sorted.
func javaMap(weights map[string]float64) string {
	keys := slices.Sorted(maps.Keys(weights))
	parts := make([]string, len(keys))
	for i, k := range keys {
		w := weights[k]
		f := strconv.FormatFloat(w, 'f', -1, 64)
		if w == math.Trunc(w) {
			f = strconv.FormatFloat(w, 'f', 1, 64)
		}
		parts[i] = k + "=" + f
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// apply copies the given members onto a.
func (a *aliasSettings) apply(alias *sluice.Alias) {
	if a.FunctionVersion != nil {
		alias.FunctionVersion = *a.FunctionVersion
	}
	if a.Description != nil {
		alias.Description = *a.Description
	}
	if a.RoutingConfig != nil {
		alias.AdditionalVersionWeights = nil
		for k, w := range a.RoutingConfig.AdditionalVersionWeights {
			if alias.AdditionalVersionWeights == nil {
				alias.AdditionalVersionWeights = map[string]float64{}
			}
			alias.AdditionalVersionWeights[k] = w
		}
	}
}

// aliasTarget validates the {name} and {alias} of GetAlias, UpdateAlias
// and DeleteAlias into v.
func aliasTarget(r *http.Request, v *sluice.Violations) (sluice.FunctionRef, string) {
	ref := writeTarget(r, v)
	alias := r.PathValue("alias")
	sluice.ValidateAlias(alias, "name", v)
	return ref, alias
}

// getAlias is GetAlias: GET /2015-03-31/functions/{name}/aliases/{alias}.
func (s *Server) getAlias(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, name := aliasTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	a, err := svc.GetAlias(r.Context(), ref, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, aliasConfigurationOf(svc.Scope(), a))
}

// updateAlias is UpdateAlias: PUT /2015-03-31/functions/{name}/aliases/{alias}.
// Members that are absent keep their value; a RoutingConfig replaces the
// weights (an empty one removes them).
func (s *Server) updateAlias(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req updateAliasRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref, name := aliasTarget(r, &v)
	req.validate(&v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	a, err := svc.UpdateAlias(r.Context(), ref, name, req.RevisionID, req.apply)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, aliasConfigurationOf(svc.Scope(), a))
}

// deleteAlias is DeleteAlias: DELETE /2015-03-31/functions/{name}/aliases/{alias}, 204.
// Deleting an alias that does not exist succeeds, as on Lambda.
func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, name := aliasTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.DeleteAlias(r.Context(), ref, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAliases is ListAliases: GET /2015-03-31/functions/{name}/aliases,
// in name order, optionally only those pointing to FunctionVersion (as
// their version or routing version). The Marker is the base64url form of
// the last name of the previous page.
func (s *Server) listAliases(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
	query := r.URL.Query()
	version := query.Get("FunctionVersion")
	if version != "" {
		sluice.ValidateVersion(version, "functionVersion", &v)
	}
	limit, err := maxItems(r, &v)
	if err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if _, err := svc.FunctionName(ref); err != nil {
		return err
	}
	after := ""
	if m := query.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil || len(b) == 0 {
			return sluice.Errorf(sluice.EInvalidParameter, "Invalid Marker: %s; pass the NextMarker of a previous ListAliases response", m)
		}
		after = string(b)
	}
	aliases, err := svc.ListAliases(r.Context(), ref, version, after)
	if err != nil {
		return err
	}
	resp := listAliasesResponse{Aliases: make([]aliasConfiguration, 0, min(len(aliases), limit))}
	if len(aliases) > limit {
		aliases = aliases[:limit]
		resp.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(aliases[len(aliases)-1].Name))
	}
	for _, a := range aliases {
		resp.Aliases = append(resp.Aliases, aliasConfigurationOf(svc.Scope(), a))
	}
	return writeJSON(w, http.StatusOK, resp)
}
