package kubernetes

import (
	"encoding/json"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// settings are the connection fields of a config.
type settings struct {
	server, token, namespace string
	caData                   []byte
	insecure                 bool
}

// validate checks a config as written: the connection fields always, the
// namespace and manifest when the scope is a job's. Fields holding a
// template are checked for presence only; their format is known once
// rendered, and readSettings checks it again then.
func validate(config map[string]any, scope agents.Scope) error {
	if _, err := readSettings(config, scope); err != nil {
		return err
	}
	c := agents.Config(config)
	if _, ok := c["manifest"]; !ok || templatedManifest(c["manifest"]) {
		return nil
	}
	_, err := buildJob(c, "validate", "default")
	return err
}

// readSettings reads and checks the connection fields; at ScopeJob the
// namespace and manifest must be there too.
func readSettings(config map[string]any, scope agents.Scope) (settings, error) {
	c := agents.Config(config)
	required := []string{"server", "token"}
	if scope == agents.ScopeJob {
		required = append(required, "namespace", "manifest")
	}
	if err := c.Require(required...); err != nil {
		return settings{}, err
	}
	if err := c.Strings("server", "token", "caData", "namespace"); err != nil {
		return settings{}, err
	}
	s := settings{server: c.String("server"), token: c.String("token"), namespace: c.String("namespace")}
	if !agents.Templated(s.server) {
		if u, err := url.Parse(s.server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return settings{}, model.Invalid("server", "must be the API server's URL (https://host:port), got %q", s.server)
		}
	}
	if s.namespace != "" && !agents.Templated(s.namespace) {
		if errs := validation.IsDNS1123Label(s.namespace); len(errs) > 0 {
			return settings{}, model.Invalid("namespace", "%s", strings.Join(errs, "; "))
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

// templatedManifest reports whether a manifest (text or object) holds a
// template anywhere.
func templatedManifest(v any) bool {
	if s, ok := v.(string); ok {
		return agents.Templated(s)
	}
	b, _ := json.Marshal(v)
	return agents.Templated(string(b))
}
