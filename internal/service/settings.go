package service

import (
	"context"

	"github.com/sluice-dev/sluice"
)

// Tags, the recursion setting, the runtime management setting and the
// code signing configuration of a function: settings that are not part
// of its configuration, kept in its record (sluice.Function.Settings) so
// that they are namespaced and deleted with it.

// errTagsOnQualified is Lambda's answer to tagging a version or alias.
func errTagsOnQualified() error {
	return sluice.Errorf(sluice.EInvalidParameter, "Tags on function aliases and versions are not supported. Please specify a function ARN.")
}

// tagTarget checks that ref names a function of this scope, unqualified.
func (s *Service) tagTarget(ref sluice.FunctionRef) error {
	q, err := s.cfg.Scope.Resolve(ref, "")
	if err != nil {
		return err
	}
	if q != "" {
		return errTagsOnQualified()
	}
	return nil
}

// setSettings is Store.SetSettings with Lambda's not-found message.
func (s *Service) setSettings(ctx context.Context, name, qualifier string, update func(*sluice.FunctionSettings) error) error {
	err := s.cfg.Store.SetSettings(ctx, name, qualifier, update)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		if qualifier == "" || qualifier == sluice.LatestVersion {
			return s.notFound(name, "")
		}
		return s.notFound(name, qualifier)
	}
	return err
}

// ListTags returns the tags of the function ref names (unqualified), an
// empty map when it has none. Errors: those of sluice.Scope.Resolve;
// EInvalidParameter for a version or alias; ENotFound.
func (s *Service) ListTags(ctx context.Context, ref sluice.FunctionRef) (map[string]string, error) {
	if err := s.tagTarget(ref); err != nil {
		return nil, err
	}
	fn, err := s.cfg.Store.GetFunction(ctx, ref.Name)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, s.notFound(ref.Name, "")
		}
		return nil, err
	}
	tags := fn.Settings.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, nil
}

// TagResource adds tags to the function ref names (unqualified),
// replacing the values of keys it has. Errors: those of ListTags;
// EInvalidParameter when the function would have more than sluice.MaxTags.
func (s *Service) TagResource(ctx context.Context, ref sluice.FunctionRef, tags map[string]string) error {
	if err := s.tagTarget(ref); err != nil {
		return err
	}
	err := s.setSettings(ctx, ref.Name, "", func(st *sluice.FunctionSettings) error {
		next := make(map[string]string, len(st.Tags)+len(tags))
		for k, v := range st.Tags {
			next[k] = v
		}
		for k, v := range tags {
			next[k] = v
		}
		if len(next) > sluice.MaxTags {
			return ErrTooManyTags()
		}
		st.Tags = next
		return nil
	})
	if err != nil {
		return err
	}
	return s.newRevision(ctx, ref.Name)
}

// newRevision gives the named function's $LATEST a new RevisionID, as
// tagging does on Lambda. A function being deployed is left alone: its
// deployment settles under the revision it started with (deploy), and
// settling gives it a new one anyway. A concurrent change that wins the
// compare-and-swap changed the revision too.
func (s *Service) newRevision(ctx context.Context, name string) error {
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil
		}
		return err
	}
	if fn.State == sluice.StatePending || fn.LastUpdateStatus == sluice.UpdateInProgress {
		return nil
	}
	next := fn.Clone()
	next.RevisionID = sluice.NewRequestID()
	switch err := s.cfg.Store.UpdateFunction(ctx, next, fn.RevisionID); sluice.ErrorCodeOf(err) {
	case "", sluice.EPrecondition, sluice.ENotFound:
		return nil
	default:
		return err
	}
}

// ErrTooManyTags is Lambda's answer to more than sluice.MaxTags tags.
func ErrTooManyTags() error {
	return sluice.Errorf(sluice.EInvalidParameter, "Number of tags exceeds resource tag limit.")
}

