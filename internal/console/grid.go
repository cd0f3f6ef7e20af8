package console

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// maxJudgedPerCell bounds how many targets of one grid cell are judged
// (each judgement evaluates a version's rules); the others count by their
// jobs and the engine's recorded state alone.
const maxJudgedPerCell = 50

// gridBody is the grid screen: one grid per system.
type gridBody struct {
	Workspace string
	Systems   []systemGrid
}

// systemGrid is one system's deployments × environments.
type systemGrid struct {
	System       *model.System
	Environments []*model.Environment
	Rows         []gridRow
}

// gridRow is one deployment across the system's environments.
type gridRow struct {
	Deployment *model.Deployment
	// Newest is the deployment's newest version; nil when it has none.
	Newest *model.DeploymentVersion
	Cells  []gridCell
}

// gridCell is one deployment in one environment.
type gridCell struct {
	// ID names the cell in the page, stable across refreshes.
	ID          string
	Environment *model.Environment
	// Versions says which versions run where: "v2 on 7/10, v1 on 3".
	Versions string
	// Deployed and Total count the targets running the newest version.
	Deployed, Total int
	State           string
	// Label is the cell's line under the versions: what the state means.
	Label string
	// Next is the version the cell's waiting or blocked targets hold back.
	Next *model.DeploymentVersion
	// Why are the distinct reasons of the targets, most frequent first.
	Why []reasonCount
	// Targets are the cell's targets, most pressing first.
	Targets []targetStatus
}

// reasonCount is one reason and how many targets it holds.
type reasonCount struct {
	Text  string
	State string
	Count int
}

func (c *Console) gridPage(r *http.Request, p *page) error {
	snap, done, err := c.read(p.Workspace)
	defer done()
	if err != nil {
		return err
	}
	body, err := buildGrid(snap, c.engine, p.Workspace)
	if err != nil {
		return err
	}
	p.Title, p.Nav, p.template, p.Body = "Deployments", "grid", "grid", body
	return nil
}

