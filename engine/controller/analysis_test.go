package controller

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The analysis worker measures a run at the engine's time: one measurement at once, the next
// ones each time the fake clock passes the interval, then Successful.
func TestAnalysisRunMeasuredOnTheEngineClock(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()

	c := newCluster(t)
	ctrl, _ := c.start(c.options(&eventLog{}))
	count := intstr.FromInt32(3)
	run := &v1alpha1.AnalysisRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AnalysisRun"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "smoke"},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name: "up", Interval: "10s", Count: &count, SuccessCondition: "result.ok == true",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: srv.URL}},
		}}},
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.dynamic.Tracker().Create(v1alpha1.AnalysisRunGVR, &unstructured.Unstructured{Object: obj}, "default"); err != nil {
		t.Fatal(err)
	}
	stored := func() *v1alpha1.AnalysisRun {
		o, err := c.dynamic.Tracker().Get(v1alpha1.AnalysisRunGVR, "default", "smoke")
		if err != nil {
			t.Fatal(err)
		}
		ar := &v1alpha1.AnalysisRun{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.(*unstructured.Unstructured).Object, ar); err != nil {
			t.Fatal(err)
		}
		return ar
	}
	c.eventually("the first measurement", func() bool { return calls.Load() == 1 && stored().Status.Phase == v1alpha1.AnalysisPhaseRunning })
	c.settle(ctrl)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d measurements before the interval passed", n)
	}
	for want := int32(2); want <= 3; want++ {
		c.settle(ctrl) // the worker has asked for its next step
		c.clock.Step(10 * time.Second)
		c.eventually("measurement "+itoa(int64(want)), func() bool { return calls.Load() == want })
	}
	c.settle(ctrl)
	if st := stored().Status; st.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("run status %+v, want Successful", st)
	}
	if got := len(stored().Status.MetricResults[0].Measurements); got != 3 {
		t.Errorf("%d measurements recorded, want 3", got)
	}
	c.checkRBAC(3)
}

// A rollout with an analysis step: the engine creates the AnalysisRun, the analysis worker
// measures it, and the rollout goes on once it succeeded, as in Argo.
func TestAnalysisStepGatesTheRollout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()
	c := newCluster(t)
	tmpl := &v1alpha1.AnalysisTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AnalysisTemplate"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "smoke"},
		Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{{Name: "up", SuccessCondition: "result.ok == true",
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: srv.URL}}}}},
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.dynamic.Tracker().Create(v1alpha1.AnalysisTemplateGVR, &unstructured.Unstructured{Object: obj}, "default"); err != nil {
		t.Fatal(err)
	}
	ctrl, _ := c.start(c.options(&eventLog{}))
	ro := guideRollout("default", "demo", nil)
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetWeight: ptrTo[int32](20)},
		{Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "smoke"}}}}}
	c.create(ro)
	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "initial deploy")
	c.setImage("default", "demo", "argoproj/rollouts-demo:yellow")
	c.eventually("the rollout completes after its analysis", func() bool {
		ro := c.rollout("default", "demo")
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			ro.Status.ObservedGeneration == itoa(ro.Generation)
	})
	o, err := c.dynamic.Tracker().List(v1alpha1.AnalysisRunGVR, v1alpha1.AnalysisRunGVK, "default")
	if err != nil {
		t.Fatal(err)
	}
	runs := o.(*unstructured.UnstructuredList).Items
	if len(runs) != 1 {
		t.Fatalf("%d AnalysisRuns, want the step's", len(runs))
	}
	if phase, _, _ := unstructured.NestedString(runs[0].Object, "status", "phase"); phase != string(v1alpha1.AnalysisPhaseSuccessful) {
		t.Errorf("AnalysisRun %s is %q, want Successful", runs[0].GetName(), phase)
	}
	c.settle(ctrl)
	c.checkRBAC(10)
}

func ptrTo[T any](v T) *T { return &v }
