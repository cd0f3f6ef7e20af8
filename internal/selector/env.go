package selector

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// DefaultCostLimit bounds CEL evaluation when Config.CostLimit is zero, in
// cel-go cost units. At the limit an evaluation takes at most about 2 ms on
// the expressions measured (see docs/benchmarks.md), so a selector
// evaluated against every resource of a large workspace stays bounded; an
// expression whose estimated worst case exceeds it is refused when written.
const DefaultCostLimit uint64 = 5_000

// DefaultCacheSize is the number of compiled matchers an Env keeps when
// Config.CacheSize is zero; selectors are few and re-read often, so a modest
// bound avoids recompiling without letting arbitrary user text grow memory.
const DefaultCacheSize = 1024

// Config configures NewEnvConfig; NewEnv covers the usual case.
type Config struct {
	// Vars are the CEL variable names.
	Vars []string
	// Kinds gives a variable the shape of an entity kind (KindResource,
	// ...). A variable not listed has the shape of the kind it is named
	// after, and a variable named after no kind (inputs, result) is an open
	// map(string, dyn).
	Kinds map[string]string
	// Subject is the variable JSON selectors are evaluated against; empty
	// means Vars[0].
	Subject string
	// CostLimit caps the CEL evaluation cost, and the estimated worst case
	// an expression may have; zero means DefaultCostLimit.
	CostLimit uint64
	// CacheSize caps the compiled-matcher cache; zero means
	// DefaultCacheSize and a negative value disables caching.
	CacheSize int
}

// Env is a compilation environment for one set of typed variables. It is
// safe for concurrent use; share one per variable set so its cache is shared
// too.
type Env struct {
	vars      []string
	varSet    map[string]struct{}
	subject   string
	costLimit uint64
	cel       *cel.Env
	cache     *matcherCache
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// NewEnv returns an Env declaring vars, each with the shape of the entity
// kind it is named after (or an open map), with default limits; the first
// variable is the subject of JSON selectors.
func NewEnv(vars ...string) (*Env, error) {
	return NewEnvConfig(Config{Vars: vars})
}

// MustNewEnv is NewEnv for package-level variables with fixed names, where an
// error is a programming mistake.
func MustNewEnv(vars ...string) *Env {
	e, err := NewEnv(vars...)
	if err != nil {
		panic(err)
	}
	return e
}

// MustNewEnvConfig is NewEnvConfig for package-level variables with a fixed
// configuration, where an error is a programming mistake.
func MustNewEnvConfig(cfg Config) *Env {
	e, err := NewEnvConfig(cfg)
	if err != nil {
		panic(err)
	}
	return e
}

// NewEnvConfig returns an Env built from cfg.
func NewEnvConfig(cfg Config) (*Env, error) {
	if len(cfg.Vars) == 0 {
		return nil, fmt.Errorf("selector: env needs at least one variable")
	}
	e := &Env{
		vars:      append([]string(nil), cfg.Vars...),
		varSet:    make(map[string]struct{}, len(cfg.Vars)),
		subject:   cfg.Subject,
		costLimit: cfg.CostLimit,
	}
	prov, err := newProvider()
	if err != nil {
		return nil, fmt.Errorf("selector: cel types: %w", err)
	}
	opts := []cel.EnvOption{cel.CustomTypeProvider(prov)}
	for _, v := range cfg.Vars {
		if !identRE.MatchString(v) {
			return nil, fmt.Errorf("selector: invalid variable name %q", v)
		}
		if _, dup := e.varSet[v]; dup {
			return nil, fmt.Errorf("selector: duplicate variable %q", v)
		}
		e.varSet[v] = struct{}{}
		kind := v
		if k, ok := cfg.Kinds[v]; ok {
			if _, known := kindTypes[k]; !known {
				return nil, fmt.Errorf("selector: variable %q: unknown entity kind %q", v, k)
			}
			kind = k
		}
		opts = append(opts, cel.Variable(v, varType(kind)))
	}
	for v := range cfg.Kinds {
		if _, ok := e.varSet[v]; !ok {
			return nil, fmt.Errorf("selector: kind given for undeclared variable %q", v)
		}
	}
	if e.subject == "" {
		e.subject = cfg.Vars[0]
	}
	if _, ok := e.varSet[e.subject]; !ok {
		return nil, fmt.Errorf("selector: subject %q is not a declared variable", e.subject)
	}
	if e.costLimit == 0 {
		e.costLimit = DefaultCostLimit
	}
	switch {
	case cfg.CacheSize == 0:
		e.cache = newMatcherCache(DefaultCacheSize)
	case cfg.CacheSize > 0:
		e.cache = newMatcherCache(cfg.CacheSize)
	}
	ce, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("selector: cel env: %w", err)
	}
	e.cel = ce
	return e, nil
}

