package kafka

import (
	"context"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// loadConcurrency bounds the workspaces loaded at once after an
// assignment.
const loadConcurrency = 4

// assigned takes over newly assigned partitions: records them as this
// process's in the database (reads are forwarded here), takes the leases of
// their workspaces by force (the group decides who owns a partition; an old
// owner's commits are fenced from now on), and loads the workspaces in the
// background so that their timers and jobs go on.
func (in *Intake) assigned(ctx context.Context, _ *kgo.Client, topics map[string][]int32) {
	parts := topics[in.cfg.Topic]
	if len(parts) == 0 {
		return
	}
	slices.Sort(parts)
	if err := in.cfg.DB.ClaimPartitions(ctx, in.cfg.Topic, parts, in.cfg.Owner, in.cfg.Address); err != nil {
		in.log.Warn("recording the partitions assigned failed; reads may be forwarded to their previous owner for a while",
			"partitions", parts, "err", err)
	}
	var load []string
	for _, p := range parts {
		ids, err := in.workspacesOf(ctx, p)
		if err != nil {
			in.log.Warn("listing the workspaces of an assigned partition failed; they load when their records come",
				"partition", p, "err", err)
		}
		if in.cfg.Leases != nil && len(ids) > 0 {
			if ids, err = in.cfg.Leases.Take(ctx, ids, true); err != nil {
				in.log.Warn("taking the leases of an assigned partition failed; they are taken when their records come",
					"partition", p, "err", err)
			}
		}
		in.mu.Lock()
		held := map[string]bool{}
		for _, id := range ids {
			held[id] = true
		}
		in.owned[p] = held
		in.mu.Unlock()
		load = append(load, ids...)
	}
	in.metrics.assigned.Set(float64(len(in.Assigned())))
	in.log.Info("partitions assigned", "topic", in.cfg.Topic, "partitions", parts, "workspaces", len(load))
	in.bg.Go(func() { in.loadAll(load) })
}

// workspacesOf returns the stored workspaces of partition p: those fed from
// it, and those fed from none yet whose key it is.
func (in *Intake) workspacesOf(ctx context.Context, p int32) ([]string, error) {
	fed, unfed, err := in.cfg.DB.PartitionWorkspaces(ctx, in.cfg.Topic, p)
	for _, id := range unfed {
		if PartitionOf(id, in.partitions) == p {
			fed = append(fed, id)
		}
	}
	return fed, err
}

// loadAll loads workspaces of assigned partitions, a few at a time, while
// they stay assigned.
func (in *Intake) loadAll(ids []string) {
	sem := make(chan struct{}, loadConcurrency)
	var wg sync.WaitGroup
	for _, id := range ids {
		if in.ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if !in.holds(id) {
				return
			}
			if _, err := in.cfg.Engine.Load(in.ctx, id); err != nil && in.holds(id) {
				in.log.Warn("loading a workspace of an assigned partition failed; it loads with its next record",
					"workspace", id, "err", err)
			}
		})
	}
	wg.Wait()
}

// holds reports whether ws is held for a partition assigned here.
func (in *Intake) holds(ws string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, held := range in.owned {
		if held[ws] {
			return true
		}
	}
	return false
}

// hold notes that ws, whose record came from partition p, is held here.
func (in *Intake) hold(p int32, ws string) {
	in.mu.Lock()
	if held := in.owned[p]; held != nil {
		held[ws] = true
	}
	in.mu.Unlock()
}

// seek starts every assigned partition at its floor in the database: the
// offset below which every workspace has applied every record. Kafka's
// committed offsets are not used: the database is the truth, written with
// the effects.
func (in *Intake) seek(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	mine := offsets[in.cfg.Topic]
	if len(mine) == 0 {
		return offsets, nil
	}
	stored, err := in.cfg.DB.Partitions(ctx, in.cfg.Topic)
	if err != nil {
		// Without the floors, consuming would start from Kafka's idea of
		// the position; failing makes the client retry the join.
		in.log.Warn("reading the partitions' positions failed; joining the group again", "err", err)
		return nil, err
	}
	for p := range mine {
		if next := stored[p].Next; next > 0 {
			mine[p] = kgo.NewOffset().At(next)
		} else {
			mine[p] = kgo.NewOffset().AtStart()
		}
	}
	return offsets, nil
}

// revoked gives partitions up after the records in hand finished: their
// workspaces are unloaded, which releases their leases.
func (in *Intake) revoked(_ context.Context, _ *kgo.Client, topics map[string][]int32) {
	in.drop(topics[in.cfg.Topic], "revoked")
}

// lost is revoked for partitions the group took away without asking (this
// member was thrown out): another process may own them already.
func (in *Intake) lost(_ context.Context, _ *kgo.Client, topics map[string][]int32) {
	in.drop(topics[in.cfg.Topic], "lost")
}

func (in *Intake) drop(parts []int32, how string) {
	if len(parts) == 0 {
		return
	}
	in.mu.Lock()
	var ids []string
	for _, p := range parts {
		for id := range in.owned[p] {
			ids = append(ids, id)
		}
		delete(in.owned, p)
		in.metrics.lag.DeleteLabelValues(partitionLabel(p))
	}
	in.mu.Unlock()
	for _, id := range ids {
		if !in.holds(id) {
			in.cfg.Engine.Unload(id)
		}
	}
	in.metrics.assigned.Set(float64(len(in.Assigned())))
	in.log.Info("partitions "+how, "topic", in.cfg.Topic, "partitions", parts, "workspaces", len(ids))
}
