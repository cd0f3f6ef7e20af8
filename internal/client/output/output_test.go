package output_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/client/output"
)

func TestTable_Write(t *testing.T) {
	tab := &output.Table{Columns: []output.Column{{Header: "Name"}, {Header: "Note"}, {Header: "ID", Wide: true}}, Empty: "No things found."}
	var b bytes.Buffer
	if err := tab.Write(&b, false); err != nil || b.String() != "No things found.\n" {
		t.Errorf("empty table: %q %v", b.String(), err)
	}
	tab.Add("api", "", "1")
	tab.Add("storefront", "two\tlines\nhere", "22")
	b.Reset()
	if err := tab.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	want := "NAME         NOTE\napi          -\nstorefront   two lines here\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	_ = tab.Write(&b, true)
	if !strings.HasPrefix(b.String(), "NAME         NOTE             ID\n") {
		t.Errorf("wide table:\n%s", b.String())
	}
}

func TestEncode_RedactsSecrets(t *testing.T) {
	v := json.RawMessage(`{"name": "hook", "replicas": 3, "ratio": 0.5, "config": {"url": "https://x", "secret": "s3", "apiKey": "k", "token": ""},
		"value": {"sensitive": {"ciphertext": "c", "valueHash": "h"}}, "list": [{"privateKey": "pk"}]}`)
	var b bytes.Buffer
	if err := output.Encode(&b, output.YAML, v); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, secret := range []string{"s3", ": k\n", "pk", "ciphertext"} {
		if strings.Contains(got, secret) {
			t.Errorf("yaml shows %q:\n%s", secret, got)
		}
	}
	for _, want := range []string{"replicas: 3\n", "ratio: 0.5\n", "secret: (redacted)", "token: \"\"", "value:\n  sensitive: (redacted)"} {
		if !strings.Contains(got, want) {
			t.Errorf("yaml lacks %q:\n%s", want, got)
		}
	}
	b.Reset()
	if err := output.Encode(&b, output.JSON, v); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["replicas"] != 3.0 || strings.Contains(b.String(), "s3") {
		t.Errorf("json:\n%s (%v)", b.String(), err)
	}
	if err := output.Encode(&b, "toml", v); err == nil {
		t.Error("an unknown format was accepted")
	}
}
