package argocd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// application is the part of an Argo CD Application (argoproj.io/v1alpha1)
// that Gatehouse reads. Sources are kept raw: they are only compared.
type application struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Project string          `json:"project"`
		Source  json.RawMessage `json:"source,omitempty"`
		Sources json.RawMessage `json:"sources,omitempty"`
	} `json:"spec"`
	Status appStatus `json:"status"`
}

type appStatus struct {
	Sync struct {
		Status     string `json:"status"`
		Revision   string `json:"revision"`
		ComparedTo *struct {
			Source  json.RawMessage `json:"source,omitempty"`
			Sources json.RawMessage `json:"sources,omitempty"`
		} `json:"comparedTo"`
	} `json:"sync"`
	Health struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"health"`
	Conditions []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"conditions"`
	OperationState *struct {
		Phase      string    `json:"phase"`
		Message    string    `json:"message"`
		StartedAt  time.Time `json:"startedAt"`
		SyncResult *struct {
			Source  json.RawMessage `json:"source,omitempty"`
			Sources json.RawMessage `json:"sources,omitempty"`
		} `json:"syncResult"`
	} `json:"operationState"`
}

// project is the Application's project as Argo CD counts it.
func (a *application) project() string {
	if a.Spec.Project == "" {
		return "default"
	}
	return a.Spec.Project
}

// clockSkew allows for Argo CD's clock and ours to disagree when telling
// whether an operation began before the dispatch.
const clockSkew = time.Minute

// judge maps an Application onto its job. Argo CD's status can lag behind
// an upsert, so only what describes the current spec counts:
//   - a sync operation that Failed or Errored for the current sources →
//     failure (one for older sources is history);
//   - a running operation → inProgress;
//   - an InvalidSpecError condition → failure (it will not heal by itself);
//   - health Missing → inProgress for MissingAfter from the dispatch (the
//     first sync is due), externalRunNotFound after;
//   - until the sync status was compared against the current sources →
//     inProgress;
//   - Synced and Healthy → successful; Synced and Degraded → failure;
//   - anything else (OutOfSync, Progressing, Suspended, Unknown) → inProgress.
func judge(app *application, dispatched, now time.Time) agents.Update {
	st := &app.Status
	state := fmt.Sprintf("sync %s, health %s", orUnknown(st.Sync.Status), orUnknown(st.Health.Status))
	inProgress := agents.Update{Status: model.JobInProgress, Message: "application " + app.Metadata.Name + ": " + state}
	if op := st.OperationState; op != nil {
		current := !op.StartedAt.Before(dispatched.Add(-clockSkew))
		if op.SyncResult != nil {
			current = app.sameSources(op.SyncResult.Source, op.SyncResult.Sources)
		}
		switch {
		case current && (op.Phase == "Failed" || op.Phase == "Error"):
			return agents.Update{Status: model.JobFailure, Message: fmt.Sprintf("application %s: sync %s: %s", app.Metadata.Name, strings.ToLower(op.Phase), op.Message)}
		case op.Phase == "Running" || op.Phase == "Terminating":
			inProgress.Message += "; sync operation " + strings.ToLower(op.Phase)
			if op.Message != "" {
				inProgress.Message += ": " + op.Message
			}
			return inProgress
		}
	}
	for _, c := range st.Conditions {
		if c.Type == "InvalidSpecError" {
			return agents.Update{Status: model.JobFailure, Message: fmt.Sprintf("application %s: %s: %s", app.Metadata.Name, c.Type, c.Message)}
		}
		if strings.HasSuffix(c.Type, "Error") {
			inProgress.Message += "; " + c.Type + ": " + c.Message
		}
	}
	if st.Health.Status == "Missing" {
		if now.Sub(dispatched) >= MissingAfter {
			return agents.Update{Status: model.JobExternalRunNotFound, Message: fmt.Sprintf(
				"application %s: its resources are still missing %s after the dispatch (%s)", app.Metadata.Name, MissingAfter, state)}
		}
		return inProgress
	}
	if cmp := st.Sync.ComparedTo; cmp != nil && !app.sameSources(cmp.Source, cmp.Sources) {
		inProgress.Message += "; waiting for Argo CD to compare the new spec"
		return inProgress
	}
	if st.Sync.Status == "Synced" {
		switch st.Health.Status {
		case "Healthy":
			return agents.Update{Status: model.JobSuccessful, Message: "application " + app.Metadata.Name + " is synced and healthy" + revision(st.Sync.Revision)}
		case "Degraded":
			msg := "application " + app.Metadata.Name + " is degraded"
			if st.Health.Message != "" {
				msg += ": " + st.Health.Message
			}
			return agents.Update{Status: model.JobFailure, Message: msg}
		}
	}
	return inProgress
}

// sameSources reports whether source and sources (from the status) are the
// spec's. Multi-source Applications compare sources, others source.
func (a *application) sameSources(source, sources json.RawMessage) bool {
	if len(a.Spec.Sources) > 0 && string(a.Spec.Sources) != "null" {
		return sameJSON(a.Spec.Sources, sources)
	}
	return sameJSON(a.Spec.Source, source)
}

// sameJSON compares two JSON values regardless of key order and spacing.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return len(bytes.TrimSpace(a)) == 0 && len(bytes.TrimSpace(b)) == 0
	}
	xs, _ := json.Marshal(x) // maps marshal with sorted keys
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func revision(r string) string {
	if r == "" {
		return ""
	}
	return " at revision " + r
}
