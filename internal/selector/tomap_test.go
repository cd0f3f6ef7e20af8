package selector_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

type testResource struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Metadata  map[string]string `json:"metadata"`
	Config    map[string]any    `json:"config"`
	CreatedAt time.Time         `json:"createdAt"`
}

func TestToMap(t *testing.T) {
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      any
		want    map[string]any
		wantErr string
	}{
		{"struct", testResource{
			ID: "r-1", Name: "api",
			Metadata:  map[string]string{"env": "prod"},
			Config:    map[string]any{"replicas": 3, "ratio": 0.5, "nested": map[string]any{"x": nil, "l": []any{1, nil}}},
			CreatedAt: created,
		}, map[string]any{
			"id": "r-1", "name": "api",
			"metadata":  map[string]any{"env": "prod"},
			"config":    map[string]any{"replicas": int64(3), "ratio": 0.5, "nested": map[string]any{"l": []any{int64(1), nil}}},
			"createdAt": "2024-05-01T12:00:00Z",
		}, ""},
		{"nil maps are dropped", testResource{Name: "api", CreatedAt: created},
			map[string]any{"id": "", "name": "api", "createdAt": "2024-05-01T12:00:00Z"}, ""},
		{"nil", nil, nil, ""},
		{"not an object", "text", nil, "not a JSON object"},
		{"unmarshalable", map[string]any{"f": func() {}}, nil, "to map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := selector.ToMap(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ToMap() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToMap() = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestToMap_CEL(t *testing.T) {
	r, err := selector.ToMap(testResource{
		Name:      "api",
		Config:    map[string]any{"replicas": 3, "ratio": 1.5},
		CreatedAt: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"resource": r}
	tests := []struct {
		expr string
		want bool
	}{
		{`resource.config.replicas == 3`, true},
		{`resource.config.replicas == 3.0`, true},
		{`resource.config.replicas + 1 == 4`, true},
		{`resource.config.ratio > 1`, true},
		{`resource.metadata["env"] == "prod"`, false}, // nil map dropped: missing key
		{`!has(resource.metadata)`, true},
		{`timestamp(resource.createdAt) < timestamp("2025-01-01T00:00:00Z")`, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			m, err := selector.ResourceEnv().CompileCEL(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.MatchErr(vars)
			if err != nil || got != tt.want {
				t.Errorf("MatchErr() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
