package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Collections of freezes and variable sets.
const (
	Freezes      = "freezes"
	VariableSets = "variable-sets"
)

// Freeze holds new jobs on the release targets its selector picks.
type Freeze struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Selector  string    `json:"selector"`
	Reason    string    `json:"reason"`
	Until     time.Time `json:"until"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// VariableSet gives values to the release targets its selector picks.
type VariableSet struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Selector  string `json:"selector"`
	Priority  int64  `json:"priority"`
	Variables []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"variables"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// PlanResult compares, for one agent, what a job would be given with what
// the current one was.
type PlanResult struct {
	JobAgentID   string `json:"jobAgentId"`
	JobAgentName string `json:"jobAgentName"`
	JobAgentType string `json:"jobAgentType"`
	Status       string `json:"status"`
	HasChanges   bool   `json:"hasChanges"`
	ContentHash  string `json:"contentHash"`
	Current      string `json:"current"`
	Proposed     string `json:"proposed"`
	Diff         string `json:"diff"`
	Message      string `json:"message"`
}

// PlanTarget is what a plan found for one release target.
type PlanTarget struct {
	Key             string       `json:"key"`
	ResourceID      string       `json:"resourceId"`
	ResourceName    string       `json:"resourceName"`
	EnvironmentID   string       `json:"environmentId"`
	EnvironmentName string       `json:"environmentName"`
	HasChanges      bool         `json:"hasChanges"`
	CurrentRelease  *Release     `json:"currentRelease"`
	Results         []PlanResult `json:"results"`
}

// DeploymentPlan is a dry run of a version over a deployment's targets.
type DeploymentPlan struct {
	ID           string `json:"id"`
	DeploymentID string `json:"deploymentId"`
	Status       string `json:"status"`
	Version      struct {
		Tag string `json:"tag"`
	} `json:"version"`
	Summary struct {
		Total, Changed, Unchanged, Errored, Unsupported int
	} `json:"summary"`
	Targets   []PlanTarget `json:"targets"`
	ExpiresAt time.Time    `json:"expiresAt"`
}

// PlanDeployment asks for a plan of the version body describes (a JSON
// object {"id": …, "version": {...}}) and returns the plan as the server
// sent it and decoded. The request is retried only when body names the
// plan's id: a repeat is then refused rather than planned twice.
func (c *Client) PlanDeployment(ctx context.Context, deploymentID string, body json.RawMessage) (json.RawMessage, *DeploymentPlan, error) {
	path, err := c.wsPath(Deployments, deploymentID, "plan")
	if err != nil {
		return nil, nil, err
	}
	var probe struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &probe)
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, repeatable: probe.ID != ""}, &raw); err != nil {
		return nil, nil, err
	}
	var p DeploymentPlan
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("decode plan: %w", err)
	}
	return raw, &p, nil
}

// EligibleVersions lists, newest first, the versions a release target may
// deploy now, as if the rules excluded (ids or kinds) were skipped and
// narrowed by filter (CEL over version) when given.
func (c *Client) EligibleVersions(ctx context.Context, targetKey string, exclude []string, filter string) ([]json.RawMessage, error) {
	path, err := c.wsPath(ReleaseTargets, targetKey, "eligible-versions")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(exclude) > 0 {
		q.Set("excludeRules", strings.Join(exclude, ","))
	}
	if filter != "" {
		q.Set("filter", filter)
	}
	return c.list(ctx, path, q)
}
