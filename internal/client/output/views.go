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

// Namer tells the name of an entity by kind ("deployment") and id; the id
// itself when it does not know it. workspace.Snapshot is one.
type Namer interface {
	Name(kind, id string) string
}

// View is how `get` shows one kind.
type View struct {
	// Kind is the kind's name ("deployment"); Aliases are the other words
	// for it ("deployments", "deploy").
	Kind    string
	Aliases []string
	// Collection is the API collection listed.
	Collection string
	// Needs are the kinds whose names the table shows.
	Needs []string
	// Table lays items (as the server sent them) out as a table; notes are
	// what Notes found, by item key.
	Table func(items []json.RawMessage, n Namer, notes map[string]string) (*Table, error)
	// Notes, when set, asks the server for more than the list holds (why
	// blocked targets wait).
	Notes func(ctx context.Context, c *client.Client, items []json.RawMessage) (map[string]string, error)
}

// ViewNamed returns the view that word names, or nil.
func ViewNamed(word string) *View {
	w := strings.ToLower(word)
	for _, v := range Views {
		if v.Kind == w || v.Collection == w {
			return v
		}
		for _, a := range v.Aliases {
			if a == w {
				return v
			}
		}
	}
	return nil
}

// ViewNames lists the kinds get shows, for help and errors.
func ViewNames() []string {
	out := make([]string, len(Views))
	for i, v := range Views {
		out[i] = v.Kind
	}
	sort.Strings(out)
	return out
}

// tableOf builds a View's Table function from a row function over T.
func tableOf[T any](what string, cols []Column, row func(T, Namer) []string) func([]json.RawMessage, Namer, map[string]string) (*Table, error) {
	return func(items []json.RawMessage, n Namer, _ map[string]string) (*Table, error) {
		t := &Table{Columns: cols, Empty: "No " + what + " found."}
		for _, raw := range items {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("decode %s: %w", what, err)
			}
			t.Add(row(v, n)...)
		}
		sortRows(t)
		return t, nil
	}
}

func cols(headers ...string) []Column {
	out := make([]Column, len(headers))
	for i, h := range headers {
		wide := strings.HasPrefix(h, "+")
		out[i] = Column{Header: strings.TrimPrefix(h, "+"), Wide: wide}
	}
	return out
}

