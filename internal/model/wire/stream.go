package wire

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Both Check and Decode read tokens with jsontext (the standard library's
// encoding/json/v2 tokenizer, as a module until Go ships it without an
// experiment flag): it reads a value without allocating and knows where in
// the document it is, which names the field of an error for free.
// encoding/json's Decoder.Token allocates for every token and made both
// checks four times dearer than decoding itself.

// decoderOptions read JSON as encoding/json does: duplicate names and
// invalid UTF-8 are let through, as encoding/json lets them through.
var decoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// Decoders are pooled: setting one up costs more than reading a small
// event with it.
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(noInput{}, decoderOptions...) }}

// noInput is what a pooled decoder reads, so that it holds on to no
// payload.
type noInput struct{}

func (noInput) Read([]byte) (int, error) { return 0, io.EOF }

// getDecoder returns a decoder reading data; putDecoder gives it back.
func getDecoder(data []byte) *jsontext.Decoder {
	d := decoders.Get().(*jsontext.Decoder)
	d.Reset(bytes.NewBuffer(data), decoderOptions...)
	return d
}

func putDecoder(d *jsontext.Decoder) {
	d.Reset(noInput{}, decoderOptions...)
	decoders.Put(d)
}

// pathOf names the value d read last, under root, with its first n levels
// (all of them when n < 0): "deployment.jobAgents[0].config"; "" for the
// root itself under root "".
func pathOf(d *jsontext.Decoder, root string, n int) string {
	p := root
	level := 0
	for tok := range d.StackPointer().Tokens() {
		level++
		if n >= 0 && level > n {
			break
		}
		if kind, _ := d.StackIndex(level); kind == '[' {
			p += "[" + tok + "]"
		} else {
			p = KeyPath(p, tok)
		}
	}
	return p
}

// depthOf is the number of levels of the pointer to the value d read last.
func depthOf(d *jsontext.Decoder) int {
	n := 0
	for range d.StackPointer().Tokens() {
		n++
	}
	return n
}

// unquote returns the text of a JSON string as read (quoted, maybe
// escaped).
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	// The decoder has checked the string; invalid UTF-8, which it lets
	// through, comes back replaced, as encoding/json replaces it.
	b, _ := jsontext.AppendUnquote(nil, raw)
	return string(b)
}

// stringFacts tells whether a JSON string as read holds a NUL character,
// and its length once unescaped, allocating only for escaped strings.
func stringFacts(raw []byte) (nul bool, length int) {
	if bytes.IndexByte(raw, '\\') < 0 {
		// A raw NUL is not valid JSON: the decoder refused it already.
		return false, len(raw) - 2
	}
	s := unquote(raw)
	return strings.IndexByte(s, 0) >= 0, len(s)
}

// syntaxError describes a JSON syntax error d ran into, under root. A
// raw NUL byte is named at the field where it stands.
func syntaxError(err error, data []byte, root string) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		if off := se.ByteOffset; off >= 0 && off < int64(len(data)) && data[off] == 0 {
			return model.Invalid(pointerPath(root, se.JSONPointer), "contains a NUL byte")
		}
		return model.Invalid(rootName(root), "malformed JSON: %v", describeSyntax(se))
	}
	return model.Invalid(rootName(root), "malformed JSON: %v", err)
}

// pointerPath names a pointer without the decoder's stack: a token of
// digits reads as an array index.
func pointerPath(root string, ptr jsontext.Pointer) string {
	p := rootName(root)
	for tok := range ptr.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			p += "[" + tok + "]"
		} else {
			p = KeyPath(p, tok)
		}
	}
	return p
}

// describeSyntax drops the package prefix from a syntax error and says
// where it is by byte offset.
func describeSyntax(se *jsontext.SyntacticError) string {
	msg := strings.TrimPrefix(se.Err.Error(), "jsontext: ")
	return msg + " at byte " + strconv.FormatInt(se.ByteOffset, 10)
}

func rootName(root string) string {
	if root == "" {
		return "data"
	}
	return root
}

// KeyPath names the entry key of the object at path, as errors name
// fields: as a field when it reads like one, quoted in brackets otherwise
// (metadata.team, metadata["a.b"]).
func KeyPath(path, key string) string {
	if key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// truncate shortens text quoted in an error, so that a 200,000-digit
// number does not come back whole.
func truncate(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
