// Package wire reads the JSON that producers send, strictly: a field the
// target type does not know, a value of the wrong JSON type, a number that
// does not fit, and poison that some database cannot store are refused with
// an EINVALID error naming the field (model.Invalid, model.UnknownField),
// before anything is decoded.
//
// Decode checks one payload against a Go type and decodes it; Check scans
// any JSON for poison (NUL characters, numbers out of range, oversized
// strings and field names). The engine runs Check on every event and
// Decode in every handler, so HTTP and Kafka intake get the same answers.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Decode reads data, one JSON value, into v (a non-nil pointer), after
// checking it against v's type: every object field must be a JSON field of
// the struct (or one of its extras, see fields.go), at every depth; maps,
// empty interfaces and json.RawMessage stay open; every value must have the
// JSON type its Go type reads (an integer field takes an integer that fits).
// Types with their own UnmarshalJSON are checked by it. Ids and names
// longer than MaxIDBytes and MaxNameBytes are refused.
//
// root names the value in errors and prefixes every field path
// ("deployment" gives "deployment.jobAgents[0].config"); with "" the
// payload's own fields are named alone ("job.status"). Errors are
// EINVALID *model.Error values with Field set. Decode does not look for
// poison: Check does, once per event.
func Decode(data []byte, v any, root string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("wire: decode into %T, want a non-nil pointer", v)
	}
	w := &walker{d: getDecoder(data), data: data, root: root}
	defer putDecoder(w.d)
	if err := w.value(rv.Type().Elem(), 0); err != nil {
		return err
	}
	if w.d.PeekKind() != jsontext.KindInvalid {
		return model.Invalid(rootName(root), "malformed JSON: more than one value")
	}
	if _, err := w.d.ReadToken(); err != io.EOF {
		return syntaxError(err, data, root)
	}
	if err := json.Unmarshal(data, v); err != nil {
		// The walk accepts what encoding/json reads; this is the odd case
		// of a type's UnmarshalJSON refusing only in context.
		return model.Invalid(rootName(root), "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// walker checks a token stream against Go types.
type walker struct {
	d    *jsontext.Decoder
	data []byte
	root string
}

// path names the value read last.
func (w *walker) path() string { return rootName(pathOf(w.d, w.root, -1)) }

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	numberType      = reflect.TypeFor[json.Number]()
	timeType        = reflect.TypeFor[time.Time]()
)

var opaqueCache sync.Map // reflect.Type → bool

// opaque reports whether values of t are checked by t's own UnmarshalJSON
// rather than field by field.
func opaque(t reflect.Type) bool {
	if o, ok := opaqueCache.Load(t); ok {
		return o.(bool)
	}
	_, listed := extras[t]
	o := !listed && reflect.PointerTo(t).Implements(unmarshalerType)
	opaqueCache.Store(t, o)
	return o
}

// value checks the next JSON value against t. limit bounds a string's
// length (0: no bound here).
func (w *walker) value(t reflect.Type, limit int) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || (t.Kind() == reflect.Interface && t.NumMethod() == 0) {
		if err := w.d.SkipValue(); err != nil {
			return syntaxError(err, w.data, w.root)
		}
		return nil
	}
	if opaque(t) {
		return w.unmarshaler(t)
	}
	kind := w.d.PeekKind()
	switch kind {
	case '{', '[', 't', 'f', 'n':
		if _, err := w.d.ReadToken(); err != nil {
			return syntaxError(err, w.data, w.root)
		}
	case '"', '0':
		raw, err := w.d.ReadValue()
		if err != nil {
			return syntaxError(err, w.data, w.root)
		}
		if kind == '"' {
			return w.text(t, raw, limit)
		}
		return w.number(t, raw)
	default:
		// Nothing to read: let the decoder say why.
		_, err := w.d.ReadToken()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return syntaxError(err, w.data, w.root)
	}
	switch kind {
	case '{':
		return w.object(t)
	case '[':
		return w.array(t)
	case 't', 'f':
		if t.Kind() != reflect.Bool {
			return w.mismatch("boolean", t)
		}
	}
	// null is accepted everywhere, as encoding/json accepts it.
	return nil
}

