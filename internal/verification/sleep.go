package verification

import (
	"context"
	"fmt"
	"time"
)

// SleepProvider waits and then reports success; it lets a verification hold
// a release for a soak period without measuring anything.
type SleepProvider struct {
	Duration time.Duration
	deps     Deps
}

func parseSleep(r *specReader, deps Deps) Provider {
	// Zero is a verification that passes at once, which ctrlplane users
	// write to exercise their rollback and progression rules.
	secs := r.intIn("durationSeconds", 0, 0, 3600, true)
	return &SleepProvider{Duration: time.Duration(secs) * time.Second, deps: deps}
}

// Measure waits Duration and returns {"ok": true}; a cancelled context is
// an error so an aborted verification does not count as passed.
func (p *SleepProvider) Measure(ctx context.Context) (map[string]any, error) {
	if err := p.deps.sleep(ctx, p.Duration); err != nil {
		return nil, fmt.Errorf("sleep: %w", err)
	}
	return map[string]any{"ok": true}, nil
}
