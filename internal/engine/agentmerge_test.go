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

// TestConfigMemo checks that a planning round merges the same layers once
// and shares the result, and that other layers get their own merge.
func TestConfigMemo(t *testing.T) {
	agent, deployment := map[string]any{"a": 1, "over": "agent"}, map[string]any{"over": "deployment"}
	v1, v2 := map[string]any{"v": 1}, map[string]any{"v": 2}
	memo := newConfigMemo()
	first, again := memo.merge(agent, deployment, nil, v1), memo.merge(agent, deployment, nil, v1)
	if mapIdentity(first) != mapIdentity(again) {
		t.Errorf("the same layers were merged twice")
	}
	other := memo.merge(agent, deployment, nil, v2)
	for _, c := range []struct {
		got  map[string]any
		want string
	}{
		{first, `{"a":1,"over":"deployment","v":1}`},
		{other, `{"a":1,"over":"deployment","v":2}`},
		{(*configMemo)(nil).merge(agent, nil, deployment, v2), `{"a":1,"over":"deployment","v":2}`},
	} {
		if got, _ := json.Marshal(c.got); string(got) != c.want {
			t.Errorf("merged %s, want %s", got, c.want)
		}
	}
}
