// Package verification measures the metrics of a policy's verification rule
// and judges them. It is pure logic plus HTTP clients: it neither reads nor
// writes the store, so the engine decides when to measure and where results
// go.
//
// Provider fields and conditions may be Go templates over the verified
// job's dispatch context ({{.Resource.Metadata.region}}): ValidateMetric
// checks the templates when the policy is written and leaves the values
// they render to be checked once rendered; Render renders a metric for one
// measurement, before NewProvider builds its provider.
package verification

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Measurement statuses, as returned by Judge and consumed by Outcome.
const (
	StatusPassed       = "passed"
	StatusFailed       = "failed"
	StatusInconclusive = "inconclusive"
)

// Provider types understood by NewProvider and ValidateMetric.
const (
	TypeHTTP       = "http"
	TypePrometheus = "prometheus"
	TypeDatadog    = "datadog"
	TypeSleep      = "sleep"
)

// Provider measures one metric once.
type Provider interface {
	// Measure takes one measurement and returns the map the metric's CEL
	// conditions see as `result`. An error means no measurement could be
	// taken (transport failure, API error); callers typically record it as
	// a failed measurement carrying the error text.
	Measure(ctx context.Context) (map[string]any, error)
}

// Deps are the side effects providers need, injected so tests can use
// httptest servers and never really sleep.
type Deps struct {
	// Client performs HTTP requests; nil means http.DefaultClient. Per-request
	// timeouts come from each provider's timeout, not from the client.
	// Unless AllowPrivate is set, requests go through a copy of it that
	// refuses connections to non-public addresses (see ErrPrivateAddress).
	Client *http.Client
	// AllowPrivate lets providers connect to loopback, private, link-local
	// and other non-public addresses. Off, a metric's URL cannot be used to
	// reach the engine's own host or network (the metadata service, an
	// admin port), whatever its name resolves to.
	AllowPrivate bool
	// Sleep waits d or until ctx ends; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for query windows; nil means time.Now.
	Now func() time.Time
}

func (d Deps) client() *http.Client {
	c := d.Client
	if c == nil {
		c = http.DefaultClient
	}
	if d.AllowPrivate {
		return c
	}
	return guarded(c)
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d Deps) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewProvider builds the provider a metric's provider map describes
// ("type": http | prometheus | datadog | sleep). It rejects the same specs
// ValidateMetric rejects, with field names relative to "provider".
func NewProvider(spec map[string]any, deps Deps) (Provider, error) {
	r := &specReader{m: spec, prefix: "provider"}
	p := buildProvider(r, deps)
	if err := invalid(r.errs); err != nil {
		return nil, err
	}
	return p, nil
}

// buildProvider parses spec into a provider, collecting field errors in r;
// the result is meaningful only when r collected none. Sharing this between
// NewProvider and ValidateMetric keeps write-time and run-time checks equal.
func buildProvider(r *specReader, deps Deps) Provider {
	if r.m == nil {
		r.errs = append(r.errs, model.Invalid(r.prefix, "is required"))
		return nil
	}
	switch typ := r.str("type", true); typ {
	case TypeHTTP:
		return parseHTTP(r, deps)
	case TypePrometheus:
		return parsePrometheus(r, deps)
	case TypeDatadog:
		return parseDatadog(r, deps)
	case TypeSleep:
		return parseSleep(r, deps)
	case "":
		return nil
	default:
		r.fail("type", "unknown provider type %q (want http, prometheus, datadog or sleep)", typ)
		return nil
	}
}
