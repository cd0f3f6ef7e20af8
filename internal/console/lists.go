package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// maxJobs is how many jobs the jobs screen lists; the rest are counted.
const maxJobs = 200

// maxMatches is how many of a policy's matched targets are listed.
const maxMatches = 25

// home lists the workspaces, or opens the only one.
func (c *Console) home(_ *http.Request, p *page) error {
	ids := c.engine.Workspaces()
	if len(ids) == 1 {
		p.redirect = workspaceURL(ids[0], "")
		return nil
	}
	p.Title, p.template, p.Body = "Workspaces", "home", ids
	return nil
}

// versionsBody is the versions screen: each deployment's versions.
type versionsBody struct {
	Workspace   string
	Deployments []deploymentVersions
}

type deploymentVersions struct {
	Deployment *model.Deployment
	Targets    int
	Versions   []versionRow
	// Plans are its plans still kept, newest first.
	Plans []planRow
}

// versionRow is one version and where it is.
type versionRow struct {
	Version *model.DeploymentVersion
	// Current and Desired count the deployment's targets running it and
	// meant to run it.
	Current, Desired int
	// Approvals are its approval records' environments and users.
	Approvals []string
}

func (c *Console) versionsPage(_ *http.Request, p *page) error {
	snap, done, err := c.read(p.Workspace)
	defer done()
	if err != nil {
		return err
	}
	body := &versionsBody{Workspace: p.Workspace}
	for _, d := range sortedDeployments(snap) {
		dv := deploymentVersions{Deployment: d}
		current, desired := map[string]int{}, map[string]int{}
		for _, t := range store.TargetsByDeployment.Get(snap, d.ID) {
			dv.Targets++
			if rel := history.CurrentRelease(snap, t.Key()); rel != nil {
				current[rel.Version.ID]++
			}
			if st, err := store.TargetStates.Get(snap, t.Key()); err == nil {
				if rel, err := store.Releases.Get(snap, st.DesiredReleaseID); err == nil {
					desired[rel.Version.ID]++
				}
			}
		}
		for _, v := range history.Versions(snap, d.ID) {
			dv.Versions = append(dv.Versions, versionRow{Version: v, Current: current[v.ID], Desired: desired[v.ID],
				Approvals: approvalsOf(snap, v.ID)})
		}
		dv.Plans = keptPlans(snap, p.Workspace, d.ID, c.engine.Now())
		body.Deployments = append(body.Deployments, dv)
	}
	p.Title, p.Nav, p.template, p.Body = "Versions", "versions", "versions", body
	return nil
}

