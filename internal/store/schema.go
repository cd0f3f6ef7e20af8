package store

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Index names, shared by the table definitions and their lookups.
const (
	byDeployment   = "deployment"
	byEnvironment  = "environment"
	byResource     = "resource"
	bySystem       = "system"
	byVersion      = "version"
	byIdentifier   = "identifier"
	byProvider     = "provider"
	byVariable     = "variable"
	byRelease      = "release"
	byExternal     = "external"
	byTarget       = "target"
	byPair         = "pair"
	byRun          = "run"
	byWorkflow     = "workflow"
	byWorkflowJob  = "workflowJob"
	byApproval     = "approval"
	byWaiting      = "waiting"
	byJob          = "job"
	byStatus       = "status"
	byVerification = "verification"
)

func timeCol(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Durable tables, one per entity kind.
var (
	Workspaces = &Table[model.Workspace]{Name: "workspace", Kind: "Workspace",
		Key: func(w *model.Workspace) string { return w.ID }}
	ProcessedEvents = &Table[model.ProcessedEvent]{Name: "processed_event", Kind: "ProcessedEvent",
		Key: func(e *model.ProcessedEvent) string { return e.ID }}
	ConsumerOffsets = &Table[model.ConsumerOffset]{Name: "consumer_offset", Kind: "ConsumerOffset",
		Key: (*model.ConsumerOffset).Key}
	DeadLetters = &Table[model.DeadLetter]{Name: "dead_letter", Kind: "DeadLetter",
		Key: func(d *model.DeadLetter) string { return d.ID() },
		Columns: []Column[model.DeadLetter]{
			{Name: "recorded_at", Value: func(d *model.DeadLetter) any { return timeCol(d.RecordedAt) }},
		}}
	Systems = &Table[model.System]{Name: "system", Kind: "System",
		Key: func(s *model.System) string { return s.ID }}
	Deployments = &Table[model.Deployment]{Name: "deployment", Kind: "Deployment",
		Key: func(d *model.Deployment) string { return d.ID }}
	Environments = &Table[model.Environment]{Name: "environment", Kind: "Environment",
		Key: func(e *model.Environment) string { return e.ID }}
	Resources = &Table[model.Resource]{Name: "resource", Kind: "Resource",
		Key: func(r *model.Resource) string { return r.ID },
		Indexes: []Index[model.Resource]{
			{Name: byIdentifier, Value: func(r *model.Resource) string { return r.Identifier }},
			{Name: byProvider, Value: func(r *model.Resource) string { return r.ProviderID }},
		},
		Columns: []Column[model.Resource]{
			{Name: "identifier", Value: func(r *model.Resource) any { return r.Identifier }},
			{Name: "provider_id", Value: func(r *model.Resource) any { return r.ProviderID }},
			{Name: "created_at", Value: func(r *model.Resource) any { return timeCol(r.CreatedAt) }},
		}}
	ResourceProviders = &Table[model.ResourceProvider]{Name: "resource_provider", Kind: "ResourceProvider",
		Key: func(p *model.ResourceProvider) string { return p.ID }}
	ResourceVariables = &Table[model.ResourceVariable]{Name: "resource_variable", Kind: "ResourceVariable",
		Key: (*model.ResourceVariable).ID,
		Indexes: []Index[model.ResourceVariable]{
			{Name: byResource, Value: func(v *model.ResourceVariable) string { return v.ResourceID }},
		},
		Columns: []Column[model.ResourceVariable]{
			{Name: "resource_id", Value: func(v *model.ResourceVariable) any { return v.ResourceID }},
		}}
	DeploymentVersions = &Table[model.DeploymentVersion]{Name: "deployment_version", Kind: "DeploymentVersion",
		Key: func(v *model.DeploymentVersion) string { return v.ID },
		Indexes: []Index[model.DeploymentVersion]{
			{Name: byDeployment, Value: func(v *model.DeploymentVersion) string { return v.DeploymentID }},
		},
		Columns: []Column[model.DeploymentVersion]{
			{Name: "deployment_id", Value: func(v *model.DeploymentVersion) any { return v.DeploymentID }},
			{Name: "tag", Value: func(v *model.DeploymentVersion) any { return v.Tag }},
			{Name: "status", Value: func(v *model.DeploymentVersion) any { return v.Status }},
			{Name: "created_at", Value: func(v *model.DeploymentVersion) any { return timeCol(v.CreatedAt) }},
		}}
	DeploymentVariables = &Table[model.DeploymentVariable]{Name: "deployment_variable", Kind: "DeploymentVariable",
		Key: func(v *model.DeploymentVariable) string { return v.ID },
		Indexes: []Index[model.DeploymentVariable]{
			{Name: byDeployment, Value: func(v *model.DeploymentVariable) string { return v.DeploymentID }},
		},
		Columns: []Column[model.DeploymentVariable]{
			{Name: "deployment_id", Value: func(v *model.DeploymentVariable) any { return v.DeploymentID }},
		}}
	DeploymentVariableValues = &Table[model.DeploymentVariableValue]{Name: "deployment_variable_value", Kind: "DeploymentVariableValue",
		Key: func(v *model.DeploymentVariableValue) string { return v.ID },
		Indexes: []Index[model.DeploymentVariableValue]{
			{Name: byVariable, Value: func(v *model.DeploymentVariableValue) string { return v.DeploymentVariableID }},
		},
		Columns: []Column[model.DeploymentVariableValue]{
			{Name: "deployment_variable_id", Value: func(v *model.DeploymentVariableValue) any { return v.DeploymentVariableID }},
		}}
	JobAgents = &Table[model.JobAgent]{Name: "job_agent", Kind: "JobAgent",
		Key: func(a *model.JobAgent) string { return a.ID }}
	Releases = &Table[model.Release]{Name: "release", Kind: "Release",
		Key: func(r *model.Release) string { return r.ID }, Linked: linkedRelease,
		Indexes: []Index[model.Release]{
			{Name: byTarget, Value: func(r *model.Release) string { return r.ReleaseTarget.Key() }},
		},
		Columns: []Column[model.Release]{
			{Name: "resource_id", Value: func(r *model.Release) any { return r.ReleaseTarget.ResourceID }},
			{Name: "environment_id", Value: func(r *model.Release) any { return r.ReleaseTarget.EnvironmentID }},
			{Name: "deployment_id", Value: func(r *model.Release) any { return r.ReleaseTarget.DeploymentID }},
			{Name: "version_id", Value: func(r *model.Release) any {
				if r.Version == nil {
					return ""
				}
				return r.Version.ID
			}},
		}}
	Jobs = &Table[model.Job]{Name: "job", Kind: "Job",
		Key: func(j *model.Job) string { return j.ID }, Stored: storedJob, FromStored: decodeJob, Linked: linkedJob,
		Indexes: []Index[model.Job]{
			{Name: byRelease, Value: func(j *model.Job) string { return j.ReleaseID }},
			{Name: byExternal, Value: func(j *model.Job) string { return externalKey(j.JobAgentID, j.ExternalID) }},
			{Name: byTarget, Value: func(j *model.Job) string { return jobTarget(j) }},
			{Name: byWorkflowJob, Value: func(j *model.Job) string { return j.WorkflowJobID }},
		},
		Columns: []Column[model.Job]{
			{Name: "release_id", Value: func(j *model.Job) any { return j.ReleaseID }},
			{Name: "job_agent_id", Value: func(j *model.Job) any { return j.JobAgentID }},
			{Name: "status", Value: func(j *model.Job) any { return j.Status }},
			{Name: "created_at", Value: func(j *model.Job) any { return timeCol(j.CreatedAt) }},
		}}
	JobVerifications = &Table[model.JobVerification]{Name: "job_verification", Kind: "JobVerification",
		Key: func(v *model.JobVerification) string { return v.ID },
		Indexes: []Index[model.JobVerification]{
			{Name: byJob, Value: func(v *model.JobVerification) string { return v.JobID }},
			{Name: byStatus, Value: func(v *model.JobVerification) string { return v.Status }},
		},
		Columns: []Column[model.JobVerification]{
			{Name: "job_id", Value: func(v *model.JobVerification) any { return v.JobID }},
			{Name: "status", Value: func(v *model.JobVerification) any { return v.Status }},
		}}
	VerificationMeasurements = &Table[model.MeasurementRecord]{Name: "verification_measurement", Kind: "VerificationMeasurement",
		Key: (*model.MeasurementRecord).Key,
		Indexes: []Index[model.MeasurementRecord]{
			{Name: byVerification, Value: func(m *model.MeasurementRecord) string { return m.VerificationID }},
		},
		Columns: []Column[model.MeasurementRecord]{
			{Name: "verification_id", Value: func(m *model.MeasurementRecord) any { return m.VerificationID }},
			{Name: "metric_index", Value: func(m *model.MeasurementRecord) any { return m.MetricIndex }},
			{Name: "sequence", Value: func(m *model.MeasurementRecord) any { return m.Sequence }},
		}}
	Policies = &Table[model.Policy]{Name: "policy", Kind: "Policy",
		Key: func(p *model.Policy) string { return p.ID }}
	PolicySkips = &Table[model.PolicySkip]{Name: "policy_skip", Kind: "PolicySkip",
		Key: func(s *model.PolicySkip) string { return s.ID },
		Indexes: []Index[model.PolicySkip]{
			{Name: byVersion, Value: func(s *model.PolicySkip) string { return s.VersionID }},
		},
		Columns: []Column[model.PolicySkip]{
			{Name: "version_id", Value: func(s *model.PolicySkip) any { return s.VersionID }},
		}}
	UserApprovalRecords = &Table[model.UserApprovalRecord]{Name: "user_approval_record", Kind: "UserApprovalRecord",
		Key: (*model.UserApprovalRecord).ID,
		Indexes: []Index[model.UserApprovalRecord]{
			{Name: byApproval, Value: func(a *model.UserApprovalRecord) string {
				return ApprovalKey(a.VersionID, a.EnvironmentID)
			}},
		},
		Columns: []Column[model.UserApprovalRecord]{
			{Name: "version_id", Value: func(a *model.UserApprovalRecord) any { return a.VersionID }},
			{Name: "environment_id", Value: func(a *model.UserApprovalRecord) any { return a.EnvironmentID }},
		}}
	RelationshipRules = &Table[model.RelationshipRule]{Name: "relationship_rule", Kind: "RelationshipRule",
		Key: func(r *model.RelationshipRule) string { return r.ID }}
	Freezes = &Table[model.Freeze]{Name: "freeze", Kind: "Freeze",
		Key: func(f *model.Freeze) string { return f.ID }}
	VariableSets = &Table[model.VariableSet]{Name: "variable_set", Kind: "VariableSet",
		Key: func(s *model.VariableSet) string { return s.ID }}
	DeploymentPlans = &Table[model.DeploymentPlan]{Name: "deployment_plan", Kind: "DeploymentPlan",
		Key: func(p *model.DeploymentPlan) string { return p.ID },
		Indexes: []Index[model.DeploymentPlan]{
			{Name: byDeployment, Value: func(p *model.DeploymentPlan) string { return p.DeploymentID }},
		},
		Columns: []Column[model.DeploymentPlan]{
			{Name: "deployment_id", Value: func(p *model.DeploymentPlan) any { return p.DeploymentID }},
			{Name: "created_at", Value: func(p *model.DeploymentPlan) any { return timeCol(p.CreatedAt) }},
			{Name: "expires_at", Value: func(p *model.DeploymentPlan) any { return timeCol(p.ExpiresAt) }},
		}}
	Workflows = &Table[model.Workflow]{Name: "workflow", Kind: "Workflow",
		Key: func(w *model.Workflow) string { return w.ID }}
	WorkflowRuns = &Table[model.WorkflowRun]{Name: "workflow_run", Kind: "WorkflowRun",
		Key: func(r *model.WorkflowRun) string { return r.ID },
		Indexes: []Index[model.WorkflowRun]{
			{Name: byWorkflow, Value: func(r *model.WorkflowRun) string { return r.WorkflowID }},
		},
		Columns: []Column[model.WorkflowRun]{
			{Name: "workflow_id", Value: func(r *model.WorkflowRun) any { return r.WorkflowID }},
		}}
	WorkflowJobs = &Table[model.WorkflowJob]{Name: "workflow_job", Kind: "WorkflowJob",
		Key: func(j *model.WorkflowJob) string { return j.ID },
		Indexes: []Index[model.WorkflowJob]{
			{Name: byRun, Value: func(j *model.WorkflowJob) string { return j.WorkflowRunID }},
		},
		Columns: []Column[model.WorkflowJob]{
			{Name: "workflow_run_id", Value: func(j *model.WorkflowJob) any { return j.WorkflowRunID }},
		}}
	SystemDeployments = &Table[model.SystemDeploymentLink]{Name: "system_deployment", Kind: "SystemDeploymentLink",
		Key: (*model.SystemDeploymentLink).Key,
		Indexes: []Index[model.SystemDeploymentLink]{
			{Name: bySystem, Value: func(l *model.SystemDeploymentLink) string { return l.SystemID }},
			{Name: byDeployment, Value: func(l *model.SystemDeploymentLink) string { return l.DeploymentID }},
		},
		Columns: []Column[model.SystemDeploymentLink]{
			{Name: "system_id", Value: func(l *model.SystemDeploymentLink) any { return l.SystemID }},
			{Name: "deployment_id", Value: func(l *model.SystemDeploymentLink) any { return l.DeploymentID }},
		}}
	SystemEnvironments = &Table[model.SystemEnvironmentLink]{Name: "system_environment", Kind: "SystemEnvironmentLink",
		Key: (*model.SystemEnvironmentLink).Key,
		Indexes: []Index[model.SystemEnvironmentLink]{
			{Name: bySystem, Value: func(l *model.SystemEnvironmentLink) string { return l.SystemID }},
			{Name: byEnvironment, Value: func(l *model.SystemEnvironmentLink) string { return l.EnvironmentID }},
		},
		Columns: []Column[model.SystemEnvironmentLink]{
			{Name: "system_id", Value: func(l *model.SystemEnvironmentLink) any { return l.SystemID }},
			{Name: "environment_id", Value: func(l *model.SystemEnvironmentLink) any { return l.EnvironmentID }},
		}}
)

// Derived tables, rebuilt from the durable ones on load.
var (
	ReleaseTargets = &Table[model.ReleaseTarget]{Name: "release_target", Kind: "ReleaseTarget", Derived: true,
		Key: (*model.ReleaseTarget).Key,
		Indexes: []Index[model.ReleaseTarget]{
			{Name: byResource, Value: func(t *model.ReleaseTarget) string { return t.ResourceID }},
			{Name: byPair, Value: func(t *model.ReleaseTarget) string { return PairKey(t.EnvironmentID, t.DeploymentID) }},
		}}
	TargetStates = &Table[model.TargetState]{Name: "target_state", Kind: "TargetState", Derived: true,
		Key: func(s *model.TargetState) string { return s.Key },
		Indexes: []Index[model.TargetState]{
			{Name: byWaiting, Values: func(s *model.TargetState) []string {
				out := make([]string, 0, 2*len(s.WaitingOn))
				for _, kind := range s.WaitingOn {
					out = append(out, WaitingKey(kind, s.DeploymentID), WaitingKey(kind, s.ResourceID))
				}
				return out
			}},
		}}
)

// Typed lookups on secondary indexes.
var (
	ResourcesByIdentifier         = Resources.Lookup(byIdentifier)
	ResourcesByProvider           = Resources.Lookup(byProvider)
	ResourceVariablesByResource   = ResourceVariables.Lookup(byResource)
	VersionsByDeployment          = DeploymentVersions.Lookup(byDeployment)
	VariablesByDeployment         = DeploymentVariables.Lookup(byDeployment)
	ValuesByVariable              = DeploymentVariableValues.Lookup(byVariable)
	ReleasesByTarget              = Releases.Lookup(byTarget)
	JobsByRelease                 = Jobs.Lookup(byRelease)
	JobsByExternalID              = Jobs.Lookup(byExternal)
	JobsByTarget                  = Jobs.Lookup(byTarget)
	VerificationsByJob            = JobVerifications.Lookup(byJob)
	VerificationsByStatus         = JobVerifications.Lookup(byStatus)
	MeasurementsByVerification    = VerificationMeasurements.Lookup(byVerification)
	SkipsByVersion                = PolicySkips.Lookup(byVersion)
	ApprovalsByVersionEnvironment = UserApprovalRecords.Lookup(byApproval)
	WorkflowJobsByRun             = WorkflowJobs.Lookup(byRun)
	RunsByWorkflow                = WorkflowRuns.Lookup(byWorkflow)
	JobsByWorkflowJob             = Jobs.Lookup(byWorkflowJob)
	DeploymentLinksBySystem       = SystemDeployments.Lookup(bySystem)
	DeploymentLinksByDeployment   = SystemDeployments.Lookup(byDeployment)
	EnvironmentLinksBySystem      = SystemEnvironments.Lookup(bySystem)
	EnvironmentLinksByEnvironment = SystemEnvironments.Lookup(byEnvironment)
	TargetsByResource             = ReleaseTargets.Lookup(byResource)
	TargetsByPair                 = ReleaseTargets.Lookup(byPair)
	StatesWaitingOn               = TargetStates.Lookup(byWaiting)
	PlansByDeployment             = DeploymentPlans.Lookup(byDeployment)
)

// Tables lists every table; durable ones are loaded in this order, so a table
// comes after those it refers to.
var Tables = []Schema{
	Workspaces, ConsumerOffsets, ProcessedEvents, DeadLetters, Systems, ResourceProviders, Resources, Environments, JobAgents, Deployments,
	SystemDeployments, SystemEnvironments, DeploymentVersions, DeploymentVariables, DeploymentVariableValues,
	ResourceVariables, Policies, PolicySkips, UserApprovalRecords, RelationshipRules, Workflows, WorkflowRuns,
	WorkflowJobs, Releases, EntitySnapshots, Jobs, JobVerifications, VerificationMeasurements, Freezes, VariableSets, DeploymentPlans,
	ReleaseTargets, TargetStates,
}

// Anchors are the tables every stored workspace has a row in: its workspace
// row, or, once deleted, its positions in the logs it was fed from (kept so
// that records delivered again cannot bring it back). A workspace with no
// row in either holds nothing.
var Anchors = []Schema{Workspaces, ConsumerOffsets}

var tableByName = func() map[string]Schema {
	m := make(map[string]Schema, len(Tables))
	for _, t := range Tables {
		m[t.TableName()] = t
	}
	return m
}()

// PairKey is the index key of an (environment, deployment) pair.
func PairKey(environmentID, deploymentID string) string {
	return model.CompositeKey(environmentID, deploymentID)
}

// ApprovalKey is the index key of approvals for a version in an environment.
func ApprovalKey(versionID, environmentID string) string {
	return model.CompositeKey(versionID, environmentID)
}

func externalKey(agentID, externalID string) string {
	if agentID == "" || externalID == "" {
		return ""
	}
	return model.CompositeKey(agentID, externalID)
}

// ExternalKey is the index key of a job by its agent and external id.
func ExternalKey(agentID, externalID string) string { return externalKey(agentID, externalID) }

func jobTarget(j *model.Job) string {
	if j.DispatchContext == nil || j.DispatchContext.Release == nil {
		return ""
	}
	return j.DispatchContext.Release.ReleaseTarget.Key()
}

// WaitingKey is the index key of target states held back by a rule kind, per
// deployment or per resource id.
func WaitingKey(kind, id string) string { return model.CompositeKey(kind, id) }
