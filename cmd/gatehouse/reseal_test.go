package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore/sqltest"
)

const (
	keyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	keyB = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f"
)

// sealedOf returns the sealed form of a read view's value.
func sealedOf(t *testing.T, raw []byte) model.SensitiveValue {
	t.Helper()
	var v struct {
		Value struct {
			Sensitive model.SensitiveValue `json:"sensitive"`
		} `json:"value"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Value.Sensitive.Ciphertext == "" {
		t.Fatalf("no sealed value in %s (%v)", raw, err)
	}
	return v.Value.Sensitive
}

// dispatchedSecrets returns the sealed variables of every job's dispatch
// context.
func dispatchedSecrets(t *testing.T, c *apiClient) []model.SensitiveValue {
	t.Helper()
	var out []model.SensitiveValue
	for _, raw := range c.list("jobs", "") {
		var j struct {
			DispatchContext struct {
				Variables map[string]json.RawMessage `json:"variables"`
			} `json:"dispatchContext"`
		}
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		for _, v := range j.DispatchContext.Variables {
			var s struct {
				Sensitive *model.SensitiveValue `json:"sensitive"`
			}
			if json.Unmarshal(v, &s) == nil && s.Sensitive != nil {
				out = append(out, *s.Sensitive)
			}
		}
	}
	return out
}

func runResealCommand(t *testing.T, dsn string) string {
	t.Helper()
	t.Setenv("OLD_KEY", keyA)
	t.Setenv(envEncryptionKey, keyB)
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"reseal", "--db", dsn, "--old-key-env", "OLD_KEY"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("reseal: %v", err)
	}
	return out.String()
}

// TestReseal seals secrets with one key, then rotates to another: a start
// with the new key is refused until `gatehouse reseal` ran; after it every
// sealed value (variable values, resource variables, dispatch contexts)
// opens with the new key and not the old, nothing was released again, and
// the old key is refused in turn.
func TestReseal(t *testing.T) {
	for _, dialect := range sqltest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqltest.DSN(t, dialect)
			t.Setenv(envEncryptionKey, keyA)
			m := startMain(t, dsn)
			c := newAPIClient(t, m.Addr(), "ws-keys")
			setupPipeline(c)
			c.mustApply("deployment-variable.created", map[string]any{"id": "token", "deploymentId": "api", "key": "token"})
			c.mustApply("deployment-variable.created", map[string]any{"id": "pw", "deploymentId": "api", "key": "pw"})
			c.mustApply("deployment-variable-value.created", map[string]any{"id": "val", "deploymentVariableId": "token",
				"priority": 1, "value": map[string]any{"sensitive": "token-s3cret"}})
			c.mustApply("resource.created", fxResource("r1", "Cluster", map[string]string{}))
			c.mustApply("resource-variable.created", map[string]any{"resourceId": "r1", "key": "pw",
				"value": map[string]any{"sensitive": "pw-s3cret"}})
			c.mustApply("deployment-variable.created", map[string]any{"id": "key", "deploymentId": "api", "key": "key"})
			c.mustApply("variable-set.created", map[string]any{"id": "vs", "name": "keys", "selector": "true", "priority": 1,
				"variables": []any{map[string]any{"key": "key", "value": map[string]any{"sensitive": "key-s3cret"}}}})
			c.mustApply("deployment-version.created", fxVersion("v2", "api"))
			before := dumpState(t, c)
			_, valBefore := c.get("deployment-variable-values/val")
			m.stop(t)

			t.Setenv(envEncryptionKey, keyB)
			if _, err := Open(context.Background(), testConfig(dsn)); err == nil || !strings.Contains(err.Error(), "gatehouse reseal") {
				t.Fatalf("a start with another key: %v, want a refusal saying how to reseal", err)
			}

			out := runResealCommand(t, dsn)
			if !strings.Contains(out, "resealed ") || strings.HasPrefix(out, "resealed 0 ") {
				t.Fatalf("reseal said %q", out)
			}
			again := runResealCommand(t, dsn)
			if !strings.HasPrefix(again, "resealed 0 values") {
				t.Errorf("a second reseal said %q, want nothing left to do", again)
			}

			m = startMain(t, dsn)
			c = newAPIClient(t, m.Addr(), "ws-keys")
			newKey, _ := secrets.New(keyB)
			oldKey, _ := secrets.New(keyA)
			_, raw := c.get("deployment-variable-values/val")
			val := sealedOf(t, raw)
			if val.Ciphertext == sealedOf(t, valBefore).Ciphertext {
				t.Error("the variable value's ciphertext did not change")
			}
			opens := func(v model.SensitiveValue, binding, want string) {
				t.Helper()
				if got, err := newKey.Open(&v, binding); err != nil || got != want {
					t.Errorf("%s does not open with the new key: %q, %v", binding, got, err)
				}
				if _, err := oldKey.Open(&v, binding); err == nil {
					t.Errorf("%s still opens with the old key", binding)
				}
			}
			opens(val, engine.VariableValueBinding("ws-keys", "val"), "token-s3cret")
			_, raw = c.get("resource-variables/r1-pw")
			opens(sealedOf(t, raw), engine.ResourceVariableBinding("ws-keys", "r1", "pw"), "pw-s3cret")
			_, raw = c.get("variable-sets/vs")
			var set struct {
				Variables []json.RawMessage `json:"variables"`
			}
			if err := json.Unmarshal(raw, &set); err != nil || len(set.Variables) != 1 {
				t.Fatalf("variable set: %s (%v)", raw, err)
			}
			opens(sealedOf(t, set.Variables[0]), engine.VariableSetBinding("ws-keys", "vs", "key"), "key-s3cret")
			dispatched := dispatchedSecrets(t, c)
			if len(dispatched) == 0 {
				t.Fatal("no job carries a sealed variable: the fixture proves nothing about dispatch contexts")
			}
			for _, s := range dispatched {
				want := map[string]string{engine.VariableValueBinding("ws-keys", "val"): "token-s3cret",
					engine.ResourceVariableBinding("ws-keys", "r1", "pw"): "pw-s3cret",
					engine.VariableSetBinding("ws-keys", "vs", "key"):     "key-s3cret"}[s.Binding]
				opens(s, s.Binding, want)
			}
			after := dumpState(t, c)
			if after["release-targets"] != before["release-targets"] || after["releases"] != before["releases"] {
				t.Errorf("the new key changed releases:\n before: %s\n  after: %s", before["release-targets"], after["release-targets"])
			}
			m.stop(t)

			t.Setenv(envEncryptionKey, keyA)
			if _, err := Open(context.Background(), testConfig(dsn)); err == nil {
				t.Fatal("a start with the old key after the reseal succeeded")
			}
		})
	}
}
