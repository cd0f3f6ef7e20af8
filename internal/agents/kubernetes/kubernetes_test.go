package kubernetes

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatehouse-dev/gatehouse/internal/agents"
	"github.com/gatehouse-dev/gatehouse/internal/model"
)

const jobID = "0B7C3F1E-5D2A-4C8B-9E61-7A4F2D9C8E10"

func dispatch(t *testing.T, typ *agents.Type, config map[string]any) (agents.Result, error) {
	t.Helper()
	return typ.Agent.Dispatch(context.Background(), agents.Job{WorkspaceID: "ws", ID: jobID, Config: config})
}

func TestDispatch_CreatesJob(t *testing.T) {
	srv := newAPIServer(t)
	res, err := dispatch(t, New(Options{}), srv.config(jobYAML))
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	name := "migrate-0b7c3f1e-5d2a-4c8b-9e61-7a4f2d9c8e10"
	if res.ExternalID != "deploys/"+name {
		t.Errorf("external id = %q, want deploys/%s", res.ExternalID, name)
	}
	posts, headers := srv.received()
	if len(posts) != 1 {
		t.Fatalf("server got %d creates, want 1", len(posts))
	}
	if got := headers[0].Get("Authorization"); got != "Bearer cluster-token" {
		t.Errorf("Authorization = %q", got)
	}
	j := posts[0]
	if j.Name != name || j.Namespace != "deploys" {
		t.Errorf("created %s/%s, want deploys/%s", j.Namespace, j.Name, name)
	}
	if j.Labels[agents.JobIDLabel] != jobID || j.Labels["app"] != "api" {
		t.Errorf("job labels = %v, want the manifest's and %s=%s", j.Labels, agents.JobIDLabel, jobID)
	}
	if j.Spec.Template.Labels[agents.JobIDLabel] != jobID {
		t.Errorf("pod template labels = %v, want the job id", j.Spec.Template.Labels)
	}
	c := j.Spec.Template.Spec.Containers
	if len(c) != 1 || c[0].Image != "registry.example.com/api:v1.4.0" || strings.Join(c[0].Args, " ") != "migrate --to v1.4.0" {
		t.Errorf("containers = %+v, want the manifest's", c)
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit != 2 {
		t.Errorf("backoffLimit = %v, want 2", j.Spec.BackoffLimit)
	}
}

func TestDispatch_Names(t *testing.T) {
	tests := []struct {
		name     string
		metadata map[string]any
		want     string
	}{
		{"no name", map[string]any{}, "gatehouse-0b7c3f1e-5d2a-4c8b-9e61-7a4f2d9c8e10"},
		{"generateName is the prefix", map[string]any{"generateName": "db-migrate-"}, "db-migrate-0b7c3f1e-5d2a-4c8b-9e61-7a4f2d9c8e10"},
		{"a long name is cut, the job id kept", map[string]any{"name": strings.Repeat("x", 70)},
			strings.Repeat("x", 26) + "-0b7c3f1e-5d2a-4c8b-9e61-7a4f2d9c8e10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t)
			manifest := map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": tt.metadata,
				"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
					"restartPolicy": "Never", "containers": []any{map[string]any{"name": "c", "image": "busybox"}}}}}}
			res, err := dispatch(t, New(Options{}), srv.config(manifest))
			if err != nil {
				t.Fatalf("dispatch: %v", err)
			}
			if res.ExternalID != "deploys/"+tt.want {
				t.Errorf("external id = %q, want deploys/%s", res.ExternalID, tt.want)
			}
			if _, name, _ := strings.Cut(res.ExternalID, "/"); len(name) > 63 {
				t.Errorf("name %q is longer than a DNS label", name)
			}
		})
	}
}

