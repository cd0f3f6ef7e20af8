package argowf

import (
	"net/url"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// settings are the connection fields of a config.
type settings struct {
	serverURL, token, namespace string
	caData                      []byte
	insecure                    bool
}

// manifest is a Workflow as written: kept whole, only its metadata is
// touched.
type manifest map[string]any

func (m manifest) metadata() map[string]any {
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		m["metadata"] = md
	}
	return md
}

func (m manifest) name() string {
	name, _ := m.metadata()["name"].(string)
	return name
}

func validate(config map[string]any, scope agents.Scope) error {
	if _, err := readSettings(config, scope); err != nil {
		return err
	}
	c := agents.Config(config)
	if s, isText := c["template"].(string); c["template"] == nil || (isText && agents.Templated(s)) {
		return nil
	}
	_, err := buildWorkflow(c, "validate", "default")
	return err
}

// readSettings reads and checks the connection fields; at ScopeJob the
// namespace and template must be there too. Templated values are checked
// for presence only.
func readSettings(config map[string]any, scope agents.Scope) (settings, error) {
	c := agents.Config(config)
	required := []string{"serverUrl", "token"}
	if scope == agents.ScopeJob {
		required = append(required, "namespace", "template")
	}
	if err := c.Require(required...); err != nil {
		return settings{}, err
	}
	if err := c.Strings("serverUrl", "token", "namespace", "caData"); err != nil {
		return settings{}, err
	}
	s := settings{serverURL: c.String("serverUrl"), token: c.String("token"), namespace: c.String("namespace")}
	if !agents.Templated(s.serverURL) {
		if u, err := url.Parse(s.serverURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return settings{}, model.Invalid("serverUrl", "must be the Argo Server's URL (https://argo.example.com:2746), got %q", s.serverURL)
		}
	}
	if ca := c.String("caData"); ca != "" && !agents.Templated(ca) {
		data, err := c.PEM("caData")
		if err != nil {
			return settings{}, err
		}
		s.caData = data
	}
	if v, _ := c["insecureSkipTLSVerify"].(string); !agents.Templated(v) {
		insecure, err := c.Bool("insecureSkipTLSVerify")
		if err != nil {
			return settings{}, err
		}
		s.insecure = insecure
	}
	if s.insecure && s.caData != nil {
		return settings{}, model.Invalid("insecureSkipTLSVerify", "cannot be combined with caData")
	}
	return s, nil
}

// buildWorkflow decodes the template and makes it this job's: a name from
// the job id (the template's generateName or name as its prefix), the
// configured namespace, the job id label. Errors are EINVALID and name the
// template field.
func buildWorkflow(c agents.Config, jobID, namespace string) (manifest, error) {
	var m manifest
	if err := c.Manifest("template", &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, model.Invalid("template", "is empty")
	}
	if v, ok := m["apiVersion"]; ok && v != "argoproj.io/v1alpha1" {
		return nil, model.Invalid("template.apiVersion", "must be argoproj.io/v1alpha1, got %v", v)
	}
	if v, ok := m["kind"]; ok && v != "Workflow" {
		return nil, model.Invalid("template.kind", "must be Workflow, got %v", v)
	}
	if _, ok := m["spec"].(map[string]any); !ok {
		return nil, model.Invalid("template.spec", "is required")
	}
	m["apiVersion"], m["kind"] = "argoproj.io/v1alpha1", "Workflow"
	if _, ok := m["metadata"].(map[string]any); m["metadata"] != nil && !ok {
		return nil, model.Invalid("template.metadata", "must be an object")
	}
	md := m.metadata()
	prefix, _ := md["generateName"].(string)
	if name, _ := md["name"].(string); prefix == "" && name != "" {
		prefix = name + "-"
	}
	if prefix == "" {
		prefix = "gatehouse-"
	}
	delete(md, "generateName")
	md["name"] = agents.ResourceName(prefix, jobID)
	md["namespace"] = namespace
	labels, _ := md["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[agents.JobIDLabel] = agents.LabelValue(jobID)
	md["labels"] = labels
	return m, nil
}
