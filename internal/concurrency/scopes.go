package concurrency

import (
	"sync"

	"github.com/sluice-dev/sluice"
)

// Limiters keeps one Limiter per scope: on AWS an account's concurrency
// (its limit, its functions' reservations, its unreserved pool) is per
// region, so every region of every account counts apart, each with the
// same account limit. The zero value is not usable; call NewLimiters. It
// is safe for concurrent use.
type Limiters struct {
	limit int

	mu sync.Mutex
	m  map[sluice.Scope]*Limiter
}

// NewLimiters returns the Limiters of scopes whose account limit is
// accountLimit (DefaultAccountLimit when accountLimit <= 0).
func NewLimiters(accountLimit int) *Limiters {
	if accountLimit <= 0 {
		accountLimit = DefaultAccountLimit
	}
	return &Limiters{limit: accountLimit, m: make(map[sluice.Scope]*Limiter)}
}

// For returns the Limiter of scope, a new one without reservations the
// first time a scope is asked for.
func (ls *Limiters) For(scope sluice.Scope) *Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.m[scope]
	if !ok {
		l = New(ls.limit)
		ls.m[scope] = l
	}
	return l
}

// AccountLimit returns the account limit of every scope.
func (ls *Limiters) AccountLimit() int { return ls.limit }
