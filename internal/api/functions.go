package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/sluice-dev/sluice"
)

// The control plane: CreateFunction, GetFunction, GetFunctionConfiguration,
// UpdateFunctionCode, UpdateFunctionConfiguration and DeleteFunction
// (ListFunctions is in list.go). Each handler decodes the body, validates
// the model constraints together, then the semantic rules, and makes one
// store write. Writes are compare-and-swap on RevisionId; after every
// successful change the Invoker retires the function's environments.

// createFunction is CreateFunction: POST /2015-03-31/functions, 201.
func (s *Server) createFunction(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req createFunctionRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	fn, err := s.newFunction(&req)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.create(ctx, fn, req.Code.ZipFile); err != nil {
		return err
	}
	if req.Publish != nil && *req.Publish {
		// The version is published from the deployed package, so this
		// request waits for the deployment (see deploy.go).
		v, err := s.deployThenPublish(ctx, fn)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, configurationOf(s.cfg.Scope, v))
	}
	s.startDeploy(fn)
	return writeJSON(w, http.StatusCreated, configurationOf(s.cfg.Scope, fn))
}

// newFunction validates a CreateFunction request and returns the function
// it describes, without code, revision or timestamps.
func (s *Server) newFunction(req *createFunctionRequest) (*sluice.Function, error) {
	var v sluice.Violations
	var ref sluice.FunctionRef
	if req.FunctionName == nil {
		v.AddNull("functionName")
	} else {
		ref, _ = sluice.ParseStrictFunctionName(*req.FunctionName, &v)
	}
	validateRole(req.Role, true, &v)
	if req.Code == nil {
		v.AddNull("code")
	}
	req.validate(&v)
	validateArchitectures(req.Architectures, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}

	if ref.IsPlainName() && len(ref.Name) > sluice.MaxPlainNameLength {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to %d", *req.FunctionName, sluice.MaxPlainNameLength)
	}
	if ref.Qualifier != "" {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "The function name %s is qualified (:%s); CreateFunction takes an unqualified name", *req.FunctionName, ref.Qualifier)
	}
	if _, err := s.cfg.Scope.Resolve(ref, ""); err != nil {
		return nil, err
	}
	if err := checkPackageType(req.PackageType); err != nil {
		return nil, err
	}
	if req.Runtime == nil || req.Handler == nil {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := req.check(s.cfg.Runtimes); err != nil {
		return nil, err
	}
	if err := req.Code.check(); err != nil {
		return nil, err
	}

	fn := &sluice.Function{
		Name:             ref.Name,
		Timeout:          sluice.DefaultTimeout,
		MemorySize:       sluice.DefaultMemorySize,
		EphemeralStorage: sluice.DefaultEphemeralStorage,
		Architectures:    []string{defaultArchitecture},
	}
	req.apply(fn)
	if req.Architectures != nil {
		fn.Architectures = append([]string(nil), req.Architectures...)
	}
	return fn, nil
}

// create stores the package zip and then fn, which refers to it, in state
// Pending: the package is structurally checked here, and unpacked by the
// deployment the caller starts (deploy.go).
func (s *Server) create(ctx context.Context, fn *sluice.Function, zip []byte) error {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()

	if _, err := s.cfg.Store.GetFunction(ctx, fn.Name); err == nil {
		return sluice.Errorf(sluice.EConflict, "Function already exist: %s", fn.Name)
	} else if sluice.ErrorCodeOf(err) != sluice.ENotFound {
		return err
	}
	sha, size, err := s.putCode(ctx, zip)
	if err != nil {
		return err
	}
	fn.CodeSHA256, fn.CodeSize = sha, size
	fn.Version = sluice.LatestVersion
	s.stamp(fn)
	// Lambda shows no LastUpdateStatus before the first deployment ends.
	fn.State, fn.StateReason, fn.StateReasonCode = sluice.StatePending, reasonCreating, reasonCodeCreating
	fn.LastUpdateStatus = ""
	if err := s.cfg.Store.CreateFunction(ctx, fn); err != nil {
		s.releaseCode(ctx, sha)
		if sluice.ErrorCodeOf(err) == sluice.EConflict {
			return &sluice.Error{Code: sluice.EConflict, Message: "Function already exist: " + fn.Name, Err: err}
		}
		return err
	}
	return nil
}

