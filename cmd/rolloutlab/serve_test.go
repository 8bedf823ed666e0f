package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim"
)

// simAPI is the API server over a world whose clock the test moves itself (no clock loop): what
// it answers is deterministic.
type simAPI struct {
	mu       sync.Mutex
	w        *sim.World
	api      *apiServer
	url      string
	kube     kubernetes.Interface
	rollouts client.Interface

	unservedMu sync.Mutex
	unserved   []string
}

func newSimAPI(t *testing.T) *simAPI {
	t.Helper()
	sc, err := loadScenario(scenarios.Default)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sim.NewWorld(sc.Seed, sc.World, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &simAPI{w: w}
	if s.api, err = newAPIServer(&s.mu, w); err != nil {
		t.Fatal(err)
	}
	s.api.unserved = func(format string, args ...any) {
		s.unservedMu.Lock()
		defer s.unservedMu.Unlock()
		s.unserved = append(s.unserved, fmt.Sprintf(format, args...))
	}
	if _, err := setUp(w, sc); err != nil {
		t.Fatal(err)
	}
	s.run(t, time.Minute)
	srv := httptest.NewServer(s.api)
	t.Cleanup(func() {
		s.api.stop()
		srv.Close()
	})
	s.url = srv.URL
	cfg := &rest.Config{Host: srv.URL}
	if s.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if s.rollouts, err = client.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return s
}

// run moves virtual time on by d.
func (s *simAPI) run(t *testing.T, d time.Duration) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Kernel.RunUntil(s.w.Kernel.Now().Add(d), nil); err != nil {
		t.Fatal(err)
	}
}

