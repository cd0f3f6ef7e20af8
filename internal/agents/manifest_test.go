package agents

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

type manifestShape struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec map[string]any `json:"spec"`
}

func TestConfig_Manifest(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string // the decoded metadata.name, or the error's text
	}{
		{"yaml", "kind: Job\nmetadata:\n  name: a\nspec: {parallelism: 2}\n", "a"},
		{"json text", `{"kind":"Job","metadata":{"name":"b"}}`, "b"},
		{"object", map[string]any{"kind": "Job", "metadata": map[string]any{"name": "c"}}, "c"},
		{"unknown field", "kind: Job\nmetdata: {}\n", `manifest: error unmarshaling JSON: while decoding JSON: json: unknown field "metdata"`},
		{"not yaml", "kind: [", "manifest: error converting YAML to JSON"},
		{"a number", 3.0, "manifest: must be a manifest (an object, or YAML or JSON text), got float64"},
		{"absent", nil, "manifest: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m manifestShape
			err := Config{"manifest": tt.value}.Manifest("manifest", &m)
			if err != nil {
				if !strings.HasPrefix(err.Error(), tt.want) || model.ErrorCode(err) != model.EINVALID {
					t.Errorf("error = %q (%s), want EINVALID starting %q", err, model.ErrorCode(err), tt.want)
				}
				return
			}
			if m.Metadata.Name != tt.want {
				t.Errorf("name = %q, want %q", m.Metadata.Name, tt.want)
			}
		})
	}
}

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"

func TestConfig_PEM(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(testPEM))
	for _, in := range []string{testPEM, b64} {
		got, err := Config{"caData": in}.PEM("caData")
		if err != nil || string(got) != testPEM {
			t.Errorf("PEM(%.20q) = %q, %v; want the PEM text", in, got, err)
		}
	}
	if got, err := (Config{}).PEM("caData"); got != nil || err != nil {
		t.Errorf("PEM of an absent key = %q, %v; want nothing", got, err)
	}
	for in, want := range map[string]string{
		"not base64!": "caData: must be base64-encoded PEM",
		base64.StdEncoding.EncodeToString([]byte("x")): "caData: holds no PEM block",
	} {
		if _, err := (Config{"caData": in}).PEM("caData"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("PEM(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestConfig_Bool(t *testing.T) {
	for in, want := range map[any]bool{true: true, false: false, "true": true, "false": false, "": false} {
		if got, err := (Config{"k": in}).Bool("k"); err != nil || got != want {
			t.Errorf("Bool(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := (Config{"k": "yes please"}).Bool("k"); err == nil || !strings.HasPrefix(err.Error(), "k: must be true or false") {
		t.Errorf("Bool of a word: %v, want an error naming k", err)
	}
}

func TestWrap(t *testing.T) {
	if Wrap("x", nil) != nil {
		t.Error("Wrap of nil is not nil")
	}
	orig := StatusError(503, "7", "system answered 503")
	err := Wrap("create run", orig)
	e := Classify(err)
	if e.Message != "create run: system answered 503" || !e.Retryable || e.StatusCode != 503 || e.RetryAfter.Seconds() != 7 {
		t.Errorf("Wrap = %+v, want the classification kept and the context in front", e)
	}
	if orig.Message != "system answered 503" {
		t.Errorf("Wrap changed the original error: %q", orig.Message)
	}
	if e := Classify(Wrap("dial", errors.New("connection refused"))); !e.Retryable || e.Message != "dial: connection refused" {
		t.Errorf("Wrap of a plain error = %+v, want retryable", e)
	}
}
