// Package agents defines what a job agent is to Gatehouse: something a job
// is handed to (Dispatch) and, for agents that run jobs remotely, something
// that reports how the job is going (Follow).
//
// Each agent type lives in a package of its own under internal/agents and
// imports only this package (and model); the engine and the dispatcher know
// agent types only through a Registry of Types. Shared mechanics — rendering
// config templates, opening sensitive values, retries with backoff,
// concurrency limits, recording outcomes — belong to the dispatcher, so an
// agent's Dispatch does exactly one attempt and says how it went.
package agents

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Job is one job as handed to an agent: everything is final, rendered and
// opened. Agents must not keep it beyond the call, log its Config or
// Document (they may hold secrets), or change it.
type Job struct {
	// WorkspaceID is the workspace the job belongs to.
	WorkspaceID string
	// ID is the job id, the idempotency key towards the agent: a job handed
	// over twice (at least once delivery) carries the same ID both times.
	ID string
	// Status is the job's status when it is handed over.
	Status string
	// ExternalID is what the agent answered on an earlier dispatch, if any.
	ExternalID string
	// Config is the job's merged agent config with every string template
	// rendered over the dispatch context and sensitive values opened.
	Config map[string]any
	// Context is the job's dispatch context with sensitive variables opened.
	Context *model.DispatchContext
	// Document is the job as the read API shows it (with its dispatch
	// context), sensitive values opened: what a webhook posts.
	Document json.RawMessage
	// CreatedAt, StartedAt and DispatchedAt are the job's times; zero when
	// not reached yet.
	CreatedAt, StartedAt, DispatchedAt time.Time
}

// Result is how one dispatch went, when it went well.
type Result struct {
	// ExternalID identifies the job in the agent's system (a run id, an
	// application name); empty when the agent has none.
	ExternalID string
	// Status, when set, moves the job at once (a test runner starts its
	// job); empty leaves it pending until the agent reports.
	Status string
	// Message is stored on the job when set.
	Message string
	// Links name places to look at the job in the agent's system, by
	// label, stored in the job's metadata as "link:<label>".
	Links map[string]string
}

// Update is what following a job found out.
type Update struct {
	// Status is the job's status in the agent's system, mapped onto the
	// job statuses (model.Job*); empty when it cannot be told yet (the
	// run has not appeared).
	Status string
	// ExternalID, when set, is stored on the job (a run found by the id
	// in its inputs).
	ExternalID string
	// Message is stored on the job when set.
	Message string
	// Links as in Result.
	Links map[string]string
	// NextPoll, when positive, asks to be followed again after this long
	// instead of the type's FollowInterval (a test runner's delay).
	NextPoll time.Duration
}

// Agent hands jobs to a system that runs them.
type Agent interface {
	// Dispatch makes one attempt to hand the job over. A nil error means
	// the agent has the job. Errors are classified by Classify: an *Error
	// says whether trying again can help; any other error (a transport
	// failure, a timeout) is treated as retryable.
	Dispatch(ctx context.Context, job Job) (Result, error)
}

// Follower reports how a dispatched job is going in the agent's system.
type Follower interface {
	// Follow looks the job up once. Errors are classified like Dispatch's:
	// a retryable error is logged and the job followed again later; a
	// permanent one (credentials refused) ends the job with
	// invalidIntegration carrying the error's message.
	Follow(ctx context.Context, job Job) (Update, error)
}

// Scope says which config a Type validates: an agent's own (connection
// settings) or the merged config a job would be given (everything).
type Scope int

const (
	// ScopeAgent validates a job agent's own config when it is written:
	// fields present must be well formed, and fields an agent must hold
	// itself (a server address, credentials) must be present.
	ScopeAgent Scope = iota
	// ScopeJob validates the merged config of a deployment's job (agent ←
	// deployment ← entry ← version): every required field must be present.
	ScopeJob
)

// Type is one kind of job agent ("webhook", "github-app", …).
type Type struct {
	// Name is the value of JobAgent.Type.
	Name string
	// Pull types are not pushed anything: runners list and claim their jobs
	// through the API, and report by job.updated.
	Pull bool
	// Sensitive lists the config keys holding secrets. They are sealed when
	// the agent (or a deployment's jobAgentConfig) is written, shown sealed
	// on every read, and opened only into what is sent.
	Sensitive []string
	// Validate checks a config (see Scope) and returns a model.Invalid
	// error naming the offending key, relative to the config
	// ("url: is required"). Nil accepts anything.
	Validate func(config map[string]any, scope Scope) error
	// Agent dispatches jobs; nil for pull types.
	Agent Agent
	// Follower follows dispatched jobs; nil when status comes from the
	// agent itself by job.updated.
	Follower Follower
	// Planner says what a job would change, for deployment plans; nil
	// plans from the job's rendered config.
	Planner Planner
	// FollowInterval is how often a processing job is followed; the
	// dispatcher's default when zero.
	FollowInterval time.Duration
	// Concurrency caps the dispatches in flight for one agent of this type;
	// the dispatcher's default when zero.
	Concurrency int
}

// IsSensitive reports whether key holds a secret for this type.
func (t *Type) IsSensitive(key string) bool { return t != nil && slices.Contains(t.Sensitive, key) }

// Registry maps type names to types. It is built once, when the binary is
// wired, and read concurrently afterwards.
type Registry map[string]*Type

// NewRegistry returns a registry of the given types, refusing duplicates.
func NewRegistry(types ...*Type) (Registry, error) {
	r := Registry{}
	for _, t := range types {
		if t == nil || t.Name == "" {
			return nil, fmt.Errorf("agents: a type without a name")
		}
		if _, dup := r[t.Name]; dup {
			return nil, fmt.Errorf("agents: type %q registered twice", t.Name)
		}
		r[t.Name] = t
	}
	return r, nil
}

// Lookup returns the type of that name, or an EINVALID error listing the
// known ones.
func (r Registry) Lookup(name string) (*Type, error) {
	if t, ok := r[name]; ok {
		return t, nil
	}
	return nil, model.Invalid("jobAgent.type", "unknown job agent type %q (known: %s)", name, strings.Join(r.Names(), ", "))
}

// Names returns the registered type names, sorted.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
