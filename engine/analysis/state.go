package analysis

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

const (
	// DefaultMeasurementRetention is the number of measurements kept per metric when no
	// measurementRetention rule says otherwise.
	DefaultMeasurementRetention = 10
	// ErrorRetryInterval is the wait before measuring again after an error, whatever the interval.
	ErrorRetryInterval = 10 * time.Second
)

// Result returns the metric's result in the run's status, or nil if it was never measured.
func Result(run *v1alpha1.AnalysisRun, metric string) *v1alpha1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == metric {
			return &run.Status.MetricResults[i]
		}
	}
	return nil
}

func lastMeasurement(res *v1alpha1.MetricResult) *v1alpha1.Measurement {
	if res == nil || len(res.Measurements) == 0 {
		return nil
	}
	return &res.Measurements[len(res.Measurements)-1]
}

// IsTerminating tells whether the run takes no new measurements: it was asked to terminate, or a
// metric that is not a dry run already ended Failed, Error or Inconclusive.
func IsTerminating(run *v1alpha1.AnalysisRun) bool {
	if run.Spec.Terminate {
		return true
	}
	for _, res := range run.Status.MetricResults {
		if res.DryRun {
			continue
		}
		switch res.Phase {
		case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return false
}

// Due returns the metrics (of metrics, the run's metrics with their args substituted) that need a
// measurement at now, in order:
//
//   - none while the run is terminating, and none for a completed metric;
//   - a metric never measured is due once initialDelay has passed since the run started (a run
//     that has not started measures nothing delayed);
//   - a metric that has taken its count of measurements (errors do not count) is not due;
//   - otherwise it is due an interval after its last measurement finished, or ErrorRetryInterval
//     after it when that measurement was an error (or when the metric has no interval).
//
// Departure from Argo: a metric is due at that instant, where Argo waits for a time strictly after
// it; a reconciliation scheduled exactly then (as NextReconcile asks, and as a simulation delivers)
// would otherwise measure nothing and be rescheduled at the same instant.
func Due(run *v1alpha1.AnalysisRun, metrics []v1alpha1.Metric, now time.Time) []v1alpha1.Metric {
	if IsTerminating(run) {
		return nil
	}
	var due []v1alpha1.Metric
	for _, m := range metrics {
		if at, ok := dueAt(run, m); ok && !now.Before(at) {
			due = append(due, m)
		}
	}
	return due
}

// dueAt is when the metric next needs a measurement; false when it needs none (completed, count
// reached, in flight, or waiting for the run to start).
func dueAt(run *v1alpha1.AnalysisRun, m v1alpha1.Metric) (time.Time, bool) {
	res := Result(run, m.Name)
	if res != nil && res.Phase.Completed() {
		return time.Time{}, false
	}
	limits, err := MetricLimits(m)
	if err != nil {
		return time.Time{}, false
	}
	last := lastMeasurement(res)
	if last == nil {
		if m.InitialDelay == "" {
			return time.Time{}, true // now, whatever now is
		}
		if run.Status.StartedAt == nil {
			return time.Time{}, false
		}
		return run.Status.StartedAt.Add(limits.InitialDelay), true
	}
	if last.FinishedAt == nil {
		// In flight: an asynchronous provider's measurement (Argo's job, kayenta), which Argo
		// resumes. rolloutlab's providers are synchronous, so nothing is scheduled for it.
		return time.Time{}, false
	}
	if limits.Count > 0 && int(res.Count) >= limits.Count {
		return time.Time{}, false
	}
	interval := ErrorRetryInterval
	if last.Phase != v1alpha1.AnalysisPhaseError && limits.Interval > 0 {
		interval = limits.Interval
	}
	return last.FinishedAt.Add(interval), true
}

// RecordMeasurement adds a measurement to the metric's result, creating the result (Running, with
// the dry-run flag and the provider's metadata) on the metric's first measurement, and counts it:
// Successful, Failed and Inconclusive count towards Count, Error towards Error and
// ConsecutiveError; ConsecutiveSuccess counts successes in a row.
func RecordMeasurement(run *v1alpha1.AnalysisRun, metric string, m v1alpha1.Measurement, dryRun bool, metadata map[string]string) {
	res := Result(run, metric)
	if res == nil {
		run.Status.MetricResults = append(run.Status.MetricResults, v1alpha1.MetricResult{
			Name: metric, Phase: v1alpha1.AnalysisPhaseRunning, DryRun: dryRun, Metadata: metadata,
		})
		res = &run.Status.MetricResults[len(run.Status.MetricResults)-1]
	}
	switch m.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		res.Successful++
		res.Count++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess++
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseInconclusive:
		if m.Phase == v1alpha1.AnalysisPhaseFailed {
			res.Failed++
		} else {
			res.Inconclusive++
		}
		res.Count++
		res.ConsecutiveError = 0
		res.ConsecutiveSuccess = 0
	case v1alpha1.AnalysisPhaseError:
		res.Error++
		res.ConsecutiveError++
		res.ConsecutiveSuccess = 0
	}
	res.Measurements = append(res.Measurements, m)
}

// limitBreach reports the limit a metric's counters exceed, Argo's way: failed > failureLimit
// (unless it is -1), then inconclusive > inconclusiveLimit, then consecutiveErrors >
// consecutiveErrorLimit, the last one that holds winning. "" when none is exceeded.
func limitBreach(l Limits, res v1alpha1.MetricResult) (v1alpha1.AnalysisPhase, string) {
	var phase v1alpha1.AnalysisPhase
	var msg string
	if l.FailureLimit >= 0 && int(res.Failed) > l.FailureLimit {
		phase, msg = v1alpha1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)", res.Failed, l.FailureLimit)
	}
	if int(res.Inconclusive) > l.InconclusiveLimit {
		phase, msg = v1alpha1.AnalysisPhaseInconclusive,
			fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", res.Inconclusive, l.InconclusiveLimit)
	}
	if int(res.ConsecutiveError) > l.ConsecutiveErrorLimit {
		phase, msg = v1alpha1.AnalysisPhaseError,
			fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", res.ConsecutiveError, l.ConsecutiveErrorLimit)
	}
	return phase, msg
}

