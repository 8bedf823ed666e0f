package scenario_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// The traffic of a run is in the simulated Prometheus, as Istio's metrics, and the real PromQL
// engine answers an analysis provider's query over it at virtual time.
func TestTrafficIsQueryableWithPromQL(t *testing.T) {
	res, err := scenario.Run(load(t, "istio-guide.yaml"), scenario.Options{})
	if err != nil || !res.Passed() {
		t.Fatal(err, res.Failure)
	}
	w := res.World
	p := &analysis.Prometheus{Transport: w.PrometheusTransport, DefaultAddress: "http://prometheus.sim:9090"}
	run := func(query string) v1alpha1.Measurement {
		m := v1alpha1.Metric{Name: "m", SuccessCondition: "true",
			Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: query}}}
		return p.Run(analysis.WithNow(context.Background(), w.Kernel.Now()), m, &v1alpha1.AnalysisRun{})
	}
	// All clients (100 requests per second to each of the two hosts) go to the stable Service at
	// the end.
	m := run(`sum(rate(istio_requests_total{destination_service_name="rollouts-demo-stable"}[1m]))`)
	v, err := strconv.ParseFloat(strings.Trim(m.Value, "[]"), 64)
	if err != nil || v < 190 || v > 210 {
		t.Fatalf("stable request rate: %q (%s)", m.Value, m.Message)
	}
	// The docs' success-rate query shape: no failures, so exactly 1.
	m = run(`sum(irate(istio_requests_total{reporter="source",destination_service=~"rollouts-demo-stable.default.svc.cluster.local",response_code!~"5.*"}[5m])) / sum(irate(istio_requests_total{reporter="source",destination_service=~"rollouts-demo-stable.default.svc.cluster.local"}[5m]))`)
	if m.Value != "[1]" {
		t.Fatalf("success rate: %q (%s)", m.Value, m.Message)
	}
	// Latency histogram: the 95th percentile of a healthy version is within its bucket.
	m = run(`histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{destination_service_name="rollouts-demo-stable"}[1m])) by (le))`)
	q, err := strconv.ParseFloat(strings.Trim(m.Value, "[]"), 64)
	if err != nil || q <= 10 || q > 25 {
		t.Fatalf("p95 latency: %q (%s)", m.Value, m.Message)
	}
	if w.Metrics.Len() == 0 || w.Prometheus.Queries != 3 {
		t.Fatalf("series %d, queries %d", w.Metrics.Len(), w.Prometheus.Queries)
	}
}