func TestDispatch_RedeliveryIsIdempotent(t *testing.T) {
	srv := newAPIServer(t)
	typ := New(Options{})
	first, err := dispatch(t, typ, srv.config(jobYAML))
	if err != nil {
		t.Fatalf("first dispatch: %v", err)
	}
	second, err := dispatch(t, typ, srv.config(jobYAML))
	if err != nil {
		t.Fatalf("redelivery: %v, want success (the Job exists)", err)
	}
	if second.ExternalID != first.ExternalID {
		t.Errorf("redelivery external id = %q, want %q", second.ExternalID, first.ExternalID)
	}
	if posts, _ := srv.received(); len(posts) != 2 || len(srv.jobs) != 1 {
		t.Errorf("server got %d creates and holds %d jobs, want 2 and 1", len(posts), len(srv.jobs))
	}
}

func TestDispatch_Failures(t *testing.T) {
	noContainers := `{"apiVersion":"batch/v1","kind":"Job","spec":{"template":{"spec":{"restartPolicy":"Never"}}}}`
	tests := []struct {
		name       string
		config     func(*apiServer) map[string]any
		fail       *metav1.Status
		retryable  bool
		retryAfter time.Duration
		status     int
		message    string
		requests   int
	}{
		{name: "token refused", status: 401, message: "401 Unauthorized", requests: 1,
			config: func(s *apiServer) map[string]any { c := s.config(jobYAML); c["token"] = "stale"; return c }},
		{name: "forbidden", status: 403, message: `cannot create resource "jobs"`, requests: 1,
			fail: statusFor(403, metav1.StatusReasonForbidden, `jobs.batch is forbidden: User "system:serviceaccount:ci:gatehouse" cannot create resource "jobs" in API group "batch" in the namespace "deploys"`)},
		{name: "invalid job", status: 422, message: "spec.template.spec.containers: Required value", requests: 1,
			config: func(s *apiServer) map[string]any { return s.config(noContainers) }},
		{name: "throttled", status: 429, retryable: true, retryAfter: 3 * time.Second, message: "429 TooManyRequests", requests: 1,
			fail: withRetryAfter(statusFor(429, metav1.StatusReasonTooManyRequests, "Too many requests, please try again later."), 3)},
		{name: "server error", status: 500, retryable: true, message: "etcdserver: leader changed", requests: 1,
			fail: statusFor(500, metav1.StatusReasonInternalError, "etcdserver: leader changed")},
		{name: "not a Job", message: "manifest.kind: must be Job", requests: 0,
			config: func(s *apiServer) map[string]any {
				return s.config(strings.Replace(jobYAML, "kind: Job", "kind: CronJob", 1))
			}},
		{name: "unknown manifest field", message: `unknown field "sepc"`, requests: 0,
			config: func(s *apiServer) map[string]any {
				return s.config(strings.Replace(jobYAML, "  backoffLimit", "  sepc: {}\n  backoffLimit", 1))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t)
			config := srv.config(jobYAML)
			if tt.config != nil {
				config = tt.config(srv)
			}
			srv.failWith(tt.fail)
			_, err := dispatch(t, New(Options{}), config)
			if err == nil {
				t.Fatal("dispatch succeeded, want an error")
			}
			e := agents.Classify(err)
			if e.Retryable != tt.retryable || e.StatusCode != tt.status || e.RetryAfter != tt.retryAfter {
				t.Errorf("classified as retryable=%v status=%d retryAfter=%v, want %v %d %v (%v)",
					e.Retryable, e.StatusCode, e.RetryAfter, tt.retryable, tt.status, tt.retryAfter, err)
			}
			if !strings.Contains(e.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.message)
			}
			if strings.Contains(e.Message, "cluster-token") {
				t.Errorf("message %q holds the token", e.Message)
			}
			if _, headers := srv.received(); len(headers) != tt.requests {
				t.Errorf("server got %d requests, want %d (no retries inside one attempt)", len(headers), tt.requests)
			}
		})
	}
}

func withRetryAfter(st *metav1.Status, seconds int32) *metav1.Status {
	st.Details = &metav1.StatusDetails{RetryAfterSeconds: seconds}
	return st
}

