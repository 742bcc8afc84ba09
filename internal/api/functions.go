package api

import (
	"context"
	"fmt"
	"net/http"

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
	if err := s.create(r.Context(), fn, req.Code.ZipFile); err != nil {
		return err
	}
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
	if err := req.check(); err != nil {
		return nil, err
	}
	if err := req.Code.check(); err != nil {
		return nil, err
	}
	if err := checkPublish(req.Publish); err != nil {
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

// create stores the package zip and then fn, which refers to it. The
// package is unpacked before the function is stored, so a broken package
// fails the create and a stored function is Active at once.
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
	s.stamp(fn)
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
}

// getFunction is GetFunction: GET /2015-03-31/functions/{name}.
func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	fn, err := s.lookup(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, getFunctionResponse{
		Configuration: configurationOf(s.cfg.Scope, fn),
		Code:          codeLocation{RepositoryType: "S3", Location: codeURL(r, fn.CodeSHA256)},
	})
}

// getFunctionConfiguration is GetFunctionConfiguration:
// GET /2015-03-31/functions/{name}/configuration.
func (s *Server) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, _ []byte) error {
	fn, err := s.lookup(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, fn))
}

// lookup resolves the {name} and Qualifier of a read operation to the
// stored function. Only $LATEST exists so far: any other qualifier is not
// found.
func (s *Server) lookup(r *http.Request) (*sluice.Function, error) {
	qualifier := r.URL.Query().Get("Qualifier")
	var v sluice.Violations
	sluice.ValidateQualifier(qualifier, &v) // Lambda lists the qualifier first
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return nil, err
	}
	if q != "" && q != sluice.LatestVersion {
		return nil, s.notFound(ref.Name, q)
	}
	fn, err := s.cfg.Store.GetFunction(r.Context(), ref.Name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(ref.Name, q)
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
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(name, "")
	}
	if err != nil {
		return nil, err
	}
	if revisionID != nil && *revisionID != fn.RevisionID {
		return nil, errRevisionMismatch(nil)
	}
	return fn, nil
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
		return &sluice.Error{
			Code:    sluice.EConflict,
			Message: "The operation cannot be performed at this time. An update is in progress for resource: " + s.cfg.Scope.FunctionARN(next.Name),
			Err:     err,
		}
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
	if err := checkPublish(req.Publish); err != nil {
		return err
	}
	dryRun := req.DryRun != nil && *req.DryRun

	ctx := r.Context()
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	cur, err := s.current(ctx, ref.Name, req.RevisionID)
	if err != nil {
		return err
	}
	sha, size, err := s.putCode(ctx, req.ZipFile)
	if err != nil {
		return err
	}
	next := cur.Clone()
	next.CodeSHA256, next.CodeSize = sha, size
	if req.Architectures != nil {
		next.Architectures = append([]string(nil), req.Architectures...)
	}
	s.stamp(next)
	if dryRun {
		s.releaseCode(ctx, sha)
		return writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, next))
	}
	if err := s.replace(ctx, next, cur, req.RevisionID != nil); err != nil {
		s.releaseCode(ctx, sha)
		return err
	}
	if cur.CodeSHA256 != sha {
		s.releaseCode(ctx, cur.CodeSHA256)
	}
	s.cfg.Invoker.Retire(next.Name)
	return writeJSON(w, http.StatusOK, configurationOf(s.cfg.Scope, next))
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
	if err := req.check(); err != nil {
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
	s.cfg.Invoker.Retire(next.Name)
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
}

// check applies the rules beyond the model (InvalidParameterValueException):
// supported runtime, environment size and reserved keys.
func (c *functionSettings) check() error {
	if c.Runtime != nil {
		if err := checkRuntime(*c.Runtime); err != nil {
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
}

// deleteFunction is DeleteFunction: DELETE /2015-03-31/functions/{name},
// 204. The function's package is removed when no other function uses it.
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
	switch q {
	case "":
	case sluice.LatestVersion:
		return sluice.Errorf(sluice.EInvalidParameter, "$LATEST version cannot be deleted without deleting the function.")
	default:
		return s.notFound(ref.Name, q) // no published versions yet
	}

	ctx := r.Context()
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	cur, err := s.current(ctx, ref.Name, nil)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteFunction(ctx, ref.Name); err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return s.notFound(ref.Name, "")
		}
		return err
	}
	s.releaseCode(ctx, cur.CodeSHA256)
	s.cfg.Invoker.Retire(ref.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
