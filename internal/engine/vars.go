package engine

import "github.com/gatehouse-dev/gatehouse/internal/selector"

// The engine's names for the maps selectors see. The selector package builds
// them next to the shapes it declares to the type checker, so that the two
// cannot drift apart.
var (
	resourceVars    = selector.ResourceVars
	environmentVars = selector.EnvironmentVars
	deploymentVars  = selector.DeploymentVars
	releaseVars     = selector.ReleaseVars
)
