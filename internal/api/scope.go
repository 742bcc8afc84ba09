package api

import (
	"context"
	"net/http"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// Namespaces: every request acts in one scope, a region of an account, and
// sees that scope's functions only (service.Registry). Its region is the
// one its signature is scoped to (the default region for a public
// request); its account is the one of the function ARN it names, full or
// partial, else the caller's (Config.CallerAccount).

// defaultScope is the scope of a request that names none.
func (s *Server) defaultScope() sluice.Scope {
	if s.cfg.DefaultScope != (sluice.Scope{}) {
		return s.cfg.DefaultScope
	}
	return s.cfg.Services.Default()
}

// callerAccount is the account of the caller who signed sig (nil: a
// public request).
func (s *Server) callerAccount(ctx context.Context, sig *sigv4.Signature) string {
	if p := principalOf(ctx); p != nil {
		return p.Account
	}
	if sig != nil && s.cfg.CallerAccount != nil {
		return s.cfg.CallerAccount(sig)
	}
	return s.defaultScope().Account
}

// scopeOf returns the scope of r, which names ref (the zero FunctionRef
// when it names no function), and the caller's account.
func (s *Server) scopeOf(r *http.Request, ref sluice.FunctionRef) (scope sluice.Scope, caller string) {
	sig := signatureOf(r.Context())
	scope = s.defaultScope()
	if sig != nil {
		scope.Region = sig.Region
	}
	caller = s.callerAccount(r.Context(), sig)
	scope.Account = caller
	if ref.Account != "" {
		scope.Account = ref.Account
	}
	return scope, caller
}

// service returns the Service of the scope of r, which names ref (the zero
// FunctionRef when it names no function). An ARN of another region than
// the request's is answered by the Service (sluice.Scope.Resolve: Lambda's
// "Functions from 'X' are not reachable in this region ('Y')"). Until
// authorization decides who may act in another account (issue 10), a
// function ARN of another account than the caller's is refused as it was
// before namespaces: the caller's own scope answers it, and its Resolve
// says AccessDeniedException.
//
// With Config.Principal, it authorizes the request first (authz.go): a
// caller acts in another account when that account's resource policy lets
// it, and in its own as its identity policy (or a resource policy) allows.
func (s *Server) service(r *http.Request, ref sluice.FunctionRef) (*service.Service, error) {
	scope, caller := s.scopeOf(r, ref)
	if s.cfg.Principal == nil || signatureOf(r.Context()) == nil {
		if scope.Account != caller {
			scope.Account = caller
		}
		return s.cfg.Services.Service(r.Context(), scope)
	}
	if ref.Region != "" && ref.Region != scope.Region {
		// Answered by the Service as Lambda does ("not reachable in
		// this region"), in the caller's own scope.
		scope.Account = caller
	}
	svc, err := s.cfg.Services.Service(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, scope, ref, svc); err != nil {
		return nil, err
	}
	return svc, nil
}

// checkRegion refuses a signature scoped to what is not a region: the
// region becomes part of the ARNs the request sees, which must match the
// Lambda model's pattern.
func checkRegion(sig *sigv4.Signature) error {
	if !sluice.ValidRegion(sig.Region) {
		return sluice.Errorf(sluice.EInvalidSignature, "Credential should be scoped to a valid region, not '%s'.", sig.Region)
	}
	return nil
}
