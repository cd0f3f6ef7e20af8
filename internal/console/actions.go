package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// maxActionBytes bounds an action's body: a few ids and a reason.
const maxActionBytes = 64 << 10

// actionAnswer is an action's answer: what was done, in words.
type actionAnswer struct {
	Message string `json:"message"`
}

// approveRequest is the body of an approval.
type approveRequest struct {
	VersionID     string `json:"versionId"`
	EnvironmentID string `json:"environmentId"`
	UserID        string `json:"userId"`
	Reason        string `json:"reason"`
}

// approve records a user's approval of a version for an environment, as
// a user-approval-record.created event.
func (c *Console) approve(w http.ResponseWriter, r *http.Request) {
	var req approveRequest
	if err := decodeAction(r, &req); err != nil {
		c.writeActionError(w, r, err)
		return
	}
	req.UserID = strings.TrimSpace(req.UserID)
	if caller := auth.CallerFrom(r.Context()); caller != nil && req.UserID == "" {
		req.UserID = caller.Name // a named token approves as its holder
	}
	if req.UserID == "" {
		c.writeActionError(w, r, model.Invalid("userId", "is required: the name the approval is recorded for"))
		return
	}
	record := map[string]any{"versionId": req.VersionID, "environmentId": req.EnvironmentID, "userId": req.UserID,
		"status": model.ApprovalApproved}
	if req.Reason != "" {
		record["reason"] = req.Reason
	}
	ws := r.PathValue("ws")
	if err := c.apply(r, ws, "user-approval-record.created", record); err != nil {
		c.writeActionError(w, r, err)
		return
	}
	version, env := req.VersionID, req.EnvironmentID
	if snap, done, err := c.read(ws); err == nil {
		if v, err := store.DeploymentVersions.Get(snap, version); err == nil {
			version = versionName(v)
		}
		env = environmentName(snap, env)
		done()
	}
	writeJSON(w, http.StatusAccepted, actionAnswer{Message: fmt.Sprintf("approved %s for %s as %s", version, env, req.UserID)})
}

// redeploy asks for a new job for a target's release, as a
// release-target.deploy event; the engine refuses it (409) while the
// target has a job under way.
func (c *Console) redeploy(w http.ResponseWriter, r *http.Request) {
	if err := decodeAction(r, &struct{}{}); err != nil {
		c.writeActionError(w, r, err)
		return
	}
	t := model.ReleaseTarget{ResourceID: r.PathValue("resource"), EnvironmentID: r.PathValue("environment"),
		DeploymentID: r.PathValue("deployment")}
	ws := r.PathValue("ws")
	if err := c.apply(r, ws, "release-target.deploy", t); err != nil {
		c.writeActionError(w, r, err)
		return
	}
	name := t.Key()
	if snap, done, err := c.read(ws); err == nil {
		name = deploymentName(snap, t.DeploymentID) + "/" + environmentName(snap, t.EnvironmentID) + "/" +
			resourceName(snap, t.ResourceID)
		done()
	}
	writeJSON(w, http.StatusAccepted, actionAnswer{Message: "redeploy of " + name + " requested"})
}

// apply applies one event of an action. Its id is new for each request,
// so that two clicks are two actions.
func (c *Console) apply(r *http.Request, ws, eventType string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", eventType, err)
	}
	if _, ok := c.engine.Workspace(ws); !ok {
		// Actions never create a workspace.
		return model.Errorf(model.ENOTFOUND, "workspace %q not found", ws)
	}
	err = c.engine.Apply(r.Context(), ws, []engine.Event{{Type: eventType, ID: uuid.NewString(), Data: raw,
		Caller: auth.CallerFrom(r.Context())}})
	var ee *engine.EventError
	if errors.As(err, &ee) {
		// One event: its position says nothing; its error says it all.
		return ee.Err
	}
	return err
}

// decodeAction reads an action's JSON body into v, strictly; an empty body
// is an empty object. Only JSON is taken, so that a plain HTML form on
// another site cannot submit an action.
func decodeAction(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return model.Invalid("Content-Type", "must be application/json, got %q", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxActionBytes+1))
	if err != nil {
		return model.Invalid("body", "could not be read: %v", err)
	}
	if len(body) > maxActionBytes {
		return model.Invalid("body", "is larger than %d bytes", maxActionBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return model.Invalid("body", "%v", err)
	}
	return nil
}
