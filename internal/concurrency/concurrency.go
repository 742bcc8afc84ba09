// Package concurrency keeps the accounting of concurrent executions the way
// AWS Lambda does: an account-wide limit (ConcurrentExecutions), reserved
// concurrency per function, and the unreserved pool the other functions
// share.
//
// A function with a reservation R runs at most R invocations at once (all
// its versions and aliases together, so callers key by function name only),
// and those run inside its reservation, never in the shared pool. Functions
// without a reservation share the unreserved pool, AccountLimit minus the sum
// of all reservations. A reservation of 0 throttles every invocation. At
// least MinUnreserved executions must stay unreserved.
//
// The pool an execution counts against is always the current pool of its
// function: when a reservation is set on a function with running
// executions, those move from the unreserved pool into the reservation, and
// when a reservation is removed they move back. This keeps every count
// exact (nothing goes negative, nothing leaks) whatever the order of
// Reserve calls and releases. Changing a reservation never stops or refuses
// anything because of running executions: a pool left over its capacity
// only throttles new executions until enough have finished. In addition the
// account limit is a hard cap on all running executions, so such a
// transient overflow of one pool cannot let the other push the total past
// AccountLimit.
//
// Acquire never waits: it takes a slot or fails at once with Lambda's
// TooManyRequestsException (sluice.EThrottled).
package concurrency

import (
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice"
)

// MinUnreserved is the number of concurrent executions that must stay
// unreserved; Reserve refuses a reservation that would leave fewer.
const MinUnreserved = 100

// DefaultAccountLimit is the account's concurrent-execution limit when New
// is given none (AWS's regional default).
const DefaultAccountLimit = 1000

// Throttle reasons (TooManyRequestsException.Reason).
const (
	// ReasonReserved: the function is at its reserved concurrency.
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	// ReasonUnreserved: the unreserved pool (or the account) is exhausted.
	ReasonUnreserved = "ConcurrentInvocationLimitExceeded"
)

// ThrottleMessage is the message of both throttle errors.
const ThrottleMessage = "Rate Exceeded."

// minUnreservedMessage is the text of the error Reserve returns when a
// reservation would break the MinUnreserved rule (as recorded from AWS).
const minUnreservedMessage = "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."

// Limiter counts concurrent executions against the account limit and the
// functions' reservations. Its zero value is not usable; call New. All
// methods are safe for concurrent use.
type Limiter struct {
	limit int

	// reserveMu serialises Reserve and Load, so that a check, its commit
	// and the apply are atomic with respect to other reservation changes.
	// Acquire and release never take it.
	reserveMu sync.Mutex

	// mu guards everything below. It is held only for short, non-blocking
	// sections (never while a commit runs).
	mu       sync.Mutex
	reserved map[string]int // function -> reserved concurrency
	sumRes   int            // sum of reserved
	inUse    map[string]int // function -> running executions (no zero entries)
	total    int            // all running executions
	resInUse int            // running executions of reserved functions
}

// New returns a Limiter for an account limit of accountLimit concurrent
// executions (DefaultAccountLimit when accountLimit <= 0), with no
// reservations.
func New(accountLimit int) *Limiter {
	if accountLimit <= 0 {
		accountLimit = DefaultAccountLimit
	}
	return &Limiter{
		limit:    accountLimit,
		reserved: make(map[string]int),
		inUse:    make(map[string]int),
	}
}

// AccountLimit returns the account's concurrent-execution limit.
func (l *Limiter) AccountLimit() int { return l.limit }

// Load replaces all reservations with reserved (function -> reserved
// concurrency; negative values are ignored). It is meant for start-up, to
// install what the store holds, and does not check the MinUnreserved rule.
// Running executions move to their function's new pool.
func (l *Limiter) Load(reserved map[string]int) {
	l.reserveMu.Lock()
	defer l.reserveMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserved = make(map[string]int, len(reserved))
	l.sumRes = 0
	for fn, n := range reserved {
		if n < 0 {
			continue
		}
		l.reserved[fn] = n
		l.sumRes += n
	}
	l.resInUse = 0
	for fn, c := range l.inUse {
		if _, ok := l.reserved[fn]; ok {
			l.resInUse += c
		}
	}
}

