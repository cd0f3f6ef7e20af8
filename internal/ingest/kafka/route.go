package kafka

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/ownership"
)

// Route says which process serves workspace ws with Kafka: "" for this one,
// else the advertised address of the one that does. The holder of the
// workspace's lease serves it; a workspace nobody holds is served by the
// consumer of its partition (the one it was fed from, else its key's),
// which takes its lease here when that is this process. A workspace that is
// not stored answers ENOTFOUND. With SQLite (no leases) this process serves
// everything.
func (in *Intake) Route(ctx context.Context, ws string, _ bool) (string, error) {
	leases := in.cfg.Leases
	if leases == nil || leases.Owns(ws) {
		return "", nil
	}
	h, err := leases.Holder(ctx, ws)
	switch {
	case err == nil && h.Live && h.Owner != in.cfg.Owner && h.Address == in.cfg.Address:
		return "", fmt.Errorf("%w: %w", model.Errorf(model.EUNAVAILABLE,
			"workspace %s is held by a previous process at this address until its lease runs out; retry shortly", ws),
			ownership.ErrSelfHeld)
	case err == nil && h.Live && h.Owner != in.cfg.Owner:
		return h.Address, nil
	case err != nil && model.ErrorCode(err) != model.ENOTFOUND:
		return "", err
	}
	stored, err := in.cfg.DB.HasWorkspace(ctx, ws)
	if err != nil {
		return "", err
	}
	if !stored {
		return "", model.Errorf(model.ENOTFOUND, "workspace %q not found", ws)
	}
	p, fed, err := in.cfg.DB.FedFrom(ctx, ws, in.cfg.Topic)
	if err != nil {
		return "", err
	}
	if !fed {
		p = PartitionOf(ws, in.partitions)
	}
	in.mu.Lock()
	_, mine := in.owned[p]
	in.mu.Unlock()
	if mine {
		if _, err := leases.Take(ctx, []string{ws}, true); err != nil {
			return "", err
		}
		in.hold(p, ws)
		return "", nil
	}
	parts, err := in.cfg.DB.Partitions(ctx, in.cfg.Topic)
	if err != nil {
		return "", err
	}
	owner := parts[p]
	if owner.Address == "" || owner.Owner == in.cfg.Owner {
		return "", model.Errorf(model.EUNAVAILABLE,
			"workspace %s is in partition %d, which is being assigned; retry shortly", ws, p)
	}
	return owner.Address, nil
}
