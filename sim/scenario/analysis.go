package scenario

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/sim"
)

// AnalysisRunExpectation is a fact about the rollout's newest AnalysisRun (of a type, when Type
// is set): its phase, and a substring of its message.
type AnalysisRunExpectation struct {
	Type    string // Step, Background, PrePromotion or PostPromotion; "" for any
	Phase   string
	Message string
}

var analysisRunTypes = []string{rollout.RolloutTypeStep, rollout.RolloutTypeBackground, rollout.RolloutTypePrePromotion, rollout.RolloutTypePostPromotion}

var analysisPhases = []string{string(v1alpha1.AnalysisPhasePending), string(v1alpha1.AnalysisPhaseRunning), string(v1alpha1.AnalysisPhaseSuccessful),
	string(v1alpha1.AnalysisPhaseFailed), string(v1alpha1.AnalysisPhaseError), string(v1alpha1.AnalysisPhaseInconclusive)}

// parseAnalysisRun reads analysisRun: {type, phase, message}.
func parseAnalysisRun(n *yaml.Node, p string) (*AnalysisRunExpectation, error) {
	es, err := fields(n, p, "type", "phase", "message")
	if err != nil {
		return nil, err
	}
	x := &AnalysisRunExpectation{}
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "type":
			if x.Type, err = str(e.value, fp); err == nil && !contains(analysisRunTypes, x.Type) {
				err = errAt(e.value, fp, "want %s, got %q", strings.Join(analysisRunTypes, ", "), x.Type)
			}
		case "phase":
			if x.Phase, err = str(e.value, fp); err == nil && !contains(analysisPhases, x.Phase) {
				err = errAt(e.value, fp, "want %s, got %q", strings.Join(analysisPhases, ", "), x.Phase)
			}
		case "message":
			x.Message, err = str(e.value, fp)
		}
		if err != nil {
			return nil, err
		}
	}
	return x, nil
}

// checkAnalysis compares the rollout's AnalysisRuns with the expectation.
func checkAnalysis(w *sim.World, ro *v1alpha1.Rollout, x Expectation, differs func(what string, got, want any)) {
	runs := sim.AnalysisRunsOf(w.Cluster.Store, ro)
	if x.AnalysisRuns != nil && len(runs) != *x.AnalysisRuns {
		differs("number of AnalysisRuns", len(runs), *x.AnalysisRuns)
	}
	want := x.AnalysisRun
	if want == nil {
		return
	}
	var newest *v1alpha1.AnalysisRun
	for _, ar := range runs {
		if want.Type == "" || ar.Labels[rollout.RolloutTypeLabel] == want.Type {
			newest = ar
		}
	}
	what := "the newest AnalysisRun"
	if want.Type != "" {
		what = fmt.Sprintf("the newest %s AnalysisRun", want.Type)
	}
	if newest == nil {
		differs(what, "missing", "one")
		return
	}
	if want.Phase != "" && string(newest.Status.Phase) != want.Phase {
		differs(what+" ("+newest.Name+")", string(newest.Status.Phase)+describeMessage(newest.Status.Message), want.Phase)
	}
	if want.Message != "" && !strings.Contains(newest.Status.Message, want.Message) {
		differs("message of "+newest.Name, fmt.Sprintf("%q", newest.Status.Message), fmt.Sprintf("one containing %q", want.Message))
	}
}
