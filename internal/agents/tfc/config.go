package tfc

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// settings are a config, read and checked.
type settings struct {
	address, organization, token, workspace string
	variables                               []variable
}

// variable is one workspace variable to set.
type variable struct {
	key, value     string
	category       tfe.CategoryType
	hcl, sensitive bool
}

// workspaceName is what the Terraform API accepts as a workspace name.
var workspaceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,90}$`)

func validate(config map[string]any, scope agents.Scope) error {
	_, err := readSettings(config, scope)
	return err
}

// readSettings reads and checks a config: the token always, the
// organization and workspace at ScopeJob. Values holding a template are
// checked for presence only; they are checked again once rendered.
func readSettings(config map[string]any, scope agents.Scope) (settings, error) {
	c := agents.Config(config)
	required := []string{"token"}
	if scope == agents.ScopeJob {
		required = append(required, "organization", "workspace")
	}
	if err := c.Require(required...); err != nil {
		return settings{}, err
	}
	strs := []string{"address", "organization", "workspace"}
	if _, sealed := c["token"].(map[string]any); !sealed {
		// A token is sealed when the agent is written and opened only for
		// a dispatch.
		strs = append(strs, "token")
	}
	if err := c.Strings(strs...); err != nil {
		return settings{}, err
	}
	s := settings{address: c.String("address"), organization: c.String("organization"),
		token: c.String("token"), workspace: c.String("workspace")}
	if s.address == "" {
		s.address = DefaultAddress
	}
	if !agents.Templated(s.address) {
		if u, err := url.Parse(s.address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return settings{}, model.Invalid("address", "must be a URL (https://app.terraform.io), got %q", s.address)
		}
	}
	if s.workspace != "" && !agents.Templated(s.workspace) && !workspaceName.MatchString(s.workspace) {
		return settings{}, model.Invalid("workspace", "must be 1 to 90 letters, digits, '-' or '_', got %q", s.workspace)
	}
	vars, err := readVariables(c["variables"])
	if err != nil {
		return settings{}, err
	}
	s.variables = vars
	return s, nil
}

// variableFields are the keys of a variable given as an object.
var variableFields = []string{"value", "category", "sensitive", "hcl"}

// readVariables reads the variables map, sorted by key: each entry is a
// value (a Terraform variable) or {value, category, sensitive, hcl}. A list
// or object value is written as HCL (its JSON form, which HCL reads).
func readVariables(v any) ([]variable, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, model.Invalid("variables", "must be an object of key → value, got %T", v)
	}
	out := make([]variable, 0, len(m))
	for key, entry := range m {
		field := "variables." + key
		if key == "" {
			return nil, model.Invalid("variables", "a variable needs a key")
		}
		vr := variable{key: key, category: tfe.CategoryTerraform}
		spec, isSpec := entry.(map[string]any)
		if !isSpec {
			spec = map[string]any{"value": entry}
		}
		for k := range spec {
			if !slices.Contains(variableFields, k) {
				return nil, model.Invalid(field+"."+k, "is not a variable field (known: %v)", variableFields)
			}
		}
		sc := agents.Config(spec)
		var err error
		if vr.value, vr.hcl, err = variableValue(field+".value", spec["value"]); err != nil {
			return nil, err
		}
		if cat := sc.String("category"); cat != "" {
			vr.category = tfe.CategoryType(cat)
			if vr.category != tfe.CategoryTerraform && vr.category != tfe.CategoryEnv {
				return nil, model.Invalid(field+".category", "must be terraform or env, got %q", cat)
			}
		}
		if vr.sensitive, err = sc.Bool("sensitive"); err != nil {
			return nil, model.Invalid(field+".sensitive", "must be true or false")
		}
		if _, given := spec["hcl"]; given {
			hcl, err := sc.Bool("hcl")
			if err != nil {
				return nil, model.Invalid(field+".hcl", "must be true or false")
			}
			if vr.hcl && !hcl {
				return nil, model.Invalid(field+".hcl", "a list or object value is HCL")
			}
			vr.hcl = hcl
		}
		if vr.hcl && vr.category == tfe.CategoryEnv {
			return nil, model.Invalid(field+".hcl", "environment variables cannot be HCL")
		}
		out = append(out, vr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

// variableValue returns a value as the API takes it (a string), and
// whether it must be HCL to mean what it says (a list or an object).
func variableValue(field string, v any) (string, bool, error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string, float64, json.Number, bool:
		return agents.Config{"v": x}.String("v"), false, nil
	case []any, map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", false, model.Invalid(field, "%v", err)
		}
		return string(b), true, nil
	}
	return "", false, model.Invalid(field, "must be a string, number, boolean, list or object, got %s", fmt.Sprintf("%T", v))
}
