// Package reseal changes the key that seals a database's sensitive values:
// it opens every sealed value with the old key and seals it again with the
// new one, one transaction per workspace.
//
// It covers every place a sealed value is stored: deployment variable
// values, resource variables and variable sets (bound to where they live)
// and the
// dispatch contexts of jobs (which record the binding of the value they
// copied). A value's keyed hash is kept as it was, so that release ids, which
// are derived from it, do not change and nothing is deployed again because
// of a new key. The server must be stopped while it runs: a server holds the
// old ciphertexts in memory and would write them back.
package reseal

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlstore"
)

// Result counts what Database did.
type Result struct {
	// Workspaces is the number of workspaces looked at.
	Workspaces int
	// Resealed is the number of sealed values sealed again with the new key.
	Resealed int
	// Current is the number already sealed with the new key (a reseal run
	// again after it was interrupted) and left as they were.
	Current int
}

// Database reseals every workspace of db, then records the new key's
// fingerprint. It refuses a database whose recorded key is neither the old
// nor the new one. A value that opens with neither key stops it with an
// error naming the value; workspaces resealed before stay resealed, and
// running it again finishes the work.
func Database(ctx context.Context, db *sqlstore.DB, old, new *secrets.Sealer) (Result, error) {
	var res Result
	stored, err := db.KeyFingerprint(ctx)
	if err != nil {
		return res, err
	}
	if stored != "" && stored != old.Fingerprint() && stored != new.Fingerprint() {
		return res, fmt.Errorf("the database's values were sealed with another key (fingerprint %s), neither the old one (%s) nor the new one (%s)",
			Short(stored), Short(old.Fingerprint()), Short(new.Fingerprint()))
	}
	ids, err := db.Workspaces(ctx)
	if err != nil {
		return res, err
	}
	for _, ws := range ids {
		st, err := store.New(ws, store.WithPersister(db))
		if err != nil {
			return res, err
		}
		if _, err := db.LoadWorkspace(ctx, ws, st); err != nil {
			return res, err
		}
		if err := Workspace(ctx, st, old, new, &res); err != nil {
			return res, fmt.Errorf("workspace %s: %w", ws, err)
		}
		res.Workspaces++
	}
	if err := db.SetKeyFingerprint(ctx, new.Fingerprint()); err != nil {
		return res, err
	}
	return res, nil
}

// Short is the first 16 digits of a key fingerprint, enough to tell keys
// apart in a message.
func Short(fingerprint string) string { return fingerprint[:min(16, len(fingerprint))] }

// Workspace reseals every sealed value of st in one transaction, adding to
// res. It writes nothing when a value fails.
func Workspace(ctx context.Context, st *store.Store, old, new *secrets.Sealer, res *Result) error {
	tx := st.Begin(ctx)
	defer tx.Abort()
	r := &resealer{old: old, new: new, res: res}
	ws := st.WorkspaceID()
	for _, v := range store.DeploymentVariableValues.Items(tx) {
		if v.Value.Sensitive == nil {
			continue
		}
		next := *v
		changed, err := r.value(&next.Value, engine.VariableValueBinding(ws, v.ID), "deployment variable value "+v.ID)
		if err != nil {
			return err
		}
		if changed {
			if err := store.DeploymentVariableValues.Upsert(tx, next.ID, &next); err != nil {
				return err
			}
		}
	}
	for _, v := range store.ResourceVariables.Items(tx) {
		if v.Value.Sensitive == nil {
			continue
		}
		next := *v
		changed, err := r.value(&next.Value, engine.ResourceVariableBinding(ws, v.ResourceID, v.Key), "resource variable "+v.ID())
		if err != nil {
			return err
		}
		if changed {
			if err := store.ResourceVariables.Upsert(tx, next.ID(), &next); err != nil {
				return err
			}
		}
	}
	for _, set := range store.VariableSets.Items(tx) {
		next, err := r.variableSet(ws, set)
		if err != nil {
			return err
		}
		if next != set {
			if err := store.VariableSets.Upsert(tx, next.ID, next); err != nil {
				return err
			}
		}
	}
	for _, j := range store.Jobs.Items(tx) {
		next, err := r.job(j)
		if err != nil {
			return err
		}
		if next != j {
			if err := store.Jobs.Upsert(tx, next.ID, next); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

type resealer struct {
	old, new *secrets.Sealer
	res      *Result
}

// sealed reseals one ciphertext bound to binding; it returns "" when the
// ciphertext is sealed with the new key already.
func (r *resealer) sealed(ct, binding, where string) (string, error) {
	v := &model.SensitiveValue{Ciphertext: ct}
	clear, err := r.old.Open(v, binding)
	if err != nil {
		if _, errNew := r.new.Open(v, binding); errNew == nil {
			r.res.Current++
			return "", nil
		}
		return "", fmt.Errorf("%s does not open with the old key or the new one: %w", where, err)
	}
	next, err := r.new.Seal(clear, binding)
	if err != nil {
		return "", err
	}
	r.res.Resealed++
	return next.Ciphertext, nil
}

// value reseals a stored variable value in place, under the binding of the
// place it is stored (not the one it carries).
func (r *resealer) value(v *model.Value, binding, where string) (bool, error) {
	s := *v.Sensitive
	if s.Ciphertext == "" {
		return false, nil
	}
	ct, err := r.sealed(s.Ciphertext, binding, where)
	if err != nil || ct == "" {
		return false, err
	}
	s.Ciphertext, s.Binding = ct, binding
	v.Sensitive = &s
	return true, nil
}

// variableSet returns s with its sealed values resealed under the
// bindings of their keys, or s itself when none needed it.
func (r *resealer) variableSet(ws string, s *model.VariableSet) (*model.VariableSet, error) {
	var vars []model.VariableSetVariable
	for i, v := range s.Variables {
		if v.Value.Sensitive == nil {
			continue
		}
		val := v.Value
		changed, err := r.value(&val, engine.VariableSetBinding(ws, s.ID, v.Key), "variable "+v.Key+" of variable set "+s.ID)
		if err != nil {
			return nil, err
		}
		if !changed {
			continue
		}
		if vars == nil {
			vars = slices.Clone(s.Variables)
		}
		vars[i].Value = val
	}
	if vars == nil {
		return s, nil
	}
	next := *s
	next.Variables = vars
	return &next, nil
}

// job returns j with the sealed variables of its dispatch context resealed
// under the bindings the engine recorded there, or j itself when it has
// none to reseal.
func (r *resealer) job(j *model.Job) (*model.Job, error) {
	if j.DispatchContext == nil {
		return j, nil
	}
	var vars map[string]model.LiteralValue
	for k, lv := range j.DispatchContext.Variables {
		m, _ := lv.V.(map[string]any)
		s, _ := m["sensitive"].(map[string]any)
		ct, _ := s["ciphertext"].(string)
		if ct == "" {
			continue
		}
		binding, _ := s["binding"].(string)
		next, err := r.sealed(ct, binding, "variable "+k+" of job "+j.ID)
		if err != nil {
			return nil, err
		}
		if next == "" {
			continue
		}
		if vars == nil {
			vars = maps.Clone(j.DispatchContext.Variables)
		}
		sealed := maps.Clone(s)
		sealed["ciphertext"] = next
		vars[k] = model.LiteralValue{V: map[string]any{"sensitive": sealed}}
	}
	if vars == nil {
		return j, nil
	}
	next := *j
	dc := *j.DispatchContext
	dc.Variables = vars
	next.DispatchContext = &dc
	return &next, nil
}
