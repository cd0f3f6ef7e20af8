// Package secrets seals sensitive variable values with AES-GCM so that they
// are stored and shown only encrypted, and opens them for the dispatch
// context handed to a job agent.
//
// Every ciphertext is bound to where its value lives (a binding such as
// "ws-1/deploymentVariableValue/v-1", given by the engine) through the
// AEAD's associated data: it opens only under the binding it was sealed
// with, so a ciphertext copied to another workspace or variable does not
// open there.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Sealer encrypts and decrypts sensitive values with one key. It is safe for
// concurrent use.
type Sealer struct {
	aead        cipher.AEAD
	hashKey     []byte
	fingerprint string
}

// New returns a sealer for a 32-byte key given as 64 hex digits or as
// standard base64 (the form of GATEHOUSE_ENCRYPTION_KEY).
func New(key string) (*Sealer, error) {
	raw, err := decodeKey(key)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	// The value hash uses a key derived from, but distinct from, the
	// encryption key, so hashes reveal nothing and never collide across keys.
	return &Sealer{aead: aead, hashKey: derive(raw, "gatehouse value hash"),
		fingerprint: hex.EncodeToString(derive(raw, "gatehouse key fingerprint"))}, nil
}

// derive returns a key for one purpose from the encryption key.
func derive(key []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// Fingerprint identifies the key without revealing it (64 hex digits), so
// that a database can record which key sealed its values.
func (s *Sealer) Fingerprint() string { return s.fingerprint }

func decodeKey(key string) ([]byte, error) {
	if raw, err := hex.DecodeString(key); err == nil && len(raw) == 32 {
		return raw, nil
	}
	if raw, err := base64.StdEncoding.DecodeString(key); err == nil && len(raw) == 32 {
		return raw, nil
	}
	return nil, errors.New("encryption key must be 32 bytes, as 64 hex digits or base64")
}

// Seal returns the stored form of a clear value bound to binding: its
// ciphertext, the binding, and a keyed hash that identifies the value
// (releases are keyed by the hash, so the same secret gives the same release
// wherever and however often it is sealed).
func (s *Sealer) Seal(clear, binding string) (*model.SensitiveValue, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	ct := s.aead.Seal(nonce, nonce, []byte(clear), []byte(binding))
	return &model.SensitiveValue{Ciphertext: base64.StdEncoding.EncodeToString(ct), ValueHash: s.Hash(clear),
		Binding: binding}, nil
}

// ErrNotOpened is returned by Open for a ciphertext that does not open: it
// was sealed under another binding or key, or was altered.
var ErrNotOpened = errors.New("sensitive value does not open: sealed for another place or with another key, or altered")

// Open returns the clear text of a sealed value, which must have been
// sealed under binding. The binding the value carries is ignored: the
// caller says where the value is expected to belong.
func (s *Sealer) Open(v *model.SensitiveValue, binding string) (string, error) {
	ct, err := base64.StdEncoding.DecodeString(v.Ciphertext)
	if err != nil || len(ct) < s.aead.NonceSize() {
		return "", errors.New("open sensitive value: malformed ciphertext")
	}
	n := s.aead.NonceSize()
	clear, err := s.aead.Open(nil, ct[:n], ct[n:], []byte(binding))
	if err != nil {
		return "", ErrNotOpened
	}
	return string(clear), nil
}

// Hash returns the keyed hash of a clear value, as Seal records it.
func (s *Sealer) Hash(clear string) string {
	mac := hmac.New(sha256.New, s.hashKey)
	mac.Write([]byte(clear))
	return hex.EncodeToString(mac.Sum(nil))
}
