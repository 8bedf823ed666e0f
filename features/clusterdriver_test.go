package features

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/rolloutlab/rolloutlab/e2e/cluster"
	"github.com/rolloutlab/rolloutlab/e2e/fakeaws"
	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/manifest"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// The cluster driver runs the steps against a real API server:
//
//	FEATURES_KUBECONFIG  the cluster's kubeconfig; setting it selects this driver (and the
//	                     default tags "@cluster && ~@wip")
//	FEATURES_BIN         a directory holding rollouts-controller and kubectl-argo-rollouts
//	                     (default: built once per test binary with go build)
//	FEATURES_FAKE_AWS    the URL of cmd/fake-aws (the ELBv2 API and the AWS Load Balancer
//	                     Controller playing against this cluster), for @alb features
//
// e2e/ sets all three up on the local control plane (hack/k8s-local.sh). Each scenario gets its
// own namespace and its own rollout controller process (--namespaced, with leader election, as
// a user would run it), which CrashController kills with SIGKILL and starts again. The user's
// actions go through the kubectl plugin binary, as the guides type them.
type clusterDriver struct {
	kubeconfig string
	bin        string
	fakeAWS    string // "" when the installation has no AWS
	aws        fakeaws.Client
	useAWS     bool
	verify     bool

	*cluster.Clients

	ns string

	mu         sync.Mutex // the controller process: CrashController restarts it from a timer
	started    bool
	ctrl       *cluster.Controller
	restart    *time.Timer
	generation int    // controller processes started, for their log
	ctrlLog    string // what the killed ones printed
}

func clusterKubeconfig() string { return os.Getenv("FEATURES_KUBECONFIG") }

var clusterNamespaces struct {
	sync.Mutex
	n int
}

func newClusterDriver(scenarioName string) (*clusterDriver, error) {
	path := clusterKubeconfig()
	c, err := cluster.Connect(path)
	if err != nil {
		return nil, fmt.Errorf("FEATURES_KUBECONFIG: %w", err)
	}
	d := &clusterDriver{Clients: c, kubeconfig: path, fakeAWS: os.Getenv("FEATURES_FAKE_AWS")}
	d.aws = fakeaws.Client{URL: d.fakeAWS}
	if d.bin, err = clusterBinaries(); err != nil {
		return nil, err
	}
	clusterNamespaces.Lock()
	clusterNamespaces.n++
	n := clusterNamespaces.n
	clusterNamespaces.Unlock()
	d.ns = fmt.Sprintf("e2e-%d-%d-%s", os.Getpid()%100000, n, slug(scenarioName))
	_, err = d.Kube.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns, Labels: map[string]string{"rolloutlab.io/e2e": "features"}}},
		metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating the scenario's namespace: %w", err)
	}
	return d, nil
}

// slug shortens a scenario name into a DNS label part.
func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 30 {
		out = out[:30]
	}
	return strings.Trim(out, "-")
}

var built struct {
	sync.Once
	dir string
	err error
}

// clusterBinaries is FEATURES_BIN, or a directory the two binaries were just built into.
func clusterBinaries() (string, error) {
	if dir := os.Getenv("FEATURES_BIN"); dir != "" {
		return dir, nil
	}
	built.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "rolloutlab-features-bin-")
		if built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", built.dir+string(filepath.Separator), "../cmd/rollouts-controller", "../cmd/kubectl-argo-rollouts")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("building the controller and the plugin: %v\n%s", err, out)
		}
	})
	return built.dir, built.err
}

func (d *clusterDriver) Replay() string {
	return fmt.Sprintf("cluster FEATURES_KUBECONFIG=%s, namespace %s (kept when FEATURES_KEEP=1)", d.kubeconfig, d.ns)
}

