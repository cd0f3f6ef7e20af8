// Package secrets seals sensitive variable values with AES-GCM so that they
// are stored and shown only encrypted, and opens them for the dispatch
// context handed to a job agent.
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
	aead    cipher.AEAD
	hashKey []byte
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
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte("gatehouse value hash"))
	return &Sealer{aead: aead, hashKey: mac.Sum(nil)}, nil
}

func decodeKey(key string) ([]byte, error) {
	if raw, err := hex.DecodeString(key); err == nil && len(raw) == 32 {
		return raw, nil
	}
	if raw, err := base64.StdEncoding.DecodeString(key); err == nil && len(raw) == 32 {
		return raw, nil
	}
	return nil, errors.New("encryption key must be 32 bytes, as 64 hex digits or base64")
}

// Seal returns the stored form of a clear value: its ciphertext and a keyed
// hash that identifies it (releases are keyed by the hash, so the same
// secret gives the same release).
func (s *Sealer) Seal(clear string) (*model.SensitiveValue, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	ct := s.aead.Seal(nonce, nonce, []byte(clear), nil)
	return &model.SensitiveValue{Ciphertext: base64.StdEncoding.EncodeToString(ct), ValueHash: s.hash(clear)}, nil
}

// Open returns the clear text of a sealed value.
func (s *Sealer) Open(v *model.SensitiveValue) (string, error) {
	ct, err := base64.StdEncoding.DecodeString(v.Ciphertext)
	if err != nil || len(ct) < s.aead.NonceSize() {
		return "", errors.New("open sensitive value: malformed ciphertext")
	}
	n := s.aead.NonceSize()
	clear, err := s.aead.Open(nil, ct[:n], ct[n:], nil)
	if err != nil {
		return "", errors.New("open sensitive value: wrong key or corrupted value")
	}
	return string(clear), nil
}

func (s *Sealer) hash(clear string) string {
	mac := hmac.New(sha256.New, s.hashKey)
	mac.Write([]byte(clear))
	return hex.EncodeToString(mac.Sum(nil))
}
