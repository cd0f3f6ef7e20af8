package engine

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestEngine_SealedValueBinding writes a secret, takes its ciphertext as the
// read API shows it, and writes that ciphertext back: in its own place it is
// accepted (and the hash and binding given with it are ignored), anywhere
// else (another variable value, a resource variable, another workspace, or
// sealed with another key) it is refused with 400 and stores nothing.
func TestEngine_SealedValueBinding(t *testing.T) {
	sealer, err := secrets.New(strings.Repeat("0f", 32))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, Config{Sealer: sealer})
	other := &harness{t: t, eng: h.eng, ws: h.ws + "-other"}
	for _, w := range []*harness{h, other} {
		world(w, "r1")
		w.must("deployment-variable.created", deploymentVariable("token", "token", nil))
	}
	h.must("deployment-variable-value.created", variableValue("val", "token", 1, cel("true"), map[string]any{"sensitive": "s3cret"}))
	h.must("deployment-version.created", version("v1", t0, ""))
	stored, err := store.DeploymentVariableValues.Get(h.snapshot(), "val")
	if err != nil {
		t.Fatal(err)
	}
	sealed := stored.Value.Sensitive
	if sealed.Binding != VariableValueBinding(h.ws, "val") {
		t.Fatalf("stored binding %q, want %q", sealed.Binding, VariableValueBinding(h.ws, "val"))
	}
	release := h.desired(prodKey("r1")).ID

	echo := func(ct string) map[string]any {
		return map[string]any{"sensitive": map[string]any{"ciphertext": ct, "valueHash": "forged", "binding": "anywhere"}}
	}
	h.must("deployment-variable-value.created", variableValue("val", "token", 1, cel("true"), echo(sealed.Ciphertext)))
	again, _ := store.DeploymentVariableValues.Get(h.snapshot(), "val")
	if *again.Value.Sensitive != *sealed {
		t.Errorf("the value written back is stored as %+v, want %+v", *again.Value.Sensitive, *sealed)
	}
	if got := h.desired(prodKey("r1")).ID; got != release {
		t.Errorf("writing the same ciphertext back changed the release: %s, want %s", got, release)
	}

	foreignKey, _ := secrets.New(strings.Repeat("f0", 32))
	foreign, _ := foreignKey.Seal("s3cret", VariableValueBinding(h.ws, "val"))
	refused := []struct {
		name  string
		h     *harness
		event string
		data  any
		field string
	}{
		{"another value of the workspace", h, "deployment-variable-value.created",
			variableValue("val-2", "token", 2, cel("true"), echo(sealed.Ciphertext)), "deploymentVariableValue.value.sensitive.ciphertext"},
		{"a resource variable", h, "resource-variable.created",
			map[string]any{"resourceId": "r1", "key": "token", "value": echo(sealed.Ciphertext)}, "resourceVariable.value.sensitive.ciphertext"},
		{"another workspace", other, "deployment-variable-value.created",
			variableValue("val", "token", 1, cel("true"), echo(sealed.Ciphertext)), "deploymentVariableValue.value.sensitive.ciphertext"},
		{"another key", h, "deployment-variable-value.created",
			variableValue("val-3", "token", 3, cel("true"), echo(foreign.Ciphertext)), "deploymentVariableValue.value.sensitive.ciphertext"},
		{"a hash alone", h, "deployment-variable-value.created",
			variableValue("val-4", "token", 4, cel("true"), map[string]any{"valueHash": sealed.ValueHash}), "deploymentVariableValue.value.sensitive"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before := store.DeploymentVariableValues.Count(tt.h.snapshot()) + store.ResourceVariables.Count(tt.h.snapshot())
			err := tt.h.apply(tt.event, tt.data)
			if model.ErrorCode(err) != model.EINVALID || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("want EINVALID naming %s, got %v", tt.field, err)
			}
			if after := store.DeploymentVariableValues.Count(tt.h.snapshot()) + store.ResourceVariables.Count(tt.h.snapshot()); after != before {
				t.Errorf("a refused value was stored (%d values, was %d)", after, before)
			}
		})
	}
}