var (
	resourceEnv = sync.OnceValue(func() *Env { return MustNewEnv("resource", "deployment", "environment") })
	versionEnv  = sync.OnceValue(func() *Env { return MustNewEnv("version", "resource", "deployment", "environment") })
)

// ResourceEnv returns the shared Env for {resource, deployment, environment}
// with subject "resource".
func ResourceEnv() *Env { return resourceEnv() }

// VersionEnv returns the shared Env for {version, resource, deployment,
// environment} with subject "version".
func VersionEnv() *Env { return versionEnv() }

// Compile compiles s. A nil s yields a Matcher that matches nothing, because
// an absent selector must never select everything by accident.
func (e *Env) Compile(s *model.Selector) (*Matcher, error) {
	switch {
	case s == nil:
		return nothing, nil
	case s.CEL != nil && s.JSON != nil:
		return nil, fmt.Errorf("selector: both cel and json are set")
	case s.CEL != nil:
		return e.CompileCEL(*s.CEL)
	case s.JSON != nil:
		return e.compileJSON(s.JSON)
	default:
		return nil, fmt.Errorf("selector: neither cel nor json is set")
	}
}

// CompileCEL compiles a bare CEL expression, for callers that store one
// without the model.Selector wrapper. Blank text matches nothing. It refuses
// an expression that does not type-check against the variables' shapes
// (a field the entity does not have, a result that is not a bool) or whose
// estimated worst-case cost exceeds the Env's cost limit.
func (e *Env) CompileCEL(expr string) (*Matcher, error) {
	if strings.TrimSpace(expr) == "" {
		return nothing, nil
	}
	key := "c\x00" + expr
	if m, ok := e.cache.get(key); ok {
		return m, nil
	}
	ast, iss := e.cel.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("selector.cel: %s", issueText(iss.Err()))
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("selector.cel: expression must evaluate to bool, not %s", t)
	}
	if err := e.checkCost(ast); err != nil {
		return nil, err
	}
	prog, err := e.cel.Program(ast,
		cel.CostLimit(e.costLimit),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, fmt.Errorf("selector.cel: %w", err)
	}
	return e.cache.add(key, &Matcher{env: e, prog: prog}), nil
}

// issueText is cel-go's report of compile errors without the source excerpt
// it draws under each ("| resource.nmae", "| .........^"): one line per
// error, which reads well in an API answer, and the position stays.
func issueText(err error) string {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "|") {
			lines = append(lines, t)
		}
	}
	return strings.Join(lines, "; ")
}

func (e *Env) compileJSON(tree map[string]any) (*Matcher, error) {
	// Keyed by canonical JSON (map keys sorted) so equal trees share a
	// matcher; a tree that cannot be marshalled is just not cached.
	var key string
	if b, err := json.Marshal(tree); err == nil {
		key = "j\x00" + string(b)
		if m, ok := e.cache.get(key); ok {
			return m, nil
		}
	}
	root, err := compileNode(tree, "selector.json")
	if err != nil {
		return nil, err
	}
	m := &Matcher{env: e, root: root}
	if key != "" {
		m = e.cache.add(key, m)
	}
	return m, nil
}