// approvalsOf lists a version's approval records as "prod: ana".
func approvalsOf(snap store.Reader, versionID string) []string {
	var out []string
	for _, e := range store.Environments.Items(snap) {
		for _, a := range store.ApprovalsByVersionEnvironment.Get(snap, store.ApprovalKey(versionID, e.ID)) {
			s := nameOr(e.Name, e.ID) + ": " + a.UserID
			if a.Status != model.ApprovalApproved {
				s += " (" + a.Status + ")"
			}
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// jobsBody is the jobs screen.
type jobsBody struct {
	Workspace string
	// Status, Deployment and Environment are the filters in force.
	Status, Deployment, Environment string
	Statuses                        []string
	Deployments                     []*model.Deployment
	Environments                    []*model.Environment
	Jobs                            []jobRow
	// Matched counts the jobs the filters let through, listed or not.
	Matched int
}

func (c *Console) jobsPage(r *http.Request, p *page) error {
	snap, done, err := c.read(p.Workspace)
	defer done()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	body := &jobsBody{Workspace: p.Workspace, Status: q.Get("status"), Deployment: q.Get("deployment"),
		Environment: q.Get("environment"), Statuses: model.JobStatuses, Deployments: sortedDeployments(snap)}
	if body.Status != "" && !slices.Contains(model.JobStatuses, body.Status) {
		return model.Invalid("status", "%q is not a job status (one of %s)", body.Status, strings.Join(model.JobStatuses, ", "))
	}
	body.Environments = store.Environments.Items(snap)
	slices.SortFunc(body.Environments, func(a, b *model.Environment) int { return cmp.Compare(a.Name, b.Name) })
	jobs := store.Jobs.Items(snap)
	slices.SortFunc(jobs, func(a, b *model.Job) int { return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID)) })
	for _, j := range jobs {
		if body.Status != "" && j.Status != body.Status {
			continue
		}
		row := viewJob(snap, p.Workspace, j)
		if (body.Deployment != "" || body.Environment != "") && (row.Target == nil ||
			(body.Deployment != "" && row.Target.DeploymentID != body.Deployment) ||
			(body.Environment != "" && row.Target.EnvironmentID != body.Environment)) {
			continue
		}
		body.Matched++
		if len(body.Jobs) < maxJobs {
			body.Jobs = append(body.Jobs, row)
		}
	}
	p.Title, p.Nav, p.template, p.Body = "Jobs", "jobs", "jobs", body
	return nil
}

// policiesBody is the policies screen.
type policiesBody struct {
	Workspace string
	Freezes   []freezeRow
	Policies  []policyRow
}

// freezeRow is one freeze with the targets it picks. A freeze is listed
// beside the policies because it gates the same targets: what it holds
// should be as visible as what a policy gates.
type freezeRow struct {
	Freeze *model.Freeze
	// InForce says whether it holds jobs now (an until in the past ended it).
	InForce bool
	Matched int
	Targets []matchedTarget
}

// policyRow is one policy with the targets it matches.
type policyRow struct {
	Policy *model.Policy
	Rules  []ruleSummary
	// Matched counts the targets the selector matches; Targets lists the
	// first maxMatches of them.
	Matched int
	Targets []matchedTarget
}

// ruleSummary is a rule's kind and its settings as JSON.
type ruleSummary struct{ ID, Kind, Settings string }

type matchedTarget struct {
	URL, Deployment, Environment, Resource string
}

func (c *Console) policiesPage(_ *http.Request, p *page) error {
	snap, done, err := c.read(p.Workspace)
	defer done()
	if err != nil {
		return err
	}
	policies := store.Policies.Items(snap)
	slices.SortFunc(policies, func(a, b *model.Policy) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	matches, err := engine.PolicyTargets(snap, policies)
	if err != nil {
		return err
	}
	body := &policiesBody{Workspace: p.Workspace}
	if body.Freezes, err = freezeRows(snap, c.engine.Now(), p.Workspace); err != nil {
		return err
	}
	for _, pol := range policies {
		row := policyRow{Policy: pol, Matched: len(matches[pol.ID])}
		for _, rule := range pol.Rules {
			row.Rules = append(row.Rules, summarizeRule(rule))
		}
		row.Targets = firstMatches(snap, p.Workspace, matches[pol.ID])
		body.Policies = append(body.Policies, row)
	}
	p.Title, p.Nav, p.template, p.Body = "Policies", "policies", "policies", body
	return nil
}

// freezeRows lists the workspace's freezes, those in force first, each
// newest first, with the targets each picks.
func freezeRows(snap store.Reader, now time.Time, ws string) ([]freezeRow, error) {
	freezes := store.Freezes.Items(snap)
	slices.SortFunc(freezes, func(a, b *model.Freeze) int {
		return cmp.Or(cmp.Compare(boolRank(b.InForce(now)), boolRank(a.InForce(now))),
			b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	matches, err := engine.FreezeTargets(snap, freezes)
	if err != nil {
		return nil, err
	}
	rows := make([]freezeRow, 0, len(freezes))
	for _, f := range freezes {
		rows = append(rows, freezeRow{Freeze: f, InForce: f.InForce(now), Matched: len(matches[f.ID]),
			Targets: firstMatches(snap, ws, matches[f.ID])})
	}
	return rows, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// firstMatches names the first maxMatches of targets, in key order.
func firstMatches(snap store.Reader, ws string, targets []*model.ReleaseTarget) []matchedTarget {
	slices.SortFunc(targets, func(a, b *model.ReleaseTarget) int { return cmp.Compare(a.Key(), b.Key()) })
	var out []matchedTarget
	for _, t := range targets[:min(len(targets), maxMatches)] {
		out = append(out, matchedTarget{URL: targetURL(ws, t),
			Deployment: deploymentName(snap, t.DeploymentID), Environment: environmentName(snap, t.EnvironmentID),
			Resource: resourceName(snap, t.ResourceID)})
	}
	return out
}

// summarizeRule names a rule's kind, the one field of its wire form
// besides its identity, and shows that field's settings.
func summarizeRule(rule model.PolicyRule) ruleSummary {
	s := ruleSummary{ID: rule.ID, Kind: "rule"}
	raw, err := json.Marshal(rule)
	if err != nil {
		return s
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return s
	}
	for k, v := range fields {
		switch k {
		case "id", "policyId", "createdAt":
			continue
		}
		s.Kind, s.Settings = k, string(v)
	}
	return s
}

func sortedDeployments(snap store.Reader) []*model.Deployment {
	ds := store.Deployments.Items(snap)
	slices.SortFunc(ds, func(a, b *model.Deployment) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return ds
}
