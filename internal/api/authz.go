package api

import (
	"context"
	"net/http"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/service"
)

// Authorization: every signed request acts as a Principal (Config.Principal,
// looked up once in serve), and every operation that touches a scope goes
// through service (scope.go), which asks authorize whether the principal
// may do the operation's action (lambda:<operation name>, as IAM names
// Lambda's actions) on the resource the request names: the function ARN,
// qualified when the request gives a version or alias, or "*" for the
// account-wide operations (ListFunctions, GetAccountSettings). The
// function's resource-based policy (AddPermission) is read only when the
// identity side does not decide alone: for another account's function, or
// when the caller's own policy allows nothing (AddPermission writes only
// Allow statements, so it can never deny what an identity allows).

// principalKey is the context key of the caller's *iam.Principal.
type principalKey struct{}

// principalOf is the caller of the request whose context is ctx, nil for
// public requests or without Config.Principal.
func principalOf(ctx context.Context) *iam.Principal {
	p, _ := ctx.Value(principalKey{}).(*iam.Principal)
	return p
}

// operationKey is the context key of the request's operation name.
type operationKey struct{}

func operationOf(ctx context.Context) string {
	op, _ := ctx.Value(operationKey{}).(string)
	return op
}

// qualifierOf is the version or alias r names for ref: ref's own
// qualifier or the Qualifier parameter ("" for none). The {alias} of the
// alias operations' path is not one: as on AWS, GetAlias, UpdateAlias and
// DeleteAlias act on the function (a second account that the function's
// policy allows lambda:* manages its aliases; recorded in LocalStack's
// TestLambdaMultiAccounts::test_function_alias).
func qualifierOf(r *http.Request, ref sluice.FunctionRef) string {
	if ref.Qualifier != "" {
		return ref.Qualifier
	}
	return r.URL.Query().Get("Qualifier")
}

// authorize decides whether r's caller may do r's operation on ref in
// scope, whose Service is svc. It returns nil or AccessDeniedException.
// A denial does not say whether the function exists: the resource policy
// of a missing function is no policy.
func (s *Server) authorize(r *http.Request, scope sluice.Scope, ref sluice.FunctionRef, svc *service.Service) error {
	caller := principalOf(r.Context())
	if caller != nil && caller.Admin && caller.Account == scope.Account {
		return nil // nothing to evaluate: the administrator of its own account
	}
	req := iam.Request{Action: "lambda:" + operationOf(r.Context()), Resource: "*"}
	var qualifier string
	if ref.Name != "" {
		function := scope.FunctionARN(ref.Name)
		req.Resource, req.Context = function, map[string]string{"lambda:FunctionArn": function}
		if qualifier = qualifierOf(r, ref); qualifier != "" {
			req.Resource += ":" + qualifier
		}
	}
	if caller != nil && caller.Account == scope.Account && caller.Policy.Identity(req) == iam.Allow {
		return nil
	}
	var policy *iam.Policy
	if ref.Name != "" {
		if doc, err := svc.ResourcePolicy(r.Context(), ref.Name, qualifier); err == nil && doc != "" {
			// The service wrote the document; one it cannot read back
			// grants nothing.
			policy, _ = iam.ParseResourcePolicy([]byte(doc))
		}
	}
	return iam.Authorize(caller, scope.Account, policy, req)
}
