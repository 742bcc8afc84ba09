package api

import (
	"net/http"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// The control plane: CreateFunction, GetFunction, GetFunctionConfiguration,
// UpdateFunctionCode, UpdateFunctionConfiguration and DeleteFunction
// (ListFunctions is in list.go). Each handler decodes the body, validates
// the model constraints together, then the value rules, and calls the
// service, which applies the rules that need the stored state.

// createFunction is CreateFunction: POST /2015-03-31/functions, 201.
func (s *Server) createFunction(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req createFunctionRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	svc, fn, err := s.newFunction(r, &req)
	if err != nil {
		return err
	}
	if err := validateTags(req.Tags, new(sluice.Violations)); err != nil {
		return err
	}
	if len(req.Tags) > 0 {
		fn.Settings.Tags = req.Tags
	}
	// With Publish the version is published from the deployed package,
	// so this request waits for the deployment.
	publish := req.Publish != nil && *req.Publish
	created, err := svc.CreateFunction(r.Context(), fn, req.Code.ZipFile, publish)
	if err != nil {
		return err
	}
	if !publish {
		return writeJSON(w, http.StatusCreated, configurationOf(svc.Scope(), created))
	}
	// Lambda answers the $LATEST it stored (Pending, its first
	// RevisionId, the unqualified ARN) with the number of the version
	// being published from it; fn is that $LATEST, as CreateFunction
	// stored it.
	c := configurationOf(svc.Scope(), fn)
	c.Version = created.Version
	return writeJSON(w, http.StatusCreated, c)
}

// newFunction validates a CreateFunction request and returns the function
// it describes, without code, revision or timestamps, and the Service of
// its scope.
func (s *Server) newFunction(r *http.Request, req *createFunctionRequest) (*service.Service, *sluice.Function, error) {
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
		return nil, nil, err
	}

	if ref.IsPlainName() && len(ref.Name) > sluice.MaxPlainNameLength {
		return nil, nil, sluice.Errorf(sluice.EInvalidParameter, "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to %d", *req.FunctionName, sluice.MaxPlainNameLength)
	}
	if ref.Qualifier != "" {
		return nil, nil, sluice.Errorf(sluice.EInvalidParameter, "The function name %s is qualified (:%s); CreateFunction takes an unqualified name", *req.FunctionName, ref.Qualifier)
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return nil, nil, err
	}
	if _, err := svc.Scope().Resolve(ref, ""); err != nil {
		return nil, nil, err
	}
	if err := checkPackageType(req.PackageType); err != nil {
		return nil, nil, err
	}
	if req.Runtime == nil || req.Handler == nil {
		return nil, nil, sluice.Errorf(sluice.EInvalidParameter, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := req.check(s.cfg.Runtimes); err != nil {
		return nil, nil, err
	}
	hotDir, err := req.Code.check()
	if err != nil {
		return nil, nil, err
	}

	fn := service.NewFunction(ref.Name)
	req.apply(fn)
	if hotDir != "" {
		fn.CodeSHA256 = sluice.HotReloadCode(hotDir) // the service checks it
	}
	if req.Architectures != nil {
		fn.Architectures = append([]string(nil), req.Architectures...)
	}
	return svc, fn, nil
}

// getFunction is GetFunction: GET /2015-03-31/functions/{name}.
func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, t, err := s.lookup(r)
	if err != nil {
		return err
	}
	fn := t.Function
	resp := getFunctionResponse{
		Configuration: targetConfiguration(svc.Scope(), t),
		Code:          codeLocation{RepositoryType: "S3", Location: s.codeURL(r, fn.CodeSHA256)},
	}
	if n, ok := svc.ReservedConcurrency(fn.Name); ok {
		resp.Concurrency = &concurrencyBody{ReservedConcurrentExecutions: &n}
	}
	resp.Tags = svc.Tags(r.Context(), fn.Name)
	return writeJSON(w, http.StatusOK, resp)
}

// getFunctionConfiguration is GetFunctionConfiguration:
// GET /2015-03-31/functions/{name}/configuration.
func (s *Server) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, t, err := s.lookup(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, targetConfiguration(svc.Scope(), t))
}

// lookup resolves the {name} and Qualifier of a read operation to the
// version they name (for an alias, the version it points to), in the
// Service of the request's scope.
func (s *Server) lookup(r *http.Request) (*service.Service, *service.Target, error) {
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return nil, nil, err
	}
	t, err := svc.Resolve(r.Context(), ref, qualifier)
	return svc, t, err
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
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if _, err := svc.FunctionName(ref); err != nil {
		return err
	}
	hotDir, err := req.functionCode.check()
	if err != nil {
		return err
	}
	fn, err := svc.UpdateFunctionCode(r.Context(), ref, service.CodeUpdate{
		ZipFile:       req.ZipFile,
		HotReloadDir:  hotDir,
		Architectures: req.Architectures,
		RevisionID:    req.RevisionID,
		DryRun:        req.DryRun != nil && *req.DryRun,
		Publish:       req.Publish != nil && *req.Publish,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, configurationOf(svc.Scope(), fn))
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
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if _, err := svc.FunctionName(ref); err != nil {
		return err
	}
	if err := req.check(s.cfg.Runtimes); err != nil {
		return err
	}
	fn, err := svc.UpdateFunctionConfiguration(r.Context(), ref, req.RevisionID, req.apply)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, configurationOf(svc.Scope(), fn))
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
	c.LoggingConfig.validate(v)
	validateDeadLetterConfig(c.DeadLetterConfig, v)
}

// check applies the rules beyond the model (InvalidParameterValueException):
// supported runtime, environment size and reserved keys, no dead-letter
// queue.
func (c *functionSettings) check(rt Runtimes) error {
	if err := checkDeadLetterConfig(c.DeadLetterConfig); err != nil {
		return err
	}
	if c.Runtime != nil {
		if err := checkRuntime(rt, *c.Runtime); err != nil {
			return err
		}
	}
	if err := c.LoggingConfig.check(); err != nil {
		return err
	}
	if c.Environment != nil {
		return checkEnvironment(c.Environment)
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
	if c.LoggingConfig != nil {
		fn.Logging = c.LoggingConfig.apply(fn.Logging)
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
// aliases; with a version number, only that version (see
// service.DeleteFunction).
func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request, _ []byte) error {
	// DeleteFunction's FunctionName has the pattern and length of the read
	// operations' (as AWS's messages show), not CreateFunction's
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.DeleteFunction(r.Context(), ref, qualifier); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