// AssessMetric is the phase a metric's result is in, given its limits and whether the run is
// terminating:
//
//   - a completed phase never changes;
//   - no measurement yet: Pending (Successful when terminating);
//   - an in-flight measurement: Running;
//   - a breached limit (see limitBreach): Failed, Inconclusive or Error;
//   - consecutiveSuccessLimit reached: Successful;
//   - count reached: Successful, or Inconclusive when a consecutiveSuccessLimit was set and not
//     reached (Argo v1.8's table);
//   - otherwise Successful when terminating (an early stop is a success unless a limit is
//     breached), else Running.
func AssessMetric(metric v1alpha1.Metric, res v1alpha1.MetricResult, terminating bool) v1alpha1.AnalysisPhase {
	if res.Phase.Completed() {
		return res.Phase
	}
	last := lastMeasurement(&res)
	switch {
	case last == nil && terminating:
		return v1alpha1.AnalysisPhaseSuccessful
	case last == nil:
		return v1alpha1.AnalysisPhasePending
	case !last.Phase.Completed():
		return v1alpha1.AnalysisPhaseRunning
	}
	limits, err := MetricLimits(metric)
	if err != nil {
		return v1alpha1.AnalysisPhaseError
	}
	if phase, _ := limitBreach(limits, res); phase != "" {
		return phase
	}
	if limits.ConsecutiveSuccessLimit > 0 && int(res.ConsecutiveSuccess) >= limits.ConsecutiveSuccessLimit {
		return v1alpha1.AnalysisPhaseSuccessful
	}
	if limits.Count > 0 && int(res.Count) >= limits.Count {
		if limits.ConsecutiveSuccessLimit > 0 {
			return v1alpha1.AnalysisPhaseInconclusive
		}
		return v1alpha1.AnalysisPhaseSuccessful
	}
	if terminating {
		return v1alpha1.AnalysisPhaseSuccessful
	}
	return v1alpha1.AnalysisPhaseRunning
}

// phaseOrder ranks phases from best to worst, to pick the run's phase among its metrics'.
var phaseOrder = map[v1alpha1.AnalysisPhase]int{
	v1alpha1.AnalysisPhaseSuccessful:   0,
	v1alpha1.AnalysisPhaseRunning:      1,
	v1alpha1.AnalysisPhasePending:      2,
	v1alpha1.AnalysisPhaseInconclusive: 3,
	v1alpha1.AnalysisPhaseError:        4,
	v1alpha1.AnalysisPhaseFailed:       5,
}

// IsWorse tells whether next is a worse outcome than current (Failed is worst, then Error,
// Inconclusive, Pending, Running, Successful).
func IsWorse(current, next v1alpha1.AnalysisPhase) bool {
	return phaseOrder[next] > phaseOrder[current]
}

