package promsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/sim/promsim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fill records two versions' request counters every 5 s for 10 minutes: the stable answers
// every request, the canary fails a quarter of them.
func fill(db *promsim.DB) {
	for i := 0; i <= 120; i++ {
		t := t0.Add(time.Duration(i) * 5 * time.Second)
		n := float64(i * 50)
		db.Add(t, labels.FromStrings("__name__", "requests_total", "version", "stable", "code", "200"), n)
		db.Add(t, labels.FromStrings("__name__", "requests_total", "version", "canary", "code", "200"), n*3/4)
		db.Add(t, labels.FromStrings("__name__", "requests_total", "version", "canary", "code", "500"), n/4)
		db.Add(t, labels.FromStrings("__name__", "requests_total", "version", "idle", "code", "200"), 7)
	}
}

func measure(t *testing.T, srv *promsim.Server, query, success string, at time.Time) v1alpha1.Measurement {
	t.Helper()
	p := &analysis.Prometheus{Transport: srv, DefaultAddress: "http://prometheus.sim:9090"}
	metric := v1alpha1.Metric{Name: "m", SuccessCondition: success,
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: query}}}
	return p.Run(analysis.WithNow(context.Background(), at), metric, &v1alpha1.AnalysisRun{})
}

// The analysis provider's real Prometheus client, talking to the simulated server: rates and
// ratios come out of the real PromQL engine at the virtual time asked for.
func TestQueriesThroughTheAnalysisProvider(t *testing.T) {
	db := promsim.NewDB()
	fill(db)
	srv := promsim.NewServer(db, func() time.Time { return t0.Add(10 * time.Minute) })
	at := t0.Add(8 * time.Minute)

	m := measure(t, srv, `sum(rate(requests_total{version="canary",code!~"5.."}[1m])) / sum(rate(requests_total{version="canary"}[1m]))`, "result[0] >= 0.95", at)
	if m.Phase != v1alpha1.AnalysisPhaseFailed || m.Value != "[0.75]" {
		t.Fatalf("canary success rate: phase %s value %q message %q", m.Phase, m.Value, m.Message)
	}
	m = measure(t, srv, `sum(rate(requests_total{version="stable",code!~"5.."}[1m])) / sum(rate(requests_total{version="stable"}[1m]))`, "result[0] >= 0.95", at)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Value != "[1]" {
		t.Fatalf("stable success rate: phase %s value %q message %q", m.Phase, m.Value, m.Message)
	}
	// Per-second rate: 50 requests per 5 s.
	m = measure(t, srv, `sum(rate(requests_total{version="stable"}[1m]))`, "result[0] == 10", at)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("rate: phase %s value %q message %q", m.Phase, m.Value, m.Message)
	}
	if srv.Queries != 3 {
		t.Fatalf("queries answered: %d", srv.Queries)
	}
}

func TestNaNEmptyErrorsAndOutage(t *testing.T) {
	db := promsim.NewDB()
	fill(db)
	srv := promsim.NewServer(db, func() time.Time { return t0.Add(10 * time.Minute) })
	at := t0.Add(8 * time.Minute)

	// A version that got no request in the window: 0/0.
	m := measure(t, srv, `sum(rate(requests_total{version="idle"}[1m])) / sum(rate(requests_total{version="idle"}[1m]))`, "result[0] < 0.1", at)
	if m.Value != "[NaN]" {
		t.Fatalf("0/0: phase %s value %q message %q", m.Phase, m.Value, m.Message)
	}
	// A version that never ran: empty result.
	m = measure(t, srv, `requests_total{version="nope"}`, "len(result) == 0", at)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Value != "[]" {
		t.Fatalf("empty: phase %s value %q message %q", m.Phase, m.Value, m.Message)
	}
	// Before any sample: nothing to rate.
	m = measure(t, srv, `sum(rate(requests_total[1m]))`, "len(result) == 0", t0.Add(-time.Hour))
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("before data: phase %s value %q message %q", m.Phase, m.Value, m.Message)
	}
	// A query that does not parse is an Error measurement, as is an outage.
	if m = measure(t, srv, `sum(rate(requests_total[1m])`, "true", at); m.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("bad query: phase %s message %q", m.Phase, m.Message)
	}
	srv.Slow = true
	if m = measure(t, srv, `sum(requests_total)`, "true", at); m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "503") {
		t.Fatalf("slow query: phase %s message %q", m.Phase, m.Message)
	}
	srv.Slow, srv.Down = false, true
	if m = measure(t, srv, `sum(requests_total)`, "true", at); m.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("outage: phase %s message %q", m.Phase, m.Message)
	}
}

func TestDBKeepsTimeOrder(t *testing.T) {
	db := promsim.NewDB()
	l := labels.FromStrings("__name__", "x")
	db.Add(t0, l, 1)
	db.Add(t0, l, 2) // same instant: dropped
	db.Add(t0.Add(time.Second), l, 3)
	srv := promsim.NewServer(db, func() time.Time { return t0.Add(time.Second) })
	m := measure(t, srv, `x`, "result[0] == 3", t0.Add(time.Second))
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || db.Len() != 1 {
		t.Fatalf("phase %s value %q", m.Phase, m.Value)
	}
}

func BenchmarkQuery(b *testing.B) {
	db := promsim.NewDB()
	fill(db)
	srv := promsim.NewServer(db, func() time.Time { return t0.Add(10 * time.Minute) })
	p := &analysis.Prometheus{Transport: srv, DefaultAddress: "http://prometheus.sim:9090"}
	metric := v1alpha1.Metric{Name: "m", SuccessCondition: "result[0] >= 0.95",
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Query: `sum(rate(requests_total{version="canary",code!~"5.."}[1m])) / sum(rate(requests_total{version="canary"}[1m]))`}}}
	ctx := analysis.WithNow(context.Background(), t0.Add(8*time.Minute))
	for i := 0; i < b.N; i++ {
		p.Run(ctx, metric, &v1alpha1.AnalysisRun{})
	}
}
