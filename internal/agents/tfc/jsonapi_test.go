package tfc

import (
	"encoding/json"
	"net/http"
	"sort"
	"testing"
)

// The JSON:API documents the test server answers with, shaped as the
// Terraform API sends them.

func workspaceResource(ws *tfWorkspace) map[string]any {
	return map[string]any{"id": ws.id, "type": "workspaces",
		"attributes": map[string]any{"name": ws.name, "auto-apply": false, "execution-mode": "remote",
			"created-at": "2026-01-02T03:04:05.000Z"},
		"relationships": map[string]any{"organization": map[string]any{"data": map[string]any{"id": ws.org, "type": "organizations"}}}}
}

func varResource(wsID string, v *tfVar) map[string]any {
	var value any = v.value
	if v.sensitive {
		value = nil // the API never reads back a sensitive value
	}
	return map[string]any{"id": v.id, "type": "vars",
		"attributes": map[string]any{"key": v.key, "value": value, "category": v.category, "hcl": v.hcl,
			"sensitive": v.sensitive, "description": ""},
		"relationships": map[string]any{"configurable": map[string]any{"data": map[string]any{"id": wsID, "type": "workspaces"}}}}
}

func runResource(r *tfRun) map[string]any {
	rels := map[string]any{"workspace": map[string]any{"data": map[string]any{"id": r.workspaceID, "type": "workspaces"}}}
	if r.planID != "" {
		rels["plan"] = map[string]any{"data": map[string]any{"id": r.planID, "type": "plans"}}
	}
	return map[string]any{"id": r.id, "type": "runs",
		"attributes": map[string]any{"message": r.message, "status": r.status, "source": "tfe-api",
			"created-at": "2026-01-02T03:04:05.000Z", "is-destroy": false, "plan-only": r.planOnly,
			"actions": map[string]any{"is-cancelable": true, "is-confirmable": false}},
		"relationships": rels}
}

func attributes(body map[string]any) map[string]any {
	data, _ := body["data"].(map[string]any)
	attrs, _ := data["attributes"].(map[string]any)
	return attrs
}

func apiError(status, title, detail string) map[string]any {
	return map[string]any{"status": status, "title": title, "detail": detail}
}

func invalidAttribute(detail, pointer string) map[string]any {
	return map[string]any{"status": "422", "title": "invalid attribute", "detail": detail,
		"source": map[string]any{"pointer": pointer}}
}

func writeDoc(w http.ResponseWriter, status int, data any) {
	w.Header().Set("Content-Type", jsonAPI)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func writeList(w http.ResponseWriter, items []any) {
	if items == nil {
		items = []any{}
	}
	w.Header().Set("Content-Type", jsonAPI)
	_ = json.NewEncoder(w).Encode(map[string]any{"data": items, "meta": map[string]any{"pagination": map[string]any{
		"current-page": 1, "prev-page": nil, "next-page": nil, "total-pages": 1, "total-count": len(items)}}})
}

func writeErrors(w http.ResponseWriter, status int, errs ...map[string]any) {
	w.Header().Set("Content-Type", jsonAPI)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": errs})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
