package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// cluster is a fake API server for the controller: client-go's fake clientsets over object
// trackers, a Rollout client over a tracker that knows argoproj.io, a dynamic fake for the CRDs
// without a typed client, and a stand-in for the ReplicaSet controller and kubelets that makes
// every ReplicaSet's pods available as soon as it is written.
type cluster struct {
	t        *testing.T
	kube     *fake.Clientset
	rollouts client.Interface
	// rolloutsFake records the Rollout client's calls.
	rolloutsFake *k8stesting.Fake

	// testRollouts is the test's own Rollout client over the same objects: the test's calls go
	// through it, or straight to the trackers, so that calls records the controller's alone.
	testRollouts client.Interface
	mu           sync.Mutex
	calls        []k8stesting.Action
	dynamic      *dynamicfake.FakeDynamicClient
	clock        *testingclock.FakeClock
}

// t0 is a whole second: persisted times have one-second precision.
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, kube: fake.NewSimpleClientset(), clock: testingclock.NewFakeClock(t0)}

	tracker := &versionedTracker{ObjectTracker: k8stesting.NewObjectTracker(client.Scheme, client.Codecs.UniversalDecoder())}
	rf := &k8stesting.Fake{}
	rf.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	rf.AddWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if w, ok := a.(k8stesting.WatchActionImpl); ok {
			opts = w.ListOptions
		}
		w, err := tracker.Watch(a.GetResource(), a.GetNamespace(), opts)
		return err == nil, w, err
	})
	c.rollouts, c.rolloutsFake = fakeRollouts{client.NewFake(rf)}, rf
	tf := &k8stesting.Fake{}
	tf.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	c.testRollouts = client.NewFake(tf)

	c.dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		tgbv1.Resource:                      "TargetGroupBindingList",
		rollout.VirtualServiceResource:      "VirtualServiceList",
		rollout.DestinationRuleResource:     "DestinationRuleList",
		rollout.ApisixRouteResource:         "ApisixRouteList",
		v1alpha1.AnalysisRunGVR:             "AnalysisRunList",
		v1alpha1.AnalysisTemplateGVR:        "AnalysisTemplateList",
		v1alpha1.ClusterAnalysisTemplateGVR: "ClusterAnalysisTemplateList",
	})
	c.serve(v1alpha1.SchemeGroupVersion, "rollouts", "analysisruns", "analysistemplates", "clusteranalysistemplates")
	c.makeReplicaSetsAvailable()
	for _, f := range []*k8stesting.Fake{&c.kube.Fake, rf, &c.dynamic.Fake} {
		f.PrependReactor("*", "*", c.record)
		f.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
			_, _, _ = c.record(a)
			return false, nil, nil
		})
	}
	return c
}

// versionedTracker stamps every written rollout with a new resourceVersion and refuses an
// update from a stale copy (409), as the API server does; client-go's tracker does neither, and
// the engine relies on both to never act on a cached rollout older than its own last write.
type versionedTracker struct {
	k8stesting.ObjectTracker
	mu sync.Mutex
	rv int64
}

func (t *versionedTracker) stamp(obj runtime.Object) {
	t.rv++
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(t.rv, 10))
	}
}

func (t *versionedTracker) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stamp(obj)
	return t.ObjectTracker.Create(gvr, obj, ns, opts...)
}

func (t *versionedTracker) Update(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.UpdateOptions) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetResourceVersion() != "" {
		if cur, err := t.ObjectTracker.Get(gvr, ns, m.GetName()); err == nil {
			if c, _ := meta.Accessor(cur); c.GetResourceVersion() != m.GetResourceVersion() {
				return apierrors.NewConflict(gvr.GroupResource(), m.GetName(), errors.New("the object has been modified"))
			}
		}
	}
	t.stamp(obj)
	return t.ObjectTracker.Update(gvr, obj, ns, opts...)
}

