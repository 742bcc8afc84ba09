package api

import (
	"context"
	"encoding/base64"
	"fmt"
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
// invocations to one other published version (RoutingConfig).

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
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	a := &sluice.Alias{FunctionName: ref.Name, Name: *req.Name, RevisionID: sluice.NewRequestID()}
	req.apply(a)
	if err := checkRouting(a); err != nil {
		return err
	}
	err := s.cfg.Store.CreateAlias(r.Context(), a)
	switch sluice.ErrorCodeOf(err) {
	case "":
	case sluice.EConflict:
		return &sluice.Error{Code: sluice.EConflict, Message: "Alias already exists: " + s.cfg.Scope.AliasARN(a.FunctionName, a.Name), Err: err}
	case sluice.ENotFound:
		return s.aliasTargetMissing(r.Context(), a, err)
	default:
		return err
	}
	return writeJSON(w, http.StatusCreated, aliasConfigurationOf(s.cfg.Scope, a))
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
			v.Add(javaMap(weights), "routingConfig.additionalVersionWeights", "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+, Member must not be null]")
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

// checkRouting applies Lambda's rules of weighted aliases: one additional
// version, a published one other than the alias's own.
func checkRouting(a *sluice.Alias) error {
	if len(a.AdditionalVersionWeights) == 0 {
		return nil
	}
	if len(a.AdditionalVersionWeights) > 1 {
		return sluice.Errorf(sluice.EInvalidParameter, "Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if a.FunctionVersion == sluice.LatestVersion {
		return sluice.Errorf(sluice.EInvalidParameter, "$LATEST is not supported for an alias pointing to more than 1 version")
	}
	for k := range a.AdditionalVersionWeights {
		if k == a.FunctionVersion {
			return sluice.Errorf(sluice.EInvalidParameter, "Invalid function version %s. Function version %s is already included in routing configuration.", k, k)
		}
	}
	return nil
}

// aliasTargetMissing explains the ENotFound of an alias write: the function
// or one of the versions it routes to is missing.
func (s *Server) aliasTargetMissing(ctx context.Context, a *sluice.Alias, cause error) error {
	if _, err := s.cfg.Store.GetFunction(ctx, a.FunctionName); sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return &sluice.Error{Code: sluice.ENotFound, Message: "Function not found: " + s.cfg.Scope.AliasARN(a.FunctionName, a.FunctionVersion), Err: cause}
	}
	versions := []string{a.FunctionVersion}
	for k := range a.AdditionalVersionWeights {
		versions = append(versions, k)
	}
	for _, v := range versions {
		if v == sluice.LatestVersion {
			continue
		}
		if _, err := s.cfg.Store.GetVersion(ctx, a.FunctionName, v); sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return &sluice.Error{Code: sluice.ENotFound, Message: "Function not found: " + s.cfg.Scope.AliasARN(a.FunctionName, v), Err: cause}
		}
	}
	return &sluice.Error{Code: sluice.ENotFound, Message: fmt.Sprintf("Alias not found: %s", s.cfg.Scope.AliasARN(a.FunctionName, a.Name)), Err: cause}
}

// aliasTarget validates the {name} and {alias} of GetAlias, UpdateAlias
// and DeleteAlias into v.
func aliasTarget(r *http.Request, v *sluice.Violations) (sluice.FunctionRef, string) {
	ref := writeTarget(r, v)
	alias := r.PathValue("alias")
	sluice.ValidateAlias(alias, "name", v)
	return ref, alias
}

// getStoredAlias returns an alias or Lambda's not-found error for it.
func (s *Server) getStoredAlias(ctx context.Context, function, name string) (*sluice.Alias, error) {
	a, err := s.cfg.Store.GetAlias(ctx, function, name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, &sluice.Error{Code: sluice.ENotFound, Message: "Cannot find alias arn: " + s.cfg.Scope.AliasARN(function, name), Err: err}
	}
	return a, err
}

// getAlias is GetAlias: GET /2015-03-31/functions/{name}/aliases/{alias}.
func (s *Server) getAlias(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, name := aliasTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	a, err := s.getStoredAlias(r.Context(), ref.Name, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, aliasConfigurationOf(s.cfg.Scope, a))
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
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	ctx := r.Context()
	cur, err := s.cfg.Store.GetAlias(ctx, ref.Name, name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return &sluice.Error{Code: sluice.ENotFound, Message: "Alias not found: " + s.cfg.Scope.AliasARN(ref.Name, name), Err: err}
	}
	if err != nil {
		return err
	}
	if req.RevisionID != nil && *req.RevisionID != cur.RevisionID {
		return errRevisionMismatch(nil)
	}
	next := cur.Clone()
	req.apply(next)
	next.RevisionID = sluice.NewRequestID()
	if err := checkRouting(next); err != nil {
		return err
	}
	err = s.cfg.Store.UpdateAlias(ctx, next, cur.RevisionID)
	switch sluice.ErrorCodeOf(err) {
	case "":
	case sluice.EPrecondition:
		if req.RevisionID != nil {
			return errRevisionMismatch(err)
		}
		return &sluice.Error{Code: sluice.EConflict, Message: "The operation cannot be performed at this time. An update is in progress for resource: " + s.cfg.Scope.AliasARN(ref.Name, name), Err: err}
	case sluice.ENotFound:
		return s.aliasTargetMissing(ctx, next, err)
	default:
		return err
	}
	return writeJSON(w, http.StatusOK, aliasConfigurationOf(s.cfg.Scope, next))
}

// deleteAlias is DeleteAlias: DELETE /2015-03-31/functions/{name}/aliases/{alias}, 204.
// Deleting an alias that does not exist succeeds, as on Lambda.
func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, name := aliasTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.getLatest(ctx, ref.Name); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteAlias(ctx, ref.Name, name); err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
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
	if err := s.resolveWrite(ref); err != nil {
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
	aliases, err := s.cfg.Store.ListAliases(r.Context(), ref.Name, after, 0)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return s.notFound(ref.Name, "")
	}
	if err != nil {
		return err
	}
	if version != "" {
		aliases = slices.DeleteFunc(aliases, func(a *sluice.Alias) bool {
			_, routed := a.AdditionalVersionWeights[version]
			return a.FunctionVersion != version && !routed
		})
	}
	resp := listAliasesResponse{Aliases: make([]aliasConfiguration, 0, min(len(aliases), limit))}
	if len(aliases) > limit {
		aliases = aliases[:limit]
		resp.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(aliases[len(aliases)-1].Name))
	}
	for _, a := range aliases {
		resp.Aliases = append(resp.Aliases, aliasConfigurationOf(s.cfg.Scope, a))
	}
	return writeJSON(w, http.StatusOK, resp)
}
