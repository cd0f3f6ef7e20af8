package secrets

import (
	"strings"
	"testing"
)

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestSealer_SealOpen(t *testing.T) {
	s, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Seal("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Seal("hunter2")
	if strings.Contains(a.Ciphertext, "hunter2") || a.Value != "" {
		t.Fatal("the sealed form carries the clear text")
	}
	if a.Ciphertext == b.Ciphertext {
		t.Fatal("two seals of one value share a ciphertext (nonce reused)")
	}
	if a.ValueHash != b.ValueHash {
		t.Fatal("the hash of one value differs between seals")
	}
	if got, err := s.Open(a); err != nil || got != "hunter2" {
		t.Fatalf("open: got %q, %v", got, err)
	}
	other, _ := New(strings.Repeat("ff", 32))
	if _, err := other.Open(a); err == nil {
		t.Fatal("a value opened with the wrong key")
	}
}

func TestNew_RejectsBadKeys(t *testing.T) {
	for _, key := range []string{"", "short", strings.Repeat("zz", 32)} {
		if _, err := New(key); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}