// Reserve sets the reserved concurrency of function to n (n >= 0) or
// removes its reservation (n < 0).
//
// When n >= 0 it first checks that AccountLimit minus the reservations of
// all other functions minus n stays at least MinUnreserved, and otherwise
// returns an EInvalidParameter error (InvalidParameterValueException).
// Running executions never make it fail. It then calls commit (typically the
// durable store write; nil means nothing to do) and applies the change only
// if commit returned nil; commit's error is returned as is and leaves the
// Limiter unchanged.
//
// Reserve calls (and Load) are serialised with each other, so check, commit
// and apply are atomic with respect to them, but Acquire and release go on
// while commit runs; the new reservation takes effect when Reserve returns.
func (l *Limiter) Reserve(function string, n int, commit func() error) error {
	l.reserveMu.Lock()
	defer l.reserveMu.Unlock()

	if n >= 0 {
		l.mu.Lock()
		others := l.sumRes
		if old, ok := l.reserved[function]; ok {
			others -= old
		}
		l.mu.Unlock()
		if l.limit-others-n < MinUnreserved {
			// AWS's body of this one has no Type member
			return &sluice.Error{Code: sluice.EInvalidParameter, Message: minUnreservedMessage, Untyped: true}
		}
	}

	// Reservations change only under reserveMu, which we hold, so the
	// check above still holds after commit.
	if commit != nil {
		if err := commit(); err != nil {
			return err
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	old, had := l.reserved[function]
	if had {
		l.sumRes -= old
	}
	if n < 0 {
		if had {
			delete(l.reserved, function)
			l.resInUse -= l.inUse[function] // its executions are unreserved now
		}
		return nil
	}
	l.reserved[function] = n
	l.sumRes += n
	if !had {
		l.resInUse += l.inUse[function] // its executions move into the reservation
	}
	return nil
}

// Reserved returns the reserved concurrency of function and whether it has
// one.
func (l *Limiter) Reserved(function string) (n int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok = l.reserved[function]
	return n, ok
}

// Reservations returns a copy of all reservations.
func (l *Limiter) Reservations() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]int, len(l.reserved))
	for fn, n := range l.reserved {
		m[fn] = n
	}
	return m
}

// Unreserved returns the size of the unreserved pool: AccountLimit minus
// the sum of all reservations (UnreservedConcurrentExecutions). It can be
// below MinUnreserved, even negative, only after a Load.
func (l *Limiter) Unreserved() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit - l.sumRes
}

// Acquire takes one execution slot for function, or fails at once (it never
// waits) with a *sluice.Error of code EThrottled, message ThrottleMessage
// and Reason ReasonReserved when the function has a reservation and is at
// it (always, for a reservation of 0), or ReasonUnreserved when the
// unreserved pool or the account limit is exhausted.
//
// On success the returned release gives the slot back; it may be called
// more than once, and from any goroutine: only the first call counts.
func (l *Limiter) Acquire(function string) (release func(), err error) {
	l.mu.Lock()
	if r, ok := l.reserved[function]; ok {
		if l.inUse[function] >= r {
			l.mu.Unlock()
			return nil, throttled(ReasonReserved)
		}
		// Only possible for a while after a reservation was set while the
		// unreserved pool was full: the account limit is a hard cap.
		if l.total >= l.limit {
			l.mu.Unlock()
			return nil, throttled(ReasonUnreserved)
		}
		l.resInUse++
	} else {
		if l.total-l.resInUse >= l.limit-l.sumRes || l.total >= l.limit {
			l.mu.Unlock()
			return nil, throttled(ReasonUnreserved)
		}
	}
	l.inUse[function]++
	l.total++
	l.mu.Unlock()

	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			l.release(function)
		}
	}, nil
}

// release gives back one slot of function, to the pool the function is in
// now (see the package comment).
func (l *Limiter) release(function string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.inUse[function]
	if c <= 0 {
		// Cannot happen: every release matches one successful Acquire.
		panic("concurrency: release without acquire for " + function)
	}
	if c == 1 {
		delete(l.inUse, function)
	} else {
		l.inUse[function] = c - 1
	}
	l.total--
	if _, ok := l.reserved[function]; ok {
		l.resInUse--
	}
}

// throttled returns the TooManyRequestsException with reason.
func throttled(reason string) *sluice.Error {
	return &sluice.Error{Code: sluice.EThrottled, Reason: reason, Message: ThrottleMessage}
}

// InUse returns the number of all running executions.
func (l *Limiter) InUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// InUseBy returns the number of running executions of function.
func (l *Limiter) InUseBy(function string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inUse[function]
}

// UnreservedInUse returns the number of running executions that count
// against the unreserved pool (those of functions without a reservation).
func (l *Limiter) UnreservedInUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total - l.resInUse
}
