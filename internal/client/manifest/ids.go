package manifest

import (
	"strings"

	"github.com/google/uuid"
)

// namespace is the UUIDv5 namespace of every id derived from a name.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://gatehouse.dev/manifests"))

// DeriveID returns the id an entity named name gets when its manifest gives
// none: the UUIDv5 of the workspace, the kind, the id of the entity it
// belongs to (a version's deployment; empty for most kinds) and the name.
// The same inputs always give the same id, so a manifest applied twice
// names the same entity, and a name can be turned into an id without asking
// the server.
func DeriveID(workspace, kind, parent, name string) string {
	parts := []string{workspace, kind, name}
	if parent != "" {
		parts = []string{workspace, kind, parent, name}
	}
	return uuid.NewSHA1(namespace, []byte(strings.Join(parts, "/"))).String()
}
