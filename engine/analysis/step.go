package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Options are what Step needs besides the run and the time.
type Options struct {
	// Providers picks each metric's provider. Required.
	Providers ProviderFactory
	// Secrets reads secretKeyRef args; nil makes a run that has such args end in Error.
	Secrets SecretGetter
}

// StepResult is the outcome of one Step.
type StepResult struct {
	// Run is the updated copy of the run (the run itself when it was already completed).
	Run *v1alpha1.AnalysisRun
	// Measured names the metrics measured in this step, in the run's order.
	Measured []string
	// Next is when the run next needs a Step (nil: nothing scheduled, the run is completed or
	// waits on nothing but a change to it, such as spec.terminate).
	Next *time.Time
}

// Step is one reconciliation of an AnalysisRun at now, Argo's reconcileAnalysisRun: it resolves
// and validates the metrics, takes the measurements that are due (one at a time, in the run's
// order, through opts.Providers), assesses the metrics and the run, trims the measurements and
// says when to come back. It never modifies run.
//
// The run ends in Error when its args cannot be resolved ("Unable to resolve metric arguments:
// ..."), its spec is invalid or uses a provider that is not supported ("Analysis spec invalid:
// ..."). Departure from Argo: when a metric breaches a limit, the run ends in the same step (Argo
// notices on its next reconciliation, which its own status update triggers at once); the outcome is
// the same.
func Step(ctx context.Context, run *v1alpha1.AnalysisRun, now time.Time, opts Options) StepResult {
	if run.Status.Phase.Completed() {
		return StepResult{Run: run}
	}
	run = run.DeepCopy()
	if run.Status.StartedAt == nil {
		started := metav1.NewTime(now)
		run.Status.StartedAt = &started
	}
	plan, err := planRun(run)
	if err == nil {
		err = checkProviders(plan.metrics, opts.Providers)
	}
	if err != nil {
		SetPhase(run, v1alpha1.AnalysisPhaseError, err.Error(), now)
		return StepResult{Run: run}
	}
	terminating := IsTerminating(run)
	measured, err := measure(ctx, run, plan, now, opts)
	if err != nil {
		SetPhase(run, v1alpha1.AnalysisPhaseError, fmt.Sprintf("Unable to resolve metric arguments: %v", err), now)
		return StepResult{Run: run, Measured: measured}
	}
	phase, message := Assess(run, plan.metrics, plan.dryRun)
	if !terminating && IsTerminating(run) {
		phase, message = Assess(run, plan.metrics, plan.dryRun)
	}
	SetPhase(run, phase, message, now)
	TrimMeasurements(run, plan.retention)
	return StepResult{Run: run, Measured: measured, Next: NextReconcile(run, plan.metrics)}
}

// runPlan is what a run's spec says once checked: its metrics with args substituted (secrets
// stood in for), the dry-run metrics and the retention limits.
type runPlan struct {
	metrics   []v1alpha1.Metric
	dryRun    map[string]bool
	retention map[string]int
}

func planRun(run *v1alpha1.AnalysisRun) (runPlan, error) {
	metrics, err := resolveMetrics(run.Spec.Metrics, run.Spec.Args)
	if err != nil {
		return runPlan{}, fmt.Errorf("Unable to resolve metric arguments: %v", err)
	}
	if err := ValidateMetrics(metrics); err != nil {
		return runPlan{}, fmt.Errorf("Analysis spec invalid: %v", err)
	}
	plan := runPlan{metrics: metrics}
	if plan.dryRun, err = DryRunMetrics(run.Spec.DryRun, metrics); err != nil {
		return runPlan{}, fmt.Errorf("Analysis spec invalid: %v", err)
	}
	if plan.retention, err = RetentionLimits(run.Spec.MeasurementRetention, metrics); err != nil {
		return runPlan{}, fmt.Errorf("Analysis spec invalid: %v", err)
	}
	return plan, nil
}

// checkProviders fails a run at once when one of its metrics uses a provider that cannot run.
func checkProviders(metrics []v1alpha1.Metric, providers ProviderFactory) error {
	if providers == nil {
		return fmt.Errorf("no metric providers configured")
	}
	for _, m := range metrics {
		if _, err := providers.Provider(m); errors.Is(err, ErrUnsupportedProvider) {
			return fmt.Errorf("Analysis spec invalid: %v", err)
		}
	}
	return nil
}

// resolveMetrics substitutes the args into every metric, with a stand-in for secret values: enough
// to schedule and validate, not to measure.
func resolveMetrics(metrics []v1alpha1.Metric, args []v1alpha1.Argument) ([]v1alpha1.Metric, error) {
	resolvedArgs, _, err := ResolveArgs(args, "", placeholderSecrets)
	if err != nil {
		return nil, err
	}
	out := make([]v1alpha1.Metric, 0, len(metrics))
	for _, m := range metrics {
		r, err := ResolveMetric(m, resolvedArgs)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// measure takes the due measurements and records them in run.
func measure(ctx context.Context, run *v1alpha1.AnalysisRun, plan runPlan, now time.Time, opts Options) ([]string, error) {
	due := Due(run, plan.metrics, now)
	if len(due) == 0 {
		return nil, nil
	}
	args, secrets, err := ResolveArgs(run.Spec.Args, run.Namespace, opts.Secrets)
	if err != nil {
		return nil, err
	}
	ctx = WithNow(ctx, now)
	var measured []string
	for _, d := range due {
		metric, err := ResolveMetric(specMetric(run, d.Name), args)
		if err != nil {
			return measured, err
		}
		m, metadata := takeMeasurement(ctx, run, metric, opts.Providers, now)
		m.Message = redact(m.Message, secrets)
		for k, v := range metadata {
			metadata[k] = redact(v, secrets)
		}
		RecordMeasurement(run, d.Name, m, plan.dryRun[d.Name], metadata)
		measured = append(measured, d.Name)
	}
	return measured, nil
}

func specMetric(run *v1alpha1.AnalysisRun, name string) v1alpha1.Metric {
	for _, m := range run.Spec.Metrics {
		if m.Name == name {
			return m
		}
	}
	return v1alpha1.Metric{Name: name}
}

// takeMeasurement runs the metric's provider and stamps the measurement with now.
func takeMeasurement(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, providers ProviderFactory,
	now time.Time) (v1alpha1.Measurement, map[string]string) {
	var m v1alpha1.Measurement
	var metadata map[string]string
	p, err := providers.Provider(metric)
	if err != nil {
		m = errorMeasurement(err)
	} else {
		m = p.Run(ctx, metric, run)
		if mp, ok := p.(MetadataProvider); ok {
			metadata = mp.Metadata(metric)
		}
	}
	if m.Phase == "" {
		m = errorMeasurement(fmt.Errorf("the %s provider returned a measurement without a phase", metric.Provider.Type()))
	}
	if m.StartedAt == nil {
		at := metav1.NewTime(now)
		m.StartedAt = &at
	}
	if m.Phase.Completed() && m.FinishedAt == nil {
		at := metav1.NewTime(now)
		m.FinishedAt = &at
	}
	return m, metadata
}

// redact hides secret values in text, as Argo does in measurement messages.
func redact(text string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "*****")
		}
	}
	return text
}
