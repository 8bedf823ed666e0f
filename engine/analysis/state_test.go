package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

var t0 = time.Date(2021, 2, 10, 0, 15, 26, 0, time.UTC)

// script is a provider that answers each metric with the next phase of its list (the last one
// once the list is used up: S successful, F failed, I inconclusive, E error), and remembers
// the metrics it was asked to measure.
type script struct {
	phases map[string]string
	asked  []v1alpha1.Metric
}

func (s *script) Provider(v1alpha1.Metric) (Provider, error) { return s, nil }

func (s *script) Run(_ context.Context, metric v1alpha1.Metric, _ *v1alpha1.AnalysisRun) v1alpha1.Measurement {
	s.asked = append(s.asked, metric)
	seq := s.phases[metric.Name]
	if seq == "" {
		seq = "S"
	}
	code := seq[0]
	if len(seq) > 1 {
		s.phases[metric.Name] = seq[1:]
	}
	switch code {
	case 'S':
		return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: "1"}
	case 'F':
		return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "0"}
	case 'I':
		return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseInconclusive, Value: "0.5"}
	}
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: "boom"}
}

// drive steps the run at the times it asks for, from t0, until it completes, has nothing
// scheduled, or maxSteps. It returns the final run and the time of the last step since t0.
func drive(t *testing.T, run *v1alpha1.AnalysisRun, p ProviderFactory, maxSteps int) (*v1alpha1.AnalysisRun, time.Duration) {
	t.Helper()
	now := t0
	for i := 0; i < maxSteps; i++ {
		res := Step(context.Background(), run, now, Options{Providers: p})
		run = res.Run
		if run.Status.Phase.Completed() || res.Next == nil {
			break
		}
		if !res.Next.After(now) {
			t.Fatalf("step %d at %s asks to come back at %s", i, now, res.Next)
		}
		now = *res.Next
	}
	return run, now.Sub(t0)
}

func newRun(metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	for i := range metrics {
		if metrics[i].Provider.Type() == "" {
			metrics[i].Provider.Web = &v1alpha1.WebMetric{URL: "http://example"}
		}
	}
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "run", Namespace: "shop"},
		Spec:       v1alpha1.AnalysisRunSpec{Metrics: metrics},
	}
}

func num(i int32) *intstr.IntOrString { return ptr.To(intstr.FromInt32(i)) }

