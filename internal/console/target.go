package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// maxCandidates is how many versions the target page explains; older ones
// are counted.
const maxCandidates = 20

// targetBody is the target screen.
type targetBody struct {
	Workspace   string
	Status      targetStatus
	Deployment  string
	Environment string
	// Variables are those of the desired release, else the current one.
	Variables   []variable
	VariablesOf *model.Release
	Candidates  []candidate
	// Older counts the versions past maxCandidates.
	Older int
	Jobs  []jobRow
	// NoRedeploy says why a redeploy would be refused now (a job under
	// way, no release to run); empty when it would not.
	NoRedeploy  string
	RedeployURL string
}

// variable is one resolved variable of a release, sensitive ones masked.
type variable struct {
	Key       string
	Value     string
	Sensitive bool
}

// candidate is one version as the target's policies judge it now.
type candidate struct {
	Version *model.DeploymentVersion
	// Current and Desired mark the target's releases' versions.
	Current, Desired bool
	// Verdict is allowed, waiting or denied.
	Verdict        string
	Message        string
	Policies       []policyVerdict
	NextEvaluation *time.Time
	// Approvals are the approvals that would let the version pass (one
	// per anyApproval rule waiting for one).
	Approvals []approval
}

// policyVerdict is one policy's rules' results for a version.
type policyVerdict struct {
	Policy  *model.Policy
	Rules   []ruleLine
	Skipped []string
}

// ruleLine is one rule's result.
type ruleLine struct {
	RuleID, Kind, Verdict, Message string
	SatisfiedAt, NextEvaluation    *time.Time
}

// approval is an approval the page offers to record.
type approval struct {
	VersionID, VersionTag, EnvironmentID, EnvironmentName string
}

// jobRow is a job with what a person reads about it.
type jobRow struct {
	Job         *model.Job
	Version     string
	Agent       string
	Target      *model.ReleaseTarget
	TargetURL   string
	Resource    string
	Deployment  string
	Environment string
	Links       []jobLink
}

// jobLink is a place in the agent's system to look at a job.
type jobLink struct{ Label, URL string }

func (c *Console) targetPage(r *http.Request, p *page) error {
	snap, done, err := c.read(p.Workspace)
	defer done()
	if err != nil {
		return err
	}
	key := model.CompositeKey(r.PathValue("resource"), r.PathValue("environment"), r.PathValue("deployment"))
	t, err := store.ReleaseTargets.Get(snap, key)
	if err != nil {
		return model.Errorf(model.ENOTFOUND, "There is no release target of resource %q, environment %q and deployment %q.",
			r.PathValue("resource"), r.PathValue("environment"), r.PathValue("deployment"))
	}
	body, err := buildTarget(snap, c.engine, p.Workspace, t)
	if err != nil {
		return err
	}
	p.Title = body.Deployment + " · " + body.Environment + " · " + body.Status.Resource
	p.Nav, p.template, p.Body = "grid", "target", body
	return nil
}

func buildTarget(snap store.Reader, eng *engine.Engine, ws string, t *model.ReleaseTarget) (*targetBody, error) {
	ev, err := eng.NewEvaluator(snap)
	if err != nil {
		return nil, err
	}
	now := eng.Now()
	versions := history.Versions(snap, t.DeploymentID)
	s, err := judge(snap, ev, now, ws, t, versions)
	if err != nil {
		return nil, err
	}
	b := &targetBody{Workspace: ws, Status: s, Deployment: deploymentName(snap, t.DeploymentID),
		Environment: environmentName(snap, t.EnvironmentID), RedeployURL: targetURL(ws, t) + "/redeploy"}
	switch {
	case len(history.Processing(snap, t.Key())) > 0:
		b.NoRedeploy = "A job is under way; redeploy once it finished."
	case s.Desired == nil && s.Current == nil:
		b.NoRedeploy = "Nothing to redeploy: no version passes and nothing was deployed."
	}
	b.VariablesOf = cmp.Or(s.Desired, s.Current)
	if b.VariablesOf != nil {
		b.Variables = variablesOf(b.VariablesOf)
	}
	if len(versions) > maxCandidates {
		b.Older = len(versions) - maxCandidates
		versions = versions[:maxCandidates]
	}
	for _, v := range versions {
		e, err := ev.Evaluate(t, v)
		if err != nil {
			return nil, err
		}
		b.Candidates = append(b.Candidates, candidateOf(snap, e, s))
	}
	for _, j := range history.Jobs(snap, t.Key()) {
		b.Jobs = append(b.Jobs, viewJob(snap, ws, j))
	}
	return b, nil
}

