package selector

import (
	"container/list"
	"sync"
)

// lru is a mutex-guarded LRU of compiled matchers. A nil *lru caches
// nothing, which is how caching is disabled.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front is most recently used; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	m   *Matcher
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *lru) get(key string) (*Matcher, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).m, true
}

// add stores m under key and returns the cached matcher, which is an earlier
// one if another goroutine compiled the same text first, so that concurrent
// compiles of one text still yield a single matcher.
func (c *lru) add(key string, m *Matcher) *Matcher {
	if c == nil {
		return m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*lruEntry).m
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, m: m})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*lruEntry).key)
	}
	return m
}
