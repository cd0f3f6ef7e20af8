package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func hexDigest(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}

func TestNew_Refuses(t *testing.T) {
	tests := []struct {
		name    string
		admin   string
		entries []Entry
		want    string
	}{
		{"a nameless entry", "", []Entry{{Token: "t"}}, "[0].name: is required"},
		{"a name with spaces around it", "", []Entry{{Name: " alice", Token: "t"}}, "leading or trailing spaces"},
		{"a name used twice", "", []Entry{{Name: "a", Token: "t1"}, {Name: "a", Token: "t2"}}, `[1].name: "a" is used twice`},
		{"neither token nor sha256", "", []Entry{{Name: "a"}}, "exactly one of token and sha256"},
		{"both", "", []Entry{{Name: "a", Token: "t", SHA256: hexDigest("t")}}, "exactly one of token and sha256"},
		{"a digest that is not hex", "", []Entry{{Name: "a", SHA256: "zz"}}, "[0].sha256"},
		{"a short digest", "", []Entry{{Name: "a", SHA256: "abcd"}}, "[0].sha256"},
		{"a token given twice", "", []Entry{{Name: "a", Token: "t"}, {Name: "b", SHA256: hexDigest("t")}}, "b has the same token as a"},
		{"the admin's token", "t", []Entry{{Name: "a", Token: "t"}}, "a has the same token as --token"},
		{"an empty group", "", []Entry{{Name: "a", Token: "t", Groups: []string{"sre", ""}}}, "[0].groups[1]: is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.admin, tt.entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("no token at all is an open API", func(t *testing.T) {
		if tok, err := New("", nil); tok != nil || err != nil {
			t.Fatalf("New = %v, %v; want nil, nil", tok, err)
		}
	})
}

func TestTokens_Authenticate(t *testing.T) {
	tok, err := New("admin-secret", []Entry{
		{Name: "alice", Token: "alice-secret", Groups: []string{"sre", "dba", "sre"}},
		{Name: "bob", SHA256: strings.ToUpper(hexDigest("bob-secret"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token      string
		ok         bool
		name       string // "" for the anonymous admin
		wantGroups []string
	}{
		{"alice-secret", true, "alice", []string{"dba", "sre"}},
		{"bob-secret", true, "bob", []string{}},
		{"admin-secret", true, "", nil},
		{"alice-secre", false, "", nil},
		{"", false, "", nil},
	}
	for _, tt := range tests {
		c, ok := tok.Authenticate(tt.token)
		if ok != tt.ok {
			t.Errorf("%q: ok = %v, want %v", tt.token, ok, tt.ok)
			continue
		}
		switch {
		case tt.name == "" && c != nil:
			t.Errorf("%q: caller %+v, want none", tt.token, c)
		case tt.name != "" && (c == nil || c.Name != tt.name || !slices.Equal(c.Groups, tt.wantGroups)):
			t.Errorf("%q: caller %+v, want %s in %v", tt.token, c, tt.name, tt.wantGroups)
		}
	}
	// A caller handed out is the caller's to keep: changing it changes no
	// later answer.
	c, _ := tok.Authenticate("alice-secret")
	c.Groups[0] = "root"
	if again, _ := tok.Authenticate("alice-secret"); again.Groups[0] != "dba" {
		t.Errorf("groups changed through a returned caller: %v", again.Groups)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yamlFile := write("tokens.yaml", "- name: alice\n  token: a1\n  groups: [sre]\n- name: ci\n  sha256: "+hexDigest("c1")+"\n")
	jsonFile := write("tokens.json", `[{"name": "alice", "token": "a1", "groups": ["sre"]}, {"name": "ci", "sha256": "`+hexDigest("c1")+`"}]`)
	for _, p := range []string{yamlFile, jsonFile} {
		entries, err := LoadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		tok, err := New("", entries)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if c, ok := tok.Authenticate("c1"); !ok || c.Name != "ci" {
			t.Errorf("%s: c1 is %+v %v, want ci", p, c, ok)
		}
		if c, ok := tok.Authenticate("a1"); !ok || c.Name != "alice" || !slices.Equal(c.Groups, []string{"sre"}) {
			t.Errorf("%s: a1 is %+v %v, want alice in sre", p, c, ok)
		}
	}
	if _, err := LoadFile(write("typo.yaml", "- name: alice\n  token: a1\n  grups: [sre]\n")); err == nil ||
		!strings.Contains(err.Error(), "grups") {
		t.Errorf("a misspelt field: %v, want it refused by name", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file was read")
	}
}

func TestCallerContext(t *testing.T) {
	if CallerFrom(context.Background()) != nil {
		t.Fatal("a caller in an empty context")
	}
	tok, _ := New("", []Entry{{Name: "alice", Token: "a"}})
	c, _ := tok.Authenticate("a")
	if got := CallerFrom(WithCaller(context.Background(), c)); got != c {
		t.Fatalf("CallerFrom = %v, want %v", got, c)
	}
}
