package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/sluice-dev/sluice"
)

// Qualifier resolution, shared by the read operations, DeleteFunction and
// the invoke operations. A FunctionName (name, name:qualifier, partial or
// full ARN) and the Qualifier parameter together name one of:
//
//   - $LATEST: no qualifier, or "$LATEST";
//   - a published version: a decimal number;
//   - the newest published version: "$LATEST.PUBLISHED";
//   - an alias: any other name, which points to $LATEST or a version and
//     may route a share of invocations to a second version.
//
// Anything else that passes the model's pattern (e.g. "$latest") names
// nothing: ResourceNotFoundException, as on Lambda.

// latestPublished is the qualifier of a function's newest published
// version.
const latestPublished = "$LATEST.PUBLISHED"

// target is what a FunctionName and Qualifier resolved to.
type target struct {
	name string
	// qualifier is the effective qualifier as the caller gave it, "" when
	// unqualified.
	qualifier string
	// fn is the version the qualifier names: $LATEST, a published version,
	// or for an alias the version it points to.
	fn *sluice.Function
	// alias is the alias the qualifier names, or nil.
	alias *sluice.Alias
}

// invokedARN is the ARN as the caller qualified it.
func (t *target) invokedARN(scope sluice.Scope) string {
	arn := scope.FunctionARN(t.name)
	if t.qualifier != "" {
		arn += ":" + t.qualifier
	}
	return arn
}

// configuration renders the version t names, with the FunctionArn
// qualified as the caller qualified it (an alias ARN for an alias), as
// Lambda does.
func (t *target) configuration(scope sluice.Scope) functionConfiguration {
	c := configurationOf(scope, t.fn)
	c.FunctionArn = t.invokedARN(scope)
	return c
}

// parseRef validates the {name} path value and the Qualifier query
// parameter of a read or invoke operation into v (the qualifier first, as
// Lambda lists it).
func parseRef(r *http.Request, v *sluice.Violations) (sluice.FunctionRef, string) {
	qualifier := r.URL.Query().Get("Qualifier")
	sluice.ValidateQualifier(qualifier, v)
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), v)
	return ref, qualifier
}

// resolve finds what ref and qualifier name. Not-found messages name the
// qualified ARN; with latestInMessage an unqualified name is reported as
// ":$LATEST", as Invoke does.
func (s *Server) resolve(ctx context.Context, ref sluice.FunctionRef, qualifier string, latestInMessage bool) (*target, error) {
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return nil, err
	}
	t := &target{name: ref.Name, qualifier: q}
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
		t.fn, err = s.cfg.Store.GetFunction(ctx, ref.Name)
	case sluice.IsVersionNumber(q):
		t.fn, err = s.cfg.Store.GetVersion(ctx, ref.Name, q)
	case q == latestPublished:
		t.fn, err = s.newestVersion(ctx, ref.Name)
		if err == nil && t.fn == nil {
			return nil, sluice.Errorf(sluice.ENoPublishedVersion, "The function %s has no published version.", s.cfg.Scope.FunctionARN(ref.Name))
		}
	case sluice.ValidateAlias(q, "qualifier", new(sluice.Violations)):
		t.alias, err = s.cfg.Store.GetAlias(ctx, ref.Name, q)
		if err == nil {
			t.fn, err = s.version(ctx, ref.Name, t.alias.FunctionVersion)
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
func (s *Server) version(ctx context.Context, name, version string) (*sluice.Function, error) {
	if version == sluice.LatestVersion {
		return s.cfg.Store.GetFunction(ctx, name)
	}
	return s.cfg.Store.GetVersion(ctx, name, version)
}

// newestVersion returns the function's newest published version, or nil
// when it has none. Errors: ENotFound for the function.
func (s *Server) newestVersion(ctx context.Context, name string) (*sluice.Function, error) {
	versions, err := s.cfg.Store.ListVersions(ctx, name, 0, 0)
	if err != nil || len(versions) == 0 {
		return nil, err
	}
	return versions[len(versions)-1], nil
}

// route picks the version an invocation through t runs: for an alias with
// a routing weight w, the additional version with probability w, else the
// alias's version. It returns t.fn unchanged otherwise.
func (s *Server) route(ctx context.Context, t *target) (*sluice.Function, error) {
	if t.alias == nil || len(t.alias.AdditionalVersionWeights) == 0 {
		return t.fn, nil
	}
	keys := make([]string, 0, len(t.alias.AdditionalVersionWeights))
	for k := range t.alias.AdditionalVersionWeights {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	x := s.rand()
	for _, k := range keys {
		w := t.alias.AdditionalVersionWeights[k]
		if x < w {
			fn, err := s.cfg.Store.GetVersion(ctx, t.name, k)
			if sluice.ErrorCodeOf(err) == sluice.ENotFound {
				return nil, s.notFound(t.name, k)
			}
			return fn, err
		}
		x -= w
	}
	return t.fn, nil
}

// runnable checks that fn can take invocations and returns the
// configuration that serves them: while an update is in progress, the
// previous one.
func (s *Server) runnable(fn *sluice.Function) (*sluice.Function, error) {
	switch fn.State {
	case sluice.StatePending:
		return nil, sluice.Errorf(sluice.EConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", fn.State)
	case sluice.StateFailed:
		return nil, sluice.Errorf(sluice.EConflict, "The operation cannot be performed at this time. The function is currently in the following state: %s", fn.State)
	}
	return fn.Serving(), nil
}
