package agents

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// IsTemplate reports whether s holds a template action. Such a value is
// judged only once it is rendered at dispatch; Validate accepts it.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// URL returns an EINVALID error naming key when the value there is present
// but not an absolute http or https URL. A template is accepted.
func (c Config) URL(key string) error {
	if err := c.Strings(key); err != nil {
		return err
	}
	s := c.String(key)
	if s == "" || IsTemplate(s) {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return model.Invalid(key, "must be an absolute http or https URL, got %q", s)
	}
	return nil
}

// IsTerminalStatus reports whether s is a job status a job ends in.
func IsTerminalStatus(s string) bool {
	return slices.Contains(model.JobStatuses, s) && !model.IsProcessingJobStatus(s)
}
