package engine

import (
	"github.com/gatehouse-dev/gatehouse/internal/model"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// JobView is a job as the API shows it, and as a webhook agent receives
// it: with its release and its verifications.
type JobView struct {
	*model.Job
	Release       *model.Release           `json:"release,omitempty"`
	Verifications []*model.JobVerification `json:"verifications,omitempty"`
}

// ViewJob returns the view of a job, read from r.
func ViewJob(r store.Reader, j *model.Job) JobView {
	v := JobView{Job: j, Verifications: store.VerificationsByJob.Get(r, j.ID)}
	if j.ReleaseID != "" {
		if rel, err := store.Releases.Get(r, j.ReleaseID); err == nil {
			v.Release = rel
		}
	}
	return v
}