func TestServedAPI(t *testing.T) {
	s := newSimAPI(t)
	ctx := context.Background()
	ros := s.rollouts.Rollouts("default")

	// Discovery and version.
	v, err := s.kube.Discovery().ServerVersion()
	if err != nil || !strings.HasSuffix(v.GitVersion, "+rolloutlab-sim") {
		t.Fatalf("version: %+v, %v", v, err)
	}
	rl, err := s.kube.Discovery().ServerResourcesForGroupVersion("argoproj.io/v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rl.APIResources {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "rollouts rollouts/status analysisruns analysisruns/status analysistemplates clusteranalysistemplates" {
		t.Errorf("argoproj.io/v1alpha1 resources: %s", got)
	}

	// Get, and the list of the rollout's pods by label.
	ro, err := ros.Get(ctx, "rollouts-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Status.Phase != v1alpha1.RolloutPhaseHealthy {
		t.Fatalf("rollout phase %q", ro.Status.Phase)
	}
	// Objects are sent with their apiVersion and kind (client-go drops them when decoding).
	res, err := http.Get(s.url + "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/rollouts-demo")
	if err != nil {
		t.Fatal(err)
	}
	var tm metav1.TypeMeta
	err = json.NewDecoder(res.Body).Decode(&tm)
	res.Body.Close()
	if err != nil || tm.Kind != "Rollout" || tm.APIVersion != "argoproj.io/v1alpha1" || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET rollout: %+v, %s, %v", tm, res.Header.Get("Content-Type"), err)
	}
	pods, err := s.kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=rollouts-demo"})
	if err != nil || len(pods.Items) != 5 {
		t.Fatalf("pods: %v, %v", pods, err)
	}
	if none, _ := s.kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=other"}); len(none.Items) != 0 {
		t.Errorf("the label selector selected %d pods of another app", len(none.Items))
	}
	if byName, err := ros.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=other"}); err != nil || len(byName.Items) != 0 {
		t.Errorf("list by another name: %v, %v", byName, err)
	}

	// Errors are the simulated API server's, as Status: 404 with the name, 409 on a stale write.
	_, err = ros.Get(ctx, "missing", metav1.GetOptions{})
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) || status.Status().Details.Name != "missing" {
		t.Fatalf("get missing: %v", err)
	}
	// The watch from the list's resourceVersion sees the writes that follow, and nothing before.
	list, err := ros.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wi, err := ros.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer wi.Stop()
	paused, err := ros.Patch(ctx, "rollouts-demo", types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{})
	if err != nil || !paused.Spec.Paused || paused.Generation != ro.Generation+1 {
		t.Fatalf("patch: %v, %v", paused, err)
	}
	ro.Spec.Replicas = new(int32)
	if _, err := ros.Update(ctx, ro, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("update from a stale resourceVersion: %v, want a conflict", err)
	}
	// The status subresource writes only the status.
	if _, err := ros.Patch(ctx, "rollouts-demo", types.MergePatchType, []byte(`{"spec":{"paused":false},"status":{"abort":true}}`),
		metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ros.Get(ctx, "rollouts-demo", metav1.GetOptions{}); !got.Spec.Paused || !got.Status.Abort {
		t.Fatalf("after a status patch: paused %v, abort %v", got.Spec.Paused, got.Status.Abort)
	}
	// Strategic merge patches are for Kubernetes types only; JSON patches apply.
	_, err = ros.Patch(ctx, "rollouts-demo", types.StrategicMergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{})
	if !apierrors.IsUnsupportedMediaType(err) {
		t.Errorf("strategic merge patch of a rollout: %v", err)
	}
	if _, err := ros.Patch(ctx, "rollouts-demo", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/paused","value":false}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 3 {
		select {
		case ev := <-wi.ResultChan():
			r, ok := ev.Object.(*v1alpha1.Rollout)
			if !ok {
				t.Fatalf("watch event %s: %#v", ev.Type, ev.Object)
			}
			seen = append(seen, string(ev.Type)+" paused="+map[bool]string{true: "true", false: "false"}[r.Spec.Paused])
		case <-time.After(5 * time.Second):
			t.Fatalf("watch: only %v", seen)
		}
	}
	if got := strings.Join(seen, ", "); got != "MODIFIED paused=true, MODIFIED paused=true, MODIFIED paused=false" {
		t.Errorf("watch events: %s", got)
	}

	// A pod deleted without a grace period gets its own (30 s): it terminates, then goes.
	pod := pods.Items[0].Name
	if err := s.kube.CoreV1().Pods("default").Delete(ctx, pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.kube.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("deleted pod: %v, %v", p, err)
	}
	s.run(t, time.Minute)
	if _, err := s.kube.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a minute after its deletion the pod is still there: %v", err)
	}

	// Create, and a create that admission or the store refuses.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "extra"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "x"}}}
	if got, err := s.kube.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil || got.UID == "" || got.Namespace != "default" {
		t.Fatalf("create: %v, %v", got, err)
	}
	if _, err := s.kube.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create again: %v", err)
	}

	// Unserved paths are 404 and reported.
	res, err = http.Get(s.url + "/openapi/v2")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	s.unservedMu.Lock()
	defer s.unservedMu.Unlock()
	if res.StatusCode != http.StatusNotFound || len(s.unserved) != 1 || s.unserved[0] != "not served: GET /openapi/v2" {
		t.Errorf("GET /openapi/v2: %d, reported %q", res.StatusCode, s.unserved)
	}
}

