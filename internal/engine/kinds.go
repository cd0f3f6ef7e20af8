package engine

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/engine/history"
	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/engine/relations"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/verification"
)

// The kinds below are stored with their references and selectors checked;
// releases, jobs and policies give them further behaviour.

var versionKind = entityKind[model.DeploymentVersion]{
	name: "deployment-version", table: store.DeploymentVersions,
	check: func(u *unit, v *model.DeploymentVersion) error {
		if v.CreatedAt.IsZero() {
			v.CreatedAt = u.tx.Now()
		}
		if v.Status == "" {
			v.Status = model.VersionReady
		}
		if v.JobAgentConfig == nil {
			v.JobAgentConfig = map[string]any{}
		}
		owner := configBinding(u.tx.WorkspaceID(), "deploymentVersion", v.ID)
		if err := u.checkJobConfig("deploymentVersion.jobAgentConfig", owner, v.JobAgentConfig, nil); err != nil {
			return err
		}
		if err := requireExists(u.tx, store.Deployments, "deploymentVersion.deploymentId", v.DeploymentID); err != nil {
			return err
		}
		if err := checkVersionDependencies(u.tx, v); err != nil {
			return err
		}
		if err := u.stampCreator(v); err != nil {
			return err
		}
		for _, other := range store.VersionsByDeployment.Get(u.tx, v.DeploymentID) {
			if other.Tag == v.Tag && other.ID != v.ID {
				return model.Errorf(model.ECONFLICT, "deploymentVersion.tag: %q is already used by version %s of this deployment", v.Tag, other.ID)
			}
		}
		return nil
	},
	afterUpsert: func(u *unit, _, v *model.DeploymentVersion) error { u.markDeployment(v.DeploymentID); return nil },
	afterRemove: func(u *unit, v *model.DeploymentVersion) error { u.markDeployment(v.DeploymentID); return nil },
}

var deploymentVariableKind = entityKind[model.DeploymentVariable]{
	name: "deployment-variable", table: store.DeploymentVariables,
	check: func(u *unit, v *model.DeploymentVariable) error {
		return requireExists(u.tx, store.Deployments, "deploymentVariable.deploymentId", v.DeploymentID)
	},
	afterUpsert: func(u *unit, _, v *model.DeploymentVariable) error { u.markDeployment(v.DeploymentID); return nil },
	afterRemove: func(u *unit, v *model.DeploymentVariable) error { u.markDeployment(v.DeploymentID); return nil },
	beforeRemove: func(u *unit, v *model.DeploymentVariable) error {
		for _, val := range store.ValuesByVariable.Get(u.tx, v.ID) {
			if err := store.DeploymentVariableValues.Remove(u.tx, val.ID); err != nil {
				return err
			}
		}
		return nil
	},
}

// removeDeploymentVariable removes a variable with its values.
func removeDeploymentVariable(u *unit, v *model.DeploymentVariable) error {
	if err := deploymentVariableKind.beforeRemove(u, v); err != nil {
		return err
	}
	return store.DeploymentVariables.Remove(u.tx, v.ID)
}

var variableValueKind = entityKind[model.DeploymentVariableValue]{
	name: "deployment-variable-value", table: store.DeploymentVariableValues,
	check: func(u *unit, v *model.DeploymentVariableValue) error {
		if err := requireExists(u.tx, store.DeploymentVariables, "deploymentVariableValue.deploymentVariableId", v.DeploymentVariableID); err != nil {
			return err
		}
		if err := u.seal("deploymentVariableValue.value", VariableValueBinding(u.tx.WorkspaceID(), v.ID), &v.Value); err != nil {
			return err
		}
		return checkSelector("deploymentVariableValue.resourceSelector", v.ResourceSelector, selector.ResourceEnv())
	},
	afterUpsert: func(u *unit, _, v *model.DeploymentVariableValue) error {
		return u.markVariable(v.DeploymentVariableID)
	},
	afterRemove: func(u *unit, v *model.DeploymentVariableValue) error { return u.markVariable(v.DeploymentVariableID) },
}

