package controller

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The /metrics exposition carries Argo's metric names and labels.
func TestMetricsExposition(t *testing.T) {
	c := newCluster(t)
	ctrl, _ := c.start(c.options(&eventLog{}))
	ro := guideRollout("default", "demo", nil)
	c.create(ro)
	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "initial deploy")
	bg := guideRollout("default", "bg", nil)
	bg.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "bg-active"}}
	c.create(bg)
	c.setImage("default", "demo", "argoproj/rollouts-demo:yellow")
	c.waitStep("default", "demo", 1, true)
	c.settle(ctrl)

	families := scrape(t, ctrl.Metrics().Handler())
	demo := map[string]string{"namespace": "default", "name": "demo"}
	expect := func(name string, labels map[string]string, value float64) {
		t.Helper()
		m := find(families[name], labels)
		if m == nil {
			t.Errorf("no %s%v in the exposition", name, labels)
			return
		}
		if got := sampleValue(m); got != value {
			t.Errorf("%s%v = %v, want %v", name, labels, got, value)
		}
	}
	expect("rollout_info", with(demo, "strategy", "canary", "traffic_router", "", "phase", "Paused"), 1)
	expect("rollout_info_replicas_available", demo, 5)
	expect("rollout_info_replicas_unavailable", demo, 0)
	expect("rollout_info_replicas_desired", demo, 5)
	expect("rollout_info_replicas_updated", demo, 1)
	expect("rollout_phase", with(demo, "strategy", "canary", "phase", "Paused"), 1)
	expect("rollout_phase", with(demo, "strategy", "canary", "phase", "Completed"), 0)
	expect("rollout_events_total", with(demo, "type", "Normal", "reason", "RolloutPaused"), 1)
	expect("argo_rollouts_controller_info", map[string]string{"version": "test"}, 1)
	expect("rolloutlab_controller_leader", nil, 1)
	expect("rolloutlab_rollout_weight_unverified", demo, 0)
	if m := find(families["rollout_info"], map[string]string{"name": "bg"}); m == nil || label(m, "strategy") != "blueGreen" {
		t.Errorf("rollout_info of the blue-green rollout: %v", m)
	}
	if f := families["rollout_reconcile"]; f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("rollout_reconcile is a %v, want a histogram", f.GetType())
	} else if m := find(f, demo); m == nil || m.GetHistogram().GetSampleCount() == 0 {
		t.Errorf("no reconcile of demo in rollout_reconcile")
	} else if b := m.GetHistogram().GetBucket(); len(b) != 6 || b[0].GetUpperBound() != 0.01 || b[4].GetUpperBound() != 1 { // and +Inf
		t.Errorf("rollout_reconcile buckets %v, want Argo's 0.01..1", b)
	}
	for _, name := range []string{"analysis_run_reconcile", "rolloutlab_verification_wait_total", "rolloutlab_traffic_router_errors_total"} {
		if f := families[name]; f != nil && len(f.Metric) > 0 {
			t.Errorf("%s has series %v, want none yet", name, f.Metric)
		}
	}
	if families["go_goroutines"] == nil || families["process_start_time_seconds"] == nil {
		t.Error("no Go runtime or process metrics")
	}
}

// Argo's phase label comes from the Progressing condition's reason, InvalidSpec overriding.
func TestMetricPhase(t *testing.T) {
	for reason, want := range map[string]string{
		"NewReplicaSetAvailable": "Completed", "RolloutPaused": "Paused", "ReplicaSetCreateError": "Error",
		"ProgressDeadlineExceeded": "Timeout", "RolloutAborted": "Abort", "ReplicaSetUpdated": "Progressing",
	} {
		ro := &v1alpha1.Rollout{Status: v1alpha1.RolloutStatus{Conditions: []v1alpha1.RolloutCondition{
			{Type: v1alpha1.RolloutProgressing, Reason: reason}}}}
		if got := metricPhase(ro); got != want {
			t.Errorf("Progressing reason %s: phase %s, want %s", reason, got, want)
		}
		ro.Status.Conditions = append(ro.Status.Conditions, v1alpha1.RolloutCondition{Type: v1alpha1.InvalidSpec})
		if got := metricPhase(ro); got != "InvalidSpec" {
			t.Errorf("with InvalidSpec: phase %s", got)
		}
	}
	tr := &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{}, Istio: &v1alpha1.IstioTrafficRouting{}}
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{TrafficRouting: tr}}}}
	if s, r := strategyAndRouter(ro); s != "canary" || r != "Istio" {
		t.Errorf("ALB+Istio: %s %s, want canary Istio (Argo reports the last)", s, r)
	}
	ro.Spec.Strategy.Canary.TrafficRouting = nil
	ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Verified: ptr.To(false)}
	if s, r := strategyAndRouter(ro); s != "canary" || r != "" {
		t.Errorf("basic canary: %q %q", s, r)
	}
}

// /healthz answers at once; /readyz once the caches have synced.
func TestHealthz(t *testing.T) {
	c := newCluster(t)
	ctrl, err := New(c.clients(), c.options(&eventLog{}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ctrl.HealthHandler())
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := get("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz before Run: %d", got)
	}
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the caches synced: %d, want 503", got)
	}
	c.run(ctrl, true)
	if got := get("/readyz"); got != http.StatusOK {
		t.Errorf("/readyz once synced: %d", got)
	}
}

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.LegacyValidation) // Argo's names are all legacy-valid
	families, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, rec.Body.String())
	}
	return families
}

// find returns the series of f whose labels include want.
func find(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			if label(m, k) != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return -1
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