// stamp marks fn as a new, successfully applied revision.
func (s *Server) stamp(fn *sluice.Function) {
	fn.RevisionID = sluice.NewRequestID()
	fn.LastModified = lastModified(s.now())
	fn.State = sluice.StateActive
	fn.StateReason, fn.StateReasonCode = "", ""
	fn.LastUpdateStatus = sluice.UpdateSuccessful
	fn.LastUpdateStatusReason, fn.LastUpdateStatusReasonCode = "", ""
	fn.Previous = nil
}

// getFunction is GetFunction: GET /2015-03-31/functions/{name}.
func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	t, err := s.lookup(r)
	if err != nil {
		return err
	}
	fn := t.fn
	resp := getFunctionResponse{
		Configuration: t.configuration(s.cfg.Scope),
		Code:          codeLocation{RepositoryType: "S3", Location: codeURL(r, fn.CodeSHA256)},
	}
	if n, ok := s.cfg.Limits.Reserved(fn.Name); ok {
		resp.Concurrency = &concurrencyBody{ReservedConcurrentExecutions: &n}
	}
	return writeJSON(w, http.StatusOK, resp)
}

// getFunctionConfiguration is GetFunctionConfiguration:
// GET /2015-03-31/functions/{name}/configuration.
func (s *Server) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, _ []byte) error {
	t, err := s.lookup(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t.configuration(s.cfg.Scope))
}

// lookup resolves the {name} and Qualifier of a read operation to the
// version they name (for an alias, the version it points to).
func (s *Server) lookup(r *http.Request) (*target, error) {
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.resolve(r.Context(), ref, qualifier, false)
}

// getLatest returns the $LATEST of the named function, or Lambda's
// not-found error for it.
func (s *Server) getLatest(ctx context.Context, name string) (*sluice.Function, error) {
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(name, "")
	}
	return fn, err
}

// notFound is Lambda's ResourceNotFoundException for a function, qualified
// when the request was.
func (s *Server) notFound(name, qualifier string) error {
	arn := s.cfg.Scope.FunctionARN(name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return sluice.Errorf(sluice.ENotFound, "Function not found: %s", arn)
}

// writeTarget parses the {name} of a write operation (the strict pattern)
// into v; after v was checked, resolveWrite applies the semantic rules.
func writeTarget(r *http.Request, v *sluice.Violations) sluice.FunctionRef {
	ref, _ := sluice.ParseStrictFunctionName(r.PathValue("name"), v)
	return ref
}

// resolveWrite checks that ref names this scope's $LATEST.
func (s *Server) resolveWrite(ref sluice.FunctionRef) error {
	q, err := s.cfg.Scope.Resolve(ref, "")
	if err != nil {
		return err
	}
	if q != "" && q != sluice.LatestVersion {
		return s.notFound(ref.Name, q)
	}
	return nil
}

// current returns the stored function for an update and checks the
// caller's RevisionId against it.
func (s *Server) current(ctx context.Context, name string, revisionID *string) (*sluice.Function, error) {
	fn, err := s.getLatest(ctx, name)
	if err != nil {
		return nil, err
	}
	if revisionID != nil && *revisionID != fn.RevisionID {
		return nil, errRevisionMismatch(nil)
	}
	if fn.State == sluice.StatePending || fn.LastUpdateStatus == sluice.UpdateInProgress {
		return nil, s.errUpdateInProgress(name, nil)
	}
	return fn, nil
}

// errUpdateInProgress is the conflict of a change while the function is
// being created or updated.
func (s *Server) errUpdateInProgress(name string, cause error) error {
	return &sluice.Error{
		Code:    sluice.EConflict,
		Message: "The operation cannot be performed at this time. An update is in progress for resource: " + s.cfg.Scope.FunctionARN(name),
		Err:     cause,
	}
}

func errRevisionMismatch(cause error) error {
	return &sluice.Error{
		Code:    sluice.EPrecondition,
		Message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
		Err:     cause,
	}
}

// replace writes next over prev with compare-and-swap. A lost race is the
// caller's precondition failure when the caller named a revision, else a
// conflict with the concurrent update.
func (s *Server) replace(ctx context.Context, next, prev *sluice.Function, userRevision bool) error {
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

// updateFunctionCode is UpdateFunctionCode:
// PUT /2015-03-31/functions/{name}/code.
func (s *Server) updateFunctionCode(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req updateFunctionCodeRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref := writeTarget(r, &v)
	validateArchitectures(req.Architectures, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	if err := req.functionCode.check(); err != nil {
		return err
	}
	dryRun := req.DryRun != nil && *req.DryRun
	publish := req.Publish != nil && *req.Publish

	ctx := r.Context()
	next, err := s.stageCode(ctx, ref.Name, &req, dryRun)
	if err != nil || dryRun {
		if err == nil {
			err = writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, next))
		}
		return err
	}
	if publish {
		v, err := s.deployThenPublish(ctx, next)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, v))
	}
	s.startDeploy(next)
	return writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, next))
}