// Patch refuses a patch applied to a stale copy: client-go's patch reaction reads, patches and
// writes without a lock, so two concurrent patches would otherwise lose one (the API server
// applies them one after the other).
func (t *versionedTracker) Patch(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if cur, err := t.ObjectTracker.Get(gvr, ns, m.GetName()); err == nil {
		if c, _ := meta.Accessor(cur); c.GetResourceVersion() != m.GetResourceVersion() {
			return apierrors.NewConflict(gvr.GroupResource(), m.GetName(), errors.New("patched a stale copy"))
		}
	}
	t.stamp(obj)
	return t.ObjectTracker.Patch(gvr, obj, ns, opts...)
}

// record keeps the calls the controller makes.
func (c *cluster) record(a k8stesting.Action) (bool, runtime.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, a.DeepCopy())
	return false, nil, nil
}

// controllerCalls are the calls the controller made so far.
func (c *cluster) controllerCalls() []k8stesting.Action {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]k8stesting.Action(nil), c.calls...)
}

// fakeRollouts tells the reflector, as client-go's own fakes do, that watch-list requests are
// not served (it lists, then watches).
type fakeRollouts struct{ client.Interface }

func (fakeRollouts) IsWatchListSemanticsUnSupported() bool { return true }

// serve makes discovery report the resources of a group version as served.
func (c *cluster) serve(gv schema.GroupVersion, resources ...string) {
	d := c.kube.Discovery().(*fakediscovery.FakeDiscovery)
	list := &metav1.APIResourceList{GroupVersion: gv.String()}
	for _, r := range resources {
		list.APIResources = append(list.APIResources, metav1.APIResource{Name: r, Namespaced: r != "clusteranalysistemplates"})
	}
	d.Resources = append(d.Resources, list)
}

var replicaSetsGVR = appsv1.SchemeGroupVersion.WithResource("replicasets")

// makeReplicaSetsAvailable answers ReplicaSet writes as if all their pods started and became
// ready at once.
func (c *cluster) makeReplicaSetsAvailable() {
	tracker := c.kube.Tracker()
	for _, verb := range []string{"create", "update"} {
		c.kube.PrependReactor(verb, "replicasets", func(a k8stesting.Action) (bool, runtime.Object, error) {
			var obj runtime.Object
			switch a := a.(type) {
			case k8stesting.CreateActionImpl:
				obj = a.GetObject()
			case k8stesting.UpdateActionImpl:
				obj = a.GetObject()
			default:
				return false, nil, nil
			}
			rs := obj.(*appsv1.ReplicaSet).DeepCopy()
			n := ptr.Deref(rs.Spec.Replicas, 1)
			rs.Status = appsv1.ReplicaSetStatus{Replicas: n, FullyLabeledReplicas: n, ReadyReplicas: n,
				AvailableReplicas: n, ObservedGeneration: rs.Generation}
			var err error
			if a.GetVerb() == "create" {
				err = tracker.Create(replicaSetsGVR, rs, rs.Namespace)
			} else {
				err = tracker.Update(replicaSetsGVR, rs, rs.Namespace)
			}
			return true, rs, err
		})
	}
}

// options are the controller's options for a test: fake clock, quiet logs (LOG=1 shows them),
// events kept for inspection.
func (c *cluster) options(events *eventLog) Options {
	level := slog.LevelError + 1
	if os.Getenv("LOG") != "" {
		level = slog.LevelDebug
	}
	return Options{
		RolloutThreads: 4, AnalysisThreads: 2, Resync: -1, Clock: c.clock, Version: "test",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Events: events, Config: rollout.DefaultConfig(),
	}
}

func (c *cluster) clients() Clients {
	return Clients{Kube: c.kube, Rollouts: c.rollouts, Dynamic: c.dynamic}
}

// start builds a controller and runs it (see run).
func (c *cluster) start(opts Options) (*Controller, func() error) {
	c.t.Helper()
	ctrl, err := New(c.clients(), opts)
	if err != nil {
		c.t.Fatalf("New: %v", err)
	}
	return ctrl, c.run(ctrl, true)
}

