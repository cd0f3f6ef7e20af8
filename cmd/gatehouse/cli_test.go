package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client/clienttest"
)

// The CLI tests run the gatehouse command tree in this process against a
// real API (clienttest: the engine over SQLite, served by internal/api) and
// compare what a person reads with testdata/*.golden.

var update = flag.Bool("update", false, "rewrite the CLI tests' golden files with what the commands print now")

// testWorkspace is the workspace the CLI tests write to. Ids derived from
// names depend on it, so the golden files do too.
const testWorkspace = "11111111-1111-1111-1111-111111111111"

// cli runs commands against one test server.
type cli struct {
	t      *testing.T
	srv    *clienttest.Server
	token  string
	config string
}

func newCLI(t *testing.T, opt clienttest.Options) *cli {
	t.Helper()
	for _, v := range []string{"GATEHOUSE_SERVER", "GATEHOUSE_TOKEN", "GATEHOUSE_WORKSPACE", "GATEHOUSE_CONTEXT", "GATEHOUSE_USER", "GATEHOUSE_CONFIG"} {
		t.Setenv(v, "")
	}
	return &cli{t: t, srv: clienttest.New(t, opt), token: opt.Token, config: filepath.Join(t.TempDir(), "config.yaml")}
}

// run runs `gatehouse args...` with the connection flags of the test server
// and returns what it printed on stdout.
func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	conn := []string{"--server", c.srv.URL, "--workspace", testWorkspace, "--config", c.config}
	if c.token != "" {
		conn = append(conn, "--token", c.token)
	}
	return runGatehouse(append(args, conn...)...)
}

// must is run, failing the test on an error.
func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// send posts events to the test workspace as a producer (CI, a runner)
// would.
func (c *cli) send(events ...map[string]any) {
	c.t.Helper()
	c.srv.Send(testWorkspace, c.token, events...)
}

// runGatehouse runs the command tree with args, as main does.
func runGatehouse(args ...string) (string, error) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// randomUUID matches random (version 4) UUIDs, such as job ids; ids derived
// from names are version 5 and stay.
var randomUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// golden compares got with testdata/name.golden (or rewrites it with
// -update). Random ids are masked first, keeping their length so that
// table columns stay aligned.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = randomUUID.ReplaceAllString(got, "xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx")
	path := filepath.Join(testdataDir(t), name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// testdataDir is this package's testdata directory, found before a test
// changes the working directory.
var testdataPath = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata")
}()

func testdataDir(t *testing.T) string {
	t.Helper()
	if err := os.MkdirAll(testdataPath, 0o755); err != nil {
		t.Fatal(err)
	}
	return testdataPath
}

// examplesIn copies the repository's examples/ into a fresh directory,
// makes that the working directory (so that the sources apply records read
// "examples/...") and returns the copy's path.
func examplesIn(t *testing.T) string {
	t.Helper()
	src := filepath.Join(filepath.Dir(testdataPath), "..", "..", "examples")
	dir := t.TempDir()
	dst := filepath.Join(dir, "examples")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copy examples: %v", err)
	}
	t.Chdir(dir)
	return "examples"
}

// writeFile writes a manifest file (relative to the working directory).
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