// Close stops the scenario's controller and deletes its namespace (unless FEATURES_KEEP=1), so
// the next scenario starts clean; the AWS Load Balancer Controller removes its load balancers.
func (d *clusterDriver) Close() error {
	d.stopController()
	if os.Getenv("FEATURES_KEEP") == "1" {
		return nil
	}
	if d.useAWS {
		_ = d.aws.StopTraffic() // this scenario's clients
	}
	ctx := context.Background()
	if err := d.Kube.CoreV1().Namespaces().Delete(ctx, d.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// ControllerLog is what the scenario's controller processes printed, for a failure.
func (d *clusterDriver) ControllerLog() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctrl != nil {
		return d.ctrlLog + d.ctrl.Output()
	}
	return d.ctrlLog
}

// ---- what the installation is

func (d *clusterDriver) UseAWS() error {
	if d.fakeAWS == "" {
		return errors.New("this cluster has no AWS account: run fake-aws against it and set FEATURES_FAKE_AWS to its URL (e2e/ does)")
	}
	if _, err := d.aws.ALB(""); err != nil {
		return fmt.Errorf("FEATURES_FAKE_AWS=%s does not answer: %w", d.fakeAWS, err)
	}
	d.useAWS = true
	return nil
}

func (d *clusterDriver) VerifyTargetGroups(on bool) error {
	if d.started {
		return errors.New("the controller is already running: say how it runs before anything happens")
	}
	d.verify = on
	return nil
}

var errNotOnCluster = errors.New("not available against a cluster yet: tag the scenario @sim only")

func (d *clusterDriver) UseIstio() error  { return fmt.Errorf("Istio: %w", errNotOnCluster) }
func (d *clusterDriver) UseAPISIX() error { return fmt.Errorf("APISIX: %w", errNotOnCluster) }

// ---- the controller process

// ensureController starts the rollout controller for the scenario's namespace when it has not
// been started yet (the installation's flags are known by then).
func (d *clusterDriver) ensureController() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return nil
	}
	d.started = true
	return d.startController()
}

// startController runs one controller process; d.mu is held.
func (d *clusterDriver) startController() error {
	args := []string{"--namespaced", "--namespace", d.ns, "--leader-elect"}
	if d.verify {
		args = append(args, "--aws-verify-target-group")
	}
	if d.useAWS {
		args = append(args, "--aws-endpoint", d.fakeAWS, "--aws-region", "us-east-1")
	}
	d.generation++
	c, err := cluster.StartController(filepath.Join(d.bin, "rollouts-controller"), d.Kubeconfig,
		fmt.Sprintf("[controller %d] ", d.generation), args...)
	if err != nil {
		return err
	}
	d.ctrl = c
	return nil
}

// stopController kills the controller and cancels a pending restart.
func (d *clusterDriver) stopController() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.restart != nil {
		d.restart.Stop()
		d.restart = nil
	}
	d.kill()
}

// kill kills the controller at once (SIGKILL), keeping what it printed; d.mu is held.
func (d *clusterDriver) kill() {
	if d.ctrl == nil {
		return
	}
	d.ctrl.Kill()
	d.ctrlLog += d.ctrl.Output()
	d.ctrl = nil
}

func (d *clusterDriver) CrashController(down time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctrl == nil {
		return errors.New("the controller is not running")
	}
	d.kill()
	if down <= 0 {
		return d.startController()
	}
	d.restart = time.AfterFunc(down, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.restart = nil
		if err := d.startController(); err != nil {
			d.ctrlLog += "restarting the controller: " + err.Error() + "\n"
		}
	})
	return nil
}

// ---- applying manifests and acting as the user

// Apply creates or updates each document with server-side apply (kubectl apply --server-side
// --force-conflicts), in the scenario's namespace unless the document names one.
func (d *clusterDriver) Apply(file string, data []byte) ([]string, error) {
	if err := d.ensureController(); err != nil {
		return nil, err
	}
	ctx := context.Background()
	objs, err := cluster.Decode(file, data)
	if err != nil {
		return nil, err
	}
	var rollouts []string
	for _, u := range objs {
		if gvk := u.GroupVersionKind(); gvk.Kind == "Ingress" && gvk.Version == "v1beta1" {
			if u, err = upgradeIngress(file, u); err != nil {
				return nil, err
			}
		}
		if err := d.Clients.Apply(ctx, u, d.ns, "kubectl"); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if gvk := u.GroupVersionKind(); gvk.Group == v1alpha1.GroupName && gvk.Kind == "Rollout" {
			rollouts = append(rollouts, u.GetNamespace()+"/"+u.GetName())
		}
	}
	return rollouts, nil
}