// TestRunStateMachine plays Argo's documented semantics of limits and counts.
func TestRunStateMachine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metric  v1alpha1.Metric
		phases  string
		want    v1alpha1.AnalysisPhase
		message string
		at      time.Duration // when the run completed
		count   int32         // measurements that did not error
	}{
		{name: "single measurement succeeds", phases: "S", want: "Successful", count: 1},
		{name: "failureLimit 0: the first failure fails", phases: "F", want: "Failed",
			message: `Metric "m" assessed Failed due to failed (1) > failureLimit (0)`, count: 1},
		{name: "failureLimit 3 tolerates three failures", metric: v1alpha1.Metric{Interval: "5m", FailureLimit: num(3)},
			phases: "FSFFF", want: "Failed", message: `Metric "m" assessed Failed due to failed (4) > failureLimit (3)`,
			at: 20 * time.Minute, count: 5},
		{name: "count reached with failures under the limit", metric: v1alpha1.Metric{Interval: "60s", Count: num(3), FailureLimit: num(1)},
			phases: "SFS", want: "Successful", at: 2 * time.Minute, count: 3},
		{name: "count of 5 every 60s", metric: v1alpha1.Metric{Interval: "60s", Count: num(5)},
			phases: "S", want: "Successful", at: 4 * time.Minute, count: 5},
		{name: "count as a string", metric: v1alpha1.Metric{Interval: "60s", Count: ptr.To(intstr.FromString("2"))},
			phases: "S", want: "Successful", at: time.Minute, count: 2},
		{name: "inconclusiveLimit 0", phases: "I", want: "Inconclusive",
			message: `Metric "m" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)`, count: 1},
		{name: "inconclusiveLimit 1", metric: v1alpha1.Metric{Interval: "1m", Count: num(3), InconclusiveLimit: num(1)},
			phases: "ISS", want: "Successful", at: 2 * time.Minute, count: 3},
		{name: "five errors in a row exceed the default limit of 4, retried every 10s", metric: v1alpha1.Metric{Interval: "5m"},
			phases: "E", want: "Error",
			message: `Metric "m" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): "Error Message: boom"`,
			at:      40 * time.Second},
		{name: "a success resets the error streak; errors do not count", metric: v1alpha1.Metric{Interval: "1m", Count: num(2)},
			phases: "EEEESEEEES", want: "Successful", at: 40*time.Second + time.Minute + 40*time.Second, count: 2},
		{name: "consecutiveErrorLimit 0", metric: v1alpha1.Metric{ConsecutiveErrorLimit: num(0)}, phases: "E", want: "Error",
			message: `Metric "m" assessed Error due to consecutiveErrors (1) > consecutiveErrorLimit (0): "Error Message: boom"`},
		{name: "failureLimit -1 waits for consecutive successes",
			metric: v1alpha1.Metric{Interval: "1m", FailureLimit: num(-1), ConsecutiveSuccessLimit: num(3)},
			phases: "FFSSFSSS", want: "Successful", at: 7 * time.Minute, count: 8},
		{name: "consecutiveSuccessLimit reached before count",
			metric: v1alpha1.Metric{Interval: "1m", Count: num(4), FailureLimit: num(3), ConsecutiveSuccessLimit: num(2)},
			phases: "SS", want: "Successful", at: time.Minute, count: 2},
		{name: "count reached, failureLimit violated, consecutive successes not reached",
			metric: v1alpha1.Metric{Interval: "1m", Count: num(4), FailureLimit: num(1), ConsecutiveSuccessLimit: num(2)},
			phases: "FSF", want: "Failed", message: `Metric "m" assessed Failed due to failed (2) > failureLimit (1)`,
			at: 2 * time.Minute, count: 3},
		{name: "count reached, no limit violated, consecutive successes not reached: Inconclusive",
			metric: v1alpha1.Metric{Interval: "1m", Count: num(4), FailureLimit: num(3), ConsecutiveSuccessLimit: num(2)},
			phases: "SFSF", want: "Inconclusive", at: 3 * time.Minute, count: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.metric.Name = "m"
			p := &script{phases: map[string]string{"m": tc.phases}}
			run, at := drive(t, newRun(tc.metric), p, 100)
			res := Result(run, "m")
			if run.Status.Phase != tc.want || run.Status.Message != tc.message || at != tc.at || res.Count != tc.count || res.Phase != tc.want {
				t.Errorf("got %s %q at %s, count %d, metric %s; want %s %q at %s, count %d",
					run.Status.Phase, run.Status.Message, at, res.Count, res.Phase, tc.want, tc.message, tc.at, tc.count)
			}
			if run.Status.CompletedAt == nil || !run.Status.CompletedAt.Time.Equal(t0.Add(at)) || !run.Status.StartedAt.Time.Equal(t0) {
				t.Errorf("startedAt %v completedAt %v", run.Status.StartedAt, run.Status.CompletedAt)
			}
			summary := run.Status.RunSummary
			if summary.Count != 1 || summary.Successful+summary.Failed+summary.Inconclusive+summary.Error != 1 {
				t.Errorf("run summary %+v", summary)
			}
		})
	}
}

func TestValidationRejectsFailureLimitWithoutConsecutiveSuccess(t *testing.T) {
	run, _ := drive(t, newRun(v1alpha1.Metric{Name: "m", FailureLimit: num(-1)}), &script{}, 1)
	if run.Status.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(run.Status.Message, "Analysis spec invalid: metrics[0]: failureLimit is disabled") {
		t.Errorf("%s %q", run.Status.Phase, run.Status.Message)
	}
}

