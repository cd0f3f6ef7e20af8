package main

import (
	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/agents/argocd"
	"github.com/gatehouse-dev/gatehouse/internal/agents/argowf"
	"github.com/gatehouse-dev/gatehouse/internal/agents/custom"
	"github.com/gatehouse-dev/gatehouse/internal/agents/github"
	"github.com/gatehouse-dev/gatehouse/internal/agents/kubernetes"
	"github.com/gatehouse-dev/gatehouse/internal/agents/testrunner"
	"github.com/gatehouse-dev/gatehouse/internal/agents/tfc"
	"github.com/gatehouse-dev/gatehouse/internal/agents/webhook"
)

// agentTypes are the job agent types the binary knows (docs/agents.md).
func agentTypes() agents.Registry {
	reg, err := agents.NewRegistry(
		custom.New(),
		webhook.New(webhook.Options{}),
		testrunner.New(testrunner.Options{}),
		github.New(github.Options{}),
		argocd.New(argocd.Options{}),
		kubernetes.New(kubernetes.Options{}),
		tfc.New(tfc.Options{}),
		argowf.New(argowf.Options{}),
	)
	if err != nil {
		panic(err) // the list above has a duplicate: a programming error
	}
	return reg
}