// markVariable marks the targets of the deployment declaring a variable.
func (u *unit) markVariable(variableID string) error {
	if dv, err := store.DeploymentVariables.Get(u.tx, variableID); err == nil {
		u.markDeployment(dv.DeploymentID)
	}
	return nil
}

var resourceVariableKind = entityKind[model.ResourceVariable]{
	name: "resource-variable", table: store.ResourceVariables,
	check: func(u *unit, v *model.ResourceVariable) error {
		if err := requireExists(u.tx, store.Resources, "resourceVariable.resourceId", v.ResourceID); err != nil {
			return err
		}
		return u.seal("resourceVariable.value", ResourceVariableBinding(u.tx.WorkspaceID(), v.ResourceID, v.Key), &v.Value)
	},
	afterUpsert: func(u *unit, _, v *model.ResourceVariable) error { u.markResource(v.ResourceID); return nil },
	afterRemove: func(u *unit, v *model.ResourceVariable) error { u.markResource(v.ResourceID); return nil },
}

var policyKind = entityKind[model.Policy]{
	name: "policy", table: store.Policies,
	check: func(u *unit, p *model.Policy) error {
		p.WorkspaceID = u.tx.WorkspaceID()
		if p.CreatedAt.IsZero() {
			p.CreatedAt = u.tx.Now()
		}
		if err := checkCEL("policy.selector", string(p.Selector), policyEnv); err != nil {
			return err
		}
		for i := range p.Rules {
			r := &p.Rules[i]
			field := "policy.rules[" + strconv.Itoa(i) + "]"
			if r.PolicyID == "" {
				r.PolicyID = p.ID
			}
			if r.ID == "" {
				// Skips and evaluations name rules by id, so a rule sent
				// without one gets a stable id from its policy and position.
				r.ID = p.ID + "-rule-" + strconv.Itoa(i)
			}
			if r.CreatedAt.IsZero() {
				r.CreatedAt = p.CreatedAt
			}
			if g := r.GradualRollout; g != nil && g.RolloutType == "" {
				g.RolloutType = "linear" // ctrlplane's reading of an empty type
			}
			if err := checkRuleSelectors(field, r, u.tx.Now()); err != nil {
				return err
			}
		}
		return nil
	},
	// A policy change can affect any target it matched before or matches
	// now; re-evaluating all targets covers both.
	afterUpsert: func(u *unit, _, _ *model.Policy) error { u.markAll(); return nil },
	afterRemove: func(u *unit, _ *model.Policy) error { u.markAll(); return nil },
}