func TestDryRunMetricsNeverFailTheRun(t *testing.T) {
	run := newRun(
		v1alpha1.Metric{Name: "total-5xx-errors", Interval: "1m", Count: num(2)},
		v1alpha1.Metric{Name: "total-4xx-errors", Interval: "1m", Count: num(2)},
	)
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "5xx"}}
	p := &script{phases: map[string]string{"total-5xx-errors": "F", "total-4xx-errors": "S"}}
	run, at := drive(t, run, p, 10)
	dry := Result(run, "total-5xx-errors")
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || at != time.Minute || !dry.DryRun || dry.Phase != v1alpha1.AnalysisPhaseFailed ||
		dry.Message != "Metric assessed Failed due to failed (1) > failureLimit (0)" {
		t.Errorf("run %s at %s, dry metric %+v", run.Status.Phase, at, dry)
	}
	// The dry-run metric ended at its first failure; it did not stop the other metric.
	if dry.Count != 1 || Result(run, "total-4xx-errors").Count != 2 {
		t.Errorf("counts %d %d", dry.Count, Result(run, "total-4xx-errors").Count)
	}
	if run.Status.RunSummary != (v1alpha1.RunSummary{Count: 1, Successful: 1}) ||
		*run.Status.DryRunSummary != (v1alpha1.RunSummary{Count: 1, Failed: 1}) {
		t.Errorf("summaries %+v %+v", run.Status.RunSummary, run.Status.DryRunSummary)
	}

	// All metrics dry: the run succeeds whatever they measure.
	all := newRun(v1alpha1.Metric{Name: "a"}, v1alpha1.Metric{Name: "b"})
	all.Spec.DryRun = []v1alpha1.DryRun{{MetricName: ".*"}}
	all, _ = drive(t, all, &script{phases: map[string]string{"a": "F", "b": "E"}}, 10)
	if all.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("all dry: %s %q", all.Status.Phase, all.Status.Message)
	}

	// A rule that matches nothing is a spec error.
	bad := newRun(v1alpha1.Metric{Name: "a"})
	bad.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "nothing"}}
	bad, _ = drive(t, bad, &script{}, 1)
	if bad.Status.Phase != v1alpha1.AnalysisPhaseError || bad.Status.Message != "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)" {
		t.Errorf("bad rule: %s %q", bad.Status.Phase, bad.Status.Message)
	}
}

func TestFailingMetricEndsTheRunAtOnce(t *testing.T) {
	run := newRun(
		v1alpha1.Metric{Name: "background", Interval: "1m"},
		v1alpha1.Metric{Name: "errors", Interval: "1m", FailureLimit: num(1)},
	)
	p := &script{phases: map[string]string{"errors": "SFF"}}
	run, at := drive(t, run, p, 10)
	if run.Status.Phase != v1alpha1.AnalysisPhaseFailed || at != 2*time.Minute ||
		Result(run, "background").Phase != v1alpha1.AnalysisPhaseSuccessful || len(p.asked) != 6 {
		t.Errorf("run %s at %s, background %s, %d measurements", run.Status.Phase, at, Result(run, "background").Phase, len(p.asked))
	}
}

func TestTerminate(t *testing.T) {
	p := &script{}
	indefinite := newRun(v1alpha1.Metric{Name: "m", Interval: "1m"})
	res := Step(context.Background(), indefinite, t0, Options{Providers: p})
	res = Step(context.Background(), res.Run, t0.Add(time.Minute), Options{Providers: p})
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseRunning || *res.Next != t0.Add(2*time.Minute) {
		t.Fatalf("running: %s next %v", res.Run.Status.Phase, res.Next)
	}
	stopped := res.Run.DeepCopy()
	stopped.Spec.Terminate = true
	res = Step(context.Background(), stopped, t0.Add(90*time.Second), Options{Providers: p})
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || res.Run.Status.Message != "Run Terminated" ||
		len(res.Measured) != 0 || res.Next != nil || Result(res.Run, "m").Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("terminated: %s %q measured %v next %v", res.Run.Status.Phase, res.Run.Status.Message, res.Measured, res.Next)
	}

	// Terminated before measuring anything.
	early := newRun(v1alpha1.Metric{Name: "m", InitialDelay: "5m"})
	early.Spec.Terminate = true
	res = Step(context.Background(), early, t0, Options{Providers: p})
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || res.Run.Status.Message != "Run Terminated" || len(res.Measured) != 0 {
		t.Errorf("early: %s %q %v", res.Run.Status.Phase, res.Run.Status.Message, res.Measured)
	}

	// Terminated after a failure beyond the limit: Failed.
	failing := newRun(v1alpha1.Metric{Name: "m", Interval: "1m", FailureLimit: num(-1), ConsecutiveSuccessLimit: num(5)},
		v1alpha1.Metric{Name: "n", Interval: "1m", FailureLimit: num(2)})
	p = &script{phases: map[string]string{"n": "FF"}}
	res = Step(context.Background(), failing, t0, Options{Providers: p})
	res.Run.Spec.Terminate = true
	res = Step(context.Background(), res.Run, t0.Add(time.Minute), Options{Providers: p})
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("under the limit: %s", res.Run.Status.Phase)
	}
}

