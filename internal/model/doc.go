// Package model holds Gatehouse's entity types with their wire (JSON) shapes
// and validation. It imports nothing else of the project, so every other
// package can depend on it.
//
// Field names follow ctrlplane's workspace-engine API so that producers
// written for it keep working. Validate methods check what can be checked on
// the entity alone and name the offending field in the error; checks that
// need other entities (references, selector compilation) live in the engine.
package model
