package output

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client"
)

// whyLimit bounds how many blocked targets one `get targets` asks the
// server about.
const whyLimit = 50

// targetView shows release targets: per target the current and desired
// version and, when they differ, why.
var targetView = &View{
	Kind: "release-target", Aliases: []string{"release-targets", "target", "targets", "rt"},
	Collection: client.ReleaseTargets, Needs: []string{"deployment", "environment", "resource"},
	Table: func(items []json.RawMessage, n Namer, notes map[string]string) (*Table, error) {
		targets, err := decode[client.ReleaseTarget](items)
		if err != nil {
			return nil, err
		}
		return TargetTable(targets, notes, n), nil
	},
	Notes: blockedNotes,
}

// TargetTable lays targets out, one row each: deployment, environment,
// resource, current and desired version, the latest job's status and, when
// current and desired differ, why in one line (blocked holds better reasons
// than the server's by key, from client.WhyBlocked).
func TargetTable(targets []client.ReleaseTarget, blocked map[string]string, n Namer) *Table {
	t := &Table{Columns: cols("Deployment", "Environment", "Resource", "Current", "Desired", "Job", "Why",
		"+Next evaluation", "+Key"), Empty: "No release targets found."}
	for _, rt := range targets {
		current, desired := releaseTag(rt.CurrentRelease), releaseTag(rt.DesiredRelease)
		job := ""
		if rt.LatestJob != nil {
			job = rt.LatestJob.Status
		}
		t.Add(n.Name("deployment", rt.DeploymentID), n.Name("environment", rt.EnvironmentID), n.Name("resource", rt.ResourceID),
			current, desired, job, why(rt, blocked), TimePtr(rt.NextEvaluationTime), rt.Key)
	}
	sortRows(t)
	return t
}

// blockedNotes is what `get targets` asks the server for beyond the list:
// why the newest version waits on targets without a desired release.
func blockedNotes(ctx context.Context, c *client.Client, items []json.RawMessage) (map[string]string, error) {
	targets, err := decode[client.ReleaseTarget](items)
	if err != nil {
		return nil, err
	}
	return c.WhyBlocked(ctx, targets, whyLimit)
}

// why says in one line why a target does not run its desired release:
// nothing when it does; the job under way when the desired release is being
// deployed; else the server's reason, or blocked's better one.
func why(rt client.ReleaseTarget, blocked map[string]string) string {
	if rt.DesiredRelease != nil && releaseID(rt.CurrentRelease) == rt.DesiredRelease.ID {
		return ""
	}
	if j := rt.LatestJob; rt.DesiredRelease != nil && j != nil && processing(j.Status) && j.ReleaseID == rt.DesiredRelease.ID {
		return "deploying: job " + j.Status
	}
	if b, ok := blocked[rt.Key]; ok {
		return b
	}
	return rt.Reason
}

// processing reports whether a job in status s is still under way.
func processing(s string) bool { return s == "pending" || s == "inProgress" || s == "actionRequired" }

func releaseTag(r *client.Release) string {
	if r == nil {
		return ""
	}
	return r.Version.Tag
}

func releaseID(r *client.Release) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// jobView shows jobs with their target and version.
var jobView = &View{
	Kind: "job", Aliases: []string{"jobs"}, Collection: client.Jobs,
	Needs: []string{"deployment", "environment", "resource", "job-agent"},
	Table: func(items []json.RawMessage, n Namer, _ map[string]string) (*Table, error) {
		jobs, err := decode[client.Job](items)
		if err != nil {
			return nil, err
		}
		t := &Table{Columns: cols("ID", "Deployment", "Environment", "Resource", "Version", "Status", "Created",
			"+Agent", "+Completed", "+Dispatch", "+Message"), Empty: "No jobs found."}
		for _, j := range jobs {
			var dep, env, res, tag string
			if r := j.Release; r != nil {
				dep, env = n.Name("deployment", r.ReleaseTarget.DeploymentID), n.Name("environment", r.ReleaseTarget.EnvironmentID)
				res, tag = n.Name("resource", r.ReleaseTarget.ResourceID), r.Version.Tag
			}
			t.Add(j.ID, dep, env, res, tag, j.Status, Time(j.CreatedAt), n.Name("job-agent", j.JobAgentID),
				Time(j.CompletedAt), dispatch(j.Dispatch), j.Message)
		}
		// Newest first; jobs of one instant by target.
		sort.SliceStable(t.Rows, func(a, b int) bool {
			ra, rb := t.Rows[a], t.Rows[b]
			if ra[6] != rb[6] {
				return ra[6] > rb[6]
			}
			return strings.Join(ra[1:4], "\x00") < strings.Join(rb[1:4], "\x00")
		})
		return t, nil
	},
}

// dispatch sums up how handing a job to its agent went.
func dispatch(d *client.Dispatch) string {
	if d == nil {
		return ""
	}
	switch {
	case d.DispatchedAt != nil:
		return "dispatched " + TimePtr(d.DispatchedAt)
	case d.LastError != "":
		return fmt.Sprintf("%d attempts, last error: %s", d.Attempts, d.LastError)
	case d.Attempts > 0:
		return strconv.Itoa(d.Attempts) + " attempts"
	}
	return ""
}

func decode[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, len(items))
	for i, raw := range items {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("decode item %d: %w", i, err)
		}
	}
	return out, nil
}

func sortRows(t *Table) {
	sort.SliceStable(t.Rows, func(i, j int) bool {
		a, b := t.Rows[i], t.Rows[j]
		for k := range min(len(a), len(b)) {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
}
