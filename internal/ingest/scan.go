package ingest

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// scanEnvelopes reads a well-formed body in one pass: an envelope or an
// array of them, each an object of envelope fields with a string
// eventType, workspaceId and eventId and a numeric timestamp. Each Data
// is a slice of body (no copy). ok is false for any other body; Decode
// then reads it the slow way, which names the problem as it always has,
// so this path changes what is accepted in nothing.
//
// A batch of 500 resources spent more time in the envelopes than in their
// payloads: decoding into maps of raw messages read the body three times
// and copied every payload.
func scanEnvelopes(body []byte) (envs []Envelope, ok bool) {
	d := scanners.Get().(*jsontext.Decoder)
	// Duplicate names are let through as encoding/json does (the last
	// one counts); tracking them costs a set per object.
	d.Reset(bytes.NewBuffer(body), jsontext.AllowDuplicateNames(true))
	defer func() {
		d.Reset(bytes.NewBuffer(nil))
		scanners.Put(d)
	}()
	batch := body[0] == '['
	if batch {
		if _, err := d.ReadToken(); err != nil {
			return nil, false
		}
	}
	for {
		if batch && d.PeekKind() == ']' {
			if _, err := d.ReadToken(); err != nil {
				return nil, false
			}
			break
		}
		env, ok := scanEnvelope(d, body)
		if !ok {
			return nil, false
		}
		envs = append(envs, env)
		if !batch {
			break
		}
	}
	// Nothing may follow the value.
	if _, err := d.ReadToken(); err == nil || d.InputOffset() != int64(len(body)) {
		return nil, false
	}
	return envs, true
}

// scanEnvelope reads one envelope object.
func scanEnvelope(d *jsontext.Decoder, body []byte) (env Envelope, ok bool) {
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return env, false
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return env, false
		}
		switch name.String() {
		case "eventType":
			env.EventType, ok = scanString(d)
		case "workspaceId":
			env.WorkspaceID, ok = scanString(d)
		case "eventId":
			env.EventID, ok = scanString(d)
		case "timestamp":
			raw, err := d.ReadValue()
			if err != nil || raw.Kind() != '0' {
				return env, false
			}
			env.Timestamp, ok = json.Number(raw), true
		case "data":
			raw, err := d.ReadValue()
			if err != nil {
				return env, false
			}
			end := int(d.InputOffset())
			env.Data, ok = json.RawMessage(body[end-len(raw):end:end]), true
		default:
			return env, false
		}
		if !ok {
			return env, false
		}
	}
	_, err := d.ReadToken()
	return env, err == nil
}

// scanString reads a value that must be a string.
func scanString(d *jsontext.Decoder) (string, bool) {
	tok, err := d.ReadToken()
	if err != nil || tok.Kind() != '"' {
		return "", false
	}
	return tok.String(), true
}

// scanners are reused decoders: each holds buffers worth keeping.
var scanners = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewBuffer(nil)) }}
