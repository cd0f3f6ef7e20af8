package agents

import (
	"context"
	"errors"
)

// PlanInput is a job as a deployment plan sees it: the config it would be
// given now and the config the job that deployed the target's current
// release was given. Both are rendered over their dispatch contexts, but
// sensitive values stay sealed ({"sensitive": {"valueHash": …}}) and
// sensitive variables render as a placeholder: a plan never opens a
// secret, so a planner must not need one.
type PlanInput struct {
	// WorkspaceID is the workspace planned in.
	WorkspaceID string
	// Proposed is the config a job would be given.
	Proposed map[string]any
	// Current is the config of the job that deployed the current release
	// on the same agent; nil when there is none.
	Current map[string]any
	// Credentials are the proposed config's values of the type's
	// sensitive keys (Terraform Cloud's token), opened, for a planner
	// that must ask its system. A planner sends them to that system only
	// and never puts them in its output. Absent when they cannot be
	// opened (no encryption key).
	Credentials map[string]string
}

// PlanOutput is what a planner compared: the two documents, as text, in
// the agent's own terms (an Argo CD Application, a Kubernetes Job).
type PlanOutput struct {
	// Current is the document of the current job; "" when there is none.
	Current string
	// Proposed is the document the job would produce.
	Proposed string
	// Message, when set, adds what the planner has to say.
	Message string
}

// Planner is implemented by agent types that can say what a job would
// change in their system, better than the job's config does. Types
// without one are planned from the rendered config itself.
type Planner interface {
	// Plan compares what a job would do with what the current one did.
	// An error wrapping ErrPlanUnsupported says the type cannot plan this
	// job (the plan then shows the rendered configs, marked unsupported);
	// any other error makes the result errored with the error's message.
	Plan(ctx context.Context, in PlanInput) (PlanOutput, error)
}

// ErrPlanUnsupported is what a Planner wraps when it cannot plan a job.
var ErrPlanUnsupported = errors.New("the agent type cannot plan this job")
