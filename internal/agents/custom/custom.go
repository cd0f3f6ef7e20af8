// Package custom is the "custom" job agent type: a pull agent. Nothing is
// pushed to it; runners list their agent's pending jobs and claim them
// through the API, then report by job.updated.
package custom

import "github.com/gatehouse-dev/gatehouse/internal/agents"

// TypeName is the job agent type this package serves.
const TypeName = "custom"

// New returns the custom type. Its config is free-form: whatever the
// runners want to read from their claimed jobs.
func New() *agents.Type { return &agents.Type{Name: TypeName, Pull: true} }
