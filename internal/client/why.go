package client

import (
	"context"
	"net/http"
	"sync"

	"golang.org/x/sync/errgroup"
)

// WhyBlocked returns, by target key, why the newest version of each
// target's deployment does not pass on targets that have no desired
// release: "v1.2.0: <the first failing rule's message>", or "no versions".
// The server's own reason for those targets only says that no version
// passes. It asks about at most limit targets, four at a time; the others
// are left out of the answer.
func (c *Client) WhyBlocked(ctx context.Context, targets []ReleaseTarget, limit int) (map[string]string, error) {
	out := map[string]string{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	asked := 0
	for _, t := range targets {
		if t.DesiredRelease != nil || asked >= limit {
			continue
		}
		asked++
		g.Go(func() error {
			why, err := c.whyBlocked(gctx, t.Key)
			if err != nil {
				return err
			}
			mu.Lock()
			out[t.Key] = why
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) whyBlocked(ctx context.Context, key string) (string, error) {
	ev, err := c.Evaluate(ctx, key, "")
	if IsStatus(err, http.StatusNotFound) {
		// The deployment has no versions (or the target went away since
		// it was listed).
		return "no versions", nil
	}
	if err != nil {
		return "", err
	}
	if ev.Allowed {
		return ev.Version.Tag + ": may deploy", nil
	}
	return ev.Version.Tag + ": " + ev.Message, nil
}
