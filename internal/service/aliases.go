package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluice-dev/sluice"
)

// CreateAlias, GetAlias, UpdateAlias, DeleteAlias and ListAliases. An alias
// points to $LATEST or a published version and may route a share of
// invocations to one other published version (RoutingConfig).

// CreateAlias stores a new alias of the function ref names: a's Name,
// FunctionVersion, Description and AdditionalVersionWeights (valid
// members); the service sets FunctionName and RevisionID. Errors: those of
// FunctionName; EInvalidParameter for routing Lambda refuses; EConflict
// when the alias exists; ENotFound for the function or a version.
func (s *Service) CreateAlias(ctx context.Context, ref sluice.FunctionRef, a *sluice.Alias) (*sluice.Alias, error) {
	name, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	a = a.Clone()
	a.FunctionName, a.RevisionID = name, sluice.NewRequestID()
	if err := checkRouting(a); err != nil {
		return nil, err
	}
	err = s.cfg.Store.CreateAlias(ctx, a)
	switch sluice.ErrorCodeOf(err) {
	case "":
		return a, nil
	case sluice.EConflict:
		return nil, &sluice.Error{Code: sluice.EConflict, Message: "Alias already exists: " + s.cfg.Scope.AliasARN(a.FunctionName, a.Name), Err: err}
	case sluice.ENotFound:
		return nil, s.aliasTargetMissing(ctx, a, err)
	}
	return nil, err
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
func (s *Service) aliasTargetMissing(ctx context.Context, a *sluice.Alias, cause error) error {
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

// GetAlias returns the named alias of the function ref names. Errors:
// those of FunctionName; ENotFound.
func (s *Service) GetAlias(ctx context.Context, ref sluice.FunctionRef, alias string) (*sluice.Alias, error) {
	function, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	a, err := s.cfg.Store.GetAlias(ctx, function, alias)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, &sluice.Error{Code: sluice.ENotFound, Message: "Cannot find alias arn: " + s.cfg.Scope.AliasARN(function, alias), Err: err}
	}
	return a, err
}

// UpdateAlias applies change to a copy of the named alias and writes it
// with a new RevisionID; revisionID, when not nil, must be the alias's
// current one. change must leave the members valid; the routing rules are
// checked here. Errors: those of FunctionName; ENotFound for the alias,
// the function or a version; EPrecondition for a stale revisionID (or a
// concurrent change when it was given), else EConflict for a concurrent
// change; EInvalidParameter for routing Lambda refuses.
func (s *Service) UpdateAlias(ctx context.Context, ref sluice.FunctionRef, alias string, revisionID *string, change func(*sluice.Alias)) (*sluice.Alias, error) {
	function, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	cur, err := s.cfg.Store.GetAlias(ctx, function, alias)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, &sluice.Error{Code: sluice.ENotFound, Message: "Alias not found: " + s.cfg.Scope.AliasARN(function, alias), Err: err}
	}
	if err != nil {
		return nil, err
	}
	if revisionMismatch(revisionID, cur.RevisionID) {
		return nil, errRevisionMismatch(nil)
	}
	next := cur.Clone()
	change(next)
	next.RevisionID = sluice.NewRequestID()
	if err := checkRouting(next); err != nil {
		return nil, err
	}
	err = s.cfg.Store.UpdateAlias(ctx, next, cur.RevisionID)
	switch sluice.ErrorCodeOf(err) {
	case "":
		return next, nil
	case sluice.EPrecondition:
		if revisionID != nil {
			return nil, errRevisionMismatch(err)
		}
		return nil, &sluice.Error{Code: sluice.EConflict, Message: "The operation cannot be performed at this time. An update is in progress for resource: " + s.cfg.Scope.AliasARN(function, alias), Err: err}
	case sluice.ENotFound:
		return nil, s.aliasTargetMissing(ctx, next, err)
	}
	return nil, err
}

// DeleteAlias deletes the named alias; deleting an alias that does not
// exist succeeds, as on Lambda. Errors: those of FunctionName; ENotFound
// for the function.
func (s *Service) DeleteAlias(ctx context.Context, ref sluice.FunctionRef, alias string) error {
	function, err := s.FunctionName(ref)
	if err != nil {
		return err
	}
	if _, err := s.getLatest(ctx, function); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteAlias(ctx, function, alias); err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
		return err
	}
	return nil
}

// ListAliases returns the aliases of the function ref names whose names
// sort after `after`, in name order; with version != "" only those
// pointing to it (as their version or routing version). Errors: those of
// FunctionName; ENotFound.
func (s *Service) ListAliases(ctx context.Context, ref sluice.FunctionRef, version, after string) ([]*sluice.Alias, error) {
	function, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	aliases, err := s.cfg.Store.ListAliases(ctx, function, after, 0)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(function, "")
	}
	if err != nil {
		return nil, err
	}
	if version != "" {
		aliases = slices.DeleteFunc(aliases, func(a *sluice.Alias) bool {
			_, routed := a.AdditionalVersionWeights[version]
			return a.FunctionVersion != version && !routed
		})
	}
	return aliases, nil
}
