package selector

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
)

// Size bounds the cost estimate assumes for data it cannot see. They are
// generous for real entities (names and metadata values are short, entities
// carry tens of metadata keys, not thousands) while keeping a loop inside a
// loop over such data visibly expensive. Data larger than this still
// evaluates; the run-time limit stops whatever the estimate did not foresee.
const (
	// MaxStringSize bounds any string: a name, an identifier, a metadata
	// value, a string inside config.
	MaxStringSize = 256
	// MaxKeySize bounds a map key that an expression iterates over: metadata
	// keys are label-like ("team", "kubernetes/cluster-name").
	MaxKeySize = 64
	// MaxEntries bounds any map or list: metadata, config and its nested
	// objects and arrays, release variables, workflow inputs, results.
	MaxEntries = 100
)

// sizeEstimator gives cel-go's cost estimate the bounds above. Values CEL
// can measure itself (literals, lists built in the expression) are never
// asked about.
type sizeEstimator struct{}

// EstimateSize implements checker.CostEstimator.
func (sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if p := n.Path(); len(p) > 0 && p[len(p)-1] == "@keys" {
		return &checker.SizeEstimate{Min: 0, Max: MaxKeySize}
	}
	switch n.Type().Kind() {
	case types.StringKind, types.BytesKind:
		return &checker.SizeEstimate{Min: 0, Max: MaxStringSize}
	case types.MapKind, types.ListKind, types.StructKind:
		// An entity is a map at run time: comparing two costs as much.
		return &checker.SizeEstimate{Min: 0, Max: MaxEntries}
	case types.DynKind:
		// A config value may be a string or a container: take the larger.
		return &checker.SizeEstimate{Min: 0, Max: max(MaxStringSize, MaxEntries)}
	}
	return nil
}

// EstimateCallCost implements checker.CostEstimator; the standard functions'
// own estimates are used.
func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// checkCost refuses an expression whose worst-case cost, over data within
// the size bounds, exceeds the limit that evaluation enforces: it would be
// cut off (and so match nothing) on realistic data.
func (e *Env) checkCost(ast *cel.Ast) error {
	est, err := e.cel.EstimateCost(ast, sizeEstimator{})
	if err != nil {
		return fmt.Errorf("selector.cel: estimate cost: %w", err)
	}
	if est.Max > e.costLimit {
		return fmt.Errorf("selector.cel: the expression may cost %s, over the limit of %d "+
			"(assuming strings of up to %d characters, map keys of up to %d and maps and lists of up to %d entries; "+
			"a loop inside a loop is the usual cause)",
			costString(est.Max), e.costLimit, MaxStringSize, MaxKeySize, MaxEntries)
	}
	return nil
}

func costString(c uint64) string {
	if c == ^uint64(0) {
		return "without bound"
	}
	return fmt.Sprintf("up to %d", c)
}
