package engine

import (
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Variable sets give values to the release targets their selector picks;
// resolution reads them after the deployment variable values and before
// the defaults (see package variables).

var variableSetKind = entityKind[model.VariableSet]{
	name: "variable-set", table: store.VariableSets,
	check: func(u *unit, s *model.VariableSet) error {
		s.WorkspaceID = u.tx.WorkspaceID()
		now := u.tx.Now()
		if old, err := store.VariableSets.Get(u.tx, s.ID); err == nil {
			s.CreatedAt = old.CreatedAt
		} else if s.CreatedAt.IsZero() {
			s.CreatedAt = now
		}
		s.UpdatedAt = now
		if s.Variables == nil {
			s.Variables = []model.VariableSetVariable{}
		}
		for i := range s.Variables {
			v := &s.Variables[i]
			v.VariableSetID = s.ID
			if v.ID == "" {
				v.ID = model.CompositeKey(s.ID, v.Key)
			}
			field := "variableSet.variables[" + strconv.Itoa(i) + "].value"
			if err := u.seal(field, VariableSetBinding(u.tx.WorkspaceID(), s.ID, v.Key), &v.Value); err != nil {
				return err
			}
		}
		return checkCEL("variableSet.selector", string(s.Selector), policyEnv)
	},
	afterUpsert: func(u *unit, old, s *model.VariableSet) error {
		before := ""
		if old != nil {
			before = string(old.Selector)
		}
		return u.markSelected(before, string(s.Selector))
	},
	afterRemove: func(u *unit, s *model.VariableSet) error { return u.markSelected(string(s.Selector)) },
}

// VariableSetBinding is the binding of the sealed value of key in variable
// set id of workspace ws.
func VariableSetBinding(ws, id, key string) string {
	return sealBinding(ws, "variableSet", id, key)
}

// matchingSets returns the variable sets whose selector picks the target.
func matchingSets(r store.Reader, te *targetEntities) ([]*model.VariableSet, error) {
	var out []*model.VariableSet
	for _, s := range store.VariableSets.Items(r) {
		ok, err := picks(string(s.Selector), te)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}
