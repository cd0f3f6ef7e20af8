package output

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/client/apply"
)

// WritePlan prints what a plan did, or with dryRun what it would do: one
// line per entity, the changed fields of an update under it (ids shown as
// the names of what they name, secrets redacted), and a summary line.
func WritePlan(w io.Writer, p *apply.Plan, dryRun bool) error {
	b := &strings.Builder{}
	for _, w := range p.Warnings {
		fmt.Fprintf(b, "warning: %s\n", w)
	}
	if p.Empty() {
		b.WriteString("No changes.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	verbs := map[apply.Action]string{apply.Create: "created", apply.Update: "updated", apply.Delete: "deleted"}
	if dryRun {
		verbs = map[apply.Action]string{apply.Create: "would create", apply.Update: "would update", apply.Delete: "would delete"}
	}
	width := 0
	for _, v := range verbs {
		width = max(width, len(v))
	}
	for _, c := range p.Changes {
		fmt.Fprintf(b, "%-*s  %s/%s\n", width, verbs[c.Action], c.Kind.Name, c.Name)
		for _, f := range c.Fields {
			fmt.Fprintf(b, "%*s  %s: %s -> %s\n", width, "", f.Path, showValue(f.Path, f.Old, p.Names), showValue(f.Path, f.New, p.Names))
		}
	}
	created, updated, deleted := p.Count(apply.Create), p.Count(apply.Update), p.Count(apply.Delete)
	if dryRun {
		fmt.Fprintf(b, "Dry run: %d to create, %d to update, %d to delete; nothing was sent.\n", created, updated, deleted)
	} else {
		fmt.Fprintf(b, "%d created, %d updated, %d deleted.\n", created, updated, deleted)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var pathSegment = regexp.MustCompile(`[^.\[\]]+`)

// showValue writes one side of a field change in one line.
func showValue(path string, v any, names map[string]string) string {
	if v == nil {
		return "(none)"
	}
	for _, seg := range pathSegment.FindAllString(path, -1) {
		if IsSecretKey(seg) {
			return Redacted
		}
	}
	generic, err := toGeneric(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	generic = Redact(nameIDs(generic, names))
	b, err := json.Marshal(generic)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// nameIDs replaces strings that are known ids by "kind/name".
func nameIDs(v any, names map[string]string) any {
	switch x := v.(type) {
	case string:
		if n, ok := names[x]; ok {
			return n
		}
	case map[string]any:
		for k, e := range x {
			x[k] = nameIDs(e, names)
		}
	case []any:
		for i, e := range x {
			x[i] = nameIDs(e, names)
		}
	}
	return v
}
