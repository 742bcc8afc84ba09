package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-dev/sluice"
)

// The functions: CreateFunction, UpdateFunctionCode,
// UpdateFunctionConfiguration, DeleteFunction and ListFunctions (reads go
// through Resolve). Writes are compare-and-swap on RevisionId; after every
// successful change the Invoker retires the function's environments.

// DefaultArchitecture is the architecture of a function created without
// one.
const DefaultArchitecture = "x86_64"

// NewFunction returns a function named name with Lambda's defaults
// (timeout, memory, ephemeral storage, architecture), for CreateFunction
// to fill in.
func NewFunction(name string) *sluice.Function {
	return &sluice.Function{
		Name:             name,
		Timeout:          sluice.DefaultTimeout,
		MemorySize:       sluice.DefaultMemorySize,
		EphemeralStorage: sluice.DefaultEphemeralStorage,
		Architectures:    []string{DefaultArchitecture},
	}
}

// FunctionName checks that ref names a function of this scope, unqualified
// or $LATEST, as every write operation requires, and returns its name.
// Errors: those of sluice.Scope.Resolve; ENotFound for another qualifier.
func (s *Service) FunctionName(ref sluice.FunctionRef) (string, error) {
	q, err := s.cfg.Scope.Resolve(ref, "")
	if err != nil {
		return "", err
	}
	if q != "" && q != sluice.LatestVersion {
		return "", s.notFound(ref.Name, q)
	}
	return ref.Name, nil
}

// CreateFunction stores the package zip and then fn, which refers to it
// (for hot reload fn.CodeSHA256 is already sluice.HotReloadCode(dir) and
// zip is nil; dir must lie under Config.HotReload):
// fn is a new $LATEST whose members are valid (see NewFunction for the
// defaults), without code, revision, timestamps or state. The function is
// Pending until its deployment (deploy.go) settles it; without publish the
// deployment runs in the background and CreateFunction returns the
// Pending function, with publish it runs in this call and CreateFunction
// returns the version it published; fn then still holds the $LATEST as it
// was stored (Pending), which Lambda's answer shows. Errors: Config.AssumeRole's for
// fn.Role, before anything else; EConflict when the function exists; the
// package store's errors (EInvalidZip ...); with publish, a failed
// deployment: EInvalidZip for the package, EInvalidParameter for the
// runtime (Runtimes.Prepare), with the reason as the message.
func (s *Service) CreateFunction(ctx context.Context, fn *sluice.Function, zip []byte, publish bool) (*sluice.Function, error) {
	if err := s.assumeRole(fn.Role); err != nil {
		return nil, err
	}
	if err := s.create(ctx, fn, zip); err != nil {
		return nil, err
	}
	if publish {
		// The version is published from the deployed package, so this
		// call waits for the deployment.
		return s.deployThenPublish(ctx, fn)
	}
	s.startDeploy(fn)
	return fn, nil
}

// create stores the package zip and then fn, which refers to it, in state
// Pending: the package is structurally checked here, and unpacked by the
// deployment the caller starts.
func (s *Service) create(ctx context.Context, fn *sluice.Function, zip []byte) error {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()

	if _, err := s.cfg.Store.GetFunction(ctx, fn.Name); err == nil {
		return sluice.Errorf(sluice.EConflict, "Function already exist: %s", fn.Name)
	} else if sluice.ErrorCodeOf(err) != sluice.ENotFound {
		return err
	}
	hotDir, _ := sluice.HotReloadDir(fn.CodeSHA256)
	sha, size, err := s.putCode(ctx, fn.Name, zip, hotDir)
	if err != nil {
		if e := (*sluice.Error)(nil); errors.As(err, &e) && e.Code == sluice.EInvalidZip {
			// CreateFunction answers a package it cannot unzip with
			// InvalidParameterValueException (400), as AWS does
			return &sluice.Error{Code: sluice.EInvalidParameter, Message: e.Message, Err: err}
		}
		return err
	}
	fn.CodeSHA256, fn.CodeSize = sha, size
	fn.Version = sluice.LatestVersion
	s.stamp(fn)
	// Lambda shows no LastUpdateStatus before the first deployment ends.
	fn.State, fn.StateReason, fn.StateReasonCode = sluice.StatePending, reasonCreating, reasonCodeCreating
	fn.LastUpdateStatus = ""
	if err := s.cfg.Store.CreateFunction(ctx, fn); err != nil {
		s.releaseCode(ctx, fn.Name, sha)
		if sluice.ErrorCodeOf(err) == sluice.EConflict {
			return &sluice.Error{Code: sluice.EConflict, Message: "Function already exist: " + fn.Name, Err: err}
		}
		return err
	}
	return nil
}

// CannotAssumeRole is Lambda's error for an execution role it cannot
// assume (InvalidParameterValueException, 400), for Config.AssumeRole to
// return.
func CannotAssumeRole() error {
	return sluice.Errorf(sluice.EInvalidParameter, "The role defined for the function cannot be assumed by Lambda.")
}

