package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// TestReads_OneSnapshotPerRequest: a list read while commits land shows
// each target as one commit left it. Every committed state has a pending
// latest job only for the desired release (a new version creates both in
// one commit), so a target showing a pending job of another release than
// its desired one was read from two commits.
func TestReads_OneSnapshotPerRequest(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	ts.post(targetEvents("agent")...)
	var resources []map[string]any
	for i := range 100 {
		id := fmt.Sprint("x", i)
		resources = append(resources, event("resource.created", map[string]any{"id": id, "name": id, "identifier": id,
			"kind": "Cluster", "version": "v1", "config": map[string]any{}, "metadata": map[string]any{}}))
	}
	ts.post(resources...)

	const versions = 30
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for v := range versions {
			ts.post(versionEvent(fmt.Sprint("v", v), fmt.Sprint("v", v)))
			var jobs struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			_, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/jobs?status=pending&limit=10000", "")
			if err := json.Unmarshal(body, &jobs); err != nil {
				t.Error(err)
				return
			}
			var done []map[string]any
			for _, j := range jobs.Items {
				done = append(done, event("job.updated", map[string]any{"id": j.ID, "job": map[string]any{"status": "successful"},
					"fieldsToUpdate": []string{"status"}}))
			}
			ts.post(done...)
		}
	})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() { readUntil(t, ts, stop) })
	}
	readers.Wait()
	wg.Wait()
}

// readUntil lists the targets until stop is closed, failing t on a target
// read from two commits.
func readUntil(t *testing.T, ts *testServer, stop <-chan struct{}) {
	reads := 0
	for torn := false; !torn; reads++ {
		select {
		case <-stop:
			torn = true
			continue
		default:
		}
		_, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/release-targets?limit=10000", "")
		var page struct {
			Items []releaseTargetView `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, rt := range page.Items {
			if j := rt.LatestJob; j != nil && j.Status == "pending" && (rt.DesiredRelease == nil || rt.DesiredRelease.ID != j.ReleaseID) {
				t.Errorf("read %d: target %s shows pending job %s of release %s but desired release %v", reads, rt.Key, j.ID, j.ReleaseID, rt.DesiredRelease)
				return
			}
		}
	}
	t.Logf("%d consistent reads", reads)
}
