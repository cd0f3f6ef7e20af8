package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/templating"
)

// A deployment plan is a dry run of a version that is not created: for
// each of the deployment's release targets, the release it would make and
// what each of its jobs would be given, next to what the job that
// deployed the current release was given. It is worked out from one
// snapshot of the workspace, like an evaluation; then each agent type
// that can plan says what would change in its system; only the plan
// itself is stored, in a unit of work of its own.

// PlanRequest is what a plan is asked for: the version, as a version
// event would carry it, and the plan's own metadata.
type PlanRequest struct {
	// ID is the plan's id, chosen by the caller so that it can send the
	// request again safely; a fresh UUID when empty.
	ID       string               `json:"id,omitempty"`
	Version  model.PlannedVersion `json:"version"`
	Metadata map[string]string    `json:"metadata,omitempty"`
}

const (
	// PlanRetention is how long a plan can be read after it was made.
	PlanRetention = 24 * time.Hour
	// maxPlansPerDeployment bounds the plans kept for one deployment; the
	// oldest go first.
	maxPlansPerDeployment = 20
	// plannersAtOnce bounds the agent planners asked at the same time by
	// one plan.
	plannersAtOnce = 8
)

// plannedJob is one agent result of a plan still to be completed: its
// place in the plan, its agent type and what the planner is given.
type plannedJob struct {
	target, result int
	typ            *agents.Type
	in             agents.PlanInput
}

// PlanDeployment makes and stores a plan of the version body describes
// (a PlanRequest) for deployment deploymentID. The request is read
// strictly (EINVALID naming the field); an unknown workspace or deployment
// is ENOTFOUND, an id already taken by another plan ECONFLICT. Nothing but
// the plan is written.
func (e *Engine) PlanDeployment(ctx context.Context, wsID, deploymentID string, body json.RawMessage) (*model.DeploymentPlan, error) {
	if err := e.admit(); err != nil {
		return nil, err
	}
	defer e.intake.inHand.Done()
	ws, ok := e.Workspace(wsID)
	if !ok {
		return nil, model.Errorf(model.ENOTFOUND, "workspace %q not found", wsID)
	}
	req, err := decodePlanRequest(body)
	if err != nil {
		return nil, err
	}
	now := e.cfg.Clock().UTC()
	plan := &model.DeploymentPlan{ID: cmp.Or(req.ID, uuid.NewString()), WorkspaceID: wsID, DeploymentID: deploymentID,
		Version: req.Version, Metadata: req.Metadata, Targets: []model.PlanTarget{}, CreatedAt: now,
		ExpiresAt: now.Add(PlanRetention)}
	jobs, err := e.draftPlan(ws, plan)
	if err != nil {
		return nil, err
	}
	// Agent planners may take their time (a speculative Terraform run
	// takes as long as a plan); no lock is held while they do, and a few
	// run at once, each filling a result of its own.
	var wg sync.WaitGroup
	slots := make(chan struct{}, plannersAtOnce)
	for _, pj := range jobs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			completeResult(ctx, &plan.Targets[pj.target].Results[pj.result], pj)
		})
	}
	wg.Wait()
	summarize(plan)
	plan.CompletedAt = e.cfg.Clock().UTC()
	if err := e.work(ctx, ws, Event{Type: "deployment.planned"}, func(u *unit) error { return u.storePlan(plan) }); err != nil {
		return nil, err
	}
	return plan, nil
}

