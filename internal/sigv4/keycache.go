package sigv4

import (
	"container/list"
	"sync"
)

// keyCacheSize bounds the signing keys a Verifier keeps: a key serves one
// secret for one day, region and service, so 1024 cover as many clients
// signing at once, and a flood of made-up scopes evicts only the oldest.
const keyCacheSize = 1024

// keyID is what a signing key is derived from.
type keyID struct{ secret, date, region, service string }

// keyCache is a least-recently-used cache of signing keys, safe for
// concurrent use; its zero value is empty and ready.
type keyCache struct {
	mu    sync.Mutex
	order *list.List // of *keyEntry, most recently used first
	byID  map[keyID]*list.Element
}

type keyEntry struct {
	id  keyID
	key []byte
}

// get returns the key of id, if cached, and marks it used. The caller must
// not change it.
func (c *keyCache) get(id keyID) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*keyEntry).key, true
}

// put caches key as the key of id, evicting the least recently used key
// beyond keyCacheSize.
func (c *keyCache) put(id keyID, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = make(map[keyID]*list.Element)
		c.order = list.New()
	}
	if e, ok := c.byID[id]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byID[id] = c.order.PushFront(&keyEntry{id: id, key: key})
	for c.order.Len() > keyCacheSize {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*keyEntry).id)
	}
}

// len is how many keys are cached.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}
