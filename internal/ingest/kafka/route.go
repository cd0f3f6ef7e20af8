package kafka

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/model"
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
	case err == nil && h.Live && h.Owner != in.cfg.Owner && h.Address != in.cfg.Address:
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
	p, mine, err := in.partitionHere(ctx, ws)
	if err != nil {
		return "", err
	}
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

// partitionHere returns the partition of ws (the one it was fed from, else
// its key's) and whether it is assigned to this process.
func (in *Intake) partitionHere(ctx context.Context, ws string) (int32, bool, error) {
	p, fed, err := in.cfg.DB.FedFrom(ctx, ws, in.cfg.Topic)
	if err != nil {
		return 0, false, err
	}
	if !fed {
		p = PartitionOf(ws, in.partitions)
	}
	in.mu.Lock()
	_, mine := in.owned[p]
	in.mu.Unlock()
	return p, mine, nil
}

// TakeOver takes the lease of ws when its partition is assigned here: its
// holder did not answer a forwarded request (it died before the group
// noticed). Otherwise the workspace waits for its partition's new owner.
func (in *Intake) TakeOver(ctx context.Context, ws string) error {
	if in.cfg.Leases == nil {
		return nil
	}
	p, mine, err := in.partitionHere(ctx, ws)
	if err != nil {
		return err
	}
	if !mine {
		return model.Errorf(model.EUNAVAILABLE,
			"the owner of workspace %s does not answer and its partition %d is not assigned here yet; retry shortly", ws, p)
	}
	if err := in.cfg.Leases.TakeOver(ctx, ws); err != nil {
		return err
	}
	in.hold(p, ws)
	return nil
}
