package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TestKindOf checks that every rule kind a PolicyRule can hold has a name,
// the one it is written under on the wire, and is listed in Kinds.
func TestKindOf(t *testing.T) {
	rt := reflect.TypeFor[model.PolicyRule]()
	for f := range rt.Fields() {
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			continue
		}
		wire, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		t.Run(wire, func(t *testing.T) {
			var rule model.PolicyRule
			reflect.ValueOf(&rule).Elem().FieldByIndex(f.Index).Set(reflect.New(f.Type.Elem()))
			if got := KindOf(&rule); got != wire {
				t.Fatalf("KindOf = %q, want %q", got, wire)
			}
			if !slices.Contains(Kinds, wire) {
				t.Fatalf("%q is missing from Kinds", wire)
			}
		})
	}
	if got := KindOf(&model.PolicyRule{}); got != "" {
		t.Fatalf("a rule of no kind is %q", got)
	}
}
