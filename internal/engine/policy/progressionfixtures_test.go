package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// progFixture is a workspace in a real in-memory store for the progression,
// rollout and window tests: one deployment, environments linked to systems,
// release targets, versions, releases and jobs. Every method writes in its
// own committed transaction, so an Input built afterwards sees everything.
type progFixture struct {
	t          *testing.T
	st         *store.Store
	deployment *model.Deployment
	jobs       int
}

// newProgFixture returns an empty workspace holding deployment "d1".
func newProgFixture(t *testing.T) *progFixture {
	t.Helper()
	st, err := store.New("ws")
	if err != nil {
		t.Fatal(err)
	}
	f := &progFixture{t: t, st: st, deployment: &model.Deployment{ID: "d1", Name: "api"}}
	f.write(func(tx *store.Tx) error { return store.Deployments.Upsert(tx, "d1", f.deployment) })
	return f
}

// write runs fn in a transaction and commits it, failing the test on error.
func (f *progFixture) write(fn func(tx *store.Tx) error) {
	f.t.Helper()
	tx := f.st.Begin(context.Background())
	defer tx.Abort()
	if err := fn(tx); err != nil {
		f.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

// env creates environment id named name, linked to the given systems.
func (f *progFixture) env(id, name string, systems ...string) *model.Environment {
	f.t.Helper()
	e := &model.Environment{ID: id, Name: name, CreatedAt: progT0}
	f.write(func(tx *store.Tx) error {
		if err := store.Environments.Upsert(tx, id, e); err != nil {
			return err
		}
		for _, s := range systems {
			l := &model.SystemEnvironmentLink{SystemID: s, EnvironmentID: id}
			if err := store.SystemEnvironments.Upsert(tx, l.Key(), l); err != nil {
				return err
			}
		}
		return nil
	})
	return e
}

// targets creates release targets of d1 in env for the resources named.
func (f *progFixture) targets(envID string, resources ...string) []*model.ReleaseTarget {
	f.t.Helper()
	out := make([]*model.ReleaseTarget, len(resources))
	f.write(func(tx *store.Tx) error {
		for i, r := range resources {
			out[i] = &model.ReleaseTarget{ResourceID: r, EnvironmentID: envID, DeploymentID: f.deployment.ID}
			if err := store.ReleaseTargets.Upsert(tx, out[i].Key(), out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

// version creates a ready version of d1 with the given id (also its tag).
func (f *progFixture) version(id string, createdAt time.Time) *model.DeploymentVersion {
	f.t.Helper()
	v := &model.DeploymentVersion{ID: id, Tag: id, DeploymentID: f.deployment.ID, Status: "ready", CreatedAt: createdAt}
	f.write(func(tx *store.Tx) error { return store.DeploymentVersions.Upsert(tx, id, v) })
	return v
}

// job records a job of version v on target t with the given status,
// completed at completedAt (zero: not completed), creating the release too.
func (f *progFixture) job(t *model.ReleaseTarget, v *model.DeploymentVersion, status string, completedAt time.Time) *model.Job {
	f.t.Helper()
	f.jobs++
	rel := &model.Release{ID: "rel-" + t.Key() + "-" + v.ID, Version: v, ReleaseTarget: *t, CreatedAt: v.CreatedAt}
	created := completedAt.Add(-time.Minute)
	if completedAt.IsZero() {
		created = v.CreatedAt
	}
	j := &model.Job{
		ID: fmt.Sprintf("job-%03d", f.jobs), ReleaseID: rel.ID, Status: status,
		DispatchContext: &model.DispatchContext{Release: rel},
		CreatedAt:       created, UpdatedAt: created, CompletedAt: completedAt,
	}
	f.write(func(tx *store.Tx) error {
		if err := store.Releases.Upsert(tx, rel.ID, rel); err != nil {
			return err
		}
		return store.Jobs.Upsert(tx, j.ID, j)
	})
	return j
}

// input is what a rule sees when evaluating v for target t at now.
func (f *progFixture) input(now time.Time, t *model.ReleaseTarget, v *model.DeploymentVersion, prior ...Result) *Input {
	f.t.Helper()
	r := f.st.Snapshot()
	env, err := store.Environments.Get(r, t.EnvironmentID)
	if err != nil {
		env = &model.Environment{ID: t.EnvironmentID}
	}
	return &Input{Now: now, Reader: r, Target: t, Environment: env, Deployment: f.deployment, Version: v, Prior: prior}
}

// progT0 is a fixed instant the fixtures count from.
var progT0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// progRule decodes a policy rule from JSON, as the API would, so that tests
// exercise the wire names.
func progRule(t *testing.T, js string) *model.PolicyRule {
	t.Helper()
	var r model.PolicyRule
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("decode rule %s: %v", js, err)
	}
	if r.ID == "" {
		r.ID = "rule-1"
	}
	return &r
}

// progTime parses an RFC 3339 instant.
func progTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// progWant is the part of a Result a table test checks; zero fields other
// than the state are not checked.
type progWant struct {
	state       string // "allowed", "denied" or "pending"
	satisfiedAt time.Time
	next        time.Time
	noNext      bool   // NextEvaluationTime must be nil
	msg         string // substring of the message
}

// check compares got with w.
func (w progWant) check(t *testing.T, got Result) {
	t.Helper()
	state := "denied"
	switch {
	case got.Allowed:
		state = "allowed"
	case got.ActionRequired:
		state = "pending"
		if got.ActionType != ActionWait {
			t.Errorf("actionType = %q, want %q", got.ActionType, ActionWait)
		}
	}
	if state != w.state {
		t.Errorf("state = %s, want %s (message %q)", state, w.state, got.Message)
	}
	if !w.satisfiedAt.IsZero() && (got.SatisfiedAt == nil || !got.SatisfiedAt.Equal(w.satisfiedAt)) {
		t.Errorf("satisfiedAt = %v, want %v", got.SatisfiedAt, w.satisfiedAt)
	}
	if !w.next.IsZero() && (got.NextEvaluationTime == nil || !got.NextEvaluationTime.Equal(w.next)) {
		t.Errorf("nextEvaluationTime = %v, want %v", got.NextEvaluationTime, w.next)
	}
	if w.noNext && got.NextEvaluationTime != nil {
		t.Errorf("nextEvaluationTime = %v, want none", got.NextEvaluationTime)
	}
	if w.msg != "" && !strings.Contains(got.Message, w.msg) {
		t.Errorf("message = %q, want it to contain %q", got.Message, w.msg)
	}
}
