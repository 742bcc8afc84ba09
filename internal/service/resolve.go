package service

import (
	"context"
	"slices"

	"github.com/sluice-dev/sluice"
)

// Qualifier resolution, shared by the read operations, DeleteFunction and
// the invocations. A FunctionName (name, name:qualifier, partial or full
// ARN) and the Qualifier parameter together name one of:
//
//   - $LATEST: no qualifier, or "$LATEST";
//   - a published version: a decimal number;
//   - the newest published version: "$LATEST.PUBLISHED";
//   - an alias: any other name, which points to $LATEST or a version and
//     may route a share of invocations to a second version.
//
// Anything else that passes the model's pattern (e.g. "$latest") names
// nothing: ResourceNotFoundException, as on Lambda.

// LatestPublished is the qualifier of a function's newest published
// version.
const LatestPublished = "$LATEST.PUBLISHED"

// Target is what a FunctionName and Qualifier resolved to.
type Target struct {
	// Name is the function's name.
	Name string
	// Qualifier is the effective qualifier as the caller gave it, "" when
	// unqualified.
	Qualifier string
	// InvokedARN is the function's ARN as the caller qualified it (an
	// alias ARN for an alias): the FunctionArn of a read and the
	// invoked_function_arn of an invocation.
	InvokedARN string
	// Function is the version the qualifier names: $LATEST, a published
	// version, or for an alias the version it points to.
	Function *sluice.Function
	// Alias is the alias the qualifier names, or nil.
	Alias *sluice.Alias
}

// Resolve finds what ref and qualifier name, for a read or a delete.
// Errors: those of sluice.Scope.Resolve; ENotFound naming the ARN as the
// caller qualified it; ENoPublishedVersion for $LATEST.PUBLISHED of a
// function without versions.
func (s *Service) Resolve(ctx context.Context, ref sluice.FunctionRef, qualifier string) (*Target, error) {
	return s.resolve(ctx, ref, qualifier, false)
}

// resolve is Resolve; with latestInMessage an unqualified name is reported
// as ":$LATEST" in not-found messages, as Invoke does.
func (s *Service) resolve(ctx context.Context, ref sluice.FunctionRef, qualifier string, latestInMessage bool) (*Target, error) {
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return nil, err
	}
	t := &Target{Name: ref.Name, Qualifier: q, InvokedARN: s.cfg.Scope.FunctionARN(ref.Name)}
	if q != "" {
		t.InvokedARN += ":" + q
	}
	missing := func(err error) error {
		if sluice.ErrorCodeOf(err) != sluice.ENotFound {
			return err
		}
		shown := q
		if shown == "" && latestInMessage {
			shown = sluice.LatestVersion
		}
		return s.notFound(ref.Name, shown)
	}
	switch {
	case q == "" || q == sluice.LatestVersion:
		t.Function, err = s.cfg.Store.GetFunction(ctx, ref.Name)
	case sluice.IsVersionNumber(q):
		t.Function, err = s.cfg.Store.GetVersion(ctx, ref.Name, q)
	case q == LatestPublished:
		t.Function, err = s.newestVersion(ctx, ref.Name)
		if err == nil && t.Function == nil {
			return nil, sluice.Errorf(sluice.ENoPublishedVersion, "The function %s has no published version.", s.cfg.Scope.FunctionARN(ref.Name))
		}
	case sluice.ValidateAlias(q, "qualifier", new(sluice.Violations)):
		t.Alias, err = s.cfg.Store.GetAlias(ctx, ref.Name, q)
		if err == nil {
			t.Function, err = s.version(ctx, ref.Name, t.Alias.FunctionVersion)
		}
	default:
		err = sluice.Errorf(sluice.ENotFound, "no such qualifier")
	}
	if err != nil {
		return nil, missing(err)
	}
	return t, nil
}

// version returns $LATEST or a published version of a function.
func (s *Service) version(ctx context.Context, name, version string) (*sluice.Function, error) {
	if version == sluice.LatestVersion {
		return s.cfg.Store.GetFunction(ctx, name)
	}
	return s.cfg.Store.GetVersion(ctx, name, version)
}

// newestVersion returns the function's newest published version, or nil
// when it has none. Errors: ENotFound for the function.
func (s *Service) newestVersion(ctx context.Context, name string) (*sluice.Function, error) {
	versions, err := s.cfg.Store.ListVersions(ctx, name, 0, 0)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	return versions[len(versions)-1], nil
}

// Runnable is what one invocation runs.
type Runnable struct {
	// Target is what the caller named.
	Target *Target
	// Function is the configuration that runs: the version the qualifier
	// and the alias's routing picked, as it serves now (while an update
	// of $LATEST is in progress, the previous configuration).
	Function *sluice.Function
}

// ExecutedVersion is the version that runs (X-Amz-Executed-Version).
func (r *Runnable) ExecutedVersion() string { return r.Function.VersionOrLatest() }

// ResolveRunnable resolves ref and qualifier as Resolve does, with
// Invoke's not-found messages (an unqualified name is shown as
// ":$LATEST"), then routes and checks the function as Route does.
func (s *Service) ResolveRunnable(ctx context.Context, ref sluice.FunctionRef, qualifier string) (*Runnable, error) {
	t, err := s.resolve(ctx, ref, qualifier, true)
	if err != nil {
		return nil, err
	}
	return s.Route(ctx, t)
}

// Route picks the version one invocation through t runs and checks that
// it can take invocations: for an alias with a routing weight w, the
// additional version with probability w, else the alias's version (a new
// draw per call). Errors: ENotFound for a routed version that is gone;
// EConflict for a function that is Pending or Failed.
func (s *Service) Route(ctx context.Context, t *Target) (*Runnable, error) {
	fn, err := s.route(ctx, t)
	if err != nil {
		return nil, err
	}
	if fn, err = runnable(fn); err != nil {
		return nil, err
	}
	return &Runnable{Target: t, Function: fn}, nil
}

// route is the weighted routing of Route.
func (s *Service) route(ctx context.Context, t *Target) (*sluice.Function, error) {
	if t.Alias == nil || len(t.Alias.AdditionalVersionWeights) == 0 {
		return t.Function, nil
	}
	keys := make([]string, 0, len(t.Alias.AdditionalVersionWeights))
	for k := range t.Alias.AdditionalVersionWeights {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	x := s.rand()
	for _, k := range keys {
		w := t.Alias.AdditionalVersionWeights[k]
		if x < w {
			fn, err := s.cfg.Store.GetVersion(ctx, t.Name, k)
			if sluice.ErrorCodeOf(err) == sluice.ENotFound {
				return nil, s.notFound(t.Name, k)
			}
			return fn, err
		}
		x -= w
	}
	return t.Function, nil
}

// runnable checks that fn can take invocations and returns the
// configuration that serves them: while an update is in progress, the
// previous one.
func runnable(fn *sluice.Function) (*sluice.Function, error) {
	switch fn.State {
	case sluice.StatePending, sluice.StateFailed:
		return nil, errState(fn.State)
	}
	return fn.Serving(), nil
}
