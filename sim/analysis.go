package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// The analysis side of the simulation: AnalysisTemplates, ClusterAnalysisTemplates and
// AnalysisRuns are stored (typed, as the API server keeps them whatever client wrote them), the
// engine's informers watch them, and the analysis controller of the rollouts controller process
// measures the runs.
//
// The analysis controller lives and dies with the engine process (a crash stops measuring; a
// restart lists the runs again). On a run's creation or change, and at the time analysis.Step
// asks to come back (StepResult.Next), it steps the run at the kernel's time and writes the status
// through the status subresource. A measurement takes no virtual time: the provider is called and
// answers at the instant of the step (the Prometheus query is evaluated at that instant).

// analysisResources are the analysis kinds the simulation stores.
var analysisResources = []schema.GroupVersionResource{v1alpha1.AnalysisRunGVR, v1alpha1.AnalysisTemplateGVR, v1alpha1.ClusterAnalysisTemplateGVR}

// secretsResource is where secretKeyRef args are read from.
var secretsResource = corev1.SchemeGroupVersion.WithResource("secrets")

// DefaultPrometheusAddress is the address of the simulation's Prometheus for metrics that name
// none (Argo reads ARGO_ROLLOUTS_PROMETHEUS_ADDRESS).
const DefaultPrometheusAddress = "http://prometheus.sim:9090"

// analysisProviders are the metric providers the analysis controller measures with:
// World.AnalysisProviders when set, else Prometheus through World.PrometheusTransport. Nothing
// leaves the simulation: without a PrometheusTransport a Prometheus metric measures an error, and
// web metrics always do (the simulation has no web endpoints).
func (w *World) analysisProviders() analysis.ProviderFactory {
	if w.AnalysisProviders != nil {
		return w.AnalysisProviders
	}
	prom := w.PrometheusTransport
	if prom == nil {
		prom = noNetwork{"this world has no Prometheus"}
	}
	return analysis.DefaultProviders{
		Prometheus: &analysis.Prometheus{Transport: prom, DefaultAddress: DefaultPrometheusAddress},
		Web:        &analysis.Web{Transport: noNetwork{"the simulation has no network for web metrics"}},
	}
}

// noNetwork fails every request: a simulation must not reach the real network.
type noNetwork struct{ why string }

func (n noNetwork) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("%s %s: %s", req.Method, req.URL, n.why)
}

// secret reads one key of a stored Secret, for secretKeyRef args.
func (w *World) secret(namespace, name, key string) (string, error) {
	o, ok := w.Cluster.Store.Peek(secretsResource, namespace, name)
	if !ok {
		return "", apierrors.NewNotFound(secretsResource.GroupResource(), name)
	}
	s, ok := o.(*corev1.Secret)
	if !ok {
		return "", fmt.Errorf("secret %s/%s is stored as %T", namespace, name, o)
	}
	if v, ok := s.Data[key]; ok {
		return string(v), nil
	}
	if v, ok := s.StringData[key]; ok {
		return v, nil
	}
	return "", fmt.Errorf("key %q not found in secret %s/%s", key, namespace, name)
}

// AnalysisController measures AnalysisRuns, one step at a time, inside the engine process.
type AnalysisController struct {
	h       *EngineHost
	pending map[types.NamespacedName]*Event // queued steps (deduplicated)
	timers  map[types.NamespacedName]*Event // the next step a run asked for
	// Steps and Measurements count what the controller did (since the world began).
	Steps, Measurements int
}

func newAnalysisController(h *EngineHost) *AnalysisController {
	return &AnalysisController{h: h}
}

// start forgets everything (a fresh process) and queues every run the engine's cache holds.
func (c *AnalysisController) start() {
	c.pending, c.timers = map[types.NamespacedName]*Event{}, map[types.NamespacedName]*Event{}
	for _, o := range c.h.cache.List(v1alpha1.AnalysisRunGVR, "") {
		if ar, err := toAnalysisRun(o); err == nil && !ar.Status.Phase.Completed() {
			c.enqueue(types.NamespacedName{Namespace: ar.Namespace, Name: ar.Name})
		}
	}
}

// enqueue asks for a step of the run after the worker pickup delay.
func (c *AnalysisController) enqueue(key types.NamespacedName) {
	if c.pending[key] != nil {
		return
	}
	w := c.h.w
	c.pending[key] = w.Kernel.After(c.h.cfg.WorkDelay.Draw(c.h.rand), "analysis/reconcile", key.String(), c.h.alive(func() {
		delete(c.pending, key)
		c.reconcile(key)
	}))
}

