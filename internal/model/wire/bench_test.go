package wire

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

var resourceJSON = []byte(`{"id":"r-1-2","name":"r-1-2","identifier":"r-1-2","kind":"Cluster","version":"v1","config":{},"metadata":{"region":"eu"}}`)

// BenchmarkCheck, BenchmarkDecode and BenchmarkUnmarshal compare the checks
// of one resource event with encoding/json decoding it alone.
func BenchmarkCheck(b *testing.B) {
	for b.Loop() {
		if err := Check(resourceJSON, "data"); err != nil {
			b.Fatal(err)
		}
	}
}
func BenchmarkDecode(b *testing.B) {
	for b.Loop() {
		var r model.Resource
		if err := Decode(resourceJSON, &r, "resource"); err != nil {
			b.Fatal(err)
		}
	}
}
func BenchmarkUnmarshal(b *testing.B) {
	for b.Loop() {
		var r model.Resource
		if err := json.Unmarshal(resourceJSON, &r); err != nil {
			b.Fatal(err)
		}
	}
}
