package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// vectorPrometheus answers every /api/v1/query with a one-sample vector of a fixed value: a
// stand-in for the simulation's Prometheus, enough to drive the analysis controller.
type vectorPrometheus struct {
	value   string
	queries int
}

func (p *vectorPrometheus) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/api/v1/query") {
		return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader("not found")), Request: req}, nil
	}
	p.queries++
	body := fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,%q]}]}}`,
		analysis.NowFrom(req.Context()).Unix(), p.value)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

const analysisTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: rate
spec:
  args:
  - name: service
  metrics:
  - name: rate
    successCondition: result[0] >= 0.95
    %s
    provider:
      prometheus:
        address: http://prometheus.test:9090
        query: sum(rate(requests{service="{{args.service}}"}[1m]))
`

const analysisRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  replicas: 5
  selector: {matchLabels: {app: demo}}
  strategy:
    canary:
      %s
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: demo:1}]}
`

// analysisWorld deploys the rollout (and template) at demo:1, Healthy, with the given metric
// answers, then sets demo:2.
func analysisWorld(t *testing.T, canary, schedule string, prom http.RoundTripper, providers analysis.ProviderFactory) *World {
	t.Helper()
	w, err := NewWorld(1, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.PrometheusTransport, w.AnalysisProviders = prom, providers
	src := fmt.Sprintf(analysisTemplate, schedule) + "---\n" + fmt.Sprintf(analysisRollout, canary)
	docs, err := w.Decoder.Decode("demo.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(docs); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, time.Minute)
	if _, err := actions.SetImage(context.Background(), w.UserRollouts, "default", "demo", "demo", "demo:2"); err != nil {
		t.Fatal(err)
	}
	return w
}

func demo(t *testing.T, w *World) *v1alpha1.Rollout {
	t.Helper()
	ro, err := w.UserRollouts.Rollouts("default").Get(context.Background(), "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

func waitPhase(t *testing.T, w *World, phase v1alpha1.RolloutPhase, within time.Duration) *v1alpha1.Rollout {
	t.Helper()
	var ro *v1alpha1.Rollout
	ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(within), func() bool {
		ro = demo(t, w)
		return ro.Status.Phase == phase && ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation)
	})
	if err != nil || !ok {
		t.Fatalf("not %s within %s (%v): %s %q", phase, within, err, ro.Status.Phase, ro.Status.Message)
	}
	return ro
}

const stepAnalysis = `steps:
      - setWeight: 20
      - analysis: {templates: [{templateName: rate}], args: [{name: service, value: demo}]}
      - setWeight: 60`

func TestAnalysisStepRunsAndTheRolloutGoesOn(t *testing.T) {
	prom := &vectorPrometheus{value: "0.99"}
	w := analysisWorld(t, stepAnalysis, "", prom, nil)
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, 5*time.Minute)
	runs := AnalysisRunsOf(w.Cluster.Store, ro)
	if len(runs) != 1 {
		t.Fatalf("runs: %d", len(runs))
	}
	ar := runs[0]
	if want := "demo-" + ro.Status.CurrentPodHash + "-2-1"; ar.Name != want || ar.Labels["rollout-type"] != "Step" {
		t.Errorf("run %s labels %v, want %s", ar.Name, ar.Labels, want)
	}
	if ar.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(ar.Status.MetricResults) != 1 ||
		ar.Status.MetricResults[0].Measurements[0].Value != "[0.99]" {
		t.Errorf("run status %+v", ar.Status)
	}
	if prom.queries != 1 {
		t.Errorf("queries %d", prom.queries)
	}
	if ro.Status.Canary.CurrentStepAnalysisRunStatus != nil {
		t.Errorf("a completed step's run stays in the status: %+v", ro.Status.Canary.CurrentStepAnalysisRunStatus)
	}
	if got := strings.Join(w.Recorder.Reasons("default/demo"), ","); !strings.Contains(got, "AnalysisRunSuccessful") {
		t.Errorf("events %s", got)
	}
}

const backgroundAnalysis = `analysis: {templates: [{templateName: rate}], args: [{name: service, value: demo}]}
      steps:
      - setWeight: 20
      - pause: {}`

func TestBackgroundAnalysisFailureAbortsTheUpdate(t *testing.T) {
	prom := &vectorPrometheus{value: "0.5"}
	w := analysisWorld(t, backgroundAnalysis, "interval: 10s\n    failureLimit: 1", prom, nil)
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseDegraded, 5*time.Minute)
	want := `RolloutAborted: Rollout aborted update to revision 2: Metric "rate" assessed Failed due to failed (2) > failureLimit (1)`
	if ro.Status.Message != want {
		t.Errorf("message %q\nwant    %q", ro.Status.Message, want)
	}
	runs := AnalysisRunsOf(w.Cluster.Store, ro)
	if len(runs) != 1 || runs[0].Status.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("runs %+v", runs)
	}
	ms := runs[0].Status.MetricResults[0].Measurements
	if gap := ms[1].StartedAt.Sub(ms[0].FinishedAt.Time); len(ms) != 2 || gap < 10*time.Second || gap > 10*time.Second+10*time.Millisecond {
		t.Errorf("measurements %+v", ms)
	}
	if s := ro.Status.Canary.CurrentBackgroundAnalysisRunStatus; s == nil || s.Status != v1alpha1.AnalysisPhaseFailed || s.Message == "" {
		t.Errorf("background status %+v", s)
	}
	// The canary goes; the stable takes all five pods again.
	ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), func() bool {
		s := ObserveState(w.Cluster.Store, demo(t, w))
		for _, r := range s.Revisions {
			if r.Revision == 2 && r.Spec != 0 || r.Revision == 1 && r.Available != 5 {
				return false
			}
		}
		return true
	})
	if err != nil || !ok {
		t.Fatalf("not rolled back: %v %+v", err, ObserveState(w.Cluster.Store, demo(t, w)))
	}
}

// An inconclusive result pauses the rollout; promoting it starts a new run.
func TestInconclusiveRunPausesUntilPromoted(t *testing.T) {
	answer := v1alpha1.AnalysisPhaseInconclusive
	calls := 0
	providers := analysis.ProviderFactoryFunc(func(v1alpha1.Metric) (analysis.Provider, error) {
		return providerFunc(func() v1alpha1.Measurement {
			calls++
			return v1alpha1.Measurement{Phase: answer, Value: "42"}
		}), nil
	})
	w := analysisWorld(t, stepAnalysis, "", nil, providers)
	ro := waitPhase(t, w, v1alpha1.RolloutPhasePaused, 5*time.Minute)
	if ro.Status.Message != "InconclusiveAnalysisRun" {
		t.Fatalf("message %q", ro.Status.Message)
	}
	answer = v1alpha1.AnalysisPhaseSuccessful
	if _, err := actions.Promote(context.Background(), w.UserRollouts, "default", "demo"); err != nil {
		t.Fatal(err)
	}
	ro = waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, 5*time.Minute)
	runs := AnalysisRunsOf(w.Cluster.Store, ro)
	if len(runs) != 2 || runs[1].Name != runs[0].Name+".1" || runs[1].Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		for _, r := range runs {
			t.Logf("run %s %s", r.Name, r.Status.Phase)
		}
		t.Fatalf("want a second run after the promotion")
	}
	if calls != 2 {
		t.Errorf("measurements %d", calls)
	}
}

type providerFunc func() v1alpha1.Measurement

func (f providerFunc) Run(context.Context, v1alpha1.Metric, *v1alpha1.AnalysisRun) v1alpha1.Measurement {
	return f()
}

// Without a Prometheus, a Prometheus metric measures an error and never reaches the network.
func TestNoPrometheusMeansErrorsNotNetwork(t *testing.T) {
	w := analysisWorld(t, stepAnalysis, "", nil, nil)
	w.PrometheusTransport = nil
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseDegraded, 5*time.Minute)
	if !strings.Contains(ro.Status.Message, "consecutiveErrors (5) > consecutiveErrorLimit (4)") ||
		!strings.Contains(ro.Status.Message, "this world has no Prometheus") {
		t.Errorf("message %q", ro.Status.Message)
	}
}

// The analysis controller is part of the controller process: a crash stops the measurements,
// the restart picks the runs up again.
func TestAnalysisSurvivesAControllerCrash(t *testing.T) {
	prom := &vectorPrometheus{value: "0.99"}
	w := analysisWorld(t, backgroundAnalysis, "interval: 10s\n    count: 6", prom, nil)
	ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), func() bool { return prom.queries >= 2 })
	if err != nil || !ok {
		t.Fatalf("no measurements: %v", err)
	}
	w.Engine.Crash()
	before := prom.queries
	if _, err := w.Kernel.RunUntil(w.Kernel.Now().Add(30*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if prom.queries != before {
		t.Fatalf("measured while the controller was down: %d → %d", before, prom.queries)
	}
	w.Engine.Start()
	ok, err = w.Kernel.RunUntil(w.Kernel.Now().Add(2*time.Minute), func() bool {
		runs := AnalysisRunsOf(w.Cluster.Store, demo(t, w))
		return len(runs) == 1 && runs[0].Status.Phase == v1alpha1.AnalysisPhaseSuccessful
	})
	if err != nil || !ok {
		t.Fatalf("the run did not finish after the restart: %v", err)
	}
	if prom.queries != 6 {
		t.Errorf("queries %d", prom.queries)
	}
}

// A template applied after the rollout: InvalidSpec until it exists, then the update goes on.
func TestMissingTemplateIsInvalidUntilApplied(t *testing.T) {
	w, err := NewWorld(1, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.PrometheusTransport = &vectorPrometheus{value: "1"}
	docs, err := w.Decoder.Decode("demo.yaml", []byte(fmt.Sprintf(analysisRollout, stepAnalysis)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(docs); err != nil {
		t.Fatal(err)
	}
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseDegraded, time.Minute)
	want := `InvalidSpec: The Rollout "demo" is invalid: spec.strategy.canary.steps[1].analysis.templates: Invalid value: "rate": AnalysisTemplate 'rate' not found`
	if ro.Status.Message != want {
		t.Errorf("message %q\nwant    %q", ro.Status.Message, want)
	}
	docs, err = w.Decoder.Decode("rate.yaml", []byte(fmt.Sprintf(analysisTemplate, "")))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(docs); err != nil {
		t.Fatal(err)
	}
	start := w.Kernel.Now()
	waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, time.Minute)
	if took := w.Kernel.Now().Sub(start); took > 10*time.Second {
		t.Errorf("the rollout waited %s for its recheck instead of hearing of the template", took)
	}
}

// promote --full skips the analysis: the running background run is terminated (it ends
// Successful, "Run Terminated") and the new version goes to all pods.
func TestPromoteFullTerminatesTheRunningRun(t *testing.T) {
	prom := &vectorPrometheus{value: "0.99"}
	w := analysisWorld(t, backgroundAnalysis, "interval: 10s\n    count: 100", prom, nil)
	ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), func() bool { return prom.queries >= 2 })
	if err != nil || !ok {
		t.Fatalf("no measurements: %v", err)
	}
	if _, err := actions.PromoteFull(context.Background(), w.UserRollouts, "default", "demo"); err != nil {
		t.Fatal(err)
	}
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, 2*time.Minute)
	runs := AnalysisRunsOf(w.Cluster.Store, ro)
	if len(runs) != 1 || !runs[0].Spec.Terminate || runs[0].Status.Phase != v1alpha1.AnalysisPhaseSuccessful ||
		runs[0].Status.Message != "Run Terminated" {
		t.Fatalf("runs %+v", runs)
	}
	queries := prom.queries
	if _, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if prom.queries != queries {
		t.Errorf("measured after the promotion: %d → %d", queries, prom.queries)
	}
}

const blueGreenAnalysis = `apiVersion: v1
kind: Service
metadata: {name: active}
spec: {selector: {app: demo}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: preview}
spec: {selector: {app: demo}, ports: [{port: 80}]}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  replicas: 3
  selector: {matchLabels: {app: demo}}
  strategy:
    blueGreen:
      activeService: active
      previewService: preview
      prePromotionAnalysis: {templates: [{templateName: rate}], args: [{name: service, value: preview}]}
      postPromotionAnalysis: {templates: [{templateName: rate}], args: [{name: service, value: active}]}
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: demo:1}]}
`

// byRunType answers each measurement by the rollout-type of its run.
type byRunType map[string]v1alpha1.AnalysisPhase

func (b byRunType) Provider(v1alpha1.Metric) (analysis.Provider, error) { return b, nil }

func (b byRunType) Run(_ context.Context, _ v1alpha1.Metric, run *v1alpha1.AnalysisRun) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: b[run.Labels["rollout-type"]], Value: "1"}
}

func blueGreenWorld(t *testing.T, answers byRunType) *World {
	t.Helper()
	w, err := NewWorld(1, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.AnalysisProviders = answers
	docs, err := w.Decoder.Decode("demo.yaml", []byte(fmt.Sprintf(analysisTemplate, "")+"---\n"+blueGreenAnalysis))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(docs); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, time.Minute)
	if _, err := actions.SetImage(context.Background(), w.UserRollouts, "default", "demo", "demo", "demo:2"); err != nil {
		t.Fatal(err)
	}
	return w
}

func activeSelects(t *testing.T, w *World) string {
	t.Helper()
	svc, err := w.UserKube.CoreV1().Services("default").Get(context.Background(), "active", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

func TestBlueGreenPreAndPostPromotionAnalysis(t *testing.T) {
	w := blueGreenWorld(t, byRunType{"PrePromotion": v1alpha1.AnalysisPhaseSuccessful, "PostPromotion": v1alpha1.AnalysisPhaseSuccessful})
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseHealthy, 5*time.Minute)
	runs := AnalysisRunsOf(w.Cluster.Store, ro)
	hash := ro.Status.CurrentPodHash
	if len(runs) != 2 || runs[0].Name != "demo-"+hash+"-2-pre" || runs[1].Name != "demo-"+hash+"-2-post" {
		t.Fatalf("runs %v", runs)
	}
	for _, ar := range runs {
		if ar.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("%s %s", ar.Name, ar.Status.Phase)
		}
	}
	// The pre-promotion run ended before the switch, the post-promotion one started after it.
	// (creation times are kept to the second)
	if runs[0].Status.CompletedAt.Time.After(runs[1].CreationTimestamp.Add(time.Second)) {
		t.Errorf("pre completed %s, post created %s", runs[0].Status.CompletedAt, runs[1].CreationTimestamp)
	}
	if ro.Status.StableRS != hash || activeSelects(t, w) != hash {
		t.Errorf("stable %s active %s, want %s", ro.Status.StableRS, activeSelects(t, w), hash)
	}
}

func TestBlueGreenPrePromotionFailureKeepsTheActiveService(t *testing.T) {
	w := blueGreenWorld(t, byRunType{"PrePromotion": v1alpha1.AnalysisPhaseFailed})
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseDegraded, 5*time.Minute)
	if activeSelects(t, w) != ro.Status.StableRS || ro.Status.StableRS == ro.Status.CurrentPodHash {
		t.Errorf("the active Service moved: %s (stable %s)", activeSelects(t, w), ro.Status.StableRS)
	}
	if s := ro.Status.BlueGreen.PrePromotionAnalysisRunStatus; s == nil || s.Status != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("pre-promotion status %+v", s)
	}
}

func TestBlueGreenPostPromotionFailureSwitchesBack(t *testing.T) {
	w := blueGreenWorld(t, byRunType{"PrePromotion": v1alpha1.AnalysisPhaseSuccessful, "PostPromotion": v1alpha1.AnalysisPhaseFailed})
	ro := waitPhase(t, w, v1alpha1.RolloutPhaseDegraded, 5*time.Minute)
	if !strings.Contains(ro.Status.Message, `Metric "rate" assessed Failed due to failed (1) > failureLimit (0)`) {
		t.Errorf("message %q", ro.Status.Message)
	}
	ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), func() bool {
		ro = demo(t, w)
		return activeSelects(t, w) == ro.Status.StableRS
	})
	if err != nil || !ok {
		t.Fatalf("the active Service did not go back to the stable version: %s (stable %s)", activeSelects(t, w), ro.Status.StableRS)
	}
	if ro.Status.StableRS == ro.Status.CurrentPodHash {
		t.Errorf("the failed version became stable")
	}
}
