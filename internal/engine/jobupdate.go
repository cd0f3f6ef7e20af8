package engine

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Job updates: what agents report about their jobs, and the state machine
// the engine keeps for them.

// updateJob applies job.updated: the fields named in fieldsToUpdate are
// copied from the payload's job onto the stored job, and the engine keeps
// the job's state machine (SPEC §5): a terminal job stays terminal, and the
// start and completion times are stamped when the update leaves them out.
func updateJob(u *unit, data json.RawMessage) error {
	var ev struct {
		ID             string          `json:"id"`
		AgentID        string          `json:"agentId"`
		ExternalID     string          `json:"externalId"`
		Job            json.RawMessage `json:"job"`
		FieldsToUpdate []string        `json:"fieldsToUpdate"`
	}
	if err := wire.Decode(data, &ev, ""); err != nil {
		return err
	}
	if len(ev.Job) == 0 {
		return model.Invalid("job", "is required")
	}
	var patch model.Job
	if err := wire.Decode(ev.Job, &patch, "job"); err != nil {
		return err
	}
	cur, err := findJob(u.tx, ev.ID, ev.AgentID, ev.ExternalID, patch.ID)
	if err != nil {
		return err
	}
	next, err := applyJobFields(cur, &patch, ev.Job, ev.FieldsToUpdate)
	if err != nil {
		return err
	}
	if err := next.Validate(); err != nil {
		return err
	}
	return u.saveJob(cur, next)
}

// saveJob writes a job's new state, keeping the state machine: a terminal
// job cannot move to another status (ECONFLICT); the first move to a
// processing status past pending stamps startedAt and the move to a
// terminal status stamps completedAt, unless the update gave them.
// Every job change made by the engine's own agents goes through here too.
func (u *unit) saveJob(cur, next *model.Job) error {
	if next.Status != cur.Status && !model.IsProcessingJobStatus(cur.Status) {
		return model.Errorf(model.ECONFLICT, "job %s is %s, a terminal status; it cannot become %s", cur.ID, cur.Status, next.Status)
	}
	now := u.tx.Now()
	if next.StartedAt.IsZero() && next.Status != model.JobPending && model.IsProcessingJobStatus(next.Status) {
		next.StartedAt = now
	}
	if next.CompletedAt.IsZero() && !model.IsProcessingJobStatus(next.Status) {
		next.CompletedAt = now
	}
	next.UpdatedAt = now
	if err := store.Jobs.Upsert(u.tx, next.ID, next); err != nil {
		return err
	}
	if next.Status != cur.Status {
		return u.jobStatusChanged(cur, next)
	}
	return nil
}

// findJob finds the job a job.updated event names, by id or by agent and
// external id, refusing ids that disagree.
func findJob(r store.Reader, id, agentID, externalID, bodyID string) (*model.Job, error) {
	if id != "" && bodyID != "" && id != bodyID {
		return nil, model.Invalid("job.id", "%q does not match id %q", bodyID, id)
	}
	if id == "" {
		id = bodyID
	}
	if id != "" {
		j, err := store.Jobs.Get(r, id)
		if errors.Is(err, model.ErrNotFound) {
			return nil, model.Errorf(model.ENOTFOUND, "job %q does not exist", id)
		}
		if err == nil && agentID != "" && externalID != "" && (j.JobAgentID != agentID || j.ExternalID != externalID) {
			return nil, model.Invalid("agentId", "job %s is not known to agent %q as %q", id, agentID, externalID)
		}
		return j, err
	}
	if agentID == "" || externalID == "" {
		return nil, model.Invalid("id", "give id, or agentId and externalId")
	}
	j, err := store.JobsByExternalID.First(r, store.ExternalKey(agentID, externalID))
	if errors.Is(err, model.ErrNotFound) {
		return nil, model.Errorf(model.ENOTFOUND, "no job with agent %q and external id %q", agentID, externalID)
	}
	return j, err
}

// agentJobFields are the job fields an agent may set, and how.
var agentJobFields = map[string]func(next, patch *model.Job){
	"status":         func(n, p *model.Job) { n.Status = p.Status },
	"message":        func(n, p *model.Job) { n.Message = p.Message },
	"externalId":     func(n, p *model.Job) { n.ExternalID = p.ExternalID },
	"startedAt":      func(n, p *model.Job) { n.StartedAt = p.StartedAt },
	"completedAt":    func(n, p *model.Job) { n.CompletedAt = p.CompletedAt },
	"metadata":       func(n, p *model.Job) { n.Metadata = p.Metadata },
	"traceToken":     func(n, p *model.Job) { n.TraceToken = p.TraceToken },
	"jobAgentConfig": func(n, p *model.Job) { n.JobAgentConfig = p.JobAgentConfig },
}

// engineJobFields are job fields the engine owns: naming one in
// fieldsToUpdate is refused. The job's id and updatedAt may be named (the
// id must match, the engine stamps updatedAt), since producers echo them.
var engineJobFields = []string{"releaseId", "jobAgentId", "dispatchContext", "createdAt", "workflowJobId"}

// applyJobFields returns a copy of cur with the named fields taken from
// patch. Without fieldsToUpdate, the agent's fields present in the payload
// are applied and the others ignored, because producers send the whole job
// as the read API shows it.
func applyJobFields(cur, patch *model.Job, raw json.RawMessage, fields []string) (*model.Job, error) {
	next := *cur
	named := len(fields) > 0
	if !named {
		var present map[string]json.RawMessage
		_ = json.Unmarshal(raw, &present)
		for k := range present {
			fields = append(fields, k)
		}
	}
	for _, f := range fields {
		if set, ok := agentJobFields[f]; ok {
			set(&next, patch)
			continue
		}
		switch {
		case slices.Contains(engineJobFields, f):
			if named {
				return nil, model.Invalid("fieldsToUpdate", "%q is set by the engine, not by agents", f)
			}
		case f == "id" || f == "updatedAt":
		case named:
			return nil, model.Invalid("fieldsToUpdate", "unknown field %q", f)
		}
	}
	return &next, nil
}
