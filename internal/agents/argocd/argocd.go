// Package argocd is the "argo-cd" job agent type: a job upserts an Argo CD
// Application (the config's template, rendered for the job) through Argo
// CD's REST API, and is followed through the Application's sync and health.
//
// Gatehouse does not start syncs: the Application should have an automated
// sync policy, or be synced by someone, for its job to finish.
package argocd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// TypeName is the job agent type this package serves.
const TypeName = "argo-cd"

// MissingAfter is how long an Application's resources may be Missing after
// the dispatch (its first sync not done yet) before the job ends as
// externalRunNotFound.
const MissingAfter = 5 * time.Minute

const followInterval = 10 * time.Second

// Options configure the type.
type Options struct {
	// Client sends the requests (its timeout applies to each);
	// http.DefaultClient when nil.
	Client *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns the argo-cd type.
func New(opts Options) *agents.Type {
	a := &agent{client: opts.Client, now: opts.Now}
	if a.client == nil {
		a.client = http.DefaultClient
	}
	if a.now == nil {
		a.now = time.Now
	}
	return &agents.Type{
		Name:           TypeName,
		Sensitive:      []string{"apiKey"},
		Validate:       validate,
		Agent:          a,
		Follower:       a,
		Planner:        a,
		FollowInterval: followInterval,
	}
}

// config is an argo-cd job's config, read and checked.
type config struct {
	serverURL string
	apiKey    string
	// manifest is the Application as JSON, sent as it is; app is what
	// Gatehouse reads of it.
	manifest json.RawMessage
	app      *application
}

func validate(m map[string]any, scope agents.Scope) error {
	c := agents.Config(m)
	required := []string{"serverUrl", "apiKey"}
	if scope == agents.ScopeJob {
		required = append(required, "template")
	}
	if err := c.Require(required...); err != nil {
		return err
	}
	if err := c.URL("serverUrl"); err != nil {
		return err
	}
	if _, sealed := c["apiKey"].(map[string]any); !sealed {
		if err := c.Strings("apiKey"); err != nil {
			return err
		}
	}
	if s, ok := c["template"].(string); ok && agents.IsTemplate(s) {
		return nil // judged once rendered
	}
	if c["template"] != nil {
		_, _, err := readManifest(c["template"], true)
		return err
	}
	return nil
}

// readConfig reads a job's rendered config for a dispatch or a follow.
func readConfig(m map[string]any) (*config, error) {
	c := agents.Config(m)
	if err := c.Require("serverUrl", "apiKey", "template"); err != nil {
		return nil, err
	}
	if err := c.URL("serverUrl"); err != nil {
		return nil, err
	}
	key, ok := c["apiKey"].(string)
	if !ok {
		return nil, model.Invalid("apiKey", "must be an opened string")
	}
	manifest, app, err := readManifest(c["template"], false)
	if err != nil {
		return nil, err
	}
	return &config{serverURL: strings.TrimRight(c.String("serverUrl"), "/"), apiKey: key, manifest: manifest, app: app}, nil
}

// readManifest turns a template, YAML or JSON text or an object, into the
// Application's JSON. It must be one object of kind Application (when it
// says) with a name; a templated name is accepted while validating.
func readManifest(v any, validating bool) (json.RawMessage, *application, error) {
	var raw []byte
	switch t := v.(type) {
	case string:
		var err error
		if raw, err = yaml.YAMLToJSON([]byte(t)); err != nil {
			return nil, nil, model.Invalid("template", "is not YAML or JSON: %v", err)
		}
	case map[string]any:
		raw, _ = json.Marshal(t)
	default:
		return nil, nil, model.Invalid("template", "must be an Application manifest (YAML or JSON text, or an object), got %T", v)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	var app application
	if json.Unmarshal(raw, &head) != nil || json.Unmarshal(raw, &app) != nil {
		return nil, nil, model.Invalid("template", "must be one Application object")
	}
	if head.Kind != "" && head.Kind != "Application" {
		return nil, nil, model.Invalid("template.kind", "must be Application, got %q", head.Kind)
	}
	if head.APIVersion != "" && !strings.HasPrefix(head.APIVersion, "argoproj.io/") {
		return nil, nil, model.Invalid("template.apiVersion", "must be argoproj.io/v1alpha1, got %q", head.APIVersion)
	}
	name := app.Metadata.Name
	if name == "" || (!validating && agents.IsTemplate(name)) {
		return nil, nil, model.Invalid("template.metadata.name", "is required")
	}
	if strings.ContainsAny(name, "/?#") {
		return nil, nil, model.Invalid("template.metadata.name", "is not an Application name: %q", name)
	}
	return raw, &app, nil
}

// applicationURL is the Application's page in Argo CD's UI.
func (c *config) applicationURL(namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("%s/applications/%s", c.serverURL, name)
	}
	return fmt.Sprintf("%s/applications/%s/%s", c.serverURL, namespace, name)
}