func TestDispatch_TLS(t *testing.T) {
	srv := newAPIServer(t)
	config := srv.config(jobYAML)
	delete(config, "caData")
	_, err := dispatch(t, New(Options{}), config)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dispatch without caData: %v, want the server's certificate refused", err)
	}
	if _, headers := srv.received(); len(headers) != 0 {
		t.Errorf("server got %d requests over an unverified connection", len(headers))
	}

	config["insecureSkipTLSVerify"] = true
	if _, err := dispatch(t, New(Options{}), config); err != nil {
		t.Fatalf("dispatch with insecureSkipTLSVerify: %v", err)
	}
}

func TestDispatch_Timeout(t *testing.T) {
	srv := newAPIServer(t)
	release := make(chan struct{})
	// Registered after the server's Close, so it runs first and lets the
	// hung handler return.
	t.Cleanup(func() { close(release) })
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })

	_, err := dispatch(t, New(Options{Timeout: 50 * time.Millisecond}), srv.config(jobYAML))
	if err == nil {
		t.Fatal("dispatch to a server that does not answer succeeded")
	}
	if e := agents.Classify(err); !e.Retryable || e.StatusCode != 0 {
		t.Errorf("timeout classified as retryable=%v status=%d, want retryable without status (%v)", e.Retryable, e.StatusCode, err)
	}
}

func TestFollow(t *testing.T) {
	started := metav1.NewTime(time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC))
	tests := []struct {
		name    string
		status  batchv1.JobStatus
		want    string
		message string
	}{
		{"not started", batchv1.JobStatus{}, "", ""},
		{"running", batchv1.JobStatus{StartTime: &started, Active: 1}, model.JobInProgress, "1 active"},
		{"complete", batchv1.JobStatus{StartTime: &started, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}, model.JobSuccessful, "Job complete"},
		{"failed", batchv1.JobStatus{StartTime: &started, Failed: 3, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded",
				Message: "Job has reached the specified backoff limit"}}},
			model.JobFailure, "Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{"suspended, failed condition false", batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailed, Status: corev1.ConditionFalse}}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t)
			typ := New(Options{})
			res, err := dispatch(t, typ, srv.config(jobYAML))
			if err != nil {
				t.Fatalf("dispatch: %v", err)
			}
			srv.setStatus(res.ExternalID, tt.status)
			up, err := typ.Follower.Follow(context.Background(), agents.Job{ID: jobID, ExternalID: res.ExternalID, Config: srv.config(jobYAML)})
			if err != nil {
				t.Fatalf("follow: %v", err)
			}
			if up.Status != tt.want || !strings.Contains(up.Message, tt.message) {
				t.Errorf("follow = %q %q, want %q with %q", up.Status, up.Message, tt.want, tt.message)
			}
		})
	}
}

func TestFollow_Failures(t *testing.T) {
	srv := newAPIServer(t)
	typ := New(Options{})
	follow := func(externalID string, config map[string]any) (agents.Update, error) {
		return typ.Follower.Follow(context.Background(), agents.Job{ID: jobID, ExternalID: externalID, Config: config})
	}

	up, err := follow("deploys/gone", srv.config(jobYAML))
	if err != nil || up.Status != model.JobExternalRunNotFound || !strings.Contains(up.Message, `jobs.batch "gone" not found`) {
		t.Errorf("follow of a deleted Job = %+v, %v; want externalRunNotFound with the server's answer", up, err)
	}

	stale := srv.config(jobYAML)
	stale["token"] = "stale"
	_, err = follow("deploys/gone", stale)
	if e := agents.Classify(err); e == nil || e.Retryable || e.StatusCode != http.StatusUnauthorized {
		t.Errorf("follow with a refused token: %v, want a permanent 401", err)
	}

	srv.failWith(statusFor(503, metav1.StatusReasonServiceUnavailable, "the server is currently unable to handle the request"))
	_, err = follow("deploys/gone", srv.config(jobYAML))
	if e := agents.Classify(err); e == nil || !e.Retryable || e.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("follow against an unavailable server: %v, want a retryable 503", err)
	}
}
