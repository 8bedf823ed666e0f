package scenario_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// analysisSettled is where a run of an analysis scenario ends: the rollout, and its runs by name
// and phase.
func analysisSettled(t *testing.T, res *scenario.Result) string {
	t.Helper()
	w := res.World
	if _, err := w.Kernel.RunUntil(w.Kernel.Now().Add(10*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	ro, err := w.UserRollouts.Rollouts("default").Get(w.Context(), "rollouts-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := sim.ObserveState(w.Cluster.Store, ro)
	out := fmt.Sprintf("%s %s %v abort=%v", st.Phase, st.Step, st.Revisions, st.Abort)
	for _, ar := range sim.AnalysisRunsOf(w.Cluster.Store, ro) {
		out += fmt.Sprintf(" %s=%s", strings.TrimPrefix(ar.Name, "rollouts-demo-"), ar.Status.Phase)
	}
	return out
}

// The controller dies before each of its writes in turn in the analysis scenarios, among them
// between creating an AnalysisRun and naming it in the status: the restarted controller adopts
// the run it finds instead of creating a second one, and every run ends as without the crash.
func TestAnalysisScenariosSurviveACrashBetweenAnyTwoWrites(t *testing.T) {
	for _, name := range []string{"analysis-step-pass.yaml", "analysis-background-fail.yaml"} {
		t.Run(name, func(t *testing.T) {
			sc := load(t, name)
			base, err := scenario.Run(sc, scenario.Options{})
			if err != nil || !base.Passed() {
				t.Fatal(err, base.Failure)
			}
			writes := base.World.Engine.Writes
			want := analysisSettled(t, base)
			step := 1
			if testing.Short() {
				step = 5
			}
			for p := 1; p <= writes; p += step {
				res, err := scenario.Run(sc, scenario.Options{Prepare: func(w *sim.World) { w.Engine.DieAtWrite(p, time.Second) }})
				if err != nil {
					t.Fatalf("crash at write %d: %v", p, err)
				}
				if !res.Passed() {
					t.Fatalf("crash at write %d: %s", p, res.Failure)
				}
				if got := analysisSettled(t, res); got != want {
					t.Fatalf("crash at write %d: settled as\n  %s\nwithout the crash:\n  %s", p, got, want)
				}
			}
		})
	}
}

func TestAnalysisExpectationsParse(t *testing.T) {
	_, err := scenario.Parse("x.yaml", []byte(`name: x
manifests: {rollout: r.yaml}
timeline:
- expect: {analysisRuns: 2, analysisRun: {type: Sideways, phase: Failed}}
`))
	if err == nil || !strings.Contains(err.Error(), "analysisRun.type") {
		t.Fatalf("want an error naming analysisRun.type, got %v", err)
	}
	sc, err := scenario.Parse("x.yaml", []byte(`name: x
manifests: {rollout: r.yaml}
timeline:
- expect: {analysisRuns: 2, analysisRun: {type: Background, phase: Failed, message: limit}}
`))
	if err != nil {
		t.Fatal(err)
	}
	x := sc.Timeline[0].Expect
	if *x.AnalysisRuns != 2 || *x.AnalysisRun != (scenario.AnalysisRunExpectation{Type: "Background", Phase: "Failed", Message: "limit"}) {
		t.Errorf("parsed %+v %+v", *x.AnalysisRuns, *x.AnalysisRun)
	}
}
