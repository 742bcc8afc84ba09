package service

import (
	"context"
	"encoding/base64"
	"encoding/hex"

	"github.com/sluice-dev/sluice"
)

// PublishVersion and ListVersions. A version is a snapshot of $LATEST
// (code and configuration) with its own RevisionID; it never changes, and
// its execution environments are its own.

// Publish is a PublishVersion request; nil members were not given.
type Publish struct {
	// Description is the version's; nil keeps $LATEST's.
	Description *string
	// RevisionID must be $LATEST's current RevisionId.
	RevisionID *string
	// CodeSHA256 must be $LATEST's CodeSha256, in Lambda's form: the
	// base64 of the SHA-256.
	CodeSHA256 *string
}

// PublishVersion stores a version of $LATEST, or returns the newest
// version when $LATEST has not changed since it was published (as Lambda
// does). Errors: those of FunctionName; ENotFound; EPrecondition for a
// stale RevisionID or a concurrent change when RevisionID was given;
// EConflict while an update is in progress or when the function is Failed;
// EInvalidParameter for another CodeSHA256.
func (s *Service) PublishVersion(ctx context.Context, ref sluice.FunctionRef, p Publish) (*sluice.Function, error) {
	name, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	latest, err := s.getLatest(ctx, name)
	if err != nil {
		return nil, err
	}
	if revisionMismatch(p.RevisionID, latest.RevisionID) {
		return nil, errRevisionMismatch(nil)
	}
	if latest.State == sluice.StatePending || latest.LastUpdateStatus == sluice.UpdateInProgress {
		return nil, s.errUpdateInProgress(name, nil)
	}
	if latest.State == sluice.StateFailed {
		return nil, errState(latest.State)
	}
	if p.CodeSHA256 != nil {
		if have := CodeSHA256(latest.CodeSHA256); *p.CodeSHA256 != have {
			return nil, sluice.Errorf(sluice.EInvalidParameter, "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", *p.CodeSHA256, have)
		}
	}
	return s.publish(ctx, latest, p.Description, p.RevisionID != nil)
}

// CodeSHA256 turns the hex digest of Function.CodeSHA256 into Lambda's
// CodeSha256, its base64 form ("" for a malformed digest), and hot-reloaded
// code into sluice.HotReloadCodeSha256, as LocalStack answers it.
func CodeSHA256(hexSum string) string {
	if _, ok := sluice.HotReloadDir(hexSum); ok {
		return sluice.HotReloadCodeSha256
	}
	b, err := hex.DecodeString(hexSum)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// publish stores a version of latest, or returns the newest version when
// latest has not changed since it was published (as Lambda does). A
// concurrent change of $LATEST is a precondition failure when the caller
// named a RevisionId (userRevision), else a conflict.
func (s *Service) publish(ctx context.Context, latest *sluice.Function, description *string, userRevision bool) (*sluice.Function, error) {
	newest, err := s.newestVersion(ctx, latest.Name)
	if err != nil {
		return nil, err
	}
	if newest != nil && unchangedSince(newest, latest) {
		return newest, nil
	}
	v := latest.Clone()
	v.Previous = nil
	v.PublishedFrom = latest.ConfigurationFingerprint()
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

// unchangedSince reports whether latest has the code and configuration
// that version was published from: Lambda publishes again after any
// change of code or configuration, the Description of $LATEST included
// (LocalStack's test_version_lifecycle, recorded against AWS), but not for
// another Description of the version itself. A version stored before
// PublishedFrom was kept compares code and settings only.
func unchangedSince(version, latest *sluice.Function) bool {
	if version.PublishedFrom == "" {
		return version.SameDeployment(latest)
	}
	return version.PublishedFrom == latest.ConfigurationFingerprint()
}

// bumpRevision gives $LATEST a new RevisionId after a version was published
// from it, as Lambda does (so a client's stale RevisionId is refused). It is
// a second compare-and-swap: when a concurrent update won, that update
// already gave $LATEST a new RevisionId, and a crash in between only leaves
// the old one. Warm environments are keyed by Fingerprint, not RevisionId,
// and stay.
func (s *Service) bumpRevision(ctx context.Context, latest *sluice.Function) {
	next := latest.Clone()
	next.RevisionID = sluice.NewRequestID()
	err := s.cfg.Store.UpdateFunction(context.WithoutCancel(ctx), next, latest.RevisionID)
	if err != nil && sluice.ErrorCodeOf(err) != sluice.EPrecondition {
		s.logger(ctx).Warn("new RevisionId for $LATEST after publishing", sluice.LogKeyFunction, latest.Name, "err", err)
	}
}

// ListVersions returns up to limit (<= 0: all) versions of the function,
// in Lambda's order: $LATEST first when after < 0, then the published
// versions with numbers above after, ascending. Errors: those of
// FunctionName; ENotFound.
func (s *Service) ListVersions(ctx context.Context, ref sluice.FunctionRef, after, limit int) ([]*sluice.Function, error) {
	name, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	latest, err := s.getLatest(ctx, name)
	if err != nil {
		return nil, err
	}
	var page []*sluice.Function
	if after < 0 {
		page = append(page, latest)
	}
	rest := 0 // all
	if limit > 0 {
		if rest = limit - len(page); rest <= 0 {
			return page[:limit], nil
		}
	}
	versions, err := s.cfg.Store.ListVersions(ctx, name, max(after, 0), rest)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(name, "")
	}
	if err != nil {
		return nil, err
	}
	return append(page, versions...), nil
}