func candidateOf(snap store.Reader, e *engine.Evaluation, s targetStatus) candidate {
	v := e.Version
	c := candidate{Version: v, Message: e.Message, NextEvaluation: e.NextEvaluationTime,
		Current: s.Current != nil && s.Current.Version.ID == v.ID,
		Desired: s.Desired != nil && s.Desired.Version.ID == v.ID}
	switch {
	case e.Allowed:
		c.Verdict = "allowed"
	case waits(e):
		c.Verdict = "waiting"
	default:
		c.Verdict = "denied"
	}
	for _, pe := range e.Policies {
		pv := policyVerdict{Policy: pe.Policy, Skipped: pe.Skipped}
		for _, r := range pe.Results {
			pv.Rules = append(pv.Rules, ruleLine{RuleID: r.RuleID, Kind: r.Kind, Verdict: verdictOf(r), Message: r.Message,
				SatisfiedAt: r.SatisfiedAt, NextEvaluation: r.NextEvaluationTime})
			if !r.Allowed && r.ActionType == policy.ActionApproval {
				a := approval{VersionID: v.ID, VersionTag: versionName(v), EnvironmentID: e.ReleaseTarget.EnvironmentID,
					EnvironmentName: environmentName(snap, e.ReleaseTarget.EnvironmentID)}
				if !slices.Contains(c.Approvals, a) {
					c.Approvals = append(c.Approvals, a)
				}
			}
		}
		c.Policies = append(c.Policies, pv)
	}
	return c
}

func verdictOf(r policy.Result) string {
	switch {
	case r.Allowed:
		return "passed"
	case r.ActionRequired:
		return "waiting"
	}
	return "denied"
}

// variablesOf lists a release's variables by key. A sensitive value shows
// as masked: the release holds only its hash, and even that is not shown.
func variablesOf(rel *model.Release) []variable {
	out := make([]variable, 0, len(rel.Variables))
	for k, v := range rel.Variables {
		if slices.Contains(rel.EncryptedVariables, k) {
			out = append(out, variable{Key: k, Value: "••••••", Sensitive: true})
			continue
		}
		text, err := json.Marshal(v)
		if err != nil {
			text = []byte("?")
		}
		out = append(out, variable{Key: k, Value: string(text)})
	}
	slices.SortFunc(out, func(a, b variable) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// viewJob returns what the pages show of a job.
func viewJob(snap store.Reader, ws string, j *model.Job) jobRow {
	row := jobRow{Job: j, Agent: agentName(snap, j.JobAgentID), Version: "—"}
	if rel, err := store.Releases.Get(snap, j.ReleaseID); err == nil {
		t := rel.ReleaseTarget
		row.Version, row.Target, row.TargetURL = versionName(rel.Version), &t, targetURL(ws, &t)
		row.Resource = resourceName(snap, t.ResourceID)
		row.Deployment = deploymentName(snap, t.DeploymentID)
		row.Environment = environmentName(snap, t.EnvironmentID)
	}
	for k, v := range j.Metadata {
		label, ok := strings.CutPrefix(k, "link:")
		if !ok {
			continue
		}
		// Only web links: an agent's answer must not become a script URL.
		if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			row.Links = append(row.Links, jobLink{Label: nameOr(label, "run"), URL: v})
		}
	}
	slices.SortFunc(row.Links, func(a, b jobLink) int { return strings.Compare(a.Label, b.Label) })
	return row
}