// upgradeIngress turns a v1beta1 Ingress, which the older guides (the ALB one) still write and
// API servers stopped serving in Kubernetes 1.22, into networking.k8s.io/v1, as the simulation's
// loader does and as a user following the guide today must.
func upgradeIngress(file string, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	js, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	docs, err := manifest.NewDecoder(sim.NewScheme()).Decode(file, js)
	if err != nil {
		return nil, err
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(docs[0].Object)
	if err != nil {
		return nil, err
	}
	out := &unstructured.Unstructured{Object: obj}
	out.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("Ingress"))
	unstructured.RemoveNestedField(out.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(out.Object, "status")
	return out, nil
}

// plugin runs `kubectl argo rollouts ARGS` in the rollout's namespace.
func (d *clusterDriver) plugin(rollout string, args ...string) error {
	if err := d.ensureController(); err != nil {
		return err
	}
	ns, _ := split(rollout)
	full := append([]string{"--kubeconfig", d.kubeconfig, "-n", ns}, args...)
	out, err := exec.Command(filepath.Join(d.bin, "kubectl-argo-rollouts"), full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl argo rollouts %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (d *clusterDriver) SetImage(rollout, container, image string) error {
	_, name := split(rollout)
	return d.plugin(rollout, "set", "image", name, container+"="+image)
}

func (d *clusterDriver) Promote(rollout string, full bool) error {
	_, name := split(rollout)
	if full {
		return d.plugin(rollout, "promote", name, "--full")
	}
	return d.plugin(rollout, "promote", name)
}

func (d *clusterDriver) Abort(rollout string) error {
	_, name := split(rollout)
	return d.plugin(rollout, "abort", name)
}

func (d *clusterDriver) Retry(rollout string) error {
	_, name := split(rollout)
	return d.plugin(rollout, "retry", "rollout", name)
}

func (d *clusterDriver) Pause(rollout string) error {
	_, name := split(rollout)
	return d.plugin(rollout, "pause", name)
}

// Resume clears a manual pause (Argo's plugin has no resume verb: this is the write its
// dashboard makes).
func (d *clusterDriver) Resume(rollout string) error {
	ns, name := split(rollout)
	_, err := actions.Resume(context.Background(), d.Rollouts, ns, name)
	return err
}

func (d *clusterDriver) Undo(rollout string, toRevision int64) error {
	_, name := split(rollout)
	if toRevision > 0 {
		return d.plugin(rollout, "undo", name, "--to-revision", strconv.FormatInt(toRevision, 10))
	}
	return d.plugin(rollout, "undo", name)
}

// ---- time

// poll is how often waiting looks again: often enough that a state holding only briefly (a
// 10-second pause) is not missed.
const poll = 100 * time.Millisecond

func (d *clusterDriver) Await(within time.Duration, cond func() error) error {
	last := cond()
	if last == nil || within <= 0 {
		return last
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		time.Sleep(poll)
		if last = cond(); last == nil {
			return nil
		}
	}
	return fmt.Errorf("after %s still %w", within, last)
}

func (d *clusterDriver) WaitFor(rollout string, x scenario.Expectation, within time.Duration) error {
	return d.Await(within, func() error { return d.Check(rollout, x) })
}

func (d *clusterDriver) Check(rollout string, x scenario.Expectation) error {
	if err := stateOnly(x); err != nil {
		return err
	}
	ro, rss, err := d.observe(rollout)
	if err != nil {
		return err
	}
	st := sim.StateOf(ro, rss, d.service(ro.Namespace))
	if diffs := scenario.StateMismatch(st, x, len(owned(ro, rss))); len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// stateOnly refuses the facts of an expectation that only the simulation observes: the steps
// ask a cluster for those through the driver's queries instead.
func stateOnly(x scenario.Expectation) error {
	world := x
	world.Phase, world.Message, world.Step, world.Paused, world.Abort = "", "", "", nil, nil
	world.Weight, world.ActualWeight, world.Revisions, world.Stable, world.ReplicaSets, world.Services = nil, nil, nil, nil, nil, nil
	if !reflect.DeepEqual(world, scenario.Expectation{}) {
		b, _ := json.Marshal(world)
		return fmt.Errorf("expectation %s: %w", b, errNotOnCluster)
	}
	return nil
}

func (d *clusterDriver) Advance(dur time.Duration) error {
	time.Sleep(dur)
	return nil
}

// ---- queries

func (d *clusterDriver) observe(rollout string) (*v1alpha1.Rollout, []*appsv1.ReplicaSet, error) {
	ctx := context.Background()
	ns, name := split(rollout)
	ro, err := d.Rollouts.Rollouts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	list, err := d.Kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	rss := make([]*appsv1.ReplicaSet, len(list.Items))
	for i := range list.Items {
		rss[i] = &list.Items[i]
	}
	return ro, rss, nil
}

func (d *clusterDriver) service(ns string) func(string) *corev1.Service {
	return func(name string) *corev1.Service {
		svc, err := d.Kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return svc
	}
}

func owned(ro *v1alpha1.Rollout, rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rss {
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == ro.UID {
			out = append(out, rs)
		}
	}
	return out
}

func (d *clusterDriver) Rollout(rollout string) (*v1alpha1.Rollout, error) {
	ro, _, err := d.observe(rollout)
	return ro, err
}

func (d *clusterDriver) State(rollout string) (sim.State, error) {
	ro, rss, err := d.observe(rollout)
	if err != nil {
		return sim.State{}, err
	}
	return sim.StateOf(ro, rss, d.service(ro.Namespace)), nil
}

// NewRevision finds the ReplicaSet whose pod template holds every field of the rollout's: the API
// server fills in defaults (imagePullPolicy, dnsPolicy, ...) in a ReplicaSet's template that the
// Rollout's, a custom resource, does not get, so the two are not equal as they are in the
// simulation.
func (d *clusterDriver) NewRevision(rollout string) (int64, error) {
	ro, rss, err := d.observe(rollout)
	if err != nil {
		return 0, err
	}
	want, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&ro.Spec.Template)
	if err != nil {
		return 0, err
	}
	for _, rs := range owned(ro, rss) {
		tmpl := rs.Spec.Template.DeepCopy()
		delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		got, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tmpl)
		if err != nil {
			return 0, err
		}
		if holds(want, got) {
			return strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		}
	}
	return 0, nil
}

// holds says whether got has every field of want with the same value (got may have more).
func holds(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return len(w) == 0 && got == nil
		}
		for k, v := range w {
			if !holds(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return len(w) == 0 && got == nil
		}
		for i := range w {
			if !holds(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, got)
	}
}

func (d *clusterDriver) ReplicaSets(rollout string) ([]string, error) {
	ro, rss, err := d.observe(rollout)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rs := range owned(ro, rss) {
		names = append(names, rs.Name)
	}
	sort.Strings(names)
	return names, nil
}

// Events are the Events the API server holds for the rollout, oldest first.
func (d *clusterDriver) Events(rollout string) ([]string, error) {
	ns, name := split(rollout)
	list, err := d.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Rollout,involvedObject.name=" + name,
	})
	if err != nil {
		return nil, err
	}
	evs := list.Items
	sort.SliceStable(evs, func(i, j int) bool { return eventTime(evs[i]).Before(eventTime(evs[j])) })
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Reason + ": " + e.Message
	}
	return out, nil
}

