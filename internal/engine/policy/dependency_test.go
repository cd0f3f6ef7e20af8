package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestEvalDeploymentDependency(t *testing.T) {
	// The evaluated target is api on cluster-1 in prod. Helpers put a job of
	// a dependency deployment on a resource, in the same environment.
	jobOn := func(w *fxWorld, dep, resource, id, status string, created, completed time.Duration) {
		tg := w.target(resource, "prod", dep)
		v := w.version("ver-"+dep, dep, "v1", fxBase)
		var done time.Time
		if completed != 0 {
			done = fxAt(completed)
		}
		w.job(id, w.release(tg, v), status, fxAt(created), done)
	}
	tests := []struct {
		name          string
		dependsOn     string
		setup         func(w *fxWorld)
		want          fxWant
		wantMissing   []string
		wantSatisfied []string
	}{
		{
			name:          "latest completed job successful",
			dependsOn:     `deployment.name == "db"`,
			setup:         func(w *fxWorld) { jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute) },
			want:          fxWant{outcome: fxAllowed, msg: []string{"db deployed successfully on cluster-1"}, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantSatisfied: []string{"db"},
		},
		{
			name:      "latest completed job failed after an earlier success",
			dependsOn: `deployment.name == "db"`,
			setup: func(w *fxWorld) {
				jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute)
				jobOn(w, "db", "cluster-1", "j2", model.JobFailure, 2*time.Minute, 3*time.Minute)
			},
			want: fxWant{outcome: fxPendingWait,
				msg: []string{"waiting for a dependency to deploy successfully on cluster-1", "db (its latest job ended with status failure)"}},
			wantMissing: []string{"db"},
		},
		{
			name:      "completion time, not creation time, decides the latest job",
			dependsOn: `deployment.name == "db"`,
			setup: func(w *fxWorld) {
				jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, 10*time.Minute)
				jobOn(w, "db", "cluster-1", "j2", model.JobFailure, 2*time.Minute, 3*time.Minute)
			},
			want:          fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(10 * time.Minute))},
			wantSatisfied: []string{"db"},
		},
		{
			name:      "a processing job does not hide the last success",
			dependsOn: `deployment.name == "db"`,
			setup: func(w *fxWorld) {
				jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute)
				jobOn(w, "db", "cluster-1", "j2", model.JobInProgress, 2*time.Minute, 0)
			},
			want:          fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantSatisfied: []string{"db"},
		},
		{
			name:        "only processing jobs: nothing completed yet",
			dependsOn:   `deployment.name == "db"`,
			setup:       func(w *fxWorld) { jobOn(w, "db", "cluster-1", "j1", model.JobPending, 0, 0) },
			want:        fxWant{outcome: fxPendingWait, msg: []string{"db (no job has completed yet)"}},
			wantMissing: []string{"db"},
		},
		{
			name:        "dependency with no target on this resource",
			dependsOn:   `deployment.name == "db"`,
			setup:       func(w *fxWorld) { jobOn(w, "db", "cluster-2", "j1", model.JobSuccessful, 0, time.Minute) },
			want:        fxWant{outcome: fxPendingWait, msg: []string{"db (not deployed to this resource)"}},
			wantMissing: []string{"db"},
		},
		{
			name:      "a success in another environment on the same resource counts",
			dependsOn: `deployment.name == "db"`,
			setup: func(w *fxWorld) {
				tg := w.target("cluster-1", "staging", "db")
				w.job("j1", w.release(tg, w.version("ver-db", "db", "v1", fxBase)), model.JobSuccessful, fxBase, fxAt(time.Minute))
			},
			want:          fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantSatisfied: []string{"db"},
		},
		{
			name:      "every matching deployment is needed; only the unmet are named",
			dependsOn: `deployment.metadata.tier == "data"`,
			setup: func(w *fxWorld) {
				w.deployment("cache", map[string]string{"tier": "data"})
				w.deployment("queue", map[string]string{"tier": "data"})
				jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute)
				jobOn(w, "queue", "cluster-1", "j2", model.JobCancelled, 0, time.Minute)
			},
			want: fxWant{outcome: fxPendingWait,
				msg: []string{"waiting for dependencies", "cache (not deployed to this resource); queue (its latest job ended with status cancelled)"}},
			wantMissing:   []string{"cache", "queue"},
			wantSatisfied: []string{"db"},
		},
		{
			name:      "satisfiedAt is the last dependency's success",
			dependsOn: `deployment.metadata.tier == "data"`,
			setup: func(w *fxWorld) {
				w.deployment("queue", map[string]string{"tier": "data"})
				jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, 7*time.Minute)
				jobOn(w, "queue", "cluster-1", "j2", model.JobSuccessful, 0, 4*time.Minute)
			},
			want:          fxWant{outcome: fxAllowed, msg: []string{"db, queue deployed successfully"}, satisfiedAt: fxTime(fxAt(7 * time.Minute))},
			wantSatisfied: []string{"db", "queue"},
		},
		{
			name:          "dependsOn reading the version: the current version is accepted",
			dependsOn:     `deployment.name == "db" && version.tag == "v1"`,
			setup:         func(w *fxWorld) { jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute) },
			want:          fxWant{outcome: fxAllowed, satisfiedAt: fxTime(fxAt(time.Minute))},
			wantSatisfied: []string{"db"},
		},
		{
			name:      "dependsOn reading the version: another version runs",
			dependsOn: `deployment.name == "db" && version.tag == "v2"`,
			setup: func(w *fxWorld) {
				jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute)
				w.version("ver-db-2", "db", "v2", fxAt(time.Minute))
			},
			want:        fxWant{outcome: fxPendingWait, msg: []string{"db (it runs v1, which dependsOn does not accept)"}},
			wantMissing: []string{"db"},
		},
		{
			name:      "dependsOn reading the version: no version it accepts exists yet",
			dependsOn: `deployment.name == "db" && version.tag == "v2"`,
			setup:     func(w *fxWorld) { jobOn(w, "db", "cluster-1", "j1", model.JobSuccessful, 0, time.Minute) },
			want:      fxWant{outcome: fxPendingWait, msg: []string{"no deployment has a version that dependsOn"}},
		},
		{
			name:      "no deployment matches",
			dependsOn: `deployment.name == "nope"`,
			want:      fxWant{outcome: fxDenied, msg: []string{`no deployment matches dependsOn "deployment.name == \"nope\""`}},
		},
		{
			name:      "matching only the target's own deployment is no match",
			dependsOn: `deployment.name == "api"`,
			want:      fxWant{outcome: fxDenied, msg: []string{"no deployment matches dependsOn"}},
		},
		{
			name:      "dependsOn that does not compile",
			dependsOn: `deployment.name ==`,
			want:      fxWant{outcome: fxDenied, msg: []string{"dependsOn is invalid", "Syntax error"}},
		},
		{
			name:      "empty dependsOn matches nothing",
			dependsOn: ``,
			want:      fxWant{outcome: fxDenied, msg: []string{"no deployment matches"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFxWorld(t)
			target := w.target("cluster-1", "prod", "api")
			w.deployment("api", map[string]string{"tier": "data"}) // its own match must be ignored
			w.deployment("db", map[string]string{"tier": "data"})
			v := w.version("ver-api", "api", "v9", fxBase)
			if tt.setup != nil {
				tt.setup(w)
			}
			rule := &model.PolicyRule{ID: "rule-dependency",
				DeploymentDependency: &model.DeploymentDependencyRule{DependsOn: tt.dependsOn}}

			got := evalDeploymentDependency(fxInput(fxAt(time.Hour), w.reader(), target, v), rule)

			fxCheck(t, got, rule, KindDeploymentDependency, tt.want)
			fxCheckIDs(t, "missing", got.Details["missing"], tt.wantMissing)
			fxCheckIDs(t, "satisfied", got.Details["satisfied"], tt.wantSatisfied)
			if got.NextEvaluationTime != nil {
				t.Errorf("nextEvaluationTime = %v; job success events re-evaluate instead", got.NextEvaluationTime)
			}
		})
	}
}

// fxCheckIDs compares a []string detail with want (absent equals empty).
func fxCheckIDs(t *testing.T, name string, got any, want []string) {
	t.Helper()
	ids, _ := got.([]string)
	if len(ids) != len(want) {
		t.Errorf("details.%s = %v, want %v", name, ids, want)
		return
	}
	for i := range ids {
		if ids[i] != want[i] {
			t.Errorf("details.%s = %v, want %v", name, ids, want)
			return
		}
	}
}
