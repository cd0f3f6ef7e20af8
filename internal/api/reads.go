package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// collection is a readable entity collection, type-erased so that one pair
// of handlers serves every kind.
type collection struct {
	items func(r store.Reader) []any
	get   func(r store.Reader, id string) (any, error)
}

func collectionOf[T any](t *store.Table[T]) collection {
	return viewOf(t, func(_ store.Reader, v *T) *T { return v })
}

// viewOf is collectionOf showing each entity as view makes it.
func viewOf[T any](t *store.Table[T], view func(store.Reader, *T) *T) collection {
	return collection{
		items: func(r store.Reader) []any {
			items := t.Items(r)
			out := make([]any, len(items))
			for i, v := range items {
				out[i] = view(r, v)
			}
			return out
		},
		get: func(r store.Reader, id string) (any, error) {
			v, err := t.Get(r, id)
			if err != nil {
				return nil, err
			}
			return view(r, v), nil
		},
	}
}

// compositeCollectionOf is collectionOf for a table keyed by the parts of
// a composite identity, which callers may name by its dashed wire form
// (engine.FindComposite).
func compositeCollectionOf[T any](t *store.Table[T], parts int, what string) collection {
	c := collectionOf(t)
	c.get = func(r store.Reader, id string) (any, error) { return engine.FindComposite(r, t, id, parts, what) }
	return c
}

// collections are the plain entity collections, by URL segment.
var collections = map[string]collection{
	"systems":                    collectionOf(store.Systems),
	"deployments":                collectionOf(store.Deployments),
	"environments":               collectionOf(store.Environments),
	"resources":                  collectionOf(store.Resources),
	"resource-providers":         collectionOf(store.ResourceProviders),
	"resource-variables":         compositeCollectionOf(store.ResourceVariables, 2, "resource variable"),
	"deployment-versions":        collectionOf(store.DeploymentVersions),
	"deployment-variables":       collectionOf(store.DeploymentVariables),
	"deployment-variable-values": collectionOf(store.DeploymentVariableValues),
	"job-agents":                 collectionOf(store.JobAgents),
	"policies":                   collectionOf(store.Policies),
	"policy-skips":               collectionOf(store.PolicySkips),
	"user-approval-records":      compositeCollectionOf(store.UserApprovalRecords, 3, "approval record"),
	"relationship-rules":         collectionOf(store.RelationshipRules),
	"workflows":                  collectionOf(store.Workflows),
	"workflow-runs":              workflowRuns,
	"releases":                   collectionOf(store.Releases),
	"job-verifications":          viewOf(store.JobVerifications, engine.VerificationView),
	"freezes":                    collectionOf(store.Freezes),
	"variable-sets":              collectionOf(store.VariableSets),
}

// page is one list answer: {"items": [...], "total", "limit", "offset"},
// written by writeTo.
type page struct {
	Items  []any
	Total  int
	Limit  int
	Offset int
}

// writeTo streams the page, one item at a time. A list can be tens of MB
// (every job with its dispatch context): encoding it whole held it in one
// buffer that doubled as it grew, which was most of the process's peak
// memory after a large fan-out. It returns an error only for an item that
// cannot be encoded, which cuts the answer short; a client gone mid-answer
// is nobody's to tell.
func (p page) writeTo(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	out := bufio.NewWriterSize(w, 64<<10)
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	_, _ = out.WriteString(`{"items":[`)
	for i, v := range p.Items {
		item.Reset()
		if err := enc.Encode(v); err != nil {
			_ = out.Flush()
			return fmt.Errorf("item %d: %w", p.Offset+i, err)
		}
		if i > 0 {
			_ = out.WriteByte(',')
		}
		_, _ = out.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
	}
	_, _ = fmt.Fprintf(out, `],"total":%d,"limit":%d,"offset":%d}`+"\n", p.Total, p.Limit, p.Offset)
	_ = out.Flush()
	return nil
}

const (
	defaultLimit = 100
	maxLimit     = 1_000_000
)

// paginate cuts items by the limit and offset query parameters.
func paginate(r *http.Request, items []any) (page, error) {
	limit, err := intParam(r, "limit", defaultLimit)
	if err != nil {
		return page{}, err
	}
	offset, err := intParam(r, "offset", 0)
	if err != nil {
		return page{}, err
	}
	if limit < 1 || limit > maxLimit {
		return page{}, model.Invalid("limit", "must be between 1 and %d", maxLimit)
	}
	if offset < 0 {
		return page{}, model.Invalid("offset", "must not be negative")
	}
	p := page{Total: len(items), Limit: limit, Offset: offset, Items: []any{}}
	if offset < len(items) {
		end := min(offset+limit, len(items))
		p.Items = items[offset:end]
	}
	return p, nil
}

func intParam(r *http.Request, name string, def int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, model.Invalid(name, "%q is not a whole number", raw)
	}
	return n, nil
}

// snapshot returns a read view of the workspace in the path, or an error
// when it does not exist. Every read of one request goes through one view,
// so that a request never sees part of a commit (a target without the
// release its job names); done ends it and must be called.
func (s *Server) snapshot(r *http.Request) (snap store.Snapshot, done func(), err error) {
	ws, err := s.engine.Load(r.Context(), r.PathValue("ws"))
	if err != nil {
		return store.Snapshot{}, func() {}, err
	}
	snap, done = ws.Store().Read()
	return snap, done, nil
}

func (s *Server) writePage(w http.ResponseWriter, r *http.Request, items []any) {
	p, err := paginate(r, items)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := p.writeTo(w); err != nil {
		// The status was sent: the client sees a cut answer, the log why.
		s.logger.Error("list answer cut short", "path", r.URL.Path, "err", err)
	}
}

func (s *Server) listCollection(c collection) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap, done, err := s.snapshot(r)
		defer done()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		items := c.items(snap)
		done() // the views are built; writing them needs no lock
		s.writePage(w, r, items)
	})
}

func (s *Server) getFromCollection(c collection) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		snap, done, err := s.snapshot(r)
		defer done()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		v, err := c.get(snap, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		done()
		writeJSON(w, http.StatusOK, v)
	})
}

// targetFilter holds the filters shared by jobs and release targets.
type targetFilter struct {
	deploymentID, environmentID, resourceID string
}

func filterOf(r *http.Request) targetFilter {
	q := r.URL.Query()
	return targetFilter{deploymentID: q.Get("deploymentId"), environmentID: q.Get("environmentId"), resourceID: q.Get("resourceId")}
}

func (f targetFilter) match(t *model.ReleaseTarget) bool {
	return (f.deploymentID == "" || f.deploymentID == t.DeploymentID) &&
		(f.environmentID == "" || f.environmentID == t.EnvironmentID) &&
		(f.resourceID == "" || f.resourceID == t.ResourceID)
}

// candidates returns the targets a filter can match, through the narrowest
// index it names.
func (f targetFilter) candidates(r store.Reader) []*model.ReleaseTarget {
	switch {
	case f.resourceID != "":
		return store.TargetsByResource.Get(r, f.resourceID)
	case f.environmentID != "" && f.deploymentID != "":
		return store.TargetsByPair.Get(r, store.PairKey(f.environmentID, f.deploymentID))
	case f.deploymentID != "":
		return store.TargetsByDeployment.Get(r, f.deploymentID)
	case f.environmentID != "":
		return store.TargetsByEnvironment.Get(r, f.environmentID)
	}
	return store.ReleaseTargets.Items(r)
}
