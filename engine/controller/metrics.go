package controller

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// The controller's Prometheus metrics. Argo's names, labels and buckets where Argo has the metric
// (its controller/metrics package), so dashboards and alerts written for Argo keep working;
// rolloutlab's own metrics are prefixed rolloutlab_.

var (
	nsName = []string{"namespace", "name"}

	descRolloutInfo = prometheus.NewDesc("rollout_info", "Information about rollout.",
		[]string{"namespace", "name", "strategy", "traffic_router", "phase"}, nil)
	descReplicasAvailable = prometheus.NewDesc("rollout_info_replicas_available",
		"The number of available replicas per rollout.", nsName, nil)
	descReplicasUnavailable = prometheus.NewDesc("rollout_info_replicas_unavailable",
		"The number of unavailable replicas per rollout.", nsName, nil)
	descReplicasDesired = prometheus.NewDesc("rollout_info_replicas_desired",
		"The number of desired replicas per rollout.", nsName, nil)
	descReplicasUpdated = prometheus.NewDesc("rollout_info_replicas_updated",
		"The number of updated replicas per rollout.", nsName, nil)
	descRolloutPhase = prometheus.NewDesc("rollout_phase",
		"Information on the state of the rollout (DEPRECATED - use rollout_info)",
		[]string{"namespace", "name", "strategy", "phase"}, nil)
	descAnalysisRunInfo = prometheus.NewDesc("analysis_run_info", "Information about analysis run.",
		[]string{"namespace", "name", "phase"}, nil)
	descVerificationWaiting = prometheus.NewDesc("rolloutlab_rollout_weight_unverified",
		"1 while the traffic router has not confirmed the rollout's weights (status.canary.weights.verified false).", nsName, nil)
)

// reconcileBuckets are Argo's buckets (seconds) for reconcile durations.
var reconcileBuckets = []float64{0.01, 0.15, .25, .5, 1}

// Metrics are the controller's metrics, on a registry of their own (several controllers may run in
// one process, as in tests).
type Metrics struct {
	Registry *prometheus.Registry

	reconcile      *prometheus.HistogramVec
	reconcileError *prometheus.CounterVec
	events         *prometheus.CounterVec
	runReconcile   *prometheus.HistogramVec
	runError       *prometheus.CounterVec
	// rolloutlab's own.
	verificationWait *prometheus.CounterVec
	routerErrors     *prometheus.CounterVec
}

func newMetrics(version string, reader *Reader, leading func() bool) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		reconcile: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rollout_reconcile", Help: "Rollout reconciliation performance.", Buckets: reconcileBuckets,
		}, nsName),
		reconcileError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollout_reconcile_error", Help: "Error occurring during the rollout",
		}, nsName),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollout_events_total", Help: "Count of rollout events",
		}, []string{"namespace", "name", "type", "reason"}),
		runReconcile: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "analysis_run_reconcile", Help: "Analysis Run reconciliation performance.", Buckets: reconcileBuckets,
		}, nsName),
		runError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "analysis_run_reconcile_error", Help: "Error occurring during the analysis run",
		}, nsName),
		verificationWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolloutlab_verification_wait_total",
			Help: "Reconciles that ended with the rollout held until the traffic router confirms its weights or target registrations (--aws-verify-target-group).",
		}, nsName),
		routerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rolloutlab_traffic_router_errors_total",
			Help: "Errors configuring or reading back a traffic router (Warning events such as TrafficRoutingError, WeightVerifyError), by reason.",
		}, []string{"namespace", "name", "reason"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argo_rollouts_controller_info", Help: "Running Argo-rollouts version",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rolloutlab_controller_leader", Help: "1 while this controller holds the leader lease and reconciles (always 1 without --leader-elect).",
		}, func() float64 { return boolFloat(leading()) }),
		m.reconcile, m.reconcileError, m.events, m.runReconcile, m.runError, m.verificationWait, m.routerErrors,
		&stateCollector{reader: reader},
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// routerErrorReasons are the Warning events that report a traffic router failing.
var routerErrorReasons = map[string]bool{
	"TrafficRoutingError": true, "WeightVerifyError": true, "TargetGroupVerifyError": true,
	"LoadBalancerNotFound": true, "IstioWeightNotInEffect": true, "ApisixWeightNotInEffect": true,
}

// event counts an event the engine emitted on a rollout.
func (m *Metrics) event(namespace, name, eventType, reason string) {
	m.events.WithLabelValues(namespace, name, eventType, reason).Inc()
	if eventType == "Warning" && routerErrorReasons[reason] {
		m.routerErrors.WithLabelValues(namespace, name, reason).Inc()
	}
}