// unmarshaler checks a value of a type with its own UnmarshalJSON by
// running it.
func (w *walker) unmarshaler(t reflect.Type) error {
	raw, err := w.d.ReadValue()
	if err != nil {
		return syntaxError(err, w.data, w.root)
	}
	if raw.Kind() == 'n' {
		return nil
	}
	// The decoder's buffer is reused; the method may keep what it is given.
	err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(bytes.Clone(raw))
	if err == nil {
		return nil
	}
	if t == timeType {
		return model.Invalid(w.path(), "cannot use %s as a time: want RFC 3339, such as 2006-01-02T15:04:05Z", truncate(string(raw)))
	}
	return model.Invalid(w.path(), "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// object checks the members of an object whose '{' was read.
func (w *walker) object(t reflect.Type) error {
	var sf *structFields
	switch t.Kind() {
	case reflect.Struct:
		sf = fieldsOf(t)
	case reflect.Map:
	default:
		return w.mismatch("object", t)
	}
	for w.d.PeekKind() == '"' {
		raw, err := w.d.ReadValue()
		if err != nil {
			return syntaxError(err, w.data, w.root)
		}
		if sf == nil {
			if err := w.value(t.Elem(), 0); err != nil {
				return err
			}
			continue
		}
		f, ok := sf.byName[string(raw[1:len(raw)-1])]
		if !ok {
			name := unquote(raw)
			if f, ok = sf.byName[name]; !ok {
				return model.UnknownField(pathOf(w.d, w.root, depthOf(w.d)-1), name, sf.names)
			}
		}
		if err := w.value(f.typ, f.limit); err != nil {
			return err
		}
	}
	if _, err := w.d.ReadToken(); err != nil {
		return syntaxError(err, w.data, w.root)
	}
	return nil
}

// array checks the elements of an array whose '[' was read.
func (w *walker) array(t reflect.Type) error {
	if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
		return w.mismatch("array", t)
	}
	for w.d.PeekKind() != ']' {
		if w.d.PeekKind() == jsontext.KindInvalid {
			break // the ReadToken below reports it
		}
		if err := w.value(t.Elem(), 0); err != nil {
			return err
		}
	}
	if _, err := w.d.ReadToken(); err != nil {
		return syntaxError(err, w.data, w.root)
	}
	return nil
}

func (w *walker) text(t reflect.Type, raw []byte, limit int) error {
	if t == numberType {
		if _, err := strconv.ParseFloat(unquote(raw), 64); err != nil {
			return model.Invalid(w.path(), "cannot use %s as a number", truncate(string(raw)))
		}
		return nil
	}
	if t.Kind() != reflect.String {
		return w.mismatch("string", t)
	}
	if limit > 0 {
		if _, n := stringFacts(raw); n > limit {
			return model.Invalid(w.path(), "is %d bytes long; at most %d are allowed", n, limit)
		}
	}
	return nil
}

func (w *walker) number(t reflect.Type, raw []byte) error {
	s := string(raw)
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(s, 10, t.Bits()); err != nil {
			return w.notInteger(s, t, err)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseUint(s, 10, t.Bits()); err != nil {
			return w.notInteger(s, t, err)
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(s, t.Bits()); err != nil {
			return model.Invalid(w.path(), "number %s is out of range", truncate(s))
		}
	default:
		if t != numberType {
			return w.mismatch("number", t)
		}
	}
	return nil
}

func (w *walker) notInteger(s string, t reflect.Type, err error) error {
	switch {
	case errors.Is(err, strconv.ErrRange):
		return model.Invalid(w.path(), "integer %s does not fit in %d bits", truncate(s), t.Bits())
	case strings.HasPrefix(s, "-") && t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return model.Invalid(w.path(), "cannot use a negative number here")
	}
	return model.Invalid(w.path(), "cannot use the JSON number %s as an integer", truncate(s))
}

// mismatch is the error for a JSON value of the wrong type.
func (w *walker) mismatch(got string, t reflect.Type) error {
	return model.Invalid(w.path(), "cannot use a JSON %s as %s", got, describeType(t))
}

// describeType names what a Go type reads, in JSON terms.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}
