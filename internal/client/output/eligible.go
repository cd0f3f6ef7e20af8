package output

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/client"
)

// versionColumns and versionRow lay out versions, in `get versions` and in
// `eligible`.
var versionColumns = cols("Deployment", "Tag", "Status", "Created", "+Message", "+ID")

func versionRow(v client.Version, n Namer) []string {
	return []string{n.Name("deployment", v.DeploymentID), v.Tag, v.Status, Time(v.CreatedAt), v.Message, v.ID}
}

// EligibleTable lays out the versions a target may deploy, in the order
// the server gave them (newest first, the order the engine considers
// them in).
func EligibleTable(items []json.RawMessage, n Namer) (*Table, error) {
	t := &Table{Columns: versionColumns, Empty: "No version may deploy there now."}
	for _, raw := range items {
		var v client.Version
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decode version: %w", err)
		}
		t.Add(versionRow(v, n)...)
	}
	return t, nil
}