// Informers list and watch with sendInitialEvents (client-go's watch-list); a watch from a
// resourceVersion the server has forgotten gets 410 Expired, and the client lists again.
func TestServedWatches(t *testing.T) {
	s := newSimAPI(t)
	ctx := context.Background()
	rss := s.kube.AppsV1().ReplicaSets("default")

	yes := true
	wl, err := rss.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
		AllowWatchBookmarks: true, LabelSelector: "app=rollouts-demo"})
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Stop()
	var got []string
	for len(got) < 2 {
		select {
		case ev := <-wl.ResultChan():
			m, err := meta.Accessor(ev.Object)
			if err != nil {
				t.Fatalf("watch-list event %s: %#v", ev.Type, ev.Object)
			}
			got = append(got, string(ev.Type)+" "+m.GetAnnotations()[metav1.InitialEventsAnnotationKey])
		case <-time.After(5 * time.Second):
			t.Fatalf("watch-list: only %v", got)
		}
	}
	if got[0] != "ADDED " || got[1] != "BOOKMARK true" {
		t.Fatalf("watch-list events: %q, want the ReplicaSet then the initial-events-end bookmark", got)
	}

	// Forget the history: the watch from an old resourceVersion is told so.
	s.mu.Lock()
	s.api.hub.limit = 2
	s.mu.Unlock()
	list, err := rss.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, paused := range []string{"true", "false", "true"} {
		if _, err := s.rollouts.Rollouts("default").Patch(ctx, "rollouts-demo", types.MergePatchType, []byte(`{"spec":{"paused":`+paused+`}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wo, err := rss.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer wo.Stop()
	select {
	case ev := <-wo.ResultChan():
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired {
			t.Fatalf("watch from a forgotten resourceVersion: %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event on a watch from a forgotten resourceVersion")
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The kubectl plugin, built from this module and run against `rolloutlab sim serve`, takes the
// rollout of the getting-started guide through an update, a promotion and an abort.
func TestServeWithThePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kubectl plugin")
	}
	dir := t.TempDir()
	plugin := filepath.Join(dir, "kubectl-argo-rollouts")
	build := exec.Command("go", "build", "-o", plugin, "github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"sim", "serve", "--listen", "127.0.0.1:0", "--kubeconfig-out", filepath.Join(dir, "kubeconfig"), "--speed", "100"})
	served := make(chan error, 1)
	go func() { served <- cmd.ExecuteContext(ctx) }()

	line := regexp.MustCompile(`^export KUBECONFIG=(\S+); kubectl argo rollouts get rollout rollouts-demo --watch   # basic-canary-guide \(seed 1, 100× speed\) is served at http://127\.0\.0\.1:\d+\n$`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "\n") {
		select {
		case err := <-served:
			t.Fatalf("sim serve stopped: %v\n%s", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("sim serve printed nothing in 10 s")
		}
	}
	m := line.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("sim serve printed %q", out.String())
	}
	kubeconfig := m[1]
	if cfg, err := clientcmd.LoadFromFile(kubeconfig); err != nil || cfg.CurrentContext != "rolloutlab-sim" || cfg.Contexts["rolloutlab-sim"].Namespace != "default" {
		t.Fatalf("kubeconfig: %+v, %v", cfg, err)
	}
	env := append(os.Environ(), "KUBECONFIG="+kubeconfig, "TERM=dumb")
	kubectl := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		runCtx, stop := context.WithTimeout(ctx, 90*time.Second) // status --timeout 60s is the longest
		defer stop()
		c := exec.CommandContext(runCtx, plugin, args...)
		c.Env = env
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("kubectl argo rollouts %s: %v", strings.Join(args, " "), err)
		}
		return o.String(), e.String(), code
	}
	expect := func(want string, wantCode int, args ...string) string {
		t.Helper()
		o, e, code := kubectl(args...)
		if code != wantCode || !strings.Contains(o+e, want) {
			t.Fatalf("kubectl argo rollouts %s: exit %d (want %d), want %q in\n%s%s", strings.Join(args, " "), code, wantCode, want, o, e)
		}
		return o
	}
	waitPaused := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			o, e, code := kubectl("status", "rollouts-demo", "--watch=false")
			if o == "Paused - CanaryPauseStep\n" && code == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not paused after 30 s: exit %d\n%s%s", code, o, e)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Deployed: status watches until Healthy, get shows it.
	if o := expect("Healthy", 0, "status", "rollouts-demo", "--timeout", "30s"); !strings.HasSuffix(o, "Healthy\n") {
		t.Fatalf("status ended with %q", o)
	}
	expect("argoproj/rollouts-demo:blue (stable)", 0, "get", "rollout", "rollouts-demo")
	expect("Status:          ✔ Healthy", 0, "get", "rollout", "rollouts-demo")

	// Watch the tree through the update and the promotion.
	watcher := exec.Command(plugin, "get", "rollout", "rollouts-demo", "--watch")
	watcher.Env = env
	var watched bytes.Buffer
	watcher.Stdout, watcher.Stderr = &watched, &watched
	if err := watcher.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if watcher.ProcessState == nil { // the test stopped before it did
			_ = watcher.Process.Kill()
			_ = watcher.Wait()
		}
	})

	// Update: the canary pauses at 20%. status does not end on a pause: it times out.
	expect(`rollout "rollouts-demo" image updated`, 0, "set", "image", "rollouts-demo", "rollouts-demo=argoproj/rollouts-demo:yellow")
	waitPaused()
	o, e, code := kubectl("status", "rollouts-demo", "--timeout", "1s")
	if o != "Paused - CanaryPauseStep\n" || e != "Error: Rollout status watch exceeded timeout\n" || code != 1 {
		t.Fatalf("status of a paused rollout: exit %d\n%s%s", code, o, e)
	}
	paused := expect("Status:          ॥ Paused", 0, "get", "rollout", "rollouts-demo")
	for _, want := range []string{"Message:         CanaryPauseStep", "Step:          1/8", "argoproj/rollouts-demo:yellow (canary)"} {
		if !strings.Contains(paused, want) {
			t.Errorf("get rollout of the paused canary lacks %q:\n%s", want, paused)
		}
	}

	// Promote: the timed steps run on; status ends Healthy.
	expect("rollout 'rollouts-demo' promoted", 0, "promote", "rollouts-demo")
	if o := expect("Healthy", 0, "status", "rollouts-demo", "--timeout", "60s"); !strings.HasSuffix(o, "Healthy\n") {
		t.Fatalf("status after promote: %q", o)
	}
	expect("argoproj/rollouts-demo:yellow (stable)", 0, "get", "rollout", "rollouts-demo")

	// The watch redrew the tree as it went: paused, then healthy on yellow. Ctrl-C ends it.
	if err := watcher.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Wait(); err != nil {
		t.Fatalf("get rollout --watch: %v\n%s", err, watched.String())
	}
	frames := strings.Split(watched.String(), clearScreenCode)
	last := frames[len(frames)-1]
	if len(frames) < 4 || !strings.Contains(watched.String(), "Status:          ॥ Paused") ||
		!strings.Contains(last, "Status:          ✔ Healthy") || !strings.Contains(last, "argoproj/rollouts-demo:yellow (stable)") {
		t.Fatalf("get rollout --watch drew %d frames, the last:\n%s", len(frames)-1, last)
	}

	// Abort a later update: Degraded, and status says so.
	expect(`rollout "rollouts-demo" image updated`, 0, "set", "image", "rollouts-demo", "rollouts-demo=argoproj/rollouts-demo:red")
	waitPaused()
	expect("rollout 'rollouts-demo' aborted", 0, "abort", "rollouts-demo")
	expect("Error: The rollout is in a degraded state with message: RolloutAborted: Rollout aborted update to revision 3", 1,
		"status", "rollouts-demo", "--timeout", "60s")
	expect("Status:          ✖ Degraded", 0, "get", "rollout", "rollouts-demo")
	expect("rollouts-demo  Canary     Degraded", 0, "list", "rollouts")

	// Retry goes back to the canary's pause; undo rolls the template back to yellow, the stable
	// revision: Healthy at once.
	expect("rollout 'rollouts-demo' retried", 0, "retry", "rollout", "rollouts-demo")
	waitPaused()
	expect("rollout 'rollouts-demo' undo", 0, "undo", "rollouts-demo")
	expect("Healthy", 0, "status", "rollouts-demo", "--timeout", "60s")
	if o := expect("argoproj/rollouts-demo:yellow (stable)", 0, "get", "rollout", "rollouts-demo"); strings.Contains(o, ":red") {
		t.Errorf("after undo the rollout still runs red:\n%s", o)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("sim serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim serve did not stop")
	}
	if strings.Contains(errOut.String(), "not served") || !strings.Contains(errOut.String(), "rolloutlab: stopped after") {
		t.Errorf("sim serve's stderr:\n%s", errOut.String())
	}
}

// clearScreenCode is what the plugin's get --watch writes before each redraw.
const clearScreenCode = "\033[H\033[2J\033[0;0H"
