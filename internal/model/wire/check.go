package wire

import (
	"bytes"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Check scans data, one JSON value, for what no database may be given: a
// NUL character (escaped as \u0000 or raw) in any string or field name; a
// number outside float64's range, or an integer (no fraction, no exponent)
// outside int64's; a string longer than MaxStringBytes; a field name longer
// than MaxNameBytes. Empty data passes (an event without a payload). The
// error is EINVALID and names the field by its path under root ("data" when
// root is empty).
//
// PostgreSQL refuses NUL in JSONB and in text, and rewrites numbers it
// cannot hold; SQLite stores both. Refusing them here gives every database
// the same answer.
func Check(data []byte, root string) error {
	root = rootName(root)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	d := getDecoder(data)
	defer putDecoder(d)
	for {
		kind := d.PeekKind()
		if kind == jsontext.KindInvalid {
			break
		}
		if _, n := d.StackIndex(0); n > 0 && d.StackDepth() == 0 {
			return model.Invalid(root, "malformed JSON: more than one value")
		}
		if kind != '"' && kind != '0' {
			if _, err := d.ReadToken(); err != nil {
				return syntaxError(err, data, root)
			}
			continue
		}
		name := isName(d)
		raw, err := d.ReadValue()
		if err != nil {
			return syntaxError(err, data, root)
		}
		if kind == '0' {
			err = checkNumber(d, raw, root)
		} else {
			err = checkText(d, raw, root, name)
		}
		if err != nil {
			return err
		}
	}
	// PeekKind found nothing: the end, or a syntax error to report.
	if _, err := d.ReadToken(); err != io.EOF {
		return syntaxError(err, data, root)
	}
	return nil
}

// isName reports whether the next token is an object member's name.
func isName(d *jsontext.Decoder) bool {
	kind, n := d.StackIndex(d.StackDepth())
	return kind == '{' && n%2 == 0
}

func checkText(d *jsontext.Decoder, raw []byte, root string, name bool) error {
	nul, n := stringFacts(raw)
	if name {
		// Name the object the field name is in.
		object := func() string { return rootName(pathOf(d, root, depthOf(d)-1)) }
		switch {
		case nul:
			return model.Invalid(object(), "a field name contains a NUL character (\\u0000)")
		case n > MaxNameBytes:
			return model.Invalid(object(), "a field name is %d bytes long; at most %d are allowed", n, MaxNameBytes)
		}
		return nil
	}
	switch {
	case nul:
		return model.Invalid(pathOf(d, root, -1), "contains a NUL character (\\u0000)")
	case n > MaxStringBytes:
		return model.Invalid(pathOf(d, root, -1), "is %d bytes long; at most %d are allowed", n, MaxStringBytes)
	}
	return nil
}

func checkNumber(d *jsontext.Decoder, raw []byte, root string) error {
	if bytes.IndexAny(raw, ".eE") < 0 {
		if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
			return model.Invalid(pathOf(d, root, -1), "integer %s does not fit in 64 bits", truncate(string(raw)))
		}
		return nil
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
		return model.Invalid(pathOf(d, root, -1), "number %s is out of range", truncate(string(raw)))
	}
	return nil
}
