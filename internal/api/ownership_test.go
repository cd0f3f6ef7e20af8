package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/ingest"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const systemEvent = `{"eventType": "system.created", "data": {"id": "sys", "name": "payments"}}`

// staticRouter routes every workspace to one address ("" for here).
type staticRouter struct {
	mu   sync.Mutex
	addr string
	err  error
}

func (r *staticRouter) Route(context.Context, string, bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr, r.err
}

// TestServer_ForwardsToTheOwner: a request for a workspace another process
// owns is answered by that process, reads and writes alike; a request
// forwarded to a process that does not own the workspace either is refused
// with 503 rather than passed on again; an owner that does not answer is a
// 503 naming it.
func TestServer_ForwardsToTheOwner(t *testing.T) {
	owner := newTestServer(t, engine.Config{}, Config{})
	reg := prometheus.NewRegistry()
	router := &staticRouter{addr: strings.TrimPrefix(owner.srv.URL, "http://")}
	front := newTestServer(t, engine.Config{}, Config{Router: router, Self: "front:1", Registry: reg})

	if status, body := front.do(http.MethodPost, "/v1/workspaces/"+testWS+"/events", systemEvent); status != http.StatusAccepted {
		t.Fatalf("POST through the front: %d %s", status, body)
	}
	if _, ok := front.eng.Workspace(testWS); ok {
		t.Error("the front applied the event itself")
	}
	if status, body := front.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems/sys", ""); status != http.StatusOK ||
		!strings.Contains(string(body), "payments") {
		t.Errorf("GET through the front: %d %s", status, body)
	}

	// The owner itself routes elsewhere: a forwarded request stops there.
	back := newTestServer(t, engine.Config{}, Config{Router: &staticRouter{addr: "elsewhere:1"}})
	router.mu.Lock()
	router.addr = strings.TrimPrefix(back.srv.URL, "http://")
	router.mu.Unlock()
	status, body := front.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "moving between processes") {
		t.Errorf("a request forwarded to a process that does not own the workspace: %d %s", status, body)
	}

	router.mu.Lock()
	router.addr = "127.0.0.1:1"
	router.mu.Unlock()
	status, body = front.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "127.0.0.1:1") {
		t.Errorf("an owner that does not answer: %d %s", status, body)
	}
	if got := counterValue(t, reg, "gatehouse_forwarded_requests_total", "forwarded"); got != 4 {
		t.Errorf("forwarded requests counted %v, want 4", got)
	}
	if got := counterValue(t, reg, "gatehouse_forwarded_requests_total", "unreachable"); got != 1 {
		t.Errorf("requests to an unreachable owner counted %v, want 1", got)
	}

	router.mu.Lock()
	router.addr, router.err = "", model.Errorf(model.ENOTFOUND, "workspace %q not found", testWS)
	router.mu.Unlock()
	if status, _ := front.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems", ""); status != http.StatusNotFound {
		t.Errorf("a workspace that exists nowhere: %d, want 404", status)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestServer_DeleteWorkspace: DELETE removes the workspace (its reads are
// 404 afterwards); a workspace that does not exist is 404.
func TestServer_DeleteWorkspace(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	if status, body := ts.do(http.MethodPost, "/v1/workspaces/"+testWS+"/events", systemEvent); status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", status, body)
	}
	if status, body := ts.do(http.MethodDelete, "/v1/workspaces/"+testWS, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	if status, _ := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/systems", ""); status != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d, want 404", status)
	}
	if status, _ := ts.do(http.MethodDelete, "/v1/workspaces/ws-never", ""); status != http.StatusNotFound {
		t.Errorf("DELETE of a workspace that never existed: %d, want 404", status)
	}
}

