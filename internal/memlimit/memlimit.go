// Package memlimit gives the Go runtime a soft memory limit from the
// container the process runs in. Without one the collector sizes the heap
// by GOGC alone and may let it grow past a container's limit between two
// collections, and the kernel then kills the process; with one it collects
// harder as the heap nears the limit.
package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Share is the part of the container's limit given to the Go heap: the
// rest is for what the runtime does not count (SQLite's page cache, thread
// stacks, the binary).
const Share = 0.9

// unlimited is what cgroup v1 reports for "no limit" (the largest page
// multiple of an int64); anything at or above it means none.
const unlimited = int64(1) << 62

// Cgroup reads the memory limit of the cgroup mounted at root (usually
// /sys/fs/cgroup): cgroup v2's memory.max, else v1's
// memory/memory.limit_in_bytes. It reports false when there is none.
func Cgroup(root string) (int64, bool) {
	for _, f := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		text := strings.TrimSpace(string(raw))
		if text == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n <= 0 || n >= unlimited {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// Apply sets the runtime's soft memory limit to Share of the cgroup's
// limit under root, unless GOMEMLIMIT is set (the operator decided) or
// there is no limit. It returns the limit it set, 0 when it set none.
func Apply(root string) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	n, ok := Cgroup(root)
	if !ok {
		return 0
	}
	limit := int64(float64(n) * Share)
	debug.SetMemoryLimit(limit)
	return limit
}
