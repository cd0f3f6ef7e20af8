package store

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// How jobs are stored. A job's dispatch context holds its release, version,
// deployment, environment and resource as they were when it was made; its
// row names them instead of repeating them: the release (immutable, in its
// own table) by id and target, the version not at all (the release holds
// it), and the other three by the ids of their entity snapshots, which are
// stored once per distinct content. A fan-out to 10,000 targets then writes
// one deployment, ten environments and a thousand resources instead of
// 10,000 copies of each. Rows written before snapshots existed hold the
// copies and load as they are.

// EntitySnapshots are the entities as jobs saw them (see model.EntitySnapshot).
var EntitySnapshots = &Table[model.EntitySnapshot]{Name: "entity_snapshot", Kind: "EntitySnapshot",
	Key: func(s *model.EntitySnapshot) string { return s.ID }, Linked: linkedSnapshot,
	Columns: []Column[model.EntitySnapshot]{
		{Name: "kind", Value: func(s *model.EntitySnapshot) any { return s.Kind }},
	}}

// Snapshot kinds, as EntitySnapshot.Kind names them.
const (
	SnapshotDeployment  = "deployment"
	SnapshotEnvironment = "environment"
	SnapshotResource    = "resource"
)

// jobRow is a job as its row holds it: the job's own fields, with the
// dispatch context in its stored form (outer fields hide the embedded
// ones of the same name).
type jobRow struct {
	*model.Job
	DispatchContext *contextRow `json:"dispatchContext,omitempty"`
}

// contextRow is a dispatch context as a job's row holds it.
type contextRow struct {
	*model.DispatchContext
	Deployment  *model.Deployment   `json:"deployment,omitempty"`
	Environment *model.Environment  `json:"environment,omitempty"`
	Resource    *model.Resource     `json:"resource,omitempty"`
	Snapshots   *model.SnapshotRefs `json:"snapshots,omitempty"`
}

// storedJob is the form a job is written in.
func storedJob(j *model.Job) any {
	dc := j.DispatchContext
	if dc == nil {
		return j
	}
	ctx := *dc
	if dc.Release != nil && dc.Version != nil && dc.Release.Version != nil && dc.Version.ID == dc.Release.Version.ID {
		ctx.Release = &model.Release{ID: dc.Release.ID, ReleaseTarget: dc.Release.ReleaseTarget}
		ctx.Version = nil
	}
	row := &contextRow{DispatchContext: &ctx, Deployment: dc.Deployment, Environment: dc.Environment, Resource: dc.Resource}
	if refs := dc.Snapshots; refs != nil {
		row.Snapshots = refs
		if refs.Deployment != "" {
			row.Deployment = nil
		}
		if refs.Environment != "" {
			row.Environment = nil
		}
		if refs.Resource != "" {
			row.Resource = nil
		}
	}
	return &jobRow{Job: j, DispatchContext: row}
}

// decodeJob reads a job's row (either form).
func decodeJob(data []byte) (*model.Job, error) {
	row := jobRow{Job: &model.Job{}}
	if err := json.Unmarshal(data, &row); err != nil {
		return nil, err
	}
	j := row.Job
	if c := row.DispatchContext; c != nil {
		dc := c.DispatchContext
		if dc == nil {
			dc = &model.DispatchContext{}
		}
		dc.Deployment, dc.Environment, dc.Resource, dc.Snapshots = c.Deployment, c.Environment, c.Resource, c.Snapshots
		j.DispatchContext = dc
	}
	return j, nil
}

// linkedSnapshot decodes a snapshot's entity, once for every job that
// refers to it, and shares the stored entity when it is unchanged (so the
// jobs' links compare pointers, not contents). Its data is encoded again
// as the engine encoded it when it made the snapshot: PostgreSQL's JSONB
// keeps objects with their keys in an order of its own. The id stays the
// one the content had when it was made.
func linkedSnapshot(r Reader, s *model.EntitySnapshot) *model.EntitySnapshot {
	v, err := DecodeSnapshot(s.Kind, s.Data)
	if err != nil {
		return s
	}
	out := *s
	if data, err := json.Marshal(v); err == nil {
		out.Data = data
	}
	switch e := v.(type) {
	case *model.Deployment:
		out.Value = shared(r, Deployments, e, e.ID)
	case *model.Environment:
		out.Value = shared(r, Environments, e, e.ID)
	case *model.Resource:
		out.Value = shared(r, Resources, e, e.ID)
	}
	return &out
}