// Views are every kind get shows. Columns whose header starts with "+"
// are shown with -o wide only.
var Views = []*View{
	{Kind: "system", Aliases: []string{"systems", "sys"}, Collection: client.Systems,
		Table: tableOf("systems", cols("Name", "Description", "+ID"), func(s client.System, _ Namer) []string {
			return []string{s.Name, s.Description, s.ID}
		})},
	{Kind: "environment", Aliases: []string{"environments", "env", "envs"}, Collection: client.Environments,
		Table: tableOf("environments", cols("Name", "Selector", "Created", "+ID"), func(e client.Environment, _ Namer) []string {
			return []string{e.Name, selector(e.ResourceSelector), Time(e.CreatedAt), e.ID}
		})},
	{Kind: "deployment", Aliases: []string{"deployments", "deploy"}, Collection: client.Deployments, Needs: []string{"job-agent"},
		Table: tableOf("deployments", cols("Name", "Slug", "Job agent", "+Selector", "+ID"), func(d client.Deployment, n Namer) []string {
			agents := []string{}
			if d.JobAgentID != "" {
				agents = append(agents, n.Name("job-agent", d.JobAgentID))
			}
			for _, a := range d.JobAgents {
				agents = append(agents, n.Name("job-agent", a.Ref))
			}
			return []string{d.Name, d.Slug, strings.Join(agents, ", "), selector(d.ResourceSelector), d.ID}
		})},
	{Kind: "resource", Aliases: []string{"resources", "res"}, Collection: client.Resources, Needs: []string{"resource-provider"},
		Table: tableOf("resources", cols("Name", "Identifier", "Kind", "+Version", "+Provider", "+Metadata", "+ID"), func(r client.Resource, n Namer) []string {
			provider := ""
			if r.ProviderID != "" {
				provider = n.Name("resource-provider", r.ProviderID)
			}
			return []string{r.Name, r.Identifier, r.Kind, r.Version, provider, metadata(r.Metadata), r.ID}
		})},
	{Kind: "resource-provider", Aliases: []string{"resource-providers", "provider", "providers"}, Collection: client.ResourceProviders,
		Table: tableOf("resource providers", cols("Name", "+ID"), func(p client.ResourceProvider, _ Namer) []string {
			return []string{p.Name, p.ID}
		})},
	{Kind: "job-agent", Aliases: []string{"job-agents", "agent", "agents"}, Collection: client.JobAgents,
		Table: tableOf("job agents", cols("Name", "Type", "+ID"), func(a client.JobAgent, _ Namer) []string {
			return []string{a.Name, a.Type, a.ID}
		})},
	{Kind: "deployment-version", Aliases: []string{"deployment-versions", "version", "versions"}, Collection: client.DeploymentVersions,
		Needs: []string{"deployment"},
		Table: tableOf("versions", versionColumns, versionRow)},
	{Kind: "deployment-variable", Aliases: []string{"deployment-variables", "variable", "variables", "var", "vars"},
		Collection: client.DeploymentVariables, Needs: []string{"deployment"},
		Table: tableOf("deployment variables", cols("Deployment", "Key", "Default", "+Description", "+ID"), func(v client.DeploymentVariable, n Namer) []string {
			return []string{n.Name("deployment", v.DeploymentID), v.Key, value(v.DefaultValue), v.Description, v.ID}
		})},
	{Kind: "deployment-variable-value", Aliases: []string{"deployment-variable-values", "value", "values"},
		Collection: client.DeploymentVariableValues, Needs: []string{"deployment", "deployment-variable"},
		Table: tableOf("variable values", cols("Variable", "Priority", "Value", "Selector", "+ID"), func(v client.DeploymentVariableValue, n Namer) []string {
			return []string{n.Name("deployment-variable", v.DeploymentVariableID), strconv.FormatInt(v.Priority, 10), value(v.Value),
				selector(v.ResourceSelector), v.ID}
		})},
	{Kind: "resource-variable", Aliases: []string{"resource-variables"}, Collection: client.ResourceVariables, Needs: []string{"resource"},
		Table: tableOf("resource variables", cols("Resource", "Key", "Value"), func(v client.ResourceVariable, n Namer) []string {
			return []string{n.Name("resource", v.ResourceID), v.Key, value(v.Value)}
		})},
	{Kind: "policy", Aliases: []string{"policies"}, Collection: client.Policies,
		Table: tableOf("policies", cols("Name", "Enabled", "Priority", "Rules", "+Selector", "+ID"), func(p client.Policy, _ Namer) []string {
			return []string{p.Name, strconv.FormatBool(p.Enabled), strconv.Itoa(p.Priority), ruleKinds(p.Rules), p.Selector, p.ID}
		})},
	{Kind: "policy-skip", Aliases: []string{"policy-skips", "skip", "skips"}, Collection: client.PolicySkips,
		Needs: []string{"deployment", "deployment-version", "environment", "resource"},
		Table: tableOf("policy skips", cols("Version", "Environment", "Resource", "Rule", "Expires", "+Reason", "+ID"), func(s client.PolicySkip, n Namer) []string {
			env, res := "any", "any"
			if s.EnvironmentID != "" {
				env = n.Name("environment", s.EnvironmentID)
			}
			if s.ResourceID != "" {
				res = n.Name("resource", s.ResourceID)
			}
			return []string{n.Name("deployment-version", s.VersionID), env, res, s.RuleID, Time(s.ExpiresAt), s.Reason, s.ID}
		})},
	{Kind: "user-approval-record", Aliases: []string{"user-approval-records", "approval", "approvals"}, Collection: client.UserApprovalRecords,
		Needs: []string{"deployment", "deployment-version", "environment"},
		Table: tableOf("approvals", cols("Version", "Environment", "User", "Status", "Created", "+Reason"), func(a client.ApprovalRecord, n Namer) []string {
			return []string{n.Name("deployment-version", a.VersionID), n.Name("environment", a.EnvironmentID), a.UserID, a.Status,
				Time(a.CreatedAt), a.Reason}
		})},
	{Kind: "relationship-rule", Aliases: []string{"relationship-rules", "relationship", "relationships"}, Collection: client.RelationshipRules,
		Table: tableOf("relationship rules", cols("Name", "Reference", "From", "To", "+ID"), func(r client.RelationshipRule, _ Namer) []string {
			return []string{r.Name, r.Reference, r.FromType, r.ToType, r.ID}
		})},
	{Kind: "workflow", Aliases: []string{"workflows"}, Collection: client.Workflows, Needs: []string{"job-agent"},
		Table: tableOf("workflows", cols("Name", "Jobs", "+ID"), func(w client.Workflow, n Namer) []string {
			var jobs []string
			for _, j := range w.Jobs {
				jobs = append(jobs, j.Name+" ("+n.Name("job-agent", j.Ref)+")")
			}
			return []string{w.Name, strings.Join(jobs, ", "), w.ID}
		})},
	{Kind: "freeze", Aliases: []string{"freezes"}, Collection: client.Freezes,
		Table: tableOf("freezes", cols("Reason", "Selector", "Until", "Created", "+Name", "+ID"), func(f client.Freeze, _ Namer) []string {
			until := Time(f.Until)
			if until == "" {
				until = "deleted"
			}
			return []string{f.Reason, f.Selector, until, Time(f.CreatedAt), f.Name, f.ID}
		})},
	{Kind: "variable-set", Aliases: []string{"variable-sets", "varset", "varsets"}, Collection: client.VariableSets,
		Table: tableOf("variable sets", cols("Name", "Priority", "Selector", "Variables", "+ID"), func(v client.VariableSet, _ Namer) []string {
			vars := make([]string, len(v.Variables))
			for i, kv := range v.Variables {
				vars[i] = kv.Key + "=" + value(kv.Value)
			}
			return []string{v.Name, strconv.FormatInt(v.Priority, 10), v.Selector, strings.Join(vars, ", "), v.ID}
		})},
	targetView,
	jobView,
}

// selector shows a selector in one line: its CEL, or its JSON.
func selector(raw json.RawMessage) string {
	var s struct {
		CEL *string `json:"cel"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if json.Unmarshal(raw, &s) == nil && s.CEL != nil {
		return *s.CEL
	}
	return string(raw)
}

// value shows a variable value in one line; sensitive values never.
func value(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) == nil {
		if _, ok := probe["sensitive"]; ok {
			return "(sensitive)"
		}
		if _, ok := probe["valueHash"]; ok {
			return "(sensitive)"
		}
		if ref, ok := probe["reference"]; ok {
			var name string
			_ = json.Unmarshal(ref, &name)
			var path []string
			_ = json.Unmarshal(probe["path"], &path)
			return "ref " + strings.Join(append([]string{name}, path...), ".")
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func metadata(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !strings.HasPrefix(k, "gatehouse.dev/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// ruleKinds lists the kinds of a policy's rules ("anyApproval, retry").
func ruleKinds(rules []map[string]json.RawMessage) string {
	var kinds []string
	for _, r := range rules {
		for k, v := range r {
			switch k {
			case "id", "policyId", "createdAt":
				continue
			}
			if string(v) != "null" {
				kinds = append(kinds, k)
			}
		}
	}
	return strings.Join(kinds, ", ")
}
