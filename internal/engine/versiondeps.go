package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/engine/policy"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/model/wire"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// checkVersionDependencies refuses, naming the field, a dependency on the
// version's own deployment or on one that does not exist, and a
// versionSelector that is empty or does not compile.
func checkVersionDependencies(r store.Reader, v *model.DeploymentVersion) error {
	for _, id := range slices.Sorted(maps.Keys(v.Dependencies)) {
		field := wire.KeyPath("deploymentVersion.dependencies", id)
		switch {
		case id == v.DeploymentID:
			return model.Invalid(field, "a version cannot depend on its own deployment")
		case !store.Deployments.Has(r, id):
			return model.Invalid(field, "deployment %q does not exist", id)
		}
		expr := v.Dependencies[id].VersionSelector
		if strings.TrimSpace(expr) == "" {
			return model.Invalid(field+".versionSelector", "is required (\"true\" accepts any version)")
		}
		if err := checkCEL(field+".versionSelector", expr, policy.VersionDependencyEnv); err != nil {
			return err
		}
	}
	return nil
}
