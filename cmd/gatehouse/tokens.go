package main

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
)

// loadTokens returns the API's tokens: the admin token and those of the
// tokens file, read once at start. A file that does not read or holds a bad
// entry stops the server, naming the entry.
func loadTokens(cfg Config) (*auth.Tokens, error) {
	var entries []auth.Entry
	if cfg.TokensFile != "" {
		var err error
		if entries, err = auth.LoadFile(cfg.TokensFile); err != nil {
			return nil, fmt.Errorf("--tokens-file: %w", err)
		}
	}
	t, err := auth.New(cfg.Token, entries)
	if err != nil {
		return nil, fmt.Errorf("--tokens-file %s: entry %w", cfg.TokensFile, err)
	}
	return t, nil
}