// TestServer_DeadLetters lists the records a workspace refused, in offset
// order (12 before 3 were it by id), and gets one by id.
func TestServer_DeadLetters(t *testing.T) {
	ts := newTestServer(t, engine.Config{}, Config{})
	var recs []engine.Record
	for _, off := range []int64{3, 12} {
		recs = append(recs, engine.Record{LogPosition: model.LogPosition{Topic: "events", Partition: 2, Offset: off},
			Value: []byte("nope"), Invalid: model.Invalid("body", "malformed JSON")})
	}
	if _, err := ts.eng.ApplyRecords(context.Background(), testWS, recs); err != nil {
		t.Fatal(err)
	}
	status, body := ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/dead-letters", "")
	var page struct {
		Items []model.DeadLetter `json:"items"`
		Total int                `json:"total"`
	}
	if err := json.Unmarshal(body, &page); err != nil || status != http.StatusOK {
		t.Fatalf("list: %d %s", status, body)
	}
	if page.Total != 2 || page.Items[0].Offset != 3 || page.Items[1].Offset != 12 || page.Items[0].Field != "body" ||
		page.Items[0].Value != "nope" {
		t.Errorf("dead letters %+v, want offsets 3 and 12 with their errors", page.Items)
	}
	status, body = ts.do(http.MethodGet, "/v1/workspaces/"+testWS+"/dead-letters/events/2/12", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"offset":12`) {
		t.Errorf("get by id: %d %s", status, body)
	}
}

// fakeSubmitter answers every submission with what it is told, recording
// what it got.
type fakeSubmitter struct {
	out   ingest.Submitted
	err   error
	got   []string
	count []int
}

func (f *fakeSubmitter) Submit(_ context.Context, ws string, body []byte, n int, _ *model.Caller) (ingest.Submitted, error) {
	f.got = append(f.got, ws+" "+string(body))
	f.count = append(f.count, n)
	return f.out, f.err
}

// TestServer_Submitter: with a submitter (Kafka) events are handed to it
// as sent and answered as the owner applied them: 202, the refused event's
// error with its index and the events applied, or 504 when the owner did
// not answer in time; malformed bodies never reach it.
func TestServer_Submitter(t *testing.T) {
	sub := &fakeSubmitter{out: ingest.Submitted{Applied: 1}}
	ts := newTestServer(t, engine.Config{}, Config{Submitter: sub})
	path := "/v1/workspaces/" + testWS + "/events"
	if status, body := ts.do(http.MethodPost, path, systemEvent); status != http.StatusAccepted || !strings.Contains(string(body), `"applied":1`) {
		t.Errorf("submitted: %d %s", status, body)
	}
	if len(sub.got) != 1 || sub.got[0] != testWS+" "+systemEvent || sub.count[0] != 1 {
		t.Errorf("the submitter got %q %v", sub.got, sub.count)
	}
	if status, _ := ts.do(http.MethodPost, path, `{"eventType": `); status != http.StatusBadRequest || len(sub.got) != 1 {
		t.Errorf("a malformed body: %d, submitted %d times", status, len(sub.got))
	}

	index := 1
	sub.out = ingest.Submitted{Applied: 1, DeadLetter: &model.DeadLetter{Error: `event 1 (system.created): unknown field "nmae"`,
		Code: model.EINVALID, Field: "system.nmae", Index: &index, Applied: 1}}
	status, body := ts.do(http.MethodPost, path, "["+systemEvent+","+systemEvent+"]")
	var answer errorBody
	_ = json.Unmarshal(body, &answer)
	if status != http.StatusBadRequest || answer.Field != "system.nmae" || answer.Index == nil || *answer.Index != 1 ||
		answer.Applied == nil || *answer.Applied != 1 {
		t.Errorf("refused by the owner: %d %s", status, body)
	}

	sub.out, sub.err = ingest.Submitted{}, fmt.Errorf("%w: produced at offset 7", ingest.ErrNoAnswer)
	status, body = ts.do(http.MethodPost, path, systemEvent)
	if status != http.StatusGatewayTimeout || !strings.Contains(string(body), "offset 7") {
		t.Errorf("no answer from the owner: %d %s", status, body)
	}
}