// decodePlanRequest reads a plan request strictly and fills its defaults.
func decodePlanRequest(body json.RawMessage) (*PlanRequest, error) {
	if isEmpty(body) {
		return nil, model.Invalid("data", "a plan request {\"version\": {\"tag\": …}} is required")
	}
	if err := wire.Check(body, ""); err != nil {
		return nil, err
	}
	var req PlanRequest
	if err := wire.Decode(body, &req, ""); err != nil {
		return nil, err
	}
	v := &req.Version
	if v.Tag == "" {
		return nil, model.Invalid("version.tag", "is required")
	}
	if v.Config == nil {
		v.Config = map[string]any{}
	}
	if v.JobAgentConfig == nil {
		v.JobAgentConfig = map[string]any{}
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	if req.Metadata == nil {
		req.Metadata = map[string]string{}
	}
	if err := refuseSensitive("version.jobAgentConfig", v.JobAgentConfig); err != nil {
		return nil, err
	}
	if err := templating.Validate("version.jobAgentConfig", v.JobAgentConfig); err != nil {
		return nil, err
	}
	return &req, nil
}

// refuseSensitive refuses a sensitive value in a planned version's config:
// sealing it would need a place to keep it, and a plan keeps nothing.
func refuseSensitive(field string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := sensitiveOf(x); ok {
			return model.Invalid(field, "a plan takes no sensitive values; give secrets to the job agent or the deployment")
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := refuseSensitive(field+"."+k, x[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := refuseSensitive(field+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
	}
	return nil
}

// draftPlan fills the plan's targets from one snapshot of the workspace and
// returns the agent results still to be completed.
func (e *Engine) draftPlan(ws *Workspace, plan *model.DeploymentPlan) ([]plannedJob, error) {
	snap, done := ws.Store().Read()
	defer done()
	dep, err := store.Deployments.Get(snap, plan.DeploymentID)
	if err != nil {
		return nil, model.Errorf(model.ENOTFOUND, "deployment %q not found", plan.DeploymentID)
	}
	pv := plan.Version
	v := &model.DeploymentVersion{ID: plan.ID, Name: cmp.Or(pv.Name, pv.Tag), Tag: pv.Tag, Config: pv.Config,
		JobAgentConfig: pv.JobAgentConfig, DeploymentID: dep.ID, Status: model.VersionReady, CreatedAt: plan.CreatedAt,
		Metadata: pv.Metadata}
	rel, err := newRelationIndex(snap)
	if err != nil {
		return nil, err
	}
	var jobs []plannedJob
	for _, t := range store.TargetsByDeployment.Get(snap, dep.ID) {
		pt, js := e.draftTarget(snap, t, v, rel, len(plan.Targets))
		plan.Targets = append(plan.Targets, pt)
		jobs = append(jobs, js...)
	}
	sortPlanTargets(plan.Targets, jobs)
	return jobs, nil
}

// sortPlanTargets orders a plan's targets as a person reads them, by
// environment and resource name (then key), and moves the pending results'
// places along.
func sortPlanTargets(targets []model.PlanTarget, jobs []plannedJob) {
	order := make([]int, len(targets))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := &targets[a], &targets[b]
		return cmp.Or(cmp.Compare(x.EnvironmentName, y.EnvironmentName), cmp.Compare(x.ResourceName, y.ResourceName),
			cmp.Compare(x.Key, y.Key))
	})
	sorted := make([]model.PlanTarget, len(targets))
	where := make([]int, len(targets))
	for to, from := range order {
		sorted[to], where[from] = targets[from], to
	}
	copy(targets, sorted)
	for i := range jobs {
		jobs[i].target = where[jobs[i].target]
	}
}

// draftTarget plans one target: its would-be release, its current one,
// and a result per agent its job would go to.
func (e *Engine) draftTarget(r store.Reader, t *model.ReleaseTarget, v *model.DeploymentVersion, rel *relationIndex,
	index int) (model.PlanTarget, []plannedJob) {
	pt := model.PlanTarget{Key: t.WireKey(), ResourceID: t.ResourceID, EnvironmentID: t.EnvironmentID,
		DeploymentID: t.DeploymentID, Results: []model.PlanResult{}}
	te, err := loadTarget(r, t)
	if err != nil {
		pt.Results = append(pt.Results, model.PlanResult{Status: model.PlanErrored, Message: err.Error()})
		return pt, nil
	}
	pt.ResourceName, pt.EnvironmentName = te.resource.Name, te.environment.Name
	pt.CurrentRelease = history.CurrentRelease(r, t.Key())
	rr, err := buildRelease(r, te, v, rel)
	if err != nil {
		pt.Results = append(pt.Results, model.PlanResult{Status: model.PlanErrored, Message: err.Error()})
		return pt, nil
	}
	rr.release.CreatedAt = v.CreatedAt
	pt.Release = rr.release
	var jobs []plannedJob
	for _, c := range chooseAgents(r, te, rr.release, nil) {
		res := model.PlanResult{JobAgentID: c.agentID, Status: model.PlanErrored, Message: c.problem}
		if c.agent != nil {
			res.JobAgentName, res.JobAgentType, res.Message = c.agent.Name, c.agent.Type, ""
			in, err := planInput(r, te, rr, c)
			if err != nil {
				res.Message = err.Error()
			} else {
				in.Credentials = e.planCredentials(e.cfg.Agents[c.agent.Type], c.config)
				jobs = append(jobs, plannedJob{target: index, result: len(pt.Results), typ: e.cfg.Agents[c.agent.Type], in: in})
			}
		}
		pt.Results = append(pt.Results, res)
	}
	return pt, jobs
}

// currentJob returns the job that deployed the target's current release
// on an agent, or nil.
func currentJob(r store.Reader, targetKey, agentID string) *model.Job {
	current := history.CurrentRelease(r, targetKey)
	if current == nil {
		return nil
	}
	for _, j := range history.Jobs(r, targetKey) {
		if j.ReleaseID == current.ID && j.JobAgentID == agentID && j.Status == model.JobSuccessful {
			return j
		}
	}
	return nil
}

// storePlan keeps a plan, forgetting expired plans of the workspace and
// the oldest of the deployment's beyond maxPlansPerDeployment.
func (u *unit) storePlan(p *model.DeploymentPlan) error {
	if store.DeploymentPlans.Has(u.tx, p.ID) {
		return model.Errorf(model.ECONFLICT, "plan %q exists already; a plan is made once", p.ID)
	}
	now := u.tx.Now()
	var kept []*model.DeploymentPlan
	for _, old := range store.DeploymentPlans.Items(u.tx) {
		switch {
		case !now.Before(old.ExpiresAt):
			if err := store.DeploymentPlans.Remove(u.tx, old.ID); err != nil {
				return err
			}
		case old.DeploymentID == p.DeploymentID:
			kept = append(kept, old)
		}
	}
	slices.SortFunc(kept, func(a, b *model.DeploymentPlan) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	for _, old := range kept[min(len(kept), maxPlansPerDeployment-1):] {
		if err := store.DeploymentPlans.Remove(u.tx, old.ID); err != nil {
			return err
		}
	}
	return store.DeploymentPlans.Upsert(u.tx, p.ID, p)
}

// DeploymentPlan returns a stored plan of a deployment, reading snap. A
// plan of another deployment, or one past its expiry, is ENOTFOUND.
func (e *Engine) DeploymentPlan(snap store.Reader, deploymentID, planID string) (*model.DeploymentPlan, error) {
	p, err := store.DeploymentPlans.Get(snap, planID)
	if err != nil || p.DeploymentID != deploymentID {
		return nil, model.Errorf(model.ENOTFOUND, "plan %q of deployment %q not found", planID, deploymentID)
	}
	if !e.cfg.Clock().Before(p.ExpiresAt) {
		return nil, model.Errorf(model.ENOTFOUND, "plan %q expired at %s", planID, p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return p, nil
}
