package selector

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// matcherCache is the LRU of compiled matchers, keyed by selector text. A
// nil *matcherCache caches nothing, which is how caching is disabled.
type matcherCache struct {
	c *lru.Cache[string, *Matcher]
}

// newMatcherCache returns a cache of at most size matchers; size must be
// positive.
func newMatcherCache(size int) *matcherCache {
	c, err := lru.New[string, *Matcher](size)
	if err != nil {
		panic("selector: " + err.Error()) // only for a size the callers never pass
	}
	return &matcherCache{c: c}
}

func (c *matcherCache) get(key string) (*Matcher, bool) {
	if c == nil {
		return nil, false
	}
	return c.c.Get(key)
}

// add stores m under key and returns the cached matcher, which is an earlier
// one if another goroutine compiled the same text first, so that concurrent
// compiles of one text still yield a single matcher.
func (c *matcherCache) add(key string, m *Matcher) *Matcher {
	if c == nil {
		return m
	}
	if prev, found, _ := c.c.PeekOrAdd(key, m); found {
		return prev
	}
	return m
}
