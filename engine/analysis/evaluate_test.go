package analysis

import (
	"math"
	"strings"
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The examples of Argo's docs/features/analysis.md ("Handling Metric Results", "Inconclusive
// Runs", web.md) with the phase each documents.
func TestEvaluateResultDocExamples(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name             string
		success, failure string
		result           any
		want             v1alpha1.AnalysisPhase
	}{
		{"NaN successful", "isNaN(result) || result >= 0.95", "", nan, v1alpha1.AnalysisPhaseSuccessful},
		{"NaN inconclusive", "result >= 0.95", "result < 0.95", nan, v1alpha1.AnalysisPhaseInconclusive},
		{"NaN failed", "result >= 0.95", "", nan, v1alpha1.AnalysisPhaseFailed},
		{"Inf successful", "result >= 0.95", "", inf, v1alpha1.AnalysisPhaseSuccessful},
		{"Inf failed", "", "isInf(result)", inf, v1alpha1.AnalysisPhaseFailed},
		{"empty vector successful", "len(result) == 0 || result[0] >= 0.95", "", []float64{}, v1alpha1.AnalysisPhaseSuccessful},
		{"empty vector failed", "len(result) > 0 && result[0] >= 0.95", "", []float64{}, v1alpha1.AnalysisPhaseFailed},
		{"default of nil", "default(result, 0) < 0.05", "", nil, v1alpha1.AnalysisPhaseSuccessful},
		{"default of value", "default(result, 0) < 0.05", "", 0.5, v1alpha1.AnalysisPhaseFailed},
		{"vector", "result[0] >= 0.95", "", []float64{0.97}, v1alpha1.AnalysisPhaseSuccessful},
		{"vector below", "result[0] >= 0.95", "", []float64{0.5}, v1alpha1.AnalysisPhaseFailed},
		{"failure limit style", "", "result[0] >= 10", []float64{3}, v1alpha1.AnalysisPhaseSuccessful},
		{"both, neither holds", "result[0] >= 0.90", "result[0] < 0.50", []float64{0.7}, v1alpha1.AnalysisPhaseInconclusive},
		{"both, failure wins", "result[0] >= 0", "result[0] < 0.50", []float64{0.2}, v1alpha1.AnalysisPhaseFailed},
		// Argo's code (not its docs, which call this Inconclusive) makes a metric without
		// conditions Successful.
		{"no conditions", "", "", 1.0, v1alpha1.AnalysisPhaseSuccessful},
		{"web object", "result.ok && result.successPercent >= 0.90", "",
			map[string]any{"ok": true, "successPercent": 0.95}, v1alpha1.AnalysisPhaseSuccessful},
		{"web string", "result == 'true'", "", "true", v1alpha1.AnalysisPhaseSuccessful},
		{"web bool", "result == true", "", false, v1alpha1.AnalysisPhaseFailed},
		{"asInt of string", "asInt(result) >= 3", "", "4", v1alpha1.AnalysisPhaseSuccessful},
		{"asFloat of string", "asFloat(result) < 0.5", "", "0.25", v1alpha1.AnalysisPhaseSuccessful},
		{"isNil", "isNil(result)", "", nil, v1alpha1.AnalysisPhaseSuccessful},
		{"pointer result", "result > 1", "", ptrTo(2.0), v1alpha1.AnalysisPhaseSuccessful},
		{"builtins", "all(result, # > 0.9) && max(result) < 1 && abs(-1) == 1", "", []float64{0.95, 0.99}, v1alpha1.AnalysisPhaseSuccessful},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := v1alpha1.Metric{Name: "m", SuccessCondition: tc.success, FailureCondition: tc.failure}
			got, err := EvaluateResult(tc.result, m)
			if err != nil || got != tc.want {
				t.Errorf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestEvaluateResultErrors(t *testing.T) {
	for _, tc := range []struct {
		condition string
		result    any
		wantErr   string
	}{
		{"result[0] >= 0.95", []float64{}, "out of range"},
		{"result", 1.0, "expected bool, but got float64"},
		{"result >=", 1.0, "unexpected token"},
		{"asInt(result) > 1", "x", "invalid syntax"},
		{"nope > 1", 1.0, "unknown name nope"},
		{"now() != nil", 1.0, "now"},
		// Datadog's documented failure mode: comparing nil.
		{"result < 0.05", nil, "invalid operation"},
	} {
		got, err := EvaluateResult(tc.result, v1alpha1.Metric{SuccessCondition: tc.condition})
		if got != v1alpha1.AnalysisPhaseError || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s on %v: got %s, %v; want Error with %q", tc.condition, tc.result, got, err, tc.wantErr)
		}
	}
}