func buildGrid(snap store.Reader, eng *engine.Engine, ws string) (*gridBody, error) {
	ev, err := eng.NewEvaluator(snap)
	if err != nil {
		return nil, err
	}
	now := eng.Now()
	body := &gridBody{Workspace: ws}
	systems := store.Systems.Items(snap)
	slices.SortFunc(systems, func(a, b *model.System) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	for _, sys := range systems {
		g, err := buildSystemGrid(snap, ev, now, ws, sys)
		if err != nil {
			return nil, err
		}
		body.Systems = append(body.Systems, g)
	}
	return body, nil
}

func buildSystemGrid(snap store.Reader, ev *engine.Evaluator, now time.Time, ws string, sys *model.System) (systemGrid, error) {
	g := systemGrid{System: sys}
	for _, l := range store.EnvironmentLinksBySystem.Get(snap, sys.ID) {
		if e, err := store.Environments.Get(snap, l.EnvironmentID); err == nil {
			g.Environments = append(g.Environments, e)
		}
	}
	var deployments []*model.Deployment
	for _, l := range store.DeploymentLinksBySystem.Get(snap, sys.ID) {
		if d, err := store.Deployments.Get(snap, l.DeploymentID); err == nil {
			deployments = append(deployments, d)
		}
	}
	slices.SortFunc(deployments, func(a, b *model.Deployment) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	after := map[string][]string{} // environment → the environments it progresses from
	for _, d := range deployments {
		versions := history.Versions(snap, d.ID)
		row := gridRow{Deployment: d}
		if len(versions) > 0 {
			row.Newest = versions[0]
		}
		for _, e := range g.Environments {
			cell, err := buildCell(snap, ev, now, ws, sys, d, e, versions, after)
			if err != nil {
				return g, err
			}
			row.Cells = append(row.Cells, cell)
		}
		g.Rows = append(g.Rows, row)
	}
	order := orderEnvironments(g.Environments, after)
	for i := range g.Rows {
		cells := map[string]gridCell{}
		for _, c := range g.Rows[i].Cells {
			cells[c.Environment.ID] = c
		}
		g.Rows[i].Cells = g.Rows[i].Cells[:0]
		for _, e := range order {
			g.Rows[i].Cells = append(g.Rows[i].Cells, cells[e.ID])
		}
	}
	g.Environments = order
	return g, nil
}

// buildCell judges the targets of one deployment in one environment and
// records, in after, the environments the cell's progression rules name.
func buildCell(snap store.Reader, ev *engine.Evaluator, now time.Time, ws string, sys *model.System, d *model.Deployment,
	e *model.Environment, versions []*model.DeploymentVersion, after map[string][]string) (gridCell, error) {
	cell := gridCell{ID: "cell-" + cellID(sys.ID, d.ID, e.ID), Environment: e, State: stateEmpty}
	targets := store.TargetsByPair.Get(snap, store.PairKey(e.ID, d.ID))
	slices.SortFunc(targets, func(a, b *model.ReleaseTarget) int { return cmp.Compare(a.ResourceID, b.ResourceID) })
	cell.Total = len(targets)
	if len(targets) == 0 {
		cell.Versions, cell.Label = "no targets", "no resource matches both selectors"
		return cell, nil
	}
	for i, t := range targets {
		judgeWith := ev
		if i >= maxJudgedPerCell {
			judgeWith = nil
		}
		s, err := judge(snap, judgeWith, now, ws, t, versions)
		if err != nil {
			return cell, err
		}
		cell.Targets = append(cell.Targets, s)
	}
	learnOrder(ev, cell.Targets, versions, after)
	summarize(&cell, versions)
	return cell, nil
}

// learnOrder finds which environments the cell's environment progresses
// from, by the dependency environments its progression rules name. A cell
// whose targets were all up to date judged no rule: one of its targets is
// evaluated for that alone.
func learnOrder(ev *engine.Evaluator, targets []targetStatus, versions []*model.DeploymentVersion,
	after map[string][]string) {
	var e *engine.Evaluation
	for _, s := range targets {
		if s.Evaluation != nil {
			e = s.Evaluation
			break
		}
	}
	if e == nil && len(versions) > 0 {
		e, _ = ev.Evaluate(targets[0].Target, versions[0]) // order is a nicety; an error changes none
	}
	if e == nil {
		return
	}
	env := e.ReleaseTarget.EnvironmentID
	for _, pe := range e.Policies {
		for _, r := range pe.Results {
			if r.Kind != policy.KindEnvironmentProgression {
				continue
			}
			list, _ := r.Details["environments"].([]map[string]any)
			for _, dep := range list {
				if id, _ := dep["environmentId"].(string); id != "" && !slices.Contains(after[env], id) {
					after[env] = append(after[env], id)
				}
			}
		}
	}
}

// summarize fills a cell's versions line, state, label and reasons from
// its targets.
func summarize(cell *gridCell, versions []*model.DeploymentVersion) {
	cell.Versions, cell.Deployed = versionsLine(cell.Targets, versions)
	slices.SortStableFunc(cell.Targets, func(a, b targetStatus) int { return cmp.Compare(stateRank[a.State], stateRank[b.State]) })
	cell.State = cell.Targets[0].State
	byState := map[string]int{}
	reasons := map[string]*reasonCount{}
	var order []*reasonCount
	for _, s := range cell.Targets {
		byState[s.State]++
		if s.Why == "" {
			continue
		}
		if rc := reasons[s.Why]; rc != nil {
			rc.Count++
			continue
		}
		rc := &reasonCount{Text: s.Why, State: s.State, Count: 1}
		reasons[s.Why] = rc
		order = append(order, rc)
		if cell.Next == nil && (s.State == stateWaiting || s.State == stateBlocked) {
			cell.Next = s.Next
		}
	}
	slices.SortStableFunc(order, func(a, b *reasonCount) int {
		return cmp.Or(cmp.Compare(stateRank[a.State], stateRank[b.State]), cmp.Compare(b.Count, a.Count))
	})
	for _, rc := range order {
		cell.Why = append(cell.Why, *rc)
	}
	cell.Label = cellLabel(cell, byState)
}

// versionsLine says which versions the targets run, newest first: "v2 on
// 7/10, v1 on 3", and how many run the newest of versions.
func versionsLine(targets []targetStatus, versions []*model.DeploymentVersion) (string, int) {
	rank := map[string]int{}
	for i, v := range versions {
		rank[v.ID] = i
	}
	counts, tags := map[string]int{}, map[string]string{}
	var ids []string
	none := 0
	for _, s := range targets {
		if s.Current == nil {
			none++
			continue
		}
		id := s.Current.Version.ID
		if counts[id] == 0 {
			ids = append(ids, id)
			tags[id] = versionName(s.Current.Version)
		}
		counts[id]++
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(rank[a], rank[b]) })
	var parts []string
	for i, id := range ids {
		if i == 0 {
			parts = append(parts, fmt.Sprintf("%s on %d/%d", tags[id], counts[id], len(targets)))
		} else {
			parts = append(parts, fmt.Sprintf("%s on %d", tags[id], counts[id]))
		}
	}
	newest := 0
	if len(versions) > 0 {
		newest = counts[versions[0].ID]
	}
	switch {
	case len(parts) == 0:
		return fmt.Sprintf("nothing deployed (0/%d)", len(targets)), newest
	case none > 0:
		parts = append(parts, fmt.Sprintf("none on %d", none))
	}
	return strings.Join(parts, ", "), newest
}

// cellLabel is the line a cell shows under its versions.
func cellLabel(cell *gridCell, byState map[string]int) string {
	first := ""
	if len(cell.Why) > 0 {
		first = cell.Why[0].Text
	}
	switch cell.State {
	case stateFailed:
		return fmt.Sprintf("%d failed: %s", byState[stateFailed], first)
	case stateBlocked, stateWaiting:
		if cell.Next != nil {
			return fmt.Sprintf("%s %s: %s", versionName(cell.Next), cell.State, first)
		}
		return cell.State + ": " + first
	case stateDeploying:
		return fmt.Sprintf("deploying on %d", byState[stateDeploying])
	case stateDeployed:
		return "up to date"
	}
	return "nothing to deploy"
}

// orderEnvironments puts environments in progression order: an environment
// after those it progresses from, otherwise by creation, then name.
func orderEnvironments(envs []*model.Environment, after map[string][]string) []*model.Environment {
	byID := map[string]*model.Environment{}
	for _, e := range envs {
		byID[e.ID] = e
	}
	rest := slices.Clone(envs)
	slices.SortFunc(rest, func(a, b *model.Environment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	placed := map[string]bool{}
	var out []*model.Environment
	for len(rest) > 0 {
		pick := -1
		for i, e := range rest {
			ready := true
			for _, dep := range after[e.ID] {
				if byID[dep] != nil && !placed[dep] {
					ready = false
					break
				}
			}
			if ready {
				pick = i
				break
			}
		}
		if pick < 0 {
			pick = 0 // a cycle: take the next in plain order
		}
		placed[rest[pick].ID] = true
		out = append(out, rest[pick])
		rest = slices.Delete(rest, pick, pick+1)
	}
	return out
}

// cellID makes an HTML id from a cell's ids.
func cellID(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('_')
		}
		for _, r := range p {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(&b, ".%x", r)
			}
		}
	}
	return b.String()
}
