package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/sluice-dev/sluice"
)

// PublishVersion and ListVersionsByFunction. A version is a snapshot of
// $LATEST (code and configuration) with its own RevisionID; it never
// changes, and its execution environments are its own.

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
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	ctx := r.Context()
	latest, err := s.getLatest(ctx, ref.Name)
	if err != nil {
		return err
	}
	if req.RevisionID != nil && *req.RevisionID != latest.RevisionID {
		return errRevisionMismatch(nil)
	}
	if latest.State == sluice.StatePending || latest.LastUpdateStatus == sluice.UpdateInProgress {
		return s.errUpdateInProgress(ref.Name, nil)
	}
	if latest.State == sluice.StateFailed {
		return sluice.Errorf(sluice.EConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", latest.State)
	}
	if req.CodeSha256 != nil {
		if have := codeSHA256(latest.CodeSHA256); *req.CodeSha256 != have {
			return sluice.Errorf(sluice.EInvalidParameter, "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", *req.CodeSha256, have)
		}
	}
	version, err := s.publish(ctx, latest, req.Description, req.RevisionID != nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, configurationOf(s.cfg.Scope, version))
}

// publish stores a version of latest, or returns the newest version when
// latest has not changed since it was published (as Lambda does). A
// concurrent change of $LATEST is a precondition failure when the caller
// named a RevisionId (userRevision), else a conflict.
func (s *Server) publish(ctx context.Context, latest *sluice.Function, description *string, userRevision bool) (*sluice.Function, error) {
	newest, err := s.newestVersion(ctx, latest.Name)
	if err != nil {
		return nil, err
	}
	if newest != nil && newest.SameDeployment(latest) {
		return newest, nil
	}
	v := latest.Clone()
	v.Previous = nil
	v.RevisionID = sluice.NewRequestID()
	v.LastModified = lastModified(s.now())
	if description != nil {
		v.Description = *description
	}
	stored, err := s.cfg.Store.PublishVersion(ctx, v, latest.RevisionID)
	switch sluice.ErrorCodeOf(err) {
	case "":
		s.bumpRevision(ctx, latest)
		return stored, nil
	case sluice.EPrecondition:
		if userRevision {
			return nil, errRevisionMismatch(err)
		}
		return nil, s.errUpdateInProgress(latest.Name, err)
	case sluice.ENotFound:
		return nil, s.notFound(latest.Name, "")
	}
	return nil, err
}

// bumpRevision gives $LATEST a new RevisionId after a version was published
// from it, as Lambda does (so a client's stale RevisionId is refused). It is
// a second compare-and-swap: when a concurrent update won, that update
// already gave $LATEST a new RevisionId, and a crash in between only leaves
// the old one. Warm environments are keyed by Fingerprint, not RevisionId,
// and stay.
func (s *Server) bumpRevision(ctx context.Context, latest *sluice.Function) {
	next := latest.Clone()
	next.RevisionID = sluice.NewRequestID()
	err := s.cfg.Store.UpdateFunction(context.WithoutCancel(ctx), next, latest.RevisionID)
	if err != nil && sluice.ErrorCodeOf(err) != sluice.EPrecondition {
		s.logger(ctx).Warn("new RevisionId for $LATEST after publishing", sluice.LogKeyFunction, latest.Name, "err", err)
	}
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
	if err := s.resolveWrite(ref); err != nil {
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
	ctx := r.Context()
	latest, err := s.getLatest(ctx, ref.Name)
	if err != nil {
		return err
	}
	var page []*sluice.Function
	if after < 0 {
		page = append(page, latest)
	}
	versions, err := s.cfg.Store.ListVersions(ctx, ref.Name, max(after, 0), limit+1-len(page))
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return s.notFound(ref.Name, "")
	}
	if err != nil {
		return err
	}
	page = append(page, versions...)
	resp := listVersionsResponse{Versions: make([]functionConfiguration, 0, min(len(page), limit))}
	if len(page) > limit {
		page = page[:limit]
		resp.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].VersionOrLatest()))
	}
	for _, fn := range page {
		c := configurationOf(s.cfg.Scope, fn)
		if fn.VersionOrLatest() == sluice.LatestVersion {
			c.FunctionArn += ":" + sluice.LatestVersion // Lambda qualifies it here
		}
		resp.Versions = append(resp.Versions, c)
	}
	return writeJSON(w, http.StatusOK, resp)
}

// maxItems reads the MaxItems query parameter (1-10000, default 50).
func maxItems(r *http.Request, v *sluice.Violations) (int, error) {
	limit := defaultMaxItems
	if m := r.URL.Query().Get("MaxItems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			return 0, sluice.Errorf(sluice.EInvalidParameter, "Invalid value for MaxItems: %s is not an integer", m)
		}
		validateRange(&n, "maxItems", 1, maxMaxItems, v)
		limit = n
	}
	return limit, nil
}
