package sluice

import "context"

// Namespace is the store of one scope's functions: a FunctionStore and the
// FunctionURLStore of the same functions. What one Namespace holds is
// invisible to every other: names, versions, aliases, reserved
// concurrency and URLs are per scope.
type Namespace interface {
	FunctionStore
	FunctionURLStore
}

// Namespaces keeps the functions of every scope, each scope in a Namespace
// of its own. The URL ids of function URLs are unique across all scopes (a
// URL is found by its id alone, from a request's Host), so a
// CreateFunctionURL with an id that another scope uses fails with
// EConflict.
//
// Implementations must be safe for concurrent use and durable, as
// FunctionStore.
type Namespaces interface {
	// In returns the store of scope's functions. It never fails: a scope
	// without functions is an empty Namespace, and a write to an invalid
	// scope (see Scope.Valid) fails with EInvalidParameter.
	In(scope Scope) Namespace
	// Scopes returns every scope that holds or has held a function, in
	// order of their String form.
	Scopes(ctx context.Context) ([]Scope, error)
	// FunctionURLScope returns the scope of the function URL whose URLID
	// is id. Errors: ENotFound.
	FunctionURLScope(ctx context.Context, id string) (Scope, error)
}