// assumeRole asks Config.AssumeRole whether Lambda may assume role.
func (s *Service) assumeRole(role string) error {
	if s.cfg.AssumeRole == nil {
		return nil
	}
	return s.cfg.AssumeRole(s.cfg.Scope, role)
}

// stamp marks fn as a new, successfully applied revision.
func (s *Service) stamp(fn *sluice.Function) {
	fn.RevisionID = sluice.NewRequestID()
	fn.LastModified = lastModified(s.now())
	fn.State = sluice.StateActive
	fn.StateReason, fn.StateReasonCode = "", ""
	fn.LastUpdateStatus = sluice.UpdateSuccessful
	fn.LastUpdateStatusReason, fn.LastUpdateStatusReasonCode = "", ""
	fn.Previous = nil
}

// getLatest returns the $LATEST of the named function, or Lambda's
// not-found error for it.
func (s *Service) getLatest(ctx context.Context, name string) (*sluice.Function, error) {
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(name, "")
	}
	return fn, err
}

// current returns the stored function for an update and checks the
// caller's RevisionId against it.
func (s *Service) current(ctx context.Context, name string, revisionID *string) (*sluice.Function, error) {
	fn, err := s.getLatest(ctx, name)
	if err != nil {
		return nil, err
	}
	if revisionMismatch(revisionID, fn.RevisionID) {
		return nil, errRevisionMismatch(nil)
	}
	if fn.State == sluice.StatePending || fn.LastUpdateStatus == sluice.UpdateInProgress {
		return nil, s.errUpdateInProgress(name, nil)
	}
	return fn, nil
}

// replace writes next over prev with compare-and-swap. A lost race is the
// caller's precondition failure when the caller named a revision, else a
// conflict with the concurrent update.
func (s *Service) replace(ctx context.Context, next, prev *sluice.Function, userRevision bool) error {
	err := s.cfg.Store.UpdateFunction(ctx, next, prev.RevisionID)
	switch sluice.ErrorCodeOf(err) {
	case "":
		return nil
	case sluice.EPrecondition:
		if userRevision {
			return errRevisionMismatch(err)
		}
		return s.errUpdateInProgress(next.Name, err)
	case sluice.ENotFound:
		return &sluice.Error{Code: sluice.ENotFound, Message: fmt.Sprintf("Function not found: %s", s.cfg.Scope.FunctionARN(next.Name)), Err: err}
	}
	return err
}

// CodeUpdate is an UpdateFunctionCode request.
type CodeUpdate struct {
	// ZipFile is the new deployment package.
	ZipFile []byte
	// HotReloadDir, when not "", replaces ZipFile: the function runs
	// from this host directory (sluice.HotReloadBucket), which must lie
	// under Config.HotReload.
	HotReloadDir string
	// Architectures replaces the function's when not nil.
	Architectures []string
	// RevisionID, when not nil, must be $LATEST's current RevisionId.
	RevisionID *string
	// DryRun checks and stores nothing: the result is what the function
	// would be.
	DryRun bool
	// Publish deploys in this call and publishes a version; a failed
	// deployment is an error, as for CreateFunction.
	Publish bool
}

// UpdateFunctionCode stores the new package and writes $LATEST with it,
// its update InProgress and the current configuration kept to serve
// invocations until the deployment ends (in the background, or with
// Publish in this call, which then returns the published version).
// Errors: those of FunctionName; ENotFound; EPrecondition for a stale
// RevisionID; EConflict while an update is in progress; the package
// store's errors.
func (s *Service) UpdateFunctionCode(ctx context.Context, ref sluice.FunctionRef, u CodeUpdate) (*sluice.Function, error) {
	name, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	next, err := s.stageCode(ctx, name, &u)
	if err != nil || u.DryRun {
		return next, err
	}
	if u.Publish {
		return s.deployThenPublish(ctx, next)
	}
	s.startDeploy(next)
	return next, nil
}

// stageCode stores the new package and writes $LATEST with it, its update
// InProgress and the current configuration kept as Previous. With DryRun
// nothing is written.
func (s *Service) stageCode(ctx context.Context, name string, u *CodeUpdate) (*sluice.Function, error) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	cur, err := s.current(ctx, name, u.RevisionID)
	if err != nil {
		return nil, err
	}
	sha, size, err := s.putCode(ctx, name, u.ZipFile, u.HotReloadDir)
	if err != nil {
		return nil, err
	}
	next := cur.Clone()
	next.CodeSHA256, next.CodeSize = sha, size
	if u.Architectures != nil {
		next.Architectures = append([]string(nil), u.Architectures...)
	}
	s.stamp(next)
	if u.DryRun {
		s.releaseCode(ctx, name, sha)
		return next, nil
	}
	next.Previous = cur
	next.LastUpdateStatus = sluice.UpdateInProgress
	next.LastUpdateStatusReason, next.LastUpdateStatusReasonCode = reasonCreating, reasonCodeCreating
	if err := s.replace(ctx, next, cur, u.RevisionID != nil); err != nil {
		s.releaseCode(ctx, name, sha)
		return nil, err
	}
	return next, nil
}