func eventTime(e corev1.Event) time.Time {
	if !e.FirstTimestamp.IsZero() {
		return e.FirstTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func (d *clusterDriver) IngressAnnotations(ingress string) (map[string]string, error) {
	ns, name := split(ingress)
	ing, err := d.Kube.NetworkingV1().Ingresses(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return ing.Annotations, nil
}

func (d *clusterDriver) AnalysisRuns(string) ([]v1alpha1.AnalysisRun, error) {
	return nil, fmt.Errorf("analysis: %w", errNotOnCluster)
}

func (d *clusterDriver) VirtualService(string, bool) (*unstructured.Unstructured, error) {
	return nil, fmt.Errorf("Istio: %w", errNotOnCluster)
}

func (d *clusterDriver) ApisixRoute(string, bool) (*unstructured.Unstructured, error) {
	return nil, fmt.Errorf("APISIX: %w", errNotOnCluster)
}

func (d *clusterDriver) StopPrometheus(time.Duration) error {
	return fmt.Errorf("Prometheus: %w", errNotOnCluster)
}

func (d *clusterDriver) StartMeshTraffic(string, string, map[string]string, int) error {
	return fmt.Errorf("Istio: %w", errNotOnCluster)
}

func (d *clusterDriver) StartGatewayTraffic(string, string, map[string]string, int) error {
	return fmt.Errorf("APISIX: %w", errNotOnCluster)
}

func (d *clusterDriver) SourceRequests(string) (sim.TrafficStats, error) {
	return sim.TrafficStats{}, fmt.Errorf("client groups: %w", errNotOnCluster)
}

// ---- AWS, through fake-aws's debug API

func (d *clusterDriver) needAWS() error {
	if !d.useAWS {
		return errors.New(`the installation has no AWS account: say "Given an AWS account with the AWS Load Balancer Controller" first`)
	}
	return nil
}

func (d *clusterDriver) ALB() (ALB, error) {
	if err := d.needAWS(); err != nil {
		return ALB{}, err
	}
	st, err := d.aws.ALB(d.ns)
	if err != nil {
		return ALB{}, err
	}
	return ALB{Shares: st.Shares, NotReady: st.NotReady}, nil
}

func (d *clusterDriver) StartTraffic(ingress string, perSecond int) error {
	if err := d.needAWS(); err != nil {
		return err
	}
	ns, name := split(ingress)
	return d.aws.StartTraffic(ns+"/"+name, float64(perSecond))
}

func (d *clusterDriver) Requests() (sim.TrafficStats, error) {
	if !d.useAWS {
		return sim.TrafficStats{}, nil
	}
	got, err := d.aws.Traffic()
	if err != nil {
		return sim.TrafficStats{}, err
	}
	st := sim.TrafficStats{Total: got.Total, Failed: got.Failed, ByCode: map[int]int{}, ByVersion: got.Versions}
	for c, n := range got.Codes {
		code, err := strconv.Atoi(c)
		if err != nil {
			return sim.TrafficStats{}, fmt.Errorf("fake-aws answered status code %q", c)
		}
		st.ByCode[code] = n
	}
	return st, nil
}

func (d *clusterDriver) StopLoadBalancerController(down time.Duration) error {
	if err := d.needAWS(); err != nil {
		return err
	}
	if _, err := d.aws.SetLBCDown(true); err != nil {
		return err
	}
	if down > 0 {
		time.AfterFunc(down, func() { _, _ = d.aws.SetLBCDown(false) })
	}
	return nil
}

func (d *clusterDriver) StartLoadBalancerController() error {
	if err := d.needAWS(); err != nil {
		return err
	}
	_, err := d.aws.SetLBCDown(false)
	return err
}
func TestHoldsIgnoresDefaultsOnly(t *testing.T) {
	rollout := map[string]any{"containers": []any{map[string]any{"name": "app", "image": "demo:blue"}}}
	defaulted := map[string]any{"dnsPolicy": "ClusterFirst", "containers": []any{
		map[string]any{"name": "app", "image": "demo:blue", "imagePullPolicy": "IfNotPresent"}}}
	if !holds(rollout, defaulted) {
		t.Error("a template with the API server's defaults added does not hold the rollout's")
	}
	other := map[string]any{"containers": []any{map[string]any{"name": "app", "image": "demo:yellow"}}}
	if holds(rollout, other) {
		t.Error("a template with another image holds the rollout's")
	}
	two := map[string]any{"containers": []any{map[string]any{"name": "app", "image": "demo:blue"}, map[string]any{"name": "x"}}}
	if holds(rollout, two) {
		t.Error("a template with another container holds the rollout's")
	}
}

func TestUpgradeIngressForTheCluster(t *testing.T) {
	data, err := fs.ReadFile(scenarios.FS, "manifests/alb/ingress.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&u.Object); err != nil {
		t.Fatal(err)
	}
	if u.GetAPIVersion() != "networking.k8s.io/v1beta1" {
		t.Skipf("the ALB guide's Ingress is %s now: nothing to upgrade", u.GetAPIVersion())
	}
	got, err := upgradeIngress("ingress.yaml", u)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAPIVersion() != "networking.k8s.io/v1" || got.GetName() != u.GetName() || got.GetAnnotations()["kubernetes.io/ingress.class"] != "alb" {
		t.Fatalf("upgraded to %s %s with annotations %v", got.GetAPIVersion(), got.GetName(), got.GetAnnotations())
	}
	b, _ := json.Marshal(got.Object["spec"])
	if !strings.Contains(string(b), `"service":{"name":"rollouts-demo-root","port":{"name":"use-annotation"}}`) {
		t.Fatalf("the backend is not in v1's shape: %s", b)
	}
}

func TestStateOnlyRefusesWorldFacts(t *testing.T) {
	w := int32(20)
	if err := stateOnly(scenario.Expectation{Phase: "Paused", Weight: &w}); err != nil {
		t.Errorf("a state-only expectation refused: %v", err)
	}
	if err := stateOnly(scenario.Expectation{Phase: "Paused", ALB: map[string]int32{"s": 5}}); !errors.Is(err, errNotOnCluster) {
		t.Errorf("an ALB expectation accepted on a cluster: %v", err)
	}
}
