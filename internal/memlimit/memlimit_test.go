package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func write(t *testing.T, root, name, text string) {
	t.Helper()
	path := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCgroup(t *testing.T) {
	cases := []struct {
		name, file, text string
		want             int64
		ok               bool
	}{
		{"v2 limit", "memory.max", "536870912\n", 536870912, true},
		{"v2 no limit", "memory.max", "max\n", 0, false},
		{"v1 limit", "memory/memory.limit_in_bytes", "1073741824\n", 1073741824, true},
		{"v1 no limit", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0, false},
		{"garbage", "memory.max", "lots\n", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, c.file, c.text)
			got, ok := Cgroup(root)
			if got != c.want || ok != c.ok {
				t.Errorf("Cgroup = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
	if _, ok := Cgroup(t.TempDir()); ok {
		t.Error("a root without cgroup files reports a limit")
	}
}

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	root := t.TempDir()
	write(t, root, "memory.max", "1000000000\n")

	t.Setenv("GOMEMLIMIT", "")
	if got := Apply(root); got != 900_000_000 {
		t.Fatalf("Apply set %d, want 90%% of the cgroup's limit", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 900_000_000 {
		t.Errorf("the runtime's limit is %d after Apply", got)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "2GiB")
	if got := Apply(root); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("Apply overrode GOMEMLIMIT (set %d)", got)
	}
}
