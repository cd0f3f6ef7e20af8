package engine

import (
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A freeze holds job creation, not version selection: while one is in
// force on a target, the target's desired release is still worked out (and
// shown), but no job is made for it. Running jobs are not touched, and a
// rollback, which returns a target to what ran before, is not held.

var freezeKind = entityKind[model.Freeze]{
	name: "freeze", table: store.Freezes,
	check: func(u *unit, f *model.Freeze) error {
		f.WorkspaceID = u.tx.WorkspaceID()
		if f.CreatedAt.IsZero() {
			f.CreatedAt = u.tx.Now()
		}
		if !f.Until.IsZero() {
			f.Until = f.Until.UTC()
		}
		return checkCEL("freeze.selector", string(f.Selector), policyEnv)
	},
	afterUpsert: func(u *unit, old, f *model.Freeze) error {
		before := ""
		if old != nil {
			before = string(old.Selector)
		}
		return u.markSelected(before, string(f.Selector))
	},
	afterRemove: func(u *unit, f *model.Freeze) error { return u.markSelected(string(f.Selector)) },
}

// freezeHold is what holds a target's jobs: the freezes in force on it.
type freezeHold struct {
	freezes []*model.Freeze
	// until is the earliest end among them, when the target must be looked
	// at again; nil when none of them ends by itself.
	until *time.Time
}

// message says what holds the target: "frozen by <reason> until <time>",
// one clause per freeze.
func (h *freezeHold) message() string {
	parts := make([]string, len(h.freezes))
	for i, f := range h.freezes {
		until := "it is lifted"
		if !f.Until.IsZero() {
			until = f.Until.UTC().Format(time.RFC3339)
		}
		parts[i] = "frozen by " + f.Reason + " until " + until
	}
	return strings.Join(parts, "; ")
}

// activeFreezes returns the freezes in force at now.
func activeFreezes(r store.Reader, now time.Time) []*model.Freeze {
	var out []*model.Freeze
	for _, f := range store.Freezes.Items(r) {
		if f.InForce(now) {
			out = append(out, f)
		}
	}
	return out
}

// frozen returns what holds the target's jobs now, or nil.
func (p *planner) frozen(te *targetEntities) (*freezeHold, error) {
	var h *freezeHold
	for _, f := range p.freezes {
		ok, err := picks(string(f.Selector), te)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if h == nil {
			h = &freezeHold{}
		}
		h.freezes = append(h.freezes, f)
		if !f.Until.IsZero() {
			until := f.Until
			h.until = earliest(h.until, &until)
		}
	}
	return h, nil
}

// refuseFrozen refuses a redeploy of a frozen target (409): a redeploy asks
// for a job now, and a freeze says there is none to be had.
func (u *unit) refuseFrozen(t *model.ReleaseTarget) error {
	te, err := loadTarget(u.tx, t)
	if err != nil {
		return err
	}
	p := &planner{r: u.tx, now: u.tx.Now(), freezes: activeFreezes(u.tx, u.tx.Now())}
	h, err := p.frozen(te)
	if err != nil || h == nil {
		return err
	}
	return model.Errorf(model.ECONFLICT, "release target %s is %s; redeploy once the freeze is lifted", t.WireKey(), h.message())
}
