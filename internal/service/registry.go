package service

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/concurrency"
)

// Namespaces: accounts and regions are namespaces, as on AWS. A Registry
// hands out the Service of each scope (a region of an account), made on
// first use, which sees the functions of its scope only: its names, ARNs,
// versions, aliases, URLs, reserved concurrency and concurrency limit, and
// its code storage quota. What they share is what is stored once for all:
// the deployment packages (and the lock that keeps their garbage
// collection right, code.go), the invoker and the runtimes.

// RegistryConfig wires a Registry. Stores is required, and Service's
// Code and Invoker.
type RegistryConfig struct {
	// Default is the scope of a request that names none (a public one):
	// --region and --account-id.
	Default sluice.Scope
	// Stores keeps the functions of every scope.
	Stores sluice.Namespaces
	// Limits keeps the concurrency accounting of every scope; nil means
	// concurrency.NewLimiters(0).
	Limits *concurrency.Limiters
	// Service is the configuration of every scope's Service; its Scope,
	// Store, URLs and Limits are set per scope (Stores.In(scope) and
	// Limits.For(scope)), the rest is shared.
	Service Config
}

// Registry hands out the Service of each scope. It is safe for concurrent
// use.
type Registry struct {
	cfg RegistryConfig

	// codeMu and usage are shared by every Service (see Service.codeMu).
	codeMu sync.Mutex
	usage  codeUsage

	mu       sync.Mutex
	services map[sluice.Scope]*Service
	closed   bool
}

// NewRegistry returns a Registry for cfg. It panics when a required field
// is missing or the default scope is not valid, which is a wiring mistake.
func NewRegistry(cfg RegistryConfig) *Registry {
	if cfg.Stores == nil || cfg.Service.Code == nil || cfg.Service.Invoker == nil {
		panic("service: RegistryConfig.Stores, Service.Code and Service.Invoker are required")
	}
	if !cfg.Default.Valid() {
		panic(fmt.Sprintf("service: the default scope %q is not valid", cfg.Default))
	}
	if cfg.Limits == nil {
		cfg.Limits = concurrency.NewLimiters(0)
	}
	return &Registry{cfg: cfg, services: make(map[sluice.Scope]*Service)}
}

// Default returns the default scope.
func (r *Registry) Default() sluice.Scope { return r.cfg.Default }

// Service returns the Service of scope, made (with its reserved
// concurrency loaded from the store) the first time scope is asked for.
// Errors: EInvalidParameter for a scope that is not valid (see
// sluice.Scope.Valid); EServiceUnavailable after Close; the store's.
func (r *Registry) Service(ctx context.Context, scope sluice.Scope) (*Service, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, sluice.Errorf(sluice.EServiceUnavailable, "sluice is shutting down")
	}
	if s, ok := r.services[scope]; ok {
		return s, nil // valid: checked when it was made
	}
	if !scope.Valid() {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "%q is not a valid scope: a region such as us-east-1 and a 12-digit account.", scope)
	}
	store := r.cfg.Stores.In(scope)
	reserved, err := store.ReservedConcurrency(ctx)
	if err != nil {
		return nil, err
	}
	limits := r.cfg.Limits.For(scope)
	limits.Load(reserved)
	cfg := r.cfg.Service
	cfg.Scope, cfg.Store, cfg.URLs, cfg.Limits = scope, store, store, limits
	s := newService(cfg, &r.codeMu, &r.usage, r.stores)
	r.services[scope] = s
	return s, nil
}

// stores returns the stores of every scope that holds functions.
func (r *Registry) stores(ctx context.Context) ([]sluice.FunctionStore, error) {
	scopes, err := r.cfg.Stores.Scopes(ctx)
	if err != nil {
		return nil, err
	}
	stores := make([]sluice.FunctionStore, 0, len(scopes))
	for _, sc := range scopes {
		stores = append(stores, r.cfg.Stores.In(sc))
	}
	return stores, nil
}

// Resume restarts the deployments that a crash or a shutdown interrupted,
// in every scope (Service.Resume). Call it once at start.
func (r *Registry) Resume(ctx context.Context) error {
	scopes, err := r.cfg.Stores.Scopes(ctx)
	if err != nil {
		return err
	}
	for _, sc := range scopes {
		s, err := r.Service(ctx, sc)
		if err != nil {
			return fmt.Errorf("scope %s: %w", sc, err)
		}
		if err := s.Resume(ctx); err != nil {
			return fmt.Errorf("scope %s: %w", sc, err)
		}
	}
	return nil
}

// URLTarget finds the function URL whose id is urlID, in whatever scope
// it is, and what it invokes now (Service.URLTarget), with the Service of
// its scope. Errors: ErrNoURL; those of Service.URLTarget.
func (r *Registry) URLTarget(ctx context.Context, urlID string) (*Service, *sluice.FunctionURLConfig, *Runnable, error) {
	scope, err := r.cfg.Stores.FunctionURLScope(ctx, urlID)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, nil, nil, ErrNoURL
	}
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := r.Service(ctx, scope)
	if err != nil {
		return nil, nil, nil, err
	}
	c, run, err := s.URLTarget(ctx, urlID)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, c, run, nil
}

// OpenCode opens the stored package with the hex SHA-256 sha, whichever
// scope uses it (packages are stored once). Errors: those of
// CodeStore.Open.
func (r *Registry) OpenCode(sha string) (*os.File, error) {
	return r.cfg.Service.Code.Open(sha)
}

// Close closes the Service of every scope (Service.Close: it waits for
// their deployments); Service fails afterwards.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	services := make([]*Service, 0, len(r.services))
	for _, s := range r.services {
		services = append(services, s)
	}
	r.mu.Unlock()
	for _, s := range services {
		s.Close()
	}
}
