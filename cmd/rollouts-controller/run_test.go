package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The process wiring, against a stand-in API server that serves empty lists and idle watches:
// kubeconfig, discovery, informers, the metrics and health servers, and a clean stop.
func TestRunServesMetricsAndHealth(t *testing.T) {
	api := newStubAPIServer(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: stub, cluster: {server: %q}}]
users: [{name: stub, user: {token: stub}}]
contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: team-a}}]
current-context: stub
`, api.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsPort, healthzPort := freePort(t), freePort(t)
	cmd := newCommand()
	cmd.SetArgs([]string{"--kubeconfig", kubeconfig, "--namespaced", "--leader-elect=false", "--loglevel", "error",
		"--metricsPort", fmt.Sprint(metricsPort), "--healthzPort", fmt.Sprint(healthzPort)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	get := func(port int, path string) (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) {
			code, _ := get(healthzPort, "/readyz")
			return code == http.StatusOK, nil
		})
	if err != nil {
		cancel()
		t.Fatalf("/readyz never answered 200: %v (Run: %v)", err, drain(done))
	}
	if code, _ := get(healthzPort, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	code, body := get(metricsPort, "/metrics")
	if code != http.StatusOK || !strings.Contains(body, `argo_rollouts_controller_info{version="`+version+`"} 1`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	for _, path := range api.paths() {
		if strings.HasPrefix(path, "/api/v1/services") || strings.HasPrefix(path, "/apis/apps/v1/replicasets") {
			t.Errorf("namespaced controller listed %s cluster-wide", path)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the controller did not stop within 10s of its context's end")
	}
}

func drain(done chan error) error {
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return nil
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// stubAPIServer answers discovery for argoproj.io/v1alpha1 only, empty lists for everything, and
// watches that stay open and silent; it refuses watch-list requests (the reflector then lists).
type stubAPIServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

var listKinds = map[string]string{
	"rollouts": "RolloutList", "analysisruns": "AnalysisRunList", "analysistemplates": "AnalysisTemplateList",
	"clusteranalysistemplates": "ClusterAnalysisTemplateList", "replicasets": "ReplicaSetList",
	"services": "ServiceList", "endpoints": "EndpointsList", "ingresses": "IngressList", "events": "EventList",
}

func newStubAPIServer(t *testing.T) *stubAPIServer {
	s := &stubAPIServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stubAPIServer) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *stubAPIServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r.URL.Path)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	path := strings.Trim(r.URL.Path, "/")
	if path == "apis/argoproj.io/v1alpha1" {
		fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"argoproj.io/v1alpha1","resources":[
			{"name":"rollouts","namespaced":true,"kind":"Rollout","verbs":["get","list","watch"]},
			{"name":"analysisruns","namespaced":true,"kind":"AnalysisRun","verbs":["get","list","watch"]},
			{"name":"analysistemplates","namespaced":true,"kind":"AnalysisTemplate","verbs":["get","list","watch"]},
			{"name":"clusteranalysistemplates","namespaced":false,"kind":"ClusterAnalysisTemplate","verbs":["get","list","watch"]}]}`)
		return
	}
	parts := strings.Split(path, "/")
	kind, ok := listKinds[parts[len(parts)-1]]
	if !ok || r.Method != http.MethodGet {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("watch") == "true" && q.Get("sendInitialEvents") == "true":
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"BadRequest","code":400}`)
	case q.Get("watch") == "true":
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		gv := "v1"
		if parts[0] == "apis" {
			gv = parts[1] + "/" + parts[2]
		}
		fmt.Fprintf(w, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1"},"items":[]}`, kind, gv)
	}
}