// UpdateFunctionConfiguration applies change to a copy of $LATEST and
// writes it InProgress, as Lambda does: a deployment settles it
// (Successful, a new RevisionId) once its runtime is ready, the previous
// configuration serving invocations meanwhile. revisionID, when not nil,
// must be $LATEST's current RevisionId. change must leave the function
// valid. Errors: those of FunctionName; ENotFound; EPrecondition for a
// stale revisionID; Config.AssumeRole's when change gives the function
// another Role; EConflict while an update is in progress or when a
// concurrent change won.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, ref sluice.FunctionRef, revisionID *string, change func(*sluice.Function)) (*sluice.Function, error) {
	name, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	cur, err := s.current(ctx, name, revisionID)
	if err != nil {
		return nil, err
	}
	next := cur.Clone()
	change(next)
	if next.Role != cur.Role {
		if err := s.assumeRole(next.Role); err != nil {
			return nil, err
		}
	}
	s.stamp(next)
	next.Previous = cur
	next.LastUpdateStatus = sluice.UpdateInProgress
	next.LastUpdateStatusReason, next.LastUpdateStatusReasonCode = reasonCreating, reasonCodeCreating
	if err := s.replace(ctx, next, cur, revisionID != nil); err != nil {
		return nil, err
	}
	s.startDeploy(next)
	return next, nil
}

// ListFunctions returns the $LATEST of up to limit functions (limit <= 0:
// all) whose names sort after `after`, in name order.
func (s *Service) ListFunctions(ctx context.Context, after string, limit int) ([]*sluice.Function, error) {
	return s.cfg.Store.ListFunctions(ctx, after, limit)
}

// DeleteFunction deletes what ref and qualifier name: without a qualifier
// the function with its versions, aliases and reserved concurrency; with a
// version number, only that version. Packages no longer used are removed.
// Errors: those of sluice.Scope.Resolve; ENotFound; EInvalidParameter for
// $LATEST or an alias; EConflict for a version an alias routes to.
func (s *Service) DeleteFunction(ctx context.Context, ref sluice.FunctionRef, qualifier string) error {
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return err
	}
	switch {
	case q == "":
		return s.deleteAll(ctx, ref.Name)
	case q == sluice.LatestVersion:
		return sluice.Errorf(sluice.EInvalidParameter, "$LATEST version cannot be deleted without deleting the function.")
	case sluice.IsVersionNumber(q):
		return s.deleteVersion(ctx, ref.Name, q)
	default:
		// an alias, or no version: AWS names a missing function first
		// (unqualified), as for a missing version
		if _, err := s.cfg.Store.GetFunction(ctx, ref.Name); err != nil {
			if sluice.ErrorCodeOf(err) == sluice.ENotFound {
				return s.notFound(ref.Name, "")
			}
			return err
		}
		return sluice.Errorf(sluice.EInvalidParameter, "Deletion of aliases is not currently supported.")
	}
}

// deleteAll deletes a function with everything it has.
func (s *Service) deleteAll(ctx context.Context, name string) error {
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	cur, err := s.cfg.Store.GetFunction(ctx, name)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return s.notFound(name, "")
		}
		return err
	}
	versions, err := s.cfg.Store.ListVersions(ctx, name, 0, 0)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteFunction(ctx, name); err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return s.notFound(name, "")
		}
		return err
	}
	if err := s.cfg.Limits.Reserve(name, -1, nil); err != nil {
		s.logger(ctx).Warn("forget the reserved concurrency of a deleted function", "err", err)
	}
	shas := []string{cur.CodeSHA256}
	if cur.Previous != nil {
		shas = append(shas, cur.Previous.CodeSHA256)
	}
	s.cfg.Invoker.Retire(s.cfg.Scope, name, sluice.LatestVersion, "")
	for _, v := range versions {
		shas = append(shas, v.CodeSHA256)
		s.cfg.Invoker.Retire(s.cfg.Scope, name, v.Version, "")
	}
	slices.Sort(shas)
	for _, sha := range slices.Compact(shas) {
		s.releaseCode(ctx, name, sha)
	}
	return nil
}

// deleteVersion deletes one published version; a version that does not
// exist is no error (AWS answers 204).
func (s *Service) deleteVersion(ctx context.Context, name, version string) error {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	v, err := s.cfg.Store.GetVersion(ctx, name, version)
	if err == nil {
		err = s.cfg.Store.DeleteVersion(ctx, name, version)
	}
	switch sluice.ErrorCodeOf(err) {
	case "":
	case sluice.ENotFound:
		// As on AWS: deleting a version that does not exist (or no longer
		// does) succeeds; a missing function is named without qualifier.
		if _, err := s.cfg.Store.GetFunction(ctx, name); err != nil {
			if sluice.ErrorCodeOf(err) == sluice.ENotFound {
				return s.notFound(name, "")
			}
			return err
		}
		return nil
	default: // EConflict names the aliases that route to the version
		return err
	}
	s.cfg.Invoker.Retire(s.cfg.Scope, name, version, "")
	s.releaseCode(ctx, name, v.CodeSHA256)
	return nil
}
