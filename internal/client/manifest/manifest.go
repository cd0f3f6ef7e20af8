// Package manifest reads Gatehouse manifests (YAML or JSON documents, one
// entity each) and turns them into the entities they declare, with ids
// derived from names so that people never write UUIDs.
//
// A document has three keys:
//
//	kind: deployment            # an event kind: system, deployment, resource, ...
//	metadata:
//	  name: api                 # the entity's name, the source of its id
//	  id: ...                   # optional: an explicit id instead of the derived one
//	spec:                       # the entity's fields; references by name
//	  jobAgent: runner
//	  systems: [payments]
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Document is one manifest document.
type Document struct {
	// Kind is the entity kind ("deployment").
	Kind string
	// Name is metadata.name.
	Name string
	// ID is metadata.id, empty when the id is derived from the name.
	ID string
	// Spec holds the entity's fields, in JSON-compatible values.
	Spec map[string]any
	// Source is the file the document came from, slash-separated and
	// relative to the working directory when it is below it.
	Source string
	// Index is the document's position in its file, from 0.
	Index int
}

// Where names the document for messages: "deploy.yaml (document 2)".
func (d *Document) Where() string {
	return fmt.Sprintf("%s (document %d)", d.Source, d.Index+1)
}

// Load reads every manifest file named by paths: a file, or a directory
// whose .yaml, .yml and .json files are read, sub-directories included
// (hidden ones skipped), in lexical order.
func Load(paths []string) ([]Document, error) {
	var docs []Document
	for _, p := range paths {
		files, err := files(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read manifest: %w", err)
			}
			got, err := Parse(SourceName(f), data)
			if err != nil {
				return nil, err
			}
			docs = append(docs, got...)
		}
	}
	return docs, nil
}

// SourceName is how a path is recorded as an entity's source: cleaned, with
// forward slashes, and relative to the working directory when it is an
// absolute path below it.
func SourceName(path string) string {
	p := filepath.Clean(path)
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				p = rel
			}
		}
	}
	return filepath.ToSlash(p)
}

func files(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && isManifest(p) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("manifests in %s: %w", path, err)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("manifests: %s holds no .yaml, .yml or .json file", path)
	}
	return out, nil
}

func isManifest(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Parse reads the documents of one file. A .json source holds one object or
// an array of them; anything else is YAML, documents separated by "---".
// Empty documents are skipped.
func Parse(source string, data []byte) ([]Document, error) {
	var raws []any
	if strings.EqualFold(filepath.Ext(source), ".json") {
		var err error
		if raws, err = parseJSON(data); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s (document %d): %w", source, len(raws)+1, err)
			}
			raws = append(raws, v)
		}
	}
	var docs []Document
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		d, err := document(normalize(raw))
		if err != nil {
			return nil, fmt.Errorf("%s (document %d): %w", source, i+1, err)
		}
		d.Source, d.Index = source, i
		docs = append(docs, d)
	}
	return docs, nil
}

func parseJSON(data []byte) ([]any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if list, ok := v.([]any); ok {
		return list, nil
	}
	return []any{v}, nil
}

// document checks the shape of one document.
func document(raw any) (Document, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return Document{}, errors.New("a manifest document is a mapping with kind, metadata and spec")
	}
	if err := onlyKeys(m, "", "kind", "metadata", "spec"); err != nil {
		return Document{}, err
	}
	var d Document
	var err error
	if d.Kind, err = stringField(m, "kind"); err != nil {
		return Document{}, err
	}
	if d.Kind == "" {
		return Document{}, errors.New("kind: is required")
	}
	meta, ok := m["metadata"].(map[string]any)
	if !ok {
		return Document{}, errors.New("metadata: is required, with a name")
	}
	if err := onlyKeys(meta, "metadata.", "name", "id"); err != nil {
		return Document{}, err
	}
	if d.Name, err = stringField(meta, "name"); err != nil {
		return Document{}, fmt.Errorf("metadata.%w", err)
	}
	if strings.TrimSpace(d.Name) == "" {
		return Document{}, errors.New("metadata.name: is required")
	}
	if d.ID, err = stringField(meta, "id"); err != nil {
		return Document{}, fmt.Errorf("metadata.%w", err)
	}
	switch spec := m["spec"].(type) {
	case nil:
		d.Spec = map[string]any{}
	case map[string]any:
		d.Spec = spec
	default:
		return Document{}, errors.New("spec: must be a mapping of the entity's fields")
	}
	return d, nil
}

func onlyKeys(m map[string]any, prefix string, allowed ...string) error {
	for k := range m {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%s%s: unknown key (a document has %s)", prefix, k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func stringField(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: must be a string", key)
	}
}

// normalize turns decoded YAML into JSON-compatible values: mappings with
// string keys, float64 numbers.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalize(val)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[fmt.Sprint(k)] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}