// DecodeSnapshot decodes a snapshot's data as the entity its kind names.
func DecodeSnapshot(kind string, data []byte) (any, error) {
	var v any
	switch kind {
	case SnapshotDeployment:
		v = new(model.Deployment)
	case SnapshotEnvironment:
		v = new(model.Environment)
	case SnapshotResource:
		v = new(model.Resource)
	default:
		return nil, fmt.Errorf("entity snapshot of unknown kind %q", kind)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %s snapshot: %w", kind, err)
	}
	return v, nil
}

// snapshotValue returns the entity of snapshot id, or nil.
func snapshotValue[T any](r Reader, id string) *T {
	if id == "" {
		return nil
	}
	s, err := EntitySnapshots.Get(r, id)
	if err != nil {
		return nil
	}
	v, _ := s.Value.(*T)
	return v
}

// shared returns the entity table holds under id when it equals v, else
// v. Rows read from the database each decode their own copy of what they
// embed (a release its version, a snapshot its entity), where the running
// engine shares one value, immutable, among them all: a restore of a
// fan-out would otherwise hold a copy per target. A copy that differs (the
// entity changed since) is kept as it was.
func shared[T any](r Reader, table *Table[T], v *T, id string) *T {
	if v == nil {
		return nil
	}
	stored, err := table.Get(r, id)
	if err != nil || stored == v || !reflect.DeepEqual(stored, v) {
		return v
	}
	return stored
}

// linkedRelease shares the stored version with a release read from the
// database when the release holds it unchanged.
func linkedRelease(r Reader, rel *model.Release) *model.Release {
	if rel.Version == nil {
		return rel
	}
	v := shared(r, DeploymentVersions, rel.Version, rel.Version.ID)
	if v == rel.Version {
		return rel
	}
	out := *rel
	out.Version = v
	return &out
}

// linkedJob completes a job read from the database: its release and
// version from the release's row, its deployment, environment and resource
// from their snapshots, each shared with the stored entity when equal.
func linkedJob(r Reader, j *model.Job) *model.Job {
	dc := j.DispatchContext
	if dc == nil {
		return j
	}
	ctx := *dc
	if dc.Release != nil && dc.Version == nil && (dc.Release.Version == nil || dc.Release.Version.ID == "") {
		if rel, err := Releases.Get(r, dc.Release.ID); err == nil {
			// Versions are immutable values: the job shares its release's.
			ctx.Release, ctx.Version = rel, rel.Version
		}
	}
	if refs := dc.Snapshots; refs != nil {
		if v := snapshotValue[model.Deployment](r, refs.Deployment); v != nil {
			ctx.Deployment = v
		}
		if v := snapshotValue[model.Environment](r, refs.Environment); v != nil {
			ctx.Environment = v
		}
		if v := snapshotValue[model.Resource](r, refs.Resource); v != nil {
			ctx.Resource = v
		}
	}
	if ctx.Deployment != nil {
		ctx.Deployment = shared(r, Deployments, ctx.Deployment, ctx.Deployment.ID)
	}
	if ctx.Environment != nil {
		ctx.Environment = shared(r, Environments, ctx.Environment, ctx.Environment.ID)
	}
	if ctx.Resource != nil {
		ctx.Resource = shared(r, Resources, ctx.Resource, ctx.Resource.ID)
	}
	if ctx.Release == dc.Release && ctx.Version == dc.Version && ctx.Deployment == dc.Deployment &&
		ctx.Environment == dc.Environment && ctx.Resource == dc.Resource {
		return j
	}
	full := *j
	full.DispatchContext = &ctx
	return &full
}