// UntagResource removes the tags of the given keys from the function ref
// names (unqualified); keys it does not have are ignored. Errors: those
// of ListTags.
func (s *Service) UntagResource(ctx context.Context, ref sluice.FunctionRef, keys []string) error {
	if err := s.tagTarget(ref); err != nil {
		return err
	}
	err := s.setSettings(ctx, ref.Name, "", func(st *sluice.FunctionSettings) error {
		for _, k := range keys {
			delete(st.Tags, k)
		}
		if len(st.Tags) == 0 {
			st.Tags = nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.newRevision(ctx, ref.Name)
}

// Tags returns the tags of the named function of this scope, nil when it
// has none or does not exist (GetFunction's Tags member).
func (s *Service) Tags(ctx context.Context, name string) map[string]string {
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if err != nil {
		return nil
	}
	return fn.Settings.Tags
}

// unqualifiedFunction checks that ref names an existing function of this
// scope without a qualifier, with msg as the answer to a qualified name.
func (s *Service) unqualifiedFunction(ctx context.Context, ref sluice.FunctionRef) (*sluice.Function, error) {
	q, err := s.cfg.Scope.Resolve(ref, "")
	if err != nil {
		return nil, err
	}
	if q != "" {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	fn, err := s.cfg.Store.GetFunction(ctx, ref.Name)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, s.notFound(ref.Name, "")
		}
		return nil, err
	}
	return fn, nil
}

// GetFunctionRecursionConfig returns the recursion setting of the
// function ref names (unqualified): sluice.RecursiveLoopTerminate unless
// it was set. Errors: those of sluice.Scope.Resolve; EInvalidParameter for
// a qualified name; ENotFound.
func (s *Service) GetFunctionRecursionConfig(ctx context.Context, ref sluice.FunctionRef) (string, error) {
	fn, err := s.unqualifiedFunction(ctx, ref)
	if err != nil {
		return "", err
	}
	if fn.Settings.RecursiveLoop == "" {
		return sluice.RecursiveLoopTerminate, nil
	}
	return fn.Settings.RecursiveLoop, nil
}

// PutFunctionRecursionConfig sets the recursion setting (Allow or
// Terminate, checked by the caller) of the function ref names. Errors:
// those of GetFunctionRecursionConfig.
func (s *Service) PutFunctionRecursionConfig(ctx context.Context, ref sluice.FunctionRef, mode string) error {
	if _, err := s.unqualifiedFunction(ctx, ref); err != nil {
		return err
	}
	return s.setSettings(ctx, ref.Name, "", func(st *sluice.FunctionSettings) error {
		st.RecursiveLoop = mode
		return nil
	})
}

// GetFunctionCodeSigningConfig checks that the function ref names exists
// (unqualified). sluice has no code signing configurations, so no
// function has one. Errors: those of GetFunctionRecursionConfig.
func (s *Service) GetFunctionCodeSigningConfig(ctx context.Context, ref sluice.FunctionRef) error {
	_, err := s.unqualifiedFunction(ctx, ref)
	return err
}

// RuntimeManagement is the runtime management setting of a version.
type RuntimeManagement struct {
	// FunctionARN is the ARN of the version, qualified as Lambda shows
	// it (":$LATEST" for $LATEST, the number for a version).
	FunctionARN       string
	UpdateRuntimeOn   string
	RuntimeVersionARN string // "" unless UpdateRuntimeOn is Manual
}

// runtimeTarget resolves ref and qualifier to $LATEST or a published
// version (aliases are not accepted, as on Lambda, whose Qualifier here
// is a version).
func (s *Service) runtimeTarget(ctx context.Context, ref sluice.FunctionRef, qualifier string) (*sluice.Function, error) {
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return nil, err
	}
	var fn *sluice.Function
	switch {
	case q == "" || q == sluice.LatestVersion:
		fn, err = s.cfg.Store.GetFunction(ctx, ref.Name)
		q = ""
	case sluice.IsVersionNumber(q):
		fn, err = s.cfg.Store.GetVersion(ctx, ref.Name, q)
	default:
		err = sluice.Errorf(sluice.ENotFound, "alias")
	}
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, s.notFound(ref.Name, q)
	}
	return fn, err
}

func (s *Service) runtimeManagementOf(fn *sluice.Function) *RuntimeManagement {
	m := &RuntimeManagement{
		FunctionARN:       s.cfg.Scope.FunctionARN(fn.Name) + ":" + fn.VersionOrLatest(),
		UpdateRuntimeOn:   fn.Settings.UpdateRuntimeOn,
		RuntimeVersionARN: fn.Settings.RuntimeVersionARN,
	}
	if m.UpdateRuntimeOn == "" {
		m.UpdateRuntimeOn = sluice.UpdateRuntimeOnAuto
	}
	return m
}

// GetRuntimeManagementConfig returns the runtime management setting of
// the version ref and qualifier name ($LATEST when neither has one).
// Errors: those of sluice.Scope.Resolve; ENotFound.
func (s *Service) GetRuntimeManagementConfig(ctx context.Context, ref sluice.FunctionRef, qualifier string) (*RuntimeManagement, error) {
	fn, err := s.runtimeTarget(ctx, ref, qualifier)
	if err != nil {
		return nil, err
	}
	return s.runtimeManagementOf(fn), nil
}

// PutRuntimeManagementConfig sets the runtime management setting of the
// version ref and qualifier name: on (one of the UpdateRuntimeOn* values)
// and, with UpdateRuntimeOnManual only, the runtime version ARN (checked
// by the caller). Errors: those of GetRuntimeManagementConfig;
// EInvalidParameter for an ARN with another mode than Manual, or none
// with Manual.
func (s *Service) PutRuntimeManagementConfig(ctx context.Context, ref sluice.FunctionRef, qualifier, on, arn string) (*RuntimeManagement, error) {
	fn, err := s.runtimeTarget(ctx, ref, qualifier)
	if err != nil {
		return nil, err
	}
	switch {
	case on == sluice.UpdateRuntimeOnManual && arn == "":
		return nil, sluice.Errorf(sluice.EInvalidParameter, "RuntimeVersionArn must be provided when UpdateRuntimeOn is set to Manual.")
	case on != sluice.UpdateRuntimeOnManual && arn != "":
		return nil, sluice.Errorf(sluice.EInvalidParameter, "RuntimeVersionArn can only be provided when UpdateRuntimeOn is set to Manual.")
	}
	err = s.setSettings(ctx, fn.Name, fn.VersionOrLatest(), func(st *sluice.FunctionSettings) error {
		st.UpdateRuntimeOn, st.RuntimeVersionARN = on, arn
		return nil
	})
	if err != nil {
		return nil, err
	}
	fn.Settings.UpdateRuntimeOn, fn.Settings.RuntimeVersionARN = on, arn
	return s.runtimeManagementOf(fn), nil
}