// stateCollector reports each cached rollout and AnalysisRun as it stands (Argo's collectors).
type stateCollector struct{ reader *Reader }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRolloutInfo, descReplicasAvailable, descReplicasUnavailable,
		descReplicasDesired, descReplicasUpdated, descRolloutPhase, descAnalysisRunInfo, descVerificationWaiting} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	rollouts, _ := c.reader.Rollouts("")
	for _, ro := range rollouts {
		collectRollout(ch, ro)
	}
	runs, _ := c.reader.AnalysisRuns("")
	for _, ar := range runs {
		ch <- prometheus.MustNewConstMetric(descAnalysisRunInfo, prometheus.GaugeValue, 1, ar.Namespace, ar.Name, string(ar.Status.Phase))
	}
}

func collectRollout(ch chan<- prometheus.Metric, ro *v1alpha1.Rollout) {
	strategy, router := strategyAndRouter(ro)
	phase := metricPhase(ro)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{ro.Namespace, ro.Name}, labels...)...)
	}
	st := ro.Status
	gauge(descRolloutInfo, 1, strategy, router, phase)
	gauge(descReplicasAvailable, float64(st.AvailableReplicas))
	gauge(descReplicasUnavailable, float64(st.Replicas-st.AvailableReplicas))
	gauge(descReplicasDesired, float64(v1alpha1.Replicas(ro)))
	gauge(descReplicasUpdated, float64(st.UpdatedReplicas))
	for _, p := range deprecatedPhases {
		gauge(descRolloutPhase, boolFloat(p == phase), strategy, p)
	}
	w := st.Canary.Weights
	gauge(descVerificationWaiting, boolFloat(w != nil && w.Verified != nil && !*w.Verified))
}

// Argo's metric phases, computed from the conditions (not status.phase), in its order.
const (
	phaseCompleted   = "Completed"
	phaseProgressing = "Progressing"
	phasePaused      = "Paused"
	phaseTimeout     = "Timeout"
	phaseError       = "Error"
	phaseAbort       = "Abort"
	phaseInvalidSpec = "InvalidSpec"
)

// deprecatedPhases are the series rollout_phase reports for every rollout (InvalidSpec is not one
// of them in Argo either).
var deprecatedPhases = []string{phaseCompleted, phaseProgressing, phasePaused, phaseTimeout, phaseError, phaseAbort}

// metricPhase is Argo's phase label: from the Progressing condition's reason, InvalidSpec when
// that condition is present.
func metricPhase(ro *v1alpha1.Rollout) string {
	phase := phaseProgressing
	for _, c := range ro.Status.Conditions {
		if c.Type != v1alpha1.RolloutProgressing {
			continue
		}
		switch c.Reason {
		case rollout.ReasonNewRSAvailable:
			phase = phaseCompleted
		case rollout.ReasonRolloutPaused:
			phase = phasePaused
		case rollout.ReasonRSCreateError:
			phase = phaseError
		case rollout.ReasonTimedOut:
			phase = phaseTimeout
		case rollout.ReasonRolloutAborted:
			phase = phaseAbort
		}
	}
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			phase = phaseInvalidSpec
		}
	}
	return phase
}

// strategyAndRouter are Argo's strategy and traffic_router labels. Where several routers are set,
// Argo reports the last of ALB, Ambassador, Istio, Nginx, SMI, AppMesh; rolloutlab adds APISIX
// (which Argo leaves out) after them.
func strategyAndRouter(ro *v1alpha1.Rollout) (strategy, router string) {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		return "blueGreen", ""
	case ro.Spec.Strategy.Canary == nil:
		return "none", ""
	}
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	if tr == nil {
		return "canary", ""
	}
	for _, r := range []struct {
		set  bool
		name string
	}{
		{tr.ALB != nil, "ALB"}, {tr.Ambassador != nil, "Ambassador"}, {tr.Istio != nil, "Istio"},
		{tr.Nginx != nil, "Nginx"}, {tr.SMI != nil, "SMI"}, {tr.AppMesh != nil, "AppMesh"}, {tr.Apisix != nil, "APISIX"},
	} {
		if r.set {
			router = r.name
		}
	}
	return "canary", router
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// forget drops the series of a rollout that is gone (Argo lets them expire).
func (m *Metrics) forget(ns, name string) {
	l := prometheus.Labels{"namespace": ns, "name": name}
	m.reconcile.DeletePartialMatch(l)
	m.reconcileError.DeletePartialMatch(l)
	m.events.DeletePartialMatch(l)
	m.verificationWait.DeletePartialMatch(l)
	m.routerErrors.DeletePartialMatch(l)
}

// forgetRun drops the series of an AnalysisRun that is gone.
func (m *Metrics) forgetRun(ns, name string) {
	l := prometheus.Labels{"namespace": ns, "name": name}
	m.runReconcile.DeletePartialMatch(l)
	m.runError.DeletePartialMatch(l)
}
