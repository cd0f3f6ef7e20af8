package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// fxBase is the fixed instant rule tests count from; no test reads the wall
// clock.
var fxBase = time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC)

// fxAt returns fxBase plus d.
func fxAt(d time.Duration) time.Time { return fxBase.Add(d) }

// fxWorld is a workspace being built in a real in-memory store. Entities go
// in through one write transaction; reader commits it and returns the
// snapshot rules read.
type fxWorld struct {
	t  *testing.T
	st *store.Store
	tx *store.Tx
}

func newFxWorld(t *testing.T) *fxWorld {
	t.Helper()
	st, err := store.New("ws", store.WithClock(func() time.Time { return fxBase }))
	if err != nil {
		t.Fatalf("store.New: %v", err)
	}
	tx := st.Begin(context.Background())
	t.Cleanup(tx.Abort)
	return &fxWorld{t: t, st: st, tx: tx}
}

// fxPut upserts v into table, failing the test on error.
func fxPut[T any](w *fxWorld, table *store.Table[T], v *T) *T {
	w.t.Helper()
	if err := table.Upsert(w.tx, table.Key(v), v); err != nil {
		w.t.Fatalf("upsert %s: %v", table.Kind, err)
	}
	return v
}

// reader commits what was put and returns a snapshot of it.
func (w *fxWorld) reader() store.Reader {
	w.t.Helper()
	if err := w.tx.Commit(); err != nil {
		w.t.Fatalf("commit: %v", err)
	}
	return w.st.Snapshot()
}

// target stores the release target (resource, environment, deployment).
func (w *fxWorld) target(resourceID, environmentID, deploymentID string) *model.ReleaseTarget {
	return fxPut(w, store.ReleaseTargets, &model.ReleaseTarget{
		ResourceID: resourceID, EnvironmentID: environmentID, DeploymentID: deploymentID})
}

// version stores a ready version of deployment created at createdAt.
func (w *fxWorld) version(id, deploymentID, tag string, createdAt time.Time) *model.DeploymentVersion {
	return fxPut(w, store.DeploymentVersions, fxVersion(id, deploymentID, tag, createdAt))
}

// release stores a release of v for t.
func (w *fxWorld) release(t *model.ReleaseTarget, v *model.DeploymentVersion) *model.Release {
	return fxPut(w, store.Releases, &model.Release{
		ID: "rel-" + v.ID + "-" + t.Key(), Version: v, ReleaseTarget: *t, CreatedAt: v.CreatedAt})
}

// job stores a job of rel in status, created at createdAt and (when not
// zero) completed at completedAt. The dispatch context carries the release
// because that is how jobs are indexed per target.
func (w *fxWorld) job(id string, rel *model.Release, status string, createdAt, completedAt time.Time) *model.Job {
	return fxPut(w, store.Jobs, &model.Job{
		ID: id, ReleaseID: rel.ID, Status: status, CreatedAt: createdAt, UpdatedAt: createdAt,
		CompletedAt: completedAt, DispatchContext: &model.DispatchContext{Release: rel}})
}

// approval stores userID's decision on version in environment at createdAt.
func (w *fxWorld) approval(userID, versionID, environmentID, status string, createdAt time.Time) {
	fxPut(w, store.UserApprovalRecords, &model.UserApprovalRecord{
		UserID: userID, VersionID: versionID, EnvironmentID: environmentID, Status: status, CreatedAt: createdAt})
}

// deployment stores a deployment whose name and slug are its id.
func (w *fxWorld) deployment(id string, metadata map[string]string) *model.Deployment {
	return fxPut(w, store.Deployments, &model.Deployment{ID: id, Name: id, Slug: id, Metadata: metadata})
}

// fxVersion returns a ready version without storing it.
func fxVersion(id, deploymentID, tag string, createdAt time.Time) *model.DeploymentVersion {
	return &model.DeploymentVersion{ID: id, DeploymentID: deploymentID, Tag: tag, Name: tag,
		Status: model.VersionReady, CreatedAt: createdAt, Metadata: map[string]string{}}
}

// fxInput returns the input for evaluating v on t at now, with environment,
// resource and deployment entities named after their ids.
func fxInput(now time.Time, r store.Reader, t *model.ReleaseTarget, v *model.DeploymentVersion) *Input {
	return &Input{
		Now: now, Reader: r, Target: t, Version: v,
		Environment: &model.Environment{ID: t.EnvironmentID, Name: t.EnvironmentID, Metadata: map[string]string{}},
		Resource:    &model.Resource{ID: t.ResourceID, Name: t.ResourceID, Identifier: t.ResourceID, Metadata: map[string]string{}},
		Deployment:  &model.Deployment{ID: t.DeploymentID, Name: t.DeploymentID, Slug: t.DeploymentID, Metadata: map[string]string{}},
	}
}

// fxOutcome is the expected shape of a Result.
type fxOutcome int

const (
	fxAllowed fxOutcome = iota
	fxDenied
	fxPendingApproval
	fxPendingWait
)

func (o fxOutcome) String() string {
	return [...]string{"allowed", "denied", "pending(approval)", "pending(wait)"}[o]
}

func fxOutcomeOf(r Result) fxOutcome {
	switch {
	case r.Allowed:
		return fxAllowed
	case r.ActionRequired && r.ActionType == ActionApproval:
		return fxPendingApproval
	case r.ActionRequired && r.ActionType == ActionWait:
		return fxPendingWait
	}
	return fxDenied
}

// fxWant is what a rule test checks: the outcome, parts of the message, and
// the two times (nil means the result must not carry one).
type fxWant struct {
	outcome     fxOutcome
	msg         []string
	satisfiedAt *time.Time
	next        *time.Time
}

// fxTime returns a pointer to t, for fxWant.
func fxTime(t time.Time) *time.Time { return &t }

// fxCheck compares got with want and the rule's id and kind.
func fxCheck(t *testing.T, got Result, rule *model.PolicyRule, kind string, want fxWant) {
	t.Helper()
	if got.RuleID != rule.ID || got.Kind != kind {
		t.Errorf("rule/kind = %q/%q, want %q/%q", got.RuleID, got.Kind, rule.ID, kind)
	}
	if o := fxOutcomeOf(got); o != want.outcome {
		t.Errorf("outcome = %v, want %v (message %q)", o, want.outcome, got.Message)
	}
	for _, part := range want.msg {
		if !strings.Contains(got.Message, part) {
			t.Errorf("message = %q, want it to contain %q", got.Message, part)
		}
	}
	fxCheckTime(t, "satisfiedAt", got.SatisfiedAt, want.satisfiedAt)
	fxCheckTime(t, "nextEvaluationTime", got.NextEvaluationTime, want.next)
	if got.Details == nil {
		t.Error("details is nil")
	}
}

func fxCheckTime(t *testing.T, name string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", name, got, want)
	case !got.Equal(*want):
		t.Errorf("%s = %v, want %v", name, *got, *want)
	}
}
