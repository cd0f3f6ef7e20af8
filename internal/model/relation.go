package model

// Entity types that relationship rules can relate.
const (
	EntityResource    = "resource"
	EntityDeployment  = "deployment"
	EntityEnvironment = "environment"
)

// PropertyMatcher compares a property of the "from" entity with one of the
// "to" entity.
type PropertyMatcher struct {
	FromProperty []string `json:"fromProperty"`
	ToProperty   []string `json:"toProperty"`
	Operator     string   `json:"operator"`
}

// RelationshipMatcher decides whether two candidate entities are related:
// either a CEL expression over from and to, or property comparisons that
// must all hold.
type RelationshipMatcher struct {
	CEL        *string           `json:"cel,omitempty"`
	Properties []PropertyMatcher `json:"properties,omitempty"`
}

// RelationshipRule relates entities (for example a cluster to its network) so
// that variables can reference values of related entities.
type RelationshipRule struct {
	ID               string              `json:"id"`
	WorkspaceID      string              `json:"workspaceId"`
	Name             string              `json:"name"`
	Description      string              `json:"description,omitempty"`
	Reference        string              `json:"reference"`
	RelationshipType string              `json:"relationshipType"`
	FromType         string              `json:"fromType"`
	ToType           string              `json:"toType"`
	FromSelector     *Selector           `json:"fromSelector,omitempty"`
	ToSelector       *Selector           `json:"toSelector,omitempty"`
	Matcher          RelationshipMatcher `json:"matcher"`
	Metadata         map[string]string   `json:"metadata"`
}
