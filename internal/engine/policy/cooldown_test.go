package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestEvalVersionCooldown(t *testing.T) {
	const interval = 5 * time.Minute
	// v1 was created at fxBase (14:00:00), v1b two minutes later; the
	// candidate v2 later still, so only the reference's age matters.
	tests := []struct {
		name      string
		now       time.Duration
		candidate string // id of the candidate version
		setup     func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion)
		want      fxWant
		wantRef   string
	}{
		{
			name:      "no jobs: nothing to cool down from",
			candidate: "v2",
			want:      fxWant{outcome: fxAllowed, msg: []string{"no version has been deployed"}},
		},
		{
			name:      "only a failed job: no reference",
			candidate: "v2",
			setup: func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
				w.job("j1", w.release(t, vs["v1"]), model.JobFailure, fxBase, fxAt(time.Minute))
			},
			want: fxWant{outcome: fxAllowed, msg: []string{"no version has been deployed"}},
		},
		{
			name:      "candidate is the current release",
			now:       time.Minute,
			candidate: "v1",
			setup:     deployedV1,
			want:      fxWant{outcome: fxAllowed, msg: []string{"already on this target"}},
			wantRef:   "v1",
		},
		{
			name:      "one second before the cooldown ends is denied",
			now:       interval - time.Second,
			candidate: "v2",
			setup:     deployedV1,
			want: fxWant{outcome: fxDenied, next: fxTime(fxAt(interval)),
				msg: []string{"cooldown: v1 was created at 14:00 UTC; v2 may deploy from 14:05 UTC"}},
			wantRef: "v1",
		},
		{
			name:      "exactly when the cooldown ends is allowed",
			now:       interval,
			candidate: "v2",
			setup:     deployedV1,
			want:      fxWant{outcome: fxAllowed, msg: []string{"cooldown over: v1 was created at 14:00 UTC; v2 may deploy since 14:05 UTC"}},
			wantRef:   "v1",
		},
		{
			name:      "a processing job is preferred over the current release",
			now:       interval,
			candidate: "v2",
			setup: func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
				deployedV1(w, t, vs)
				w.job("j2", w.release(t, vs["v1b"]), model.JobInProgress, fxAt(3*time.Minute), time.Time{})
			},
			want: fxWant{outcome: fxDenied, next: fxTime(fxAt(2*time.Minute + interval)),
				msg: []string{"v1b was created at 14:02 UTC", "may deploy from 14:07 UTC"}},
			wantRef: "v1b",
		},
		{
			name:      "the newest of several processing jobs is the reference",
			now:       interval,
			candidate: "v2",
			setup: func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
				w.job("j-new", w.release(t, vs["v1b"]), model.JobPending, fxAt(4*time.Minute), time.Time{})
				w.job("j-old", w.release(t, vs["v1"]), model.JobActionRequired, fxAt(time.Minute), time.Time{})
			},
			want:    fxWant{outcome: fxDenied, next: fxTime(fxAt(2*time.Minute + interval))},
			wantRef: "v1b",
		},
		{
			name:      "candidate is the version being rolled out",
			now:       time.Minute,
			candidate: "v1b",
			setup: func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
				deployedV1(w, t, vs)
				w.job("j2", w.release(t, vs["v1b"]), model.JobPending, fxAt(3*time.Minute), time.Time{})
			},
			want:    fxWant{outcome: fxAllowed},
			wantRef: "v1b",
		},
		{
			name:      "a later failed job does not replace the current release",
			now:       interval - time.Second,
			candidate: "v2",
			setup: func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
				deployedV1(w, t, vs)
				w.job("j2", w.release(t, vs["v1b"]), model.JobFailure, fxAt(3*time.Minute), fxAt(4*time.Minute))
			},
			want:    fxWant{outcome: fxDenied, next: fxTime(fxAt(interval))},
			wantRef: "v1",
		},
		{
			name:      "falls back to the release's copy of a deleted version",
			now:       interval - time.Second,
			candidate: "v2",
			setup: func(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
				gone := fxVersion("v0", "api", "v0", fxAt(-time.Minute))
				w.job("j1", w.release(t, gone), model.JobSuccessful, fxBase, fxAt(time.Minute))
			},
			want:    fxWant{outcome: fxAllowed, msg: []string{"v0 was created at 13:59 UTC"}},
			wantRef: "v0",
		},
		{
			name:      "a reference from another day shows the date",
			now:       24 * time.Hour,
			candidate: "v2",
			setup:     deployedV1,
			want:      fxWant{outcome: fxAllowed, msg: []string{"2025-03-01 14:00 UTC"}},
			wantRef:   "v1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFxWorld(t)
			target := w.target("cluster-1", "prod", "api")
			vs := map[string]*model.DeploymentVersion{
				"v1":  w.version("v1", "api", "v1", fxBase),
				"v1b": w.version("v1b", "api", "v1b", fxAt(2*time.Minute)),
				"v2":  w.version("v2", "api", "v2", fxAt(3*time.Minute)),
			}
			if tt.setup != nil {
				tt.setup(w, target, vs)
			}
			rule := &model.PolicyRule{ID: "rule-cooldown",
				VersionCooldown: &model.VersionCooldownRule{IntervalSeconds: int(interval / time.Second)}}

			got := evalVersionCooldown(fxInput(fxAt(tt.now), w.reader(), target, vs[tt.candidate]), rule)

			fxCheck(t, got, rule, KindVersionCooldown, tt.want)
			if ref, _ := got.Details["referenceVersionId"].(string); ref != tt.wantRef {
				t.Errorf("details.referenceVersionId = %q, want %q", ref, tt.wantRef)
			}
		})
	}
}

// deployedV1 makes v1 the target's current release.
func deployedV1(w *fxWorld, t *model.ReleaseTarget, vs map[string]*model.DeploymentVersion) {
	w.job("j1", w.release(t, vs["v1"]), model.JobSuccessful, fxBase, fxAt(time.Minute))
}