// Assess updates every metric's phase (and message, from its last measurement), recounts the run
// and dry-run summaries, and returns the run's phase and message (it does not set them):
//
//   - Running while any metric is not completed, or was never measured;
//   - once all are completed, the worst phase of the metrics that are not dry runs (Successful if
//     all are dry runs), with a message naming the metric and the limit it breached;
//   - when terminating: the worst completed phase so far, Successful if none ("Run Terminated" when
//     asked to terminate).
//
// Dry-run metrics never affect the run's phase; their outcome goes to the dry-run summary and to
// their own message.
func Assess(run *v1alpha1.AnalysisRun, metrics []v1alpha1.Metric, dryRun map[string]bool) (v1alpha1.AnalysisPhase, string) {
	terminating := IsTerminating(run)
	var worst v1alpha1.AnalysisPhase
	var message string
	if run.Spec.Terminate {
		message = "Run Terminated"
	}
	summary, drySummary := v1alpha1.RunSummary{}, v1alpha1.RunSummary{}
	everythingCompleted := true
	for _, metric := range metrics {
		sum := &summary
		if dryRun[metric.Name] {
			sum = &drySummary
		}
		sum.Count++
		res := Result(run, metric.Name)
		if res == nil {
			everythingCompleted = false
			continue
		}
		if phase := AssessMetric(metric, *res, terminating); phase != res.Phase {
			if last := lastMeasurement(res); last != nil {
				res.Message = last.Message
			}
			res.Phase = phase
		}
		if !res.Phase.Completed() {
			everythingCompleted = false
			continue
		}
		limits, _ := MetricLimits(metric)
		breach, why := limitBreach(limits, *res)
		countOutcome(sum, breach)
		if dryRun[metric.Name] {
			if worst == "" {
				worst = v1alpha1.AnalysisPhaseSuccessful
			}
			if why != "" {
				res.Message = fmt.Sprintf("Metric assessed %s due to %s", res.Phase, why)
			}
			continue
		}
		if worst == "" || IsWorse(worst, res.Phase) {
			worst = res.Phase
			if why != "" {
				message = fmt.Sprintf("Metric \"%s\" assessed %s due to %s", metric.Name, res.Phase, why)
				if res.Message != "" {
					message += fmt.Sprintf(": \"Error Message: %s\"", res.Message)
				}
			}
		}
	}
	run.Status.RunSummary = summary
	run.Status.DryRunSummary = &drySummary
	message = strings.TrimSpace(message)
	switch {
	case terminating && worst == "":
		return v1alpha1.AnalysisPhaseSuccessful, message
	case terminating:
		return worst, message
	case !everythingCompleted || worst == "":
		return v1alpha1.AnalysisPhaseRunning, ""
	}
	return worst, message
}

// countOutcome counts a completed metric in a summary by the limit it breached (Argo counts a
// metric that breached none as Successful, even one that ended Inconclusive on its count).
func countOutcome(sum *v1alpha1.RunSummary, breach v1alpha1.AnalysisPhase) {
	switch breach {
	case v1alpha1.AnalysisPhaseError:
		sum.Error++
	case v1alpha1.AnalysisPhaseFailed:
		sum.Failed++
	case v1alpha1.AnalysisPhaseInconclusive:
		sum.Inconclusive++
	default:
		sum.Successful++
	}
}

// TrimMeasurements keeps the latest measurements of each metric: limits[metric] of them (see
// RetentionLimits), DefaultMeasurementRetention for the others. Counters are not affected.
func TrimMeasurements(run *v1alpha1.AnalysisRun, limits map[string]int) {
	for i := range run.Status.MetricResults {
		res := &run.Status.MetricResults[i]
		keep := DefaultMeasurementRetention
		if l, ok := limits[res.Name]; ok {
			keep = l
		}
		if n := len(res.Measurements); n > keep {
			res.Measurements = append([]v1alpha1.Measurement(nil), res.Measurements[n-keep:]...)
		}
	}
}

// NextReconcile is the earliest time one of the run's metrics needs a measurement (an interval
// after its last one, ErrorRetryInterval after an error, the end of its initial delay), or nil
// when no measurement is scheduled: the run is completed or terminating, or every metric is done.
func NextReconcile(run *v1alpha1.AnalysisRun, metrics []v1alpha1.Metric) *time.Time {
	if run.Status.Phase.Completed() || IsTerminating(run) {
		return nil
	}
	var next *time.Time
	for _, m := range metrics {
		at, ok := dueAt(run, m)
		if !ok || at.IsZero() {
			continue // nothing scheduled, or never measured (Step measures those at once)
		}
		if next == nil || at.Before(*next) {
			next = &at
		}
	}
	return next
}

// SetPhase sets the run's phase and message when the phase changes, and CompletedAt when it
// becomes completed.
func SetPhase(run *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase, message string, now time.Time) {
	if phase == run.Status.Phase {
		return
	}
	run.Status.Phase = phase
	run.Status.Message = message
	if phase.Completed() && run.Status.CompletedAt == nil {
		t := metav1.NewTime(now)
		run.Status.CompletedAt = &t
	}
}
