package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

const kubeconfigTemplate = `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: %[1]q, insecure-skip-tls-verify: true}
users:
- name: me
  user: {token: secret-token}
contexts:
- name: a
  context: {cluster: lab, user: me, namespace: %[2]s}
- name: b
  context: {cluster: lab, user: me, namespace: team-b}
current-context: a
`

// The real client path (credentials are only sent over TLS): the kubeconfig (KUBECONFIG, --kubeconfig), its contexts and -n decide
// which server and namespace the plugin talks to.
func TestKubeconfig(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer secret-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ns, ok := strings.CutPrefix(r.URL.Path, "/apis/argoproj.io/v1alpha1/namespaces/")
		ns, ok2 := strings.CutSuffix(ns, "/rollouts")
		if !ok || !ok2 {
			http.NotFound(w, r)
			return
		}
		ro := fixtures.Healthy().Rollout
		ro.Namespace, ro.Name = ns, "demo-in-"+ns
		list := v1alpha1.RolloutList{Items: []v1alpha1.Rollout{*ro}}
		list.APIVersion, list.Kind = v1alpha1.SchemeGroupVersion.String(), "RolloutList"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()

	dir := t.TempDir()
	write := func(name, ns string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(fmt.Sprintf(kubeconfigTemplate, srv.URL, ns)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Setenv("KUBECONFIG", write("env-config", "team-a"))
	explicit := write("explicit-config", "team-d")

	for _, tc := range []struct {
		args []string
		ns   string
	}{
		{nil, "team-a"},
		{[]string{"--context", "b"}, "team-b"},
		{[]string{"-n", "team-c"}, "team-c"},
		{[]string{"--context", "b", "--namespace", "team-c"}, "team-c"},
		{[]string{"--kubeconfig", explicit}, "team-d"},
	} {
		var stdout, stderr syncBuffer
		args := append(append([]string{}, tc.args...), "list", "rollouts")
		code := run(context.Background(), args, &stdout, &stderr, newOptions(&stdout, &stderr))
		if code != 0 || !strings.Contains(stdout.String(), "demo-in-"+tc.ns+" ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the rollouts of %s", tc.args, code, stdout.String(), stderr.String(), tc.ns)
		}
		mu.Lock()
		last := paths[len(paths)-1]
		mu.Unlock()
		if want := "/apis/argoproj.io/v1alpha1/namespaces/" + tc.ns + "/rollouts"; last != want {
			t.Errorf("%v: requested %s, want %s", tc.args, last, want)
		}
	}

	// A missing kubeconfig is a clear error, not a panic.
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"--kubeconfig", filepath.Join(dir, "missing"), "list", "rollouts"}, &stdout, &stderr, newOptions(&stdout, &stderr))
	if code != 1 || !strings.Contains(stderr.String(), "Error: ") || !strings.Contains(stderr.String(), "missing") {
		t.Errorf("missing kubeconfig: exit %d, stderr %q", code, stderr.String())
	}
}
