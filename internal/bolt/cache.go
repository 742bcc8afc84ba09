package bolt

import (
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice"
)

// readCache keeps decoded function records ($LATEST and published
// versions) between reads, so that an invocation does not open a bbolt
// transaction and decode JSON each time (issue 14: about 6 % of the
// server's CPU per warm invoke). It is shared by the Stores of one file.
//
// Consistency: every read-write transaction bumps gen once it has
// committed (update), and a read tags what it caches with the gen it saw
// before its transaction began. An entry serves only while gen is
// unchanged, so a write makes every entry stale, and a read that raced
// with a write can cache nothing that outlives it. A caller that got a
// write's answer reads what that write stored.
//
// Entries are never handed out: Get returns a deep copy (Function.Clone),
// so a caller that changes what it got changes no other caller's.
type readCache struct {
	gen atomic.Uint64
	mu  sync.Mutex
	m   map[cacheKey]cacheEntry
}

// maxCached bounds the entries; past it the cache starts empty again.
const maxCached = 4096

type cacheKey struct {
	scope         sluice.Scope
	name, version string
}

type cacheEntry struct {
	gen uint64
	fn  *sluice.Function
}

func newReadCache() *readCache { return &readCache{m: map[cacheKey]cacheEntry{}} }

// written marks every entry stale; update calls it after each commit.
func (c *readCache) written() { c.gen.Add(1) }

// function returns a copy of the cached record of key, or load's, which
// it caches.
func (c *readCache) function(key cacheKey, load func() (*sluice.Function, error)) (*sluice.Function, error) {
	gen := c.gen.Load()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.gen == gen {
		return e.fn.Clone(), nil
	}
	fn, err := load()
	if err != nil || fn == nil {
		return fn, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[key] = cacheEntry{gen: gen, fn: fn}
	c.mu.Unlock()
	return fn.Clone(), nil
}