// stageCode stores the new package and writes $LATEST with it, its update
// InProgress and the current configuration kept as Previous to serve
// invocations until the deployment ends. With dryRun nothing is written.
func (s *Server) stageCode(ctx context.Context, name string, req *updateFunctionCodeRequest, dryRun bool) (*sluice.Function, error) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	cur, err := s.current(ctx, name, req.RevisionID)
	if err != nil {
		return nil, err
	}
	sha, size, err := s.putCode(ctx, req.ZipFile)
	if err != nil {
		return nil, err
	}
	next := cur.Clone()
	next.CodeSHA256, next.CodeSize = sha, size
	if req.Architectures != nil {
		next.Architectures = append([]string(nil), req.Architectures...)
	}
	s.stamp(next)
	if dryRun {
		s.releaseCode(ctx, sha)
		return next, nil
	}
	next.Previous = cur
	next.LastUpdateStatus = sluice.UpdateInProgress
	next.LastUpdateStatusReason, next.LastUpdateStatusReasonCode = reasonCreating, reasonCodeCreating
	if err := s.replace(ctx, next, cur, req.RevisionID != nil); err != nil {
		s.releaseCode(ctx, sha)
		return nil, err
	}
	return next, nil
}

// updateFunctionConfiguration is UpdateFunctionConfiguration:
// PUT /2015-03-31/functions/{name}/configuration. Members that are absent
// keep their value; Environment replaces all variables.
func (s *Server) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req updateFunctionConfigurationRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref := writeTarget(r, &v)
	validateRole(req.Role, false, &v)
	req.validate(&v)
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.resolveWrite(ref); err != nil {
		return err
	}
	if err := req.check(s.cfg.Runtimes); err != nil {
		return err
	}

	ctx := r.Context()
	cur, err := s.current(ctx, ref.Name, req.RevisionID)
	if err != nil {
		return err
	}
	next := cur.Clone()
	req.apply(next)
	s.stamp(next)
	if err := s.replace(ctx, next, cur, req.RevisionID != nil); err != nil {
		return err
	}
	// A configuration change has nothing to unpack: it is applied at once.
	s.cfg.Invoker.Retire(next.Name, sluice.LatestVersion)
	return writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, next))
}

