package wire

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Limits on what one event may carry. They keep every database able to
// store what the engine accepted, and a single event from holding the
// engine's memory hostage.
const (
	// MaxIDBytes bounds event ids and entity ids (a field "id" or "…Id").
	MaxIDBytes = 255
	// MaxNameBytes bounds names, slugs, tags, identifiers, keys and
	// references, and every field name (object key) anywhere in an event.
	MaxNameBytes = 1024
	// MaxStringBytes bounds any string anywhere in an event.
	MaxStringBytes = 1 << 20
)

// extra is a field a type accepts on the wire besides its Go fields.
type extra struct {
	name string
	// typ is what the field is checked as; an empty interface when any
	// JSON value is acceptable.
	typ reflect.Type
}

// extras lists, per type, the wire fields it accepts beyond its Go struct's
// JSON fields. They are checked like Go fields and then dropped by the
// decoding (encoding/json ignores them), unless the type's own
// UnmarshalJSON reads them. A type listed here is checked field by field
// even when it implements json.Unmarshaler; its UnmarshalJSON must then
// accept exactly the struct's fields and these.
//
// Add here what a producer may echo without meaning it as input: fields
// of the read API's view of an entity (internal/api), and fields of
// ctrlplane's schema that Gatehouse has no use for.
var extras = map[reflect.Type][]extra{
	// The read API shows a job with its release and its verifications
	// (engine.JobView); a job.updated may carry the job exactly as read.
	reflect.TypeFor[model.Job](): {
		{"release", reflect.TypeFor[*model.Release]()},
		{"verifications", reflect.TypeFor[[]*model.JobVerification]()},
	},
	// The read API shows a release target with what was decided for it; a
	// release-target.deploy may carry it as read.
	reflect.TypeFor[model.ReleaseTarget](): {
		{"key", reflect.TypeFor[string]()},
		{"desiredRelease", reflect.TypeFor[*model.Release]()},
		{"currentRelease", reflect.TypeFor[*model.Release]()},
		{"latestJob", reflect.TypeFor[*model.Job]()},
		{"reason", reflect.TypeFor[string]()},
		{"nextEvaluationTime", reflect.TypeFor[*time.Time]()},
	},
	// The read API shows a run with its workflow jobs and their jobs
	// (engine.WorkflowRunView); a run may be sent back as read.
	reflect.TypeFor[model.WorkflowRun](): {
		{"jobs", reflect.TypeFor[[]any]()},
	},
	// The soak time's corrected spelling, read by the rule's UnmarshalJSON.
	reflect.TypeFor[model.EnvironmentProgressionRule](): {
		{"minimumSoakTimeMinutes", reflect.TypeFor[int]()},
	},
}

// field is one known field of a struct on the wire.
type field struct {
	typ reflect.Type
	// limit bounds the field's length in bytes when it is a string; 0 for
	// no bound beyond MaxStringBytes.
	limit int
}

// structFields is the wire view of one struct type.
type structFields struct {
	byName map[string]field
	// names are the known names, sorted, for suggestions.
	names []string
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf returns the known wire fields of struct type t, built once per
// type: its JSON fields as encoding/json sees them (tag names, embedded
// structs promoted, "-" skipped) and its extras.
func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: map[string]field{}}
	collectFields(t, sf.byName)
	for _, e := range extras[t] {
		if _, ok := sf.byName[e.name]; !ok {
			sf.byName[e.name] = field{typ: e.typ, limit: limitFor(e.name)}
		}
	}
	for name := range sf.byName {
		sf.names = append(sf.names, name)
	}
	slices.Sort(sf.names)
	f, _ := fieldCache.LoadOrStore(t, sf)
	return f.(*structFields)
}

// collectFields adds t's JSON fields to into. Fields of t itself come
// before promoted ones, so that a shallower field wins as it does in
// encoding/json.
func collectFields(t reflect.Type, into map[string]field) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := into[name]; !ok {
			into[name] = field{typ: f.Type, limit: limitFor(name)}
		}
	}
	for _, ft := range embedded {
		collectFields(ft, into)
	}
}

// nameFields are the fields bounded by MaxNameBytes.
var nameFields = []string{"name", "slug", "tag", "identifier", "key", "reference"}

// limitFor returns the length bound of a string field by its wire name.
func limitFor(name string) int {
	switch {
	case name == "id" || strings.HasSuffix(name, "Id"):
		return MaxIDBytes
	case slices.Contains(nameFields, name):
		return MaxNameBytes
	}
	return 0
}