func TestInitialDelay(t *testing.T) {
	run := newRun(v1alpha1.Metric{Name: "now"}, v1alpha1.Metric{Name: "later", InitialDelay: "5m"})
	p := &script{}
	res := Step(context.Background(), run, t0, Options{Providers: p})
	if strings.Join(res.Measured, ",") != "now" || res.Run.Status.Phase != v1alpha1.AnalysisPhaseRunning || *res.Next != t0.Add(5*time.Minute) {
		t.Fatalf("first step: %v %s %v", res.Measured, res.Run.Status.Phase, res.Next)
	}
	res = Step(context.Background(), res.Run, t0.Add(4*time.Minute), Options{Providers: p})
	if len(res.Measured) != 0 || *res.Next != t0.Add(5*time.Minute) {
		t.Fatalf("too early: %v %v", res.Measured, res.Next)
	}
	res = Step(context.Background(), res.Run, t0.Add(5*time.Minute), Options{Providers: p})
	if strings.Join(res.Measured, ",") != "later" || res.Run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || res.Next != nil {
		t.Errorf("at the delay: %v %s %v", res.Measured, res.Run.Status.Phase, res.Next)
	}
}

func TestDueAtTheExactInstant(t *testing.T) {
	metrics := []v1alpha1.Metric{{Name: "m", Interval: "30s"}}
	run := newRun(metrics...)
	at := metav1.NewTime(t0)
	RecordMeasurement(run, "m", v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, StartedAt: &at, FinishedAt: &at}, false, nil)
	for _, tc := range []struct {
		now  time.Duration
		want int
	}{{29 * time.Second, 0}, {30 * time.Second, 1}, {31 * time.Second, 1}} {
		if got := Due(run, metrics, t0.Add(tc.now)); len(got) != tc.want {
			t.Errorf("at +%s: %d due, want %d", tc.now, len(got), tc.want)
		}
	}
	if next := NextReconcile(run, metrics); next == nil || !next.Equal(t0.Add(30*time.Second)) {
		t.Errorf("next = %v", next)
	}
}

func TestMeasurementRetention(t *testing.T) {
	for _, tc := range []struct {
		rules []v1alpha1.MeasurementRetention
		want  int
	}{
		{nil, DefaultMeasurementRetention},
		{[]v1alpha1.MeasurementRetention{{MetricName: ".*", Limit: 12}}, 12},
		{[]v1alpha1.MeasurementRetention{{MetricName: "m", Limit: 3}}, 3},
		{[]v1alpha1.MeasurementRetention{{MetricName: "m", Limit: 0}}, DefaultMeasurementRetention},
	} {
		run := newRun(v1alpha1.Metric{Name: "m", Interval: "1m", Count: num(15)})
		run.Spec.MeasurementRetention = tc.rules
		run, _ = drive(t, run, &script{}, 100)
		res := Result(run, "m")
		if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || res.Count != 15 || len(res.Measurements) != tc.want ||
			!res.Measurements[len(res.Measurements)-1].FinishedAt.Time.Equal(t0.Add(14*time.Minute)) {
			t.Errorf("%v: %s count %d, kept %d, want %d", tc.rules, run.Status.Phase, res.Count, len(res.Measurements), tc.want)
		}
	}
}

func TestStepErrors(t *testing.T) {
	unsupported := newRun(v1alpha1.Metric{Name: "dd", Provider: v1alpha1.MetricProvider{Datadog: ptrTo(rawJSON(`{"query":"q"}`))}})
	missingArg := newRun(v1alpha1.Metric{Name: "m", SuccessCondition: "result > {{args.threshold}}"})
	noInterval := newRun(v1alpha1.Metric{Name: "m", Count: num(3)})
	for _, tc := range []struct {
		run  *v1alpha1.AnalysisRun
		opts Options
		want string
	}{
		{unsupported, Options{Providers: DefaultProviders{}},
			`Analysis spec invalid: metric "dd": provider datadog is not supported by rolloutlab (supported: prometheus, web)`},
		{missingArg, Options{Providers: &script{}},
			`Unable to resolve metric arguments: metric "m": failed to resolve {{args.threshold}}: no argument of that name has a value`},
		{noInterval, Options{Providers: &script{}}, "Analysis spec invalid: metrics[0]: interval must be specified when count > 1"},
	} {
		res := Step(context.Background(), tc.run, t0, tc.opts)
		if res.Run.Status.Phase != v1alpha1.AnalysisPhaseError || res.Run.Status.Message != tc.want || res.Next != nil ||
			res.Run.Status.CompletedAt == nil {
			t.Errorf("got %s %q, want Error %q", res.Run.Status.Phase, res.Run.Status.Message, tc.want)
		}
	}
}

