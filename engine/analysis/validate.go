package analysis

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Limits are a metric's schedule and tolerances with Argo's defaults applied.
type Limits struct {
	// Count is the number of measurements to take; 0 means no limit (an interval and no count).
	Count int
	// Interval between measurements; 0 when unset (a single measurement).
	Interval time.Duration
	// InitialDelay before the first measurement, from the run's start.
	InitialDelay time.Duration
	// FailureLimit is the number of Failed measurements tolerated; -1 disables the limit.
	FailureLimit int
	// InconclusiveLimit is the number of Inconclusive measurements tolerated.
	InconclusiveLimit int
	// ConsecutiveErrorLimit is the number of errors in a row tolerated (default 4).
	ConsecutiveErrorLimit int
	// ConsecutiveSuccessLimit ends the metric Successful after that many successes in a row; 0
	// disables it.
	ConsecutiveSuccessLimit int
}

// MetricLimits reads a metric's schedule and limits. Integer fields may be strings (after
// argument substitution, "{{args.count}}" becomes "5"); a string that is not an integer is an error,
// where Argo silently reads it as 0.
func MetricLimits(m v1alpha1.Metric) (Limits, error) {
	var l Limits
	var err error
	ints := []struct {
		name string
		v    *intstr.IntOrString
		def  int
		out  *int
	}{
		{"count", m.Count, 0, &l.Count},
		{"failureLimit", m.FailureLimit, 0, &l.FailureLimit},
		{"inconclusiveLimit", m.InconclusiveLimit, 0, &l.InconclusiveLimit},
		{"consecutiveErrorLimit", m.ConsecutiveErrorLimit, v1alpha1.DefaultConsecutiveErrorLimit, &l.ConsecutiveErrorLimit},
		{"consecutiveSuccessLimit", m.ConsecutiveSuccessLimit, 0, &l.ConsecutiveSuccessLimit},
	}
	for _, f := range ints {
		if *f.out, err = intValue(f.v, f.def); err != nil {
			return Limits{}, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if l.Interval, err = duration(m.Interval); err != nil {
		return Limits{}, fmt.Errorf("invalid interval string: %w", err)
	}
	if l.InitialDelay, err = duration(m.InitialDelay); err != nil {
		return Limits{}, fmt.Errorf("invalid initialDelay string: %w", err)
	}
	// Neither count nor interval: one measurement. An interval alone: no limit.
	if l.Count <= 0 {
		l.Count = 0
		if m.Interval == "" {
			l.Count = 1
		}
	}
	return l, nil
}

func intValue(v *intstr.IntOrString, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if v.Type == intstr.Int {
		return int(v.IntVal), nil
	}
	n, err := strconv.Atoi(v.StrVal)
	if err != nil {
		return 0, fmt.Errorf("must be an integer, not %q", v.StrVal)
	}
	return n, nil
}

func duration(d v1alpha1.DurationString) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return time.ParseDuration(string(d))
}

// ValidateMetrics checks a run's metrics (after argument substitution) with Argo's rules: at least
// one metric, unique names, and for each metric valid durations and limits, an interval when more
// than one measurement is asked for, and exactly one provider.
func ValidateMetrics(metrics []v1alpha1.Metric) error {
	if len(metrics) == 0 {
		return fmt.Errorf("no metrics specified")
	}
	seen := map[string]bool{}
	for i, m := range metrics {
		if seen[m.Name] {
			return fmt.Errorf("metrics[%d]: duplicate name '%s'", i, m.Name)
		}
		seen[m.Name] = true
		if err := ValidateMetric(m); err != nil {
			return fmt.Errorf("metrics[%d]: %w", i, err)
		}
	}
	return nil
}

// ValidateMetric checks one metric; see ValidateMetrics.
func ValidateMetric(m v1alpha1.Metric) error {
	l, err := MetricLimits(m)
	if err != nil {
		return err
	}
	if m.Count != nil && l.Count > 0 {
		if l.Count < l.FailureLimit {
			return fmt.Errorf("count must be >= failureLimit")
		}
		if l.Count < l.InconclusiveLimit {
			return fmt.Errorf("count must be >= inconclusiveLimit")
		}
		if l.Count < l.ConsecutiveSuccessLimit {
			return fmt.Errorf("count must be >= consecutiveSuccessLimit")
		}
	}
	if l.Count > 1 && m.Interval == "" {
		return fmt.Errorf("interval must be specified when count > 1")
	}
	switch {
	case l.FailureLimit < -1:
		return fmt.Errorf("failureLimit must be >= -1")
	case l.InconclusiveLimit < 0:
		return fmt.Errorf("inconclusiveLimit must be >= 0")
	case l.ConsecutiveErrorLimit < 0:
		return fmt.Errorf("consecutiveErrorLimit must be >= 0")
	case l.ConsecutiveSuccessLimit < 0:
		return fmt.Errorf("consecutiveSuccessLimit must be >= 0")
	case l.FailureLimit == -1 && l.ConsecutiveSuccessLimit == 0:
		return fmt.Errorf("failureLimit is disabled (-1), so consecutiveSuccessLimit must be > 0: " +
			"one of them has to decide the outcome")
	}
	switch n := len(m.Provider.Types()); {
	case n == 0:
		return fmt.Errorf("no provider specified")
	case n > 1:
		return fmt.Errorf("multiple providers specified")
	}
	return nil
}

// DryRunMetrics says which metrics run in dry-run mode. Each rule's metricName is a regular
// expression matched anywhere in the name (Argo's regexp.MatchString); a rule that matches no
// metric is an error.
func DryRunMetrics(rules []v1alpha1.DryRun, metrics []v1alpha1.Metric) (map[string]bool, error) {
	dry := map[string]bool{}
	for i, rule := range rules {
		names, err := matchMetrics(rule.MetricName, metrics)
		if err != nil {
			return nil, fmt.Errorf("dryRun[%d]: %w", i, err)
		}
		for _, n := range names {
			dry[n] = true
		}
	}
	return dry, nil
}

// RetentionLimits gives the number of measurements to keep per metric where a measurementRetention
// rule (a regular expression, as for dry-run) sets one above 0; a later rule wins.
func RetentionLimits(rules []v1alpha1.MeasurementRetention, metrics []v1alpha1.Metric) (map[string]int, error) {
	limits := map[string]int{}
	for i, rule := range rules {
		names, err := matchMetrics(rule.MetricName, metrics)
		if err != nil {
			return nil, fmt.Errorf("measurementRetention[%d]: %w", i, err)
		}
		for _, n := range names {
			if rule.Limit > 0 {
				limits[n] = int(rule.Limit)
			} else {
				delete(limits, n)
			}
		}
	}
	return limits, nil
}

func matchMetrics(pattern string, metrics []v1alpha1.Metric) ([]string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("metricName %q is not a regular expression: %w", pattern, err)
	}
	var names []string
	for _, m := range metrics {
		if re.MatchString(m.Name) {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("Rule didn't match any metric name(s)")
	}
	return names, nil
}
