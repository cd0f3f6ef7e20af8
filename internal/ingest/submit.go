package ingest

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// Submitted is what became of an events request handed to another intake
// (a Kafka topic) and applied by the workspace's owner: the events applied,
// and when one was refused, the dead letter saying why.
type Submitted struct {
	Applied    int
	DeadLetter *model.DeadLetter
}

// ErrNoAnswer is in the chain of a submission whose owner did not commit
// it in time: the events may still be applied, later.
var ErrNoAnswer = errors.New("no answer from the workspace's owner in time")