func checkRuleSelectors(field string, r *model.PolicyRule, now time.Time) error {
	switch {
	case r.EnvironmentProgression != nil:
		return checkSelector(field+".environmentProgression.dependsOnEnvironmentSelector",
			r.EnvironmentProgression.DependsOnEnvironmentSelector, environmentEnv)
	case r.VersionSelector != nil:
		return checkSelector(field+".versionSelector.selector", r.VersionSelector.Selector, selector.VersionEnv())
	case r.DeploymentDependency != nil:
		return checkCEL(field+".deploymentDependency.dependsOn", r.DeploymentDependency.DependsOn, policy.DependsOnEnv)
	case r.DeploymentWindow != nil:
		return policy.ValidateWindow(field+".deploymentWindow", r.DeploymentWindow, now)
	case r.Verification != nil:
		for i := range r.Verification.Metrics {
			if err := verification.ValidateMetric(&r.Verification.Metrics[i], field+".verification.metrics["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		switch r.Verification.TriggerOn {
		case "", triggerJobCreated, triggerJobStarted, triggerJobSuccess, triggerJobFailure:
		default:
			return model.Invalid(field+".verification.triggerOn", "%q is not one of jobCreated, jobStarted, jobSuccess, jobFailure", r.Verification.TriggerOn)
		}
	}
	return nil
}

var policySkipKind = entityKind[model.PolicySkip]{
	name: "policy-skip", table: store.PolicySkips,
	check: func(u *unit, s *model.PolicySkip) error {
		s.WorkspaceID = u.tx.WorkspaceID()
		if s.CreatedAt.IsZero() {
			s.CreatedAt = u.tx.Now()
		}
		return requireExists(u.tx, store.DeploymentVersions, "policySkip.versionId", s.VersionID)
	},
	afterUpsert: func(u *unit, _, s *model.PolicySkip) error { return u.markVersion(s.VersionID, s.EnvironmentID) },
	afterRemove: func(u *unit, s *model.PolicySkip) error { return u.markVersion(s.VersionID, s.EnvironmentID) },
}

// markVersion marks the targets a version can go to, in one environment
// when environmentID is set.
func (u *unit) markVersion(versionID, environmentID string) error {
	v, err := store.DeploymentVersions.Get(u.tx, versionID)
	if err != nil {
		return nil
	}
	if environmentID == "" {
		u.markDeployment(v.DeploymentID)
		return nil
	}
	u.markTargets(store.TargetsByPair.Get(u.tx, store.PairKey(environmentID, v.DeploymentID)))
	return nil
}

var approvalKind = entityKind[model.UserApprovalRecord]{
	name: "user-approval-record", table: store.UserApprovalRecords,
	check: func(u *unit, a *model.UserApprovalRecord) error {
		if a.CreatedAt.IsZero() {
			a.CreatedAt = u.tx.Now()
		}
		if err := u.stampApprover(a); err != nil {
			return err
		}
		if err := requireExists(u.tx, store.DeploymentVersions, "userApprovalRecord.versionId", a.VersionID); err != nil {
			return err
		}
		return requireExists(u.tx, store.Environments, "userApprovalRecord.environmentId", a.EnvironmentID)
	},
	afterUpsert: func(u *unit, _, a *model.UserApprovalRecord) error {
		return u.markVersion(a.VersionID, a.EnvironmentID)
	},
	beforeRemove: func(u *unit, a *model.UserApprovalRecord) error { return u.checkWithdrawal(a) },
	afterRemove:  func(u *unit, a *model.UserApprovalRecord) error { return u.markVersion(a.VersionID, a.EnvironmentID) },
}

var relationshipRuleKind = entityKind[model.RelationshipRule]{
	name: "relationship-rule", table: store.RelationshipRules,
	check: func(u *unit, r *model.RelationshipRule) error {
		r.WorkspaceID = u.tx.WorkspaceID()
		if r.Metadata == nil {
			r.Metadata = map[string]string{}
		}
		_, err := relations.Compile(r)
		return err
	},
	afterUpsert: func(u *unit, _, _ *model.RelationshipRule) error { u.markAll(); return nil },
	afterRemove: func(u *unit, _ *model.RelationshipRule) error { u.markAll(); return nil },
}

var workflowKind = entityKind[model.Workflow]{
	name: "workflow", table: store.Workflows,
	// A workflow takes its runs and their workflow jobs with it, as
	// ctrlplane does; the jobs stay as history, those still processing
	// cancelled.
	beforeRemove: func(u *unit, w *model.Workflow) error {
		for _, run := range store.RunsByWorkflow.Get(u.tx, w.ID) {
			for _, wj := range store.WorkflowJobsByRun.Get(u.tx, run.ID) {
				for _, j := range store.JobsByWorkflowJob.Get(u.tx, wj.ID) {
					if err := u.cancelJob(j, "its workflow was deleted"); err != nil {
						return err
					}
				}
				if err := store.WorkflowJobs.Remove(u.tx, wj.ID); err != nil {
					return err
				}
			}
			if err := store.WorkflowRuns.Remove(u.tx, run.ID); err != nil {
				return err
			}
		}
		return nil
	},
	check: func(u *unit, w *model.Workflow) error { return u.checkWorkflow(w) },
}

// bulkUpdateResourceVariables replaces the variables of one resource with
// the given map of key to value.
func bulkUpdateResourceVariables(u *unit, data json.RawMessage) error {
	var ev struct {
		ResourceID string                 `json:"resourceId"`
		Variables  map[string]model.Value `json:"variables"`
	}
	if err := wire.Decode(data, &ev, ""); err != nil {
		return err
	}
	if err := requireExists(u.tx, store.Resources, "resourceId", ev.ResourceID); err != nil {
		return err
	}
	for _, v := range store.ResourceVariablesByResource.Get(u.tx, ev.ResourceID) {
		if _, keep := ev.Variables[v.Key]; !keep {
			if err := store.ResourceVariables.Remove(u.tx, v.ID()); err != nil {
				return err
			}
		}
	}
	u.markResource(ev.ResourceID)
	for key, val := range ev.Variables {
		v := &model.ResourceVariable{ResourceID: ev.ResourceID, Key: key, Value: val}
		if err := v.Validate(); err != nil {
			return err
		}
		if err := u.seal("variables."+key, ResourceVariableBinding(u.tx.WorkspaceID(), v.ResourceID, key), &v.Value); err != nil {
			return err
		}
		if err := store.ResourceVariables.Upsert(u.tx, v.ID(), v); err != nil {
			return err
		}
	}
	return nil
}

// deployReleaseTarget handles release-target.deploy: a new job for the
// target's desired release, without the eligibility checks. It is refused
// while the target has a job under way.
func deployReleaseTarget(u *unit, data json.RawMessage) error {
	t, err := decode[model.ReleaseTarget](data, "releaseTarget")
	if err != nil {
		return err
	}
	stored, err := store.ReleaseTargets.Get(u.tx, t.Key())
	if err != nil {
		return model.Errorf(model.ENOTFOUND, "release target %s does not exist", t.Key())
	}
	if active := history.Processing(u.tx, t.Key()); len(active) > 0 {
		return model.Errorf(model.ECONFLICT, "release target %s has a job under way (%s, %s); redeploy when it has finished",
			t.Key(), active[0].ID, active[0].Status)
	}
	if err := u.refuseFrozen(stored); err != nil {
		return err
	}
	if u.redeploy == nil {
		u.redeploy = map[string]bool{}
	}
	u.redeploy[t.Key()] = true
	u.markTarget(stored)
	return nil
}

// tick handles workspace.tick.
// It re-evaluates every target, which includes every target that is due.
func tick(u *unit, _ json.RawMessage) error {
	u.markAll()
	return nil
}

// seal turns a sensitive value given on input into its stored form, bound
// to binding, before anything is stored: clear text is sealed; a ciphertext
// must open under binding (one sealed for another workspace or variable, or
// with another key, is refused) and keeps its bytes, with its hash computed
// again from the clear text. A binding or hash given on input is never
// trusted.
func (u *unit) seal(field, binding string, v *model.Value) error {
	s := v.Sensitive
	if s == nil {
		return nil
	}
	if s.Value == "" && s.Ciphertext == "" {
		return model.Invalid(field+".sensitive", "has neither a value nor a ciphertext")
	}
	var sealer Sealer
	if u.engine != nil {
		sealer = u.engine.cfg.Sealer
	}
	if sealer == nil {
		return model.Invalid(field, "sensitive values need an encryption key (GATEHOUSE_ENCRYPTION_KEY)")
	}
	if s.Value != "" {
		sealed, err := sealer.Seal(s.Value, binding)
		if err != nil {
			return err
		}
		v.Sensitive = sealed
		return nil
	}
	clear, err := sealer.Open(s, binding)
	if err != nil {
		return model.Invalid(field+".sensitive.ciphertext",
			"does not open here: a ciphertext opens only in the workspace and variable it was sealed for, under the key that sealed it")
	}
	v.Sensitive = &model.SensitiveValue{Ciphertext: s.Ciphertext, ValueHash: sealer.Hash(clear), Binding: binding}
	return nil
}