// deliverAnalysisRun is the engine's informer seeing a run change: the analysis controller steps
// it, and the rollout that owns it looks again.
func (h *EngineHost) deliverAnalysisRun(ch kube.Change) {
	ar, err := toAnalysisRun(ch.Object)
	if err != nil {
		return
	}
	if ref := metav1.GetControllerOf(ar); ref != nil && ref.Kind == "Rollout" {
		h.add(ar.Namespace + "/" + ref.Name)
	}
	key := ch.Key()
	if ch.Type == watch.Deleted {
		if t := h.Analysis.timers[key]; t != nil {
			t.Cancel()
			delete(h.Analysis.timers, key)
		}
		return
	}
	if !ar.Status.Phase.Completed() {
		h.Analysis.enqueue(key)
	}
}

// deliverAnalysisTemplate is a template change: the rollouts that name it look again (one that
// was invalid for want of it may go on).
func (h *EngineHost) deliverAnalysisTemplate(ch kube.Change) {
	m, ok := ch.Object.(metav1.Object)
	if !ok {
		return
	}
	cluster := ch.GVR == v1alpha1.ClusterAnalysisTemplateGVR
	for _, o := range h.cache.List(Rollouts, m.GetNamespace()) {
		ro := o.(*v1alpha1.Rollout)
		if rollout.ReferencesTemplate(ro, m.GetName(), cluster) {
			h.add(ro.Namespace + "/" + ro.Name)
		}
	}
}

// reconcile steps one run at the kernel's time and writes its status if it changed.
func (c *AnalysisController) reconcile(key types.NamespacedName) {
	w := c.h.w
	store := w.Cluster.Store
	o, ok := store.Peek(v1alpha1.AnalysisRunGVR, key.Namespace, key.Name)
	if !ok {
		return
	}
	run, err := toAnalysisRun(o)
	if err != nil || run.DeletionTimestamp != nil || run.Status.Phase.Completed() {
		return
	}
	now := w.Kernel.Now()
	res := analysis.Step(context.Background(), run, now, analysis.Options{Providers: w.analysisProviders(), Secrets: w.secret})
	c.Steps++
	c.Measurements += len(res.Measured)
	for _, name := range res.Measured {
		if r := analysis.Result(res.Run, name); r != nil && len(r.Measurements) > 0 {
			m := r.Measurements[len(r.Measurements)-1]
			w.tracef("analysis-controller", key.String(), "measured %s: %s %s%s", name, m.Phase, m.Value, describeMeasurement(m.Message))
		}
	}
	if !apiequality.Semantic.DeepEqual(run.Status, res.Run.Status) {
		if run.Status.Phase != res.Run.Status.Phase {
			w.tracef("analysis-controller", key.String(), "phase %s → %s%s", phaseOrNone(run.Status.Phase), res.Run.Status.Phase,
				describeMeasurement(res.Run.Status.Message))
		}
		if _, err := store.Update(v1alpha1.AnalysisRunGVR, key.Namespace, res.Run, "status"); err != nil {
			// A conflict: the run changed meanwhile, and that change queues another step.
			w.tracef("analysis-controller", key.String(), "status write failed: %v", err)
			return
		}
	}
	if t := c.timers[key]; t != nil {
		t.Cancel()
		delete(c.timers, key)
	}
	if res.Next != nil {
		at := *res.Next
		c.timers[key] = w.Kernel.At(at, "analysis/measure", key.String(), c.h.alive(func() {
			delete(c.timers, key)
			c.enqueue(key)
		}))
	}
}

