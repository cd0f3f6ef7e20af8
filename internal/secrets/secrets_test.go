package secrets

import (
	"errors"
	"strings"
	"testing"
)

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestSealer_SealOpen(t *testing.T) {
	s, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	const here, there = "ws-1/deploymentVariableValue/v-1", "ws-2/deploymentVariableValue/v-1"
	a, err := s.Seal("hunter2", here)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Seal("hunter2", there)
	if strings.Contains(a.Ciphertext, "hunter2") || a.Value != "" {
		t.Fatal("the sealed form carries the clear text")
	}
	if a.Ciphertext == b.Ciphertext {
		t.Fatal("two seals of one value share a ciphertext (nonce reused)")
	}
	if a.ValueHash != b.ValueHash {
		t.Fatal("the hash of one value differs between seals")
	}
	if a.Binding != here {
		t.Fatalf("binding %q recorded, want %q", a.Binding, here)
	}
	if got, err := s.Open(a, here); err != nil || got != "hunter2" {
		t.Fatalf("open: got %q, %v", got, err)
	}
	// The binding the value carries is not what opens it.
	moved := *a
	moved.Binding = there
	if _, err := s.Open(&moved, there); !errors.Is(err, ErrNotOpened) {
		t.Fatalf("a ciphertext sealed for %s opened for %s: %v", here, there, err)
	}
	other, _ := New(strings.Repeat("ff", 32))
	if _, err := other.Open(a, here); !errors.Is(err, ErrNotOpened) {
		t.Fatal("a value opened with the wrong key")
	}
}

func TestSealer_Fingerprint(t *testing.T) {
	a, _ := New(testKey)
	b, _ := New(strings.Repeat("ff", 32))
	if a.Fingerprint() == b.Fingerprint() || len(a.Fingerprint()) != 64 {
		t.Fatalf("fingerprints %q and %q", a.Fingerprint(), b.Fingerprint())
	}
	if strings.Contains(a.Fingerprint(), testKey[:16]) {
		t.Fatal("the fingerprint shows the key")
	}
	again, _ := New(testKey)
	if again.Fingerprint() != a.Fingerprint() {
		t.Fatal("one key, two fingerprints")
	}
}

func TestNew_RejectsBadKeys(t *testing.T) {
	for _, key := range []string{"", "short", strings.Repeat("zz", 32)} {
		if _, err := New(key); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}
