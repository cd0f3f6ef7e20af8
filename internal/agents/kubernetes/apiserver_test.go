package kubernetes

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// apiServer answers the batch/v1 Jobs endpoints the way the Kubernetes API
// server does: bearer-token authentication, Status objects for every error,
// 201 with the stored object (uid, creationTimestamp, resourceVersion) on
// create, 409 AlreadyExists for a name that is taken, 422 Invalid for a Job
// whose pod template the API server would refuse.
type apiServer struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	jobs    map[string]*batchv1.Job // by namespace/name
	posts   []batchv1.Job           // every create body, in order
	headers []http.Header           // every request's headers
	// fail, when set, answers every request with this Status (and its
	// Retry-After header when the Status suggests a delay).
	fail *metav1.Status
}

func newAPIServer(t *testing.T) *apiServer {
	s := &apiServer{t: t, token: "cluster-token", jobs: map[string]*batchv1.Job{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apis/batch/v1/namespaces/{ns}/jobs", s.create)
	mux.HandleFunc("GET /apis/batch/v1/namespaces/{ns}/jobs/{name}", s.get)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, statusFor(http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource"))
	})
	s.srv = httptest.NewUnstartedServer(s.authenticate(mux))
	// The TLS test makes a client refuse the certificate; the server's log
	// line about it is expected.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// caData is the server certificate as a kubeconfig carries it: base64 PEM.
func (s *apiServer) caData() string {
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	return base64.StdEncoding.EncodeToString(block)
}

// config is an agent config pointing at this server.
func (s *apiServer) config(manifest any) map[string]any {
	return map[string]any{
		"server": s.srv.URL, "token": s.token, "caData": s.caData(),
		"namespace": "deploys", "manifest": manifest,
	}
}

func (s *apiServer) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		fail := s.fail
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			writeStatus(w, statusFor(http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized"))
			return
		}
		if fail != nil {
			if fail.Details != nil && fail.Details.RetryAfterSeconds > 0 {
				w.Header().Set("Retry-After", fmt.Sprint(fail.Details.RetryAfterSeconds))
			}
			writeStatus(w, fail)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *apiServer) create(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("ns")
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		writeStatus(w, statusFor(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType, "unsupported content type "+ct))
		return
	}
	var j batchv1.Job
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		writeStatus(w, statusFor(http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, j)
	switch {
	case j.APIVersion != "batch/v1" || j.Kind != "Job":
		writeStatus(w, statusFor(http.StatusBadRequest, metav1.StatusReasonBadRequest,
			fmt.Sprintf("the API version in the data (%s) does not match the expected API version (batch/v1)", j.APIVersion)))
		return
	case j.Namespace != "" && j.Namespace != ns:
		writeStatus(w, statusFor(http.StatusBadRequest, metav1.StatusReasonBadRequest,
			"the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	if field, msg := invalidJob(&j); field != "" {
		st := statusFor(http.StatusUnprocessableEntity, metav1.StatusReasonInvalid,
			fmt.Sprintf("Job.batch %q is invalid: %s: %s", j.Name, field, msg))
		st.Details = &metav1.StatusDetails{Name: j.Name, Group: "batch", Kind: "Job",
			Causes: []metav1.StatusCause{{Type: metav1.CauseTypeFieldValueRequired, Message: msg, Field: field}}}
		writeStatus(w, st)
		return
	}
	key := ns + "/" + j.Name
	if _, ok := s.jobs[key]; ok {
		st := statusFor(http.StatusConflict, metav1.StatusReasonAlreadyExists, fmt.Sprintf("jobs.batch %q already exists", j.Name))
		st.Details = &metav1.StatusDetails{Name: j.Name, Group: "batch", Kind: "jobs"}
		writeStatus(w, st)
		return
	}
	j.Namespace = ns
	j.UID = types.UID(fmt.Sprintf("uid-%d", len(s.jobs)+1))
	j.ResourceVersion = fmt.Sprint(100 + len(s.jobs))
	j.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s.jobs[key] = &j
	writeJSON(w, http.StatusCreated, &j)
}

// invalidJob is the part of the API server's Job validation the tests
// exercise: a pod template needs containers, and a Job's pods may not
// restart Always.
func invalidJob(j *batchv1.Job) (field, msg string) {
	if j.Name == "" {
		return "metadata.name", "Required value: name or generateName is required"
	}
	spec := j.Spec.Template.Spec
	if len(spec.Containers) == 0 {
		return "spec.template.spec.containers", "Required value"
	}
	if p := spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
		return "spec.template.spec.restartPolicy", `Required value: valid values: "OnFailure", "Never"`
	}
	return "", ""
}

func (s *apiServer) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[r.PathValue("ns")+"/"+r.PathValue("name")]
	if !ok {
		st := statusFor(http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("jobs.batch %q not found", r.PathValue("name")))
		st.Details = &metav1.StatusDetails{Name: r.PathValue("name"), Group: "batch", Kind: "jobs"}
		writeStatus(w, st)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// setStatus changes a stored Job's status, as the Job controller would.
func (s *apiServer) setStatus(key string, status batchv1.JobStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[key]
	if !ok {
		s.t.Fatalf("no job %s on the server", key)
	}
	j.Status = status
}

func (s *apiServer) failWith(st *metav1.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = st
}

func (s *apiServer) received() ([]batchv1.Job, []http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]batchv1.Job(nil), s.posts...), append([]http.Header(nil), s.headers...)
}

func statusFor(code int, reason metav1.StatusReason, message string) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: message, Reason: reason, Code: int32(code),
	}
}

func writeStatus(w http.ResponseWriter, st *metav1.Status) { writeJSON(w, int(st.Code), st) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// jobYAML is a Job manifest as a user writes it, already rendered.
const jobYAML = `
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  labels:
    app: api
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example.com/api:v1.4.0
          args: ["migrate", "--to", "v1.4.0"]
`