func describeMeasurement(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func phaseOrNone(p v1alpha1.AnalysisPhase) string {
	if p == "" {
		return "(none)"
	}
	return string(p)
}

// toAnalysisRun reads a stored run (typed, or unstructured if something stored it so).
func toAnalysisRun(o runtime.Object) (*v1alpha1.AnalysisRun, error) {
	switch ar := o.(type) {
	case *v1alpha1.AnalysisRun:
		return ar, nil
	case *unstructured.Unstructured:
		out := &v1alpha1.AnalysisRun{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(ar.Object, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("not an AnalysisRun: %T", o)
}

// AnalysisRuns lists the cached AnalysisRuns of a namespace (engine/rollout.Reader).
func (r Reader) AnalysisRuns(ns string) ([]*v1alpha1.AnalysisRun, error) {
	objs := r.Cache.List(v1alpha1.AnalysisRunGVR, ns)
	out := make([]*v1alpha1.AnalysisRun, 0, len(objs))
	for _, o := range objs {
		ar, err := toAnalysisRun(o)
		if err != nil {
			return nil, err
		}
		out = append(out, ar)
	}
	return out, nil
}

// AnalysisTemplate returns a cached AnalysisTemplate (engine/rollout.Reader).
func (r Reader) AnalysisTemplate(ns, name string) (*v1alpha1.AnalysisTemplate, error) {
	o, ok := r.Cache.Get(v1alpha1.AnalysisTemplateGVR, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(v1alpha1.AnalysisTemplateGVR.GroupResource(), name)
	}
	t := &v1alpha1.AnalysisTemplate{}
	if err := typedAs(o, t); err != nil {
		return nil, err
	}
	return t, nil
}

// ClusterAnalysisTemplate returns a cached ClusterAnalysisTemplate (engine/rollout.Reader).
func (r Reader) ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	o, ok := r.Cache.Get(v1alpha1.ClusterAnalysisTemplateGVR, "", name)
	if !ok {
		return nil, apierrors.NewNotFound(v1alpha1.ClusterAnalysisTemplateGVR.GroupResource(), name)
	}
	t := &v1alpha1.ClusterAnalysisTemplate{}
	if err := typedAs(o, t); err != nil {
		return nil, err
	}
	return t, nil
}

// typedAs fills out from a stored object of its type, or from an unstructured one.
func typedAs[T any, P interface {
	*T
	runtime.Object
}](o runtime.Object, out P) error {
	switch v := o.(type) {
	case P:
		*out = *v
		return nil
	case *unstructured.Unstructured:
		return runtime.DefaultUnstructuredConverter.FromUnstructured(v.Object, out)
	}
	return fmt.Errorf("stored %T is not a %T", o, out)
}

// serveAnalysisTyped makes a dynamic fake client's analysis objects typed in the store (the
// dynamic client writes unstructured ones) and unstructured in its answers (it expects those).
func (w *World) serveAnalysisTyped(f *k8stesting.Fake) {
	for _, gvr := range analysisResources {
		f.PrependReactor("*", gvr.Resource, w.analysisTypedReaction)
	}
}

func (w *World) analysisTypedReaction(action k8stesting.Action) (bool, runtime.Object, error) {
	switch a := action.(type) {
	case k8stesting.CreateActionImpl:
		obj, err := w.typedObject(a.GetObject())
		if err != nil {
			return true, nil, apierrors.NewBadRequest(err.Error())
		}
		a.Object = obj
		action = a
	case k8stesting.UpdateActionImpl:
		obj, err := w.typedObject(a.GetObject())
		if err != nil {
			return true, nil, apierrors.NewBadRequest(err.Error())
		}
		a.Object = obj
		action = a
	}
	handled, ret, err := w.Cluster.Reactor.React(action)
	if err != nil || ret == nil {
		return handled, ret, err
	}
	u, err := w.unstructuredObject(ret)
	if err != nil {
		return true, nil, apierrors.NewInternalError(err)
	}
	return handled, u, nil
}

// typedObject converts an unstructured object of a kind the scheme knows to its type.
func (w *World) typedObject(o runtime.Object) (runtime.Object, error) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return o, nil
	}
	typed, err := w.Scheme.New(u.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed); err != nil {
		return nil, err
	}
	return typed, nil
}

// unstructuredObject converts a typed object (or list) to what a dynamic client returns.
func (w *World) unstructuredObject(o runtime.Object) (runtime.Object, error) {
	switch o.(type) {
	case *unstructured.Unstructured, *unstructured.UnstructuredList:
		return o, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	gvks, _, err := w.Scheme.ObjectKinds(o)
	if err != nil || len(gvks) == 0 {
		return nil, errors.Join(errors.New("unknown kind"), err)
	}
	gvk := gvks[0]
	if strings.HasSuffix(gvk.Kind, "List") {
		l := &unstructured.UnstructuredList{}
		l.SetUnstructuredContent(m)
		l.SetGroupVersionKind(gvk)
		for i := range l.Items {
			l.Items[i].SetGroupVersionKind(gvk.GroupVersion().WithKind(strings.TrimSuffix(gvk.Kind, "List")))
		}
		return l, nil
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// AnalysisRunsOf returns the stored AnalysisRuns a rollout controls, oldest first.
func AnalysisRunsOf(store interface {
	PeekList(schema.GroupVersionResource, string) []runtime.Object
}, ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
	var out []*v1alpha1.AnalysisRun
	for _, o := range store.PeekList(v1alpha1.AnalysisRunGVR, ro.Namespace) {
		ar, err := toAnalysisRun(o)
		if err != nil {
			continue
		}
		if ref := metav1.GetControllerOf(ar); ref != nil && ref.UID == ro.UID {
			out = append(out, ar)
		}
	}
	sortRunsByCreation(out)
	return out
}

func sortRunsByCreation(runs []*v1alpha1.AnalysisRun) {
	for i := 1; i < len(runs); i++ {
		for j := i; j > 0 && runBefore(runs[j], runs[j-1]); j-- {
			runs[j], runs[j-1] = runs[j-1], runs[j]
		}
	}
}

func runBefore(a, b *v1alpha1.AnalysisRun) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.UID != b.UID {
		return a.UID < b.UID // the store's UIDs count up
	}
	return a.Name < b.Name
}
