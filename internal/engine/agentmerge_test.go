package engine

import (
	"encoding/json"
	"testing"
)

func TestMergeConfig(t *testing.T) {
	agent := map[string]any{"keep": "agent", "flag": true, "name": "agent", "list": []any{1, 2},
		"obj": map[string]any{"k": 1}, "scalar": "agent", "nested": map[string]any{"x": "agent", "deep": map[string]any{"p": "agent"}}}
	deployment := map[string]any{"flag": false, "name": "", "list": []any{3}, "obj": "now a string", "scalar": map[string]any{"now": "object"},
		"gone": nil, "nested": map[string]any{"y": "deployment", "deep": map[string]any{"q": "deployment"}}}
	version := map[string]any{"nested": map[string]any{"deep": map[string]any{"p": "version"}}}
	before := func() string {
		b, _ := json.Marshal([]any{agent, deployment, version})
		return string(b)
	}
	was := before()

	got, _ := json.Marshal(mergeConfig(agent, deployment, nil, version))
	want := `{"flag":false,"gone":null,"keep":"agent","list":[3],"name":"",` +
		`"nested":{"deep":{"p":"version","q":"deployment"},"x":"agent","y":"deployment"},"obj":"now a string","scalar":{"now":"object"}}`
	if string(got) != want {
		t.Errorf("merged:\n got  %s\n want %s", got, want)
	}
	if now := before(); now != was {
		t.Errorf("merging changed its inputs:\n was %s\n now %s", was, now)
	}
	if got, _ := json.Marshal(mergeConfig()); string(got) != `{}` {
		t.Errorf("no layers merge to %s, want {}", got)
	}
}
