package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// Collection paths of the API, one per entity kind (the URL segment after
// /v1/workspaces/{ws}/).
const (
	Systems                  = "systems"
	Environments             = "environments"
	Deployments              = "deployments"
	Resources                = "resources"
	ResourceProviders        = "resource-providers"
	ResourceVariables        = "resource-variables"
	DeploymentVersions       = "deployment-versions"
	DeploymentVariables      = "deployment-variables"
	DeploymentVariableValues = "deployment-variable-values"
	JobAgents                = "job-agents"
	Policies                 = "policies"
	PolicySkips              = "policy-skips"
	UserApprovalRecords      = "user-approval-records"
	RelationshipRules        = "relationship-rules"
	Workflows                = "workflows"
	WorkflowRuns             = "workflow-runs"
	Releases                 = "releases"
	Jobs                     = "jobs"
	ReleaseTargets           = "release-targets"
)

// Event is one event envelope as POST …/events takes it.
type Event struct {
	EventType   string          `json:"eventType"`
	WorkspaceID string          `json:"workspaceId"`
	EventID     string          `json:"eventId,omitempty"`
	Data        json.RawMessage `json:"data"`
}

// Workspaces lists the workspaces the server holds.
func (c *Client) Workspaces(ctx context.Context) ([]Workspace, error) {
	raw, err := c.list(ctx, "/v1/workspaces", nil)
	if err != nil {
		return nil, err
	}
	return decodeItems[Workspace](raw)
}

// WorkspaceExists reports whether the server holds the client's workspace
// (it does once any event was applied to it).
func (c *Client) WorkspaceExists(ctx context.Context) (bool, error) {
	if c.workspace == "" {
		return false, ErrNoWorkspace
	}
	all, err := c.Workspaces(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(all, func(w Workspace) bool { return w.ID == c.workspace }), nil
}

// List returns every item of a collection as the server sent it. filter
// adds query parameters (deploymentId, environmentId, resourceId, status,
// jobAgentId where the route takes them). A workspace the server does not
// hold yet answers an *APIError with status 404.
func (c *Client) List(ctx context.Context, collection string, filter url.Values) ([]json.RawMessage, error) {
	path, err := c.wsPath(collection)
	if err != nil {
		return nil, err
	}
	return c.list(ctx, path, filter)
}

// Get returns one item of a collection by id as the server sent it.
func (c *Client) Get(ctx context.Context, collection, id string) (json.RawMessage, error) {
	path, err := c.wsPath(collection, id)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: path, repeatable: true}, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// ListOf lists a collection and decodes its items into T.
func ListOf[T any](ctx context.Context, c *Client, collection string, filter url.Values) ([]T, error) {
	raw, err := c.List(ctx, collection, filter)
	if err != nil {
		return nil, err
	}
	return decodeItems[T](raw)
}

// Filter narrows jobs and release targets; empty fields do not filter.
type Filter struct {
	DeploymentID, EnvironmentID, ResourceID, Status, JobAgentID string
}

// Values returns the filter as query parameters.
func (f Filter) Values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"deploymentId": f.DeploymentID, "environmentId": f.EnvironmentID,
		"resourceId": f.ResourceID, "status": f.Status, "jobAgentId": f.JobAgentID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// ReleaseTargets lists release targets with what the engine decided for
// each.
func (c *Client) ReleaseTargets(ctx context.Context, f Filter) ([]ReleaseTarget, error) {
	return ListOf[ReleaseTarget](ctx, c, ReleaseTargets, f.Values())
}

// Jobs lists jobs, each with its release.
func (c *Client) Jobs(ctx context.Context, f Filter) ([]Job, error) {
	return ListOf[Job](ctx, c, Jobs, f.Values())
}

// Evaluate asks how the target's policies judge a version now, rule by rule;
// an empty versionID means the deployment's newest version.
func (c *Client) Evaluate(ctx context.Context, targetKey, versionID string) (*Evaluation, error) {
	path, err := c.wsPath(ReleaseTargets, targetKey, "evaluate")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if versionID != "" {
		q.Set("versionId", versionID)
	}
	var ev Evaluation
	if err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, repeatable: true}, &ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

// Send posts events as one batch and returns how many the server applied.
// The server applies them in order, each on its own, and stops at the first
// that fails: the error is an *APIError whose Index names it, and the
// events before it stay applied. Events without a workspace get the
// client's. A batch is retried (see Options.Retries) only when every event
// carries an id, so that the server recognises a repeat.
func (c *Client) Send(ctx context.Context, events []Event) (int, error) {
	path, err := c.wsPath("events")
	if err != nil {
		return 0, err
	}
	repeatable := true
	out := make([]Event, len(events))
	for i, ev := range events {
		if ev.WorkspaceID == "" {
			ev.WorkspaceID = c.workspace
		}
		repeatable = repeatable && ev.EventID != ""
		out[i] = ev
	}
	body, err := json.Marshal(out)
	if err != nil {
		return 0, fmt.Errorf("encode events: %w", err)
	}
	var answer struct {
		Applied int `json:"applied"`
	}
	if err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, repeatable: repeatable}, &answer); err != nil {
		return 0, err
	}
	return answer.Applied, nil
}

func decodeItems[T any](raw []json.RawMessage) ([]T, error) {
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("decode item %d: %w", i, err)
		}
	}
	return out, nil
}