func TestStepResolvesArgsAndSecretsAndRedacts(t *testing.T) {
	run := newRun(v1alpha1.Metric{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
		URL:     "http://api/{{args.service}}",
		Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{ args.token }}"}},
	}}})
	run.Spec.Args = []v1alpha1.Argument{
		{Name: "service", Value: val("guestbook")},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
	}
	leaky := ProviderFactoryFunc(func(v1alpha1.Metric) (Provider, error) { return leakingProvider{}, nil })
	secrets := func(ns, name, key string) (string, error) { return "hunter2", nil }
	res := Step(context.Background(), run, t0, Options{Providers: leaky, Secrets: secrets})
	m := Result(res.Run, "m").Measurements[0]
	if m.Message != "GET http://api/guestbook with Bearer *****" || m.Phase != v1alpha1.AnalysisPhaseError {
		t.Errorf("measurement %+v", m)
	}
	if strings.Contains(fmt.Sprint(res.Run), "hunter2") {
		t.Error("the secret leaked into the run")
	}

	// Without a way to read secrets, the run cannot measure.
	res = Step(context.Background(), run, t0, Options{Providers: leaky})
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseError ||
		!strings.HasPrefix(res.Run.Status.Message, `Unable to resolve metric arguments: argument "token" reads Secret s`) {
		t.Errorf("%s %q", res.Run.Status.Phase, res.Run.Status.Message)
	}
}

type leakingProvider struct{}

func (leakingProvider) Run(_ context.Context, metric v1alpha1.Metric, _ *v1alpha1.AnalysisRun) v1alpha1.Measurement {
	w := metric.Provider.Web
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: "GET " + w.URL + " with " + w.Headers[0].Value}
}

func TestStepLeavesItsInputAlone(t *testing.T) {
	run := newRun(v1alpha1.Metric{Name: "m", Interval: "1m", Count: num(2)})
	before := run.DeepCopy()
	res := Step(context.Background(), run, t0, Options{Providers: &script{}})
	if !equality.Semantic.DeepEqual(run, before) || res.Run == run {
		t.Error("Step modified its input")
	}
	done, _ := drive(t, run, &script{}, 10)
	again := Step(context.Background(), done, t0.Add(time.Hour), Options{Providers: &script{}})
	if again.Run != done || len(again.Measured) != 0 || again.Next != nil {
		t.Error("a completed run was stepped")
	}
}

func TestAssessMetricTable(t *testing.T) {
	measured := []v1alpha1.Measurement{{Phase: v1alpha1.AnalysisPhaseSuccessful}}
	for _, tc := range []struct {
		name        string
		metric      v1alpha1.Metric
		res         v1alpha1.MetricResult
		terminating bool
		want        v1alpha1.AnalysisPhase
	}{
		{"never measured", v1alpha1.Metric{}, v1alpha1.MetricResult{}, false, "Pending"},
		{"never measured, terminating", v1alpha1.Metric{}, v1alpha1.MetricResult{}, true, "Successful"},
		{"in flight", v1alpha1.Metric{}, v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{{Phase: "Running"}}}, false, "Running"},
		{"completed stays", v1alpha1.Metric{}, v1alpha1.MetricResult{Phase: "Failed"}, false, "Failed"},
		{"indefinite", v1alpha1.Metric{Interval: "1m"}, v1alpha1.MetricResult{Count: 9, Successful: 9, Measurements: measured}, false, "Running"},
		{"indefinite, terminating", v1alpha1.Metric{Interval: "1m"}, v1alpha1.MetricResult{Count: 9, Successful: 9, Measurements: measured}, true, "Successful"},
		{"error beats inconclusive beats failed", v1alpha1.Metric{Interval: "1m"},
			v1alpha1.MetricResult{Failed: 1, Inconclusive: 1, ConsecutiveError: 5, Measurements: measured}, false, "Error"},
		{"inconclusive beats failed", v1alpha1.Metric{Interval: "1m"},
			v1alpha1.MetricResult{Failed: 1, Inconclusive: 1, Measurements: measured}, false, "Inconclusive"},
		{"failureLimit -1 ignores failures", v1alpha1.Metric{Interval: "1m", FailureLimit: num(-1), ConsecutiveSuccessLimit: num(2)},
			v1alpha1.MetricResult{Failed: 50, Count: 50, Measurements: measured}, false, "Running"},
	} {
		if got := AssessMetric(tc.metric, tc.res, tc.terminating); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestIsWorse(t *testing.T) {
	order := []v1alpha1.AnalysisPhase{"Successful", "Running", "Pending", "Inconclusive", "Error", "Failed"}
	for i := range order {
		for j := range order {
			if IsWorse(order[i], order[j]) != (j > i) {
				t.Errorf("IsWorse(%s, %s) = %v", order[i], order[j], !(j > i))
			}
		}
	}
}

func rawJSON(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }
