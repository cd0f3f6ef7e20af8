package policy

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/selector"
)

// evalVersionSelector lets through only the versions its selector matches.
// CEL sees version, environment, resource and deployment; a JSON selector
// looks at the version. A selector that does not compile or evaluate denies,
// because letting every version through a broken gate would be worse than
// holding them; a missing selector matches nothing, as everywhere else.
func evalVersionSelector(in *Input, rule *model.PolicyRule) Result {
	vs := rule.VersionSelector
	v := in.Version
	withDetails := func(r Result) Result {
		r.Details["versionId"] = v.ID
		if vs.Description != "" {
			r.Details["description"] = vs.Description
		}
		return r
	}
	m, err := selector.VersionEnv().Compile(vs.Selector)
	if err != nil {
		return withDetails(Deny(rule, KindVersionSelector, fmt.Sprintf("the version selector is invalid: %v", err)))
	}
	ok, err := m.MatchErr(versionSelectorVars(in))
	if err != nil {
		return withDetails(Deny(rule, KindVersionSelector, fmt.Sprintf(
			"the version selector could not be evaluated for version %s: %v", nameOfVersion(v), err)))
	}
	about := ""
	if vs.Description != "" {
		about = " (" + vs.Description + ")"
	}
	if !ok {
		return withDetails(Deny(rule, KindVersionSelector, fmt.Sprintf(
			"version %s does not match the version selector%s", nameOfVersion(v), about)))
	}
	return withDetails(Allow(rule, KindVersionSelector, fmt.Sprintf(
		"version %s matches the version selector%s", nameOfVersion(v), about)))
}

// versionSelectorVars gives the selector each entity of the input as the
// map selectors see. Entities the input lacks are left out, which the
// selector treats as empty (no match).
func versionSelectorVars(in *Input) map[string]any {
	vars := make(map[string]any, 4)
	if in.Version != nil {
		vars["version"] = selector.VersionVars(in.Version)
	}
	if in.Environment != nil {
		vars["environment"] = selector.EnvironmentVars(in.Environment)
	}
	if in.Resource != nil {
		vars["resource"] = selector.ResourceVars(in.Resource)
	}
	if in.Deployment != nil {
		vars["deployment"] = selector.DeploymentVars(in.Deployment)
	}
	return vars
}