// validate adds the model-constraint violations of the given members,
// Role aside (required on create only), to v.
func (c *functionSettings) validate(v *sluice.Violations) {
	validateHandler(c.Handler, v)
	validateDescription(c.Description, v)
	validateRange(c.Timeout, "timeout", sluice.MinTimeout, sluice.MaxTimeout, v)
	validateRange(c.MemorySize, "memorySize", sluice.MinMemorySize, sluice.MaxMemorySize, v)
	validateEnvironmentKeys(c.Environment, v)
	validateEphemeralStorage(c.EphemeralStorage, v)
	validateFileSystems(c.FileSystemConfigs, v)
}

// check applies the rules beyond the model (InvalidParameterValueException):
// supported runtime, environment size and reserved keys.
func (c *functionSettings) check(rt Runtimes) error {
	if c.Runtime != nil {
		if err := checkRuntime(rt, *c.Runtime); err != nil {
			return err
		}
	}
	if c.Environment != nil {
		return checkEnvironment(c.Environment.Variables)
	}
	return nil
}

// apply copies the given members onto fn.
func (c *functionSettings) apply(fn *sluice.Function) {
	if c.Runtime != nil {
		fn.Runtime = *c.Runtime
	}
	if c.Role != nil {
		fn.Role = *c.Role
	}
	if c.Handler != nil {
		fn.Handler = *c.Handler
	}
	if c.Description != nil {
		fn.Description = *c.Description
	}
	if c.Timeout != nil {
		fn.Timeout = *c.Timeout
	}
	if c.MemorySize != nil {
		fn.MemorySize = *c.MemorySize
	}
	if c.Environment != nil {
		fn.Environment = cloneEnv(c.Environment.Variables)
	}
	if c.EphemeralStorage != nil {
		fn.EphemeralStorage = *c.EphemeralStorage.Size
	}
	if c.FileSystemConfigs != nil {
		fn.FileSystemConfigs = nil
		for _, f := range c.FileSystemConfigs {
			fn.FileSystemConfigs = append(fn.FileSystemConfigs, sluice.FileSystemConfig{ARN: f.Arn, LocalMountPath: f.LocalMountPath})
		}
	}
}

// deleteFunction is DeleteFunction: DELETE /2015-03-31/functions/{name},
// 204. Without a qualifier it deletes the function with its versions and
// aliases; with a version number, only that version. Packages no longer
// used are removed.
func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	qualifier := r.URL.Query().Get("Qualifier")
	var v sluice.Violations
	sluice.ValidateQualifier(qualifier, &v)
	ref := writeTarget(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return err
	}
	ctx := r.Context()
	switch {
	case q == "":
		err = s.deleteAll(ctx, ref.Name)
	case q == sluice.LatestVersion:
		err = sluice.Errorf(sluice.EInvalidParameter, "$LATEST version cannot be deleted without deleting the function.")
	case sluice.IsVersionNumber(q):
		err = s.deleteVersion(ctx, ref.Name, q)
	default:
		err = sluice.Errorf(sluice.EInvalidParameter, "Deletion of aliases is not currently supported.")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteAll deletes a function with everything it has.
func (s *Server) deleteAll(ctx context.Context, name string) error {
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
	s.cfg.Invoker.Retire(name, sluice.LatestVersion)
	for _, v := range versions {
		shas = append(shas, v.CodeSHA256)
		s.cfg.Invoker.Retire(name, v.Version)
	}
	slices.Sort(shas)
	for _, sha := range slices.Compact(shas) {
		s.releaseCode(ctx, sha)
	}
	return nil
}

// deleteVersion deletes one published version.
func (s *Server) deleteVersion(ctx context.Context, name, version string) error {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	v, err := s.cfg.Store.GetVersion(ctx, name, version)
	if err == nil {
		err = s.cfg.Store.DeleteVersion(ctx, name, version)
	}
	switch sluice.ErrorCodeOf(err) {
	case "":
	case sluice.ENotFound:
		return s.notFound(name, version)
	default: // EConflict names the aliases that route to the version
		return err
	}
	s.cfg.Invoker.Retire(name, version)
	s.releaseCode(ctx, v.CodeSHA256)
	return nil
}
