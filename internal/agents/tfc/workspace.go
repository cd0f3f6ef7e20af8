package tfc

import (
	"context"
	"net/http"
	"strings"

	tfe "github.com/hashicorp/go-tfe"
)

// ensureWorkspace reads the workspace by name and creates it when it is
// missing. A create refused because the name was just taken (another job
// for the same workspace won the race) reads it again.
func ensureWorkspace(ctx context.Context, c *tfe.Client, org, name string) (*tfe.Workspace, error) {
	ws, err := c.Workspaces.Read(ctx, org, name)
	if err == nil {
		return ws, nil
	}
	if !notFound(err) {
		return nil, classify("read workspace "+name, err)
	}
	ws, err = c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String(name)})
	if err == nil {
		return ws, nil
	}
	if statusOf(err) == http.StatusUnprocessableEntity {
		if again, rerr := c.Workspaces.Read(ctx, org, name); rerr == nil {
			return again, nil
		}
	}
	return nil, classify("create workspace "+name+" in "+org, err)
}

// setVariables creates the variables the workspace lacks and updates those
// whose value or flags differ. A sensitive variable's value cannot be read
// back, so it is always written.
func setVariables(ctx context.Context, c *tfe.Client, workspaceID string, vars []variable) error {
	if len(vars) == 0 {
		return nil
	}
	existing, err := listVariables(ctx, c, workspaceID)
	if err != nil {
		return err
	}
	for _, v := range vars {
		old, ok := existing[string(v.category)+"/"+v.key]
		switch {
		case !ok:
			_, err = c.Variables.Create(ctx, workspaceID, tfe.VariableCreateOptions{
				Key: tfe.String(v.key), Value: tfe.String(v.value), Category: tfe.Category(v.category),
				HCL: tfe.Bool(v.hcl), Sensitive: tfe.Bool(v.sensitive)})
		case old.Sensitive || v.sensitive || old.Value != v.value || old.HCL != v.hcl:
			opts := tfe.VariableUpdateOptions{Value: tfe.String(v.value), HCL: tfe.Bool(v.hcl)}
			// The API never turns a sensitive variable back into a plain
			// one; asking it to is refused, so only the upgrade is sent.
			if v.sensitive {
				opts.Sensitive = tfe.Bool(true)
			}
			_, err = c.Variables.Update(ctx, workspaceID, old.ID, opts)
		}
		if err != nil {
			return classify("set variable "+v.key, err)
		}
	}
	return nil
}

// listVariables returns the workspace's own variables by category/key,
// following pages.
func listVariables(ctx context.Context, c *tfe.Client, workspaceID string) (map[string]*tfe.Variable, error) {
	out := map[string]*tfe.Variable{}
	opts := &tfe.VariableListOptions{}
	for {
		list, err := c.Variables.List(ctx, workspaceID, opts)
		if err != nil {
			return nil, classify("list variables", err)
		}
		for _, v := range list.Items {
			out[string(v.Category)+"/"+v.Key] = v
		}
		if list.Pagination == nil || list.NextPage == 0 {
			return out, nil
		}
		opts.PageNumber = list.NextPage
	}
}

// findRun returns the workspace's run whose message names the job, and
// whether there is one. The API's search matches run messages; the message
// is checked again so a loose match is never taken for the job's run.
func findRun(ctx context.Context, c *tfe.Client, workspaceID, jobID string) (*tfe.Run, bool, error) {
	list, err := c.Runs.List(ctx, workspaceID, &tfe.RunListOptions{Search: jobID})
	if err != nil {
		return nil, false, classify("list runs", err)
	}
	for _, r := range list.Items {
		if strings.Contains(r.Message, RunMessage(jobID)) {
			return r, true, nil
		}
	}
	return nil, false, nil
}
