package relations

import (
	"strconv"
	"testing"
)

func TestRegexCache_Bounded(t *testing.T) {
	c := newRegexCache()
	for i := range maxCachedPatterns + 50 {
		if !c.match("prod-"+strconv.Itoa(i), "^prod-"+strconv.Itoa(i)+"$") {
			t.Fatalf("pattern %d did not match its own string", i)
		}
	}
	if n := c.c.Len(); n != maxCachedPatterns {
		t.Errorf("cache holds %d patterns, want the bound %d", n, maxCachedPatterns)
	}
	if c.c.Contains("^prod-0$") {
		t.Error("the least recently used pattern is still cached past the bound")
	}
	if !c.c.Contains("^prod-" + strconv.Itoa(maxCachedPatterns+49) + "$") {
		t.Error("the latest pattern is not cached")
	}
	if c.match("x", "([") || !c.c.Contains("([") {
		t.Error("a bad pattern should never match and be remembered")
	}
}