// run runs a controller until the test ends (or the returned stop is called), waiting for its
// caches if told to; stop waits for Run to return and reports its error.
func (c *cluster) run(ctrl *Controller, waitSynced bool) func() error {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				runErr = errors.New("Run did not return within 10s of the end of its context")
			}
		})
		return runErr
	}
	c.t.Cleanup(func() {
		if err := stop(); err != nil {
			c.t.Errorf("Run: %v", err)
		}
	})
	if waitSynced {
		c.eventually("caches synced", ctrl.Synced)
	}
	return stop
}

// eventually waits (in real time, briefly) for cond; the controller works in goroutines.
func (c *cluster) eventually(what string, cond func() bool) {
	c.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		c.t.Fatalf("timed out waiting for: %s", what)
	}
}

// never checks that cond stays false for a short while.
func (c *cluster) never(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if cond() {
			c.t.Fatalf("unexpectedly: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *cluster) rollout(ns, name string) *v1alpha1.Rollout {
	c.t.Helper()
	ro, err := c.testRollouts.Rollouts(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatalf("get rollout %s/%s: %v", ns, name, err)
	}
	return ro
}

func (c *cluster) create(ro *v1alpha1.Rollout) {
	c.t.Helper()
	if _, err := c.testRollouts.Rollouts(ro.Namespace).Create(context.Background(), ro, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("create rollout: %v", err)
	}
}

// setImage is `kubectl argo rollouts set image`.
func (c *cluster) setImage(ns, name, image string) {
	c.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ro := c.rollout(ns, name)
		ro.Spec.Template.Spec.Containers[0].Image = image
		ro.Generation++
		_, err := c.testRollouts.Rollouts(ns).Update(context.Background(), ro, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		c.t.Fatalf("update rollout: %v", err)
	}
}

// promote is `kubectl argo rollouts promote` on a paused step: clear the pause conditions.
func (c *cluster) promote(ns, name string) {
	c.t.Helper()
	patch := []byte(`{"status":{"pauseConditions":null}}`)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		_, err := c.testRollouts.Rollouts(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
		return err
	})
	if err != nil {
		c.t.Fatalf("promote: %v", err)
	}
}

// replicaSets maps each ReplicaSet of a rollout's namespace to its spec replicas, by the image
// of its pods.
func (c *cluster) replicaSets(ns string) map[string]int32 {
	c.t.Helper()
	o, err := c.kube.Tracker().List(replicaSetsGVR, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), ns)
	if err != nil {
		c.t.Fatalf("list replicasets: %v", err)
	}
	out := map[string]int32{}
	for _, rs := range o.(*appsv1.ReplicaSetList).Items {
		out[rs.Spec.Template.Spec.Containers[0].Image] += ptr.Deref(rs.Spec.Replicas, 1)
	}
	return out
}

// eventLog records events in memory.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) Event(obj runtime.Object, eventType, reason, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %s: %s", eventType, reason, message))
}

func (l *eventLog) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	l.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, format string, args ...any) {
	l.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (l *eventLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// guideRollout is the getting-started guide's rollout: 5 replicas, no traffic router, steps
// setWeight 20, pause, then 40/60/80 each followed by a 10s pause.
func guideRollout(ns, name string, labels map[string]string) *v1alpha1.Rollout {
	steps := []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}, {Pause: &v1alpha1.RolloutPause{}}}
	for _, w := range []int32{40, 60, 80} {
		d := intstr.FromInt32(10)
		steps = append(steps, v1alpha1.CanaryStep{SetWeight: ptr.To(w)}, v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: &d}})
	}
	sel := map[string]string{"app": name}
	return &v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, UID: types.UID(ns + "-" + name), Generation: 1},
		Spec: v1alpha1.RolloutSpec{
			Replicas:             ptr.To[int32](5),
			RevisionHistoryLimit: ptr.To[int32](2),
			Selector:             &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "argoproj/rollouts-demo:blue",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: steps}},
		},
	}
}

// TestMain quiets client-go's own logs (leader election, reflectors) unless LOG is set.
func TestMain(m *testing.M) {
	if os.Getenv("LOG") == "" {
		klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}
