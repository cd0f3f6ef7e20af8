package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_TokensFile: the server takes the tokens of --tokens-file beside
// --token, and refuses to start on a file it cannot use.
func TestServe_TokensFile(t *testing.T) {
	dir := t.TempDir()
	digest := sha256.Sum256([]byte("alice-secret"))
	good := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(good, []byte("- name: alice\n  sha256: "+hex.EncodeToString(digest[:])+"\n  groups: [sre]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- name: alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig("memory")
	cfg.TokensFile = bad
	if m, err := Open(context.Background(), cfg); err == nil {
		m.Close()
		t.Fatal("the server started on a tokens file whose entry has no token")
	} else if !strings.Contains(err.Error(), "--tokens-file") || !strings.Contains(err.Error(), "exactly one of token and sha256") {
		t.Fatalf("error %q does not say which entry is wrong", err)
	}

	cfg.TokensFile, cfg.Token = good, "admin-secret"
	rm := startMainWith(t, cfg)
	call := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+rm.Addr()+"/v1/workspaces", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for token, want := range map[string]int{"alice-secret": 200, "admin-secret": 200, "mallory": 401} {
		if got := call(token); got != want {
			t.Errorf("token %q: %d, want %d", token, got, want)
		}
	}
}
