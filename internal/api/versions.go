package api

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// PublishVersion and ListVersionsByFunction (see service.PublishVersion).

// publishVersion is PublishVersion: POST /2015-03-31/functions/{name}/versions, 201.
func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req publishVersionRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref := writeTarget(r, &v)
	validateDescription(req.Description, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	version, err := svc.PublishVersion(r.Context(), ref, service.Publish{
		Description: req.Description,
		RevisionID:  req.RevisionID,
		CodeSHA256:  req.CodeSha256,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, configurationOf(svc.Scope(), version))
}

// listVersions is ListVersionsByFunction:
// GET /2015-03-31/functions/{name}/versions. $LATEST comes first, then the
// published versions in ascending order. The Marker is opaque to clients:
// the base64url form of the last version of the previous page.
func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
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
	after := -1 // before $LATEST
	if m := r.URL.Query().Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		n, cerr := strconv.Atoi(string(b))
		if string(b) == sluice.LatestVersion {
			n, cerr = 0, nil
		}
		if err != nil || cerr != nil || n < 0 {
			return sluice.Errorf(sluice.EInvalidParameter, "Invalid Marker: %s; pass the NextMarker of a previous ListVersionsByFunction response", m)
		}
		after = n
	}
	page, err := svc.ListVersions(r.Context(), ref, after, limit+1)
	if err != nil {
		return err
	}
	resp := listVersionsResponse{Versions: make([]functionConfiguration, 0, min(len(page), limit))}
	if len(page) > limit {
		page = page[:limit]
		resp.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].VersionOrLatest()))
	}
	for _, fn := range page {
		resp.Versions = append(resp.Versions, versionItemOf(svc.Scope(), fn))
	}
	return writeJSON(w, http.StatusOK, resp)
}

// maxItems reads the MaxItems query parameter (1-10000, default 50).
func maxItems(r *http.Request, v *sluice.Violations) (int, error) {
	return maxItemsIn(r, v, defaultMaxItems, maxMaxItems)
}

// maxItemsIn reads the MaxItems query parameter: def when absent, a
// violation added to v outside 1-most, InvalidParameterValueException when
// not an integer. Every List operation reads it so.
func maxItemsIn(r *http.Request, v *sluice.Violations, def, most int) (int, error) {
	limit := def
	if m := r.URL.Query().Get("MaxItems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			return 0, sluice.Errorf(sluice.EInvalidParameter, "Invalid value for MaxItems: %s is not an integer", m)
		}
		validateRange(&n, "maxItems", 1, most, v)
		limit = n
	}
	return limit, nil
}

// versionItemOf is fn as an item of ListVersionsByFunction: Lambda
// qualifies $LATEST's ARN here and leaves out the state, the last
// update's status and the RuntimeVersionConfig (LocalStack's
// test_publish_version_on_create and test_version_lifecycle, recorded
// against AWS).
func versionItemOf(scope sluice.Scope, fn *sluice.Function) functionConfiguration {
	c := configurationOf(scope, fn)
	if fn.VersionOrLatest() == sluice.LatestVersion {
		c.FunctionArn += ":" + sluice.LatestVersion
	}
	c.State, c.StateReason, c.StateReasonCode = "", "", ""
	c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = "", "", ""
	c.RuntimeVersionConfig = nil
	return c
}
