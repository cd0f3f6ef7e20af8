package tfc

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
)

// Plan does not plan natively: a speculative run would need the
// workspace's token opened, which a plan never does, and it takes the
// minutes a Terraform plan takes. The plan shows the rendered config
// instead, marked unsupported.
func (a *agent) Plan(context.Context, agents.PlanInput) (agents.PlanOutput, error) {
	return agents.PlanOutput{}, fmt.Errorf("%w: a speculative Terraform run needs the workspace token opened, "+
		"and plans never open secrets; the rendered config is shown", agents.ErrPlanUnsupported)
}
