package features

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/dist"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

func init() {
	// The analysis examples: the Istio guide's rollout with the analysis page's success-rate
	// template (its Istio query as written), in the background, as an inline step, or as a dry
	// run (scenarios/manifests/analysis-istio).
	for guide, file := range map[string]string{
		"background-analysis example": "manifests/analysis-istio/rollout-background.yaml",
		"inline-analysis example":     "manifests/analysis-istio/rollout-step.yaml",
		"dry-run analysis example":    "manifests/analysis-istio/rollout-dry-run.yaml",
	} {
		guideManifests[guide] = map[string]string{
			"templates":       "manifests/analysis-istio/templates.yaml",
			"rollout":         file,
			"services":        "manifests/istio/services.yaml",
			"virtualservices": "manifests/istio/multipleVirtualsvc.yaml",
			"gateway":         "manifests/istio/gateway.yaml",
		}
	}
}

// analysisPhase matches an AnalysisRun's (or a metric's) phase, in any case.
const analysisPhase = `((?i:pending|running|successful|failed|error|inconclusive))`

// analysisRunType spells a kind of AnalysisRun as its rollout-type label does.
var analysisRunType = map[string]string{
	"step":           rollout.RolloutTypeStep,
	"background":     rollout.RolloutTypeBackground,
	"pre-promotion":  rollout.RolloutTypePrePromotion,
	"post-promotion": rollout.RolloutTypePostPromotion,
}

// registerAnalysisSteps is the vocabulary of analysis: a bad version (in the simulation), the
// metrics provider going down, the rollout's AnalysisRuns and their metrics, and how many
// requests failed (features/README.md lists it).
func registerAnalysisSteps(sc *godog.ScenarioContext, r *run) {
	rp := func(fn any) any { return replayable(r, fn) }

	sc.Step(`^(?:I apply )?the (background-analysis example|inline-analysis example|dry-run analysis example)'s `+
		`((?:templates|rollout|services|virtualservices|gateway)(?:(?:, | and )(?:templates|rollout|services|virtualservices|gateway))*)(?: (?:is|are) applied)?$`, rp(r.applyGuide))

	// A knob of the simulation only, like its seed: on a cluster, a bad version is an image that
	// behaves so.
	sc.Step(`^the image (\S+) fails (\d+(?:\.\d)?)% of its requests$`, rp(func(image, pct string) error {
		return r.configure("the image "+image+" fails "+pct+"% of its requests", func(d driver) error {
			sd, ok := d.(*simDriver)
			if !ok {
				return fmt.Errorf("a version that fails on purpose is a knob of the simulation only")
			}
			p, err := strconv.ParseFloat(pct, 64)
			if err != nil || p > 100 {
				return fmt.Errorf("%s%%: a share is a percentage from 0 to 100", pct)
			}
			return sd.appFault(image, sim.AppFault{ErrorRate: dist.PerMille(p*10 + 0.5)})
		})
	}))

	// The metrics provider's outage.
	sc.Step(`^Prometheus is down for (.+)$`, rp(func(down string) error {
		dur, err := parseDuration(down)
		if err != nil {
			return err
		}
		if dur <= 0 {
			return fmt.Errorf("say how long Prometheus is down (more than 0)")
		}
		r.acted = true
		return r.drv.StopPrometheus(dur)
	}))

	// The rollout's AnalysisRuns.
	sc.Step(`^the latest (?:(step|background|pre-promotion|post-promotion) )?AnalysisRun (is|becomes) `+analysisPhase+`(?: with message "([^"]*)")?(?: within (.+))?$`, rp(func(typ, verb, ph, msg, within string) error {
		want := phaseName(ph)
		return r.holds(waitFor(verb, within), func() error {
			ar, runs, err := r.latestAnalysisRun(typ)
			if err != nil {
				return err
			}
			if string(ar.Status.Phase) != want || !strings.Contains(ar.Status.Message, msg) {
				return fmt.Errorf("the latest %sAnalysisRun, %s, is %s, want %s%s; the rollout's AnalysisRuns:\n    %s",
					spaced(typ), ar.Name, describeRun(ar), want, inParens(withMessage(msg)), strings.Join(runs, "\n    "))
			}
			return nil
		})
	}))
	sc.Step(`^the metric ([\w.-]+) of the latest (?:(step|background|pre-promotion|post-promotion) )?AnalysisRun (is|becomes) `+analysisPhase+`(?: within (.+))?$`, rp(func(metric, typ, verb, ph, within string) error {
		want := phaseName(ph)
		return r.holds(waitFor(verb, within), func() error {
			ar, _, err := r.latestAnalysisRun(typ)
			if err != nil {
				return err
			}
			var names []string
			for _, res := range ar.Status.MetricResults {
				if res.Name != metric {
					names = append(names, res.Name)
					continue
				}
				if string(res.Phase) != want {
					var ms []string
					for _, m := range res.Measurements {
						ms = append(ms, string(m.Phase)+inParens(m.Value)+inParens(m.Message))
					}
					return fmt.Errorf("the metric %s of %s is %s%s after %d measurements (%d successful, %d failed, %d inconclusive, %d errors), want %s; its measurements (those kept), oldest first:\n    %s",
						metric, ar.Name, res.Phase, inParens(res.Message), res.Count, res.Successful, res.Failed, res.Inconclusive, res.Error, want, strings.Join(ms, "\n    "))
				}
				return nil
			}
			return fmt.Errorf("%s (%s) has no result for the metric %s yet (it has: %s)", ar.Name, describeRun(ar), metric, strings.Join(names, ", "))
		})
	}))
	sc.Step(`^the rollout has (no|\d+) AnalysisRuns?$`, rp(func(n string) error {
		ro, err := r.target()
		if err != nil {
			return err
		}
		runs, err := r.drv.AnalysisRuns(ro)
		if err != nil {
			return err
		}
		if want := int(*int32p(n)); len(runs) != want {
			return fmt.Errorf("the rollout has %d AnalysisRuns, want %d:\n    %s", len(runs), want, strings.Join(describeRuns(runs), "\n    "))
		}
		return nil
	}))

	// The rollout, watched while time passes.
	sc.Step(`^the rollout becomes `+phase+`(?: with message "([^"]*)")? before (?:it reaches )?step (\d+)(?: within (.+))?$`, rp(func(ph, msg, k, within string) error {
		ro, err := r.target()
		if err != nil {
			return err
		}
		step, _ := strconv.Atoi(k)
		want := phaseName(ph)
		var reached string // the first state seen at step k or beyond
		err = r.holds(orDefault(within), func() error {
			st, err := r.drv.State(ro)
			if err != nil {
				return err
			}
			idx, _, _ := strings.Cut(st.Step, "/")
			if i, err := strconv.Atoi(idx); err == nil && i >= step && reached == "" {
				reached = describe(st)
			}
			if st.Phase != want || !strings.Contains(st.Message, msg) {
				return fmt.Errorf("the rollout is %s, want %s%s", describe(st), want, inParens(withMessage(msg)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if reached != "" {
			return fmt.Errorf("the rollout reached step %d before it became %s: %s", step, want, reached)
		}
		return nil
	}))
	// Messages that hold double quotes (`Metric "success-rate" assessed Failed`).
	sc.Step(`^the rollout's message contains '([^']*)'$`, rp(func(msg string) error {
		return r.expect(scenario.Expectation{Message: msg}, "")
	}))

	// The clients' requests.
	sc.Step(`^at most (\d+) requests? failed$`, rp(func(n string) error {
		st, err := r.requests()
		if err != nil {
			return err
		}
		r.failedSeen = st.Failed
		if limit, _ := strconv.Atoi(n); st.Failed > limit {
			return fmt.Errorf("%d of %d requests failed, want at most %d:\n    %s", st.Failed, st.Total, limit, strings.Join(st.Report(), "\n    "))
		}
		return nil
	}))
}

// waitFor is how long a step lets time pass: "is" checks now, "becomes" waits (5 minutes
// unless within says otherwise).
func waitFor(verb, within string) string {
	if verb == "becomes" {
		return orDefault(within)
	}
	return within
}

// latestAnalysisRun is the rollout's newest AnalysisRun of a type ("" for any), and a line for
// each of its runs, for messages.
func (r *run) latestAnalysisRun(typ string) (*v1alpha1.AnalysisRun, []string, error) {
	ro, err := r.target()
	if err != nil {
		return nil, nil, err
	}
	runs, err := r.drv.AnalysisRuns(ro)
	if err != nil {
		return nil, nil, err
	}
	var latest *v1alpha1.AnalysisRun
	for i := range runs {
		if typ == "" || runs[i].Labels[rollout.RolloutTypeLabel] == analysisRunType[typ] {
			latest = &runs[i]
		}
	}
	lines := describeRuns(runs)
	switch {
	case len(runs) == 0:
		return nil, nil, fmt.Errorf("the rollout has no AnalysisRun")
	case latest == nil:
		return nil, nil, fmt.Errorf("the rollout has no %sAnalysisRun; its AnalysisRuns:\n    %s", spaced(typ), strings.Join(lines, "\n    "))
	}
	return latest, lines, nil
}

func describeRuns(runs []v1alpha1.AnalysisRun) []string {
	var out []string
	for i := range runs {
		out = append(out, fmt.Sprintf("%s (%s): %s", runs[i].Name, runs[i].Labels[rollout.RolloutTypeLabel], describeRun(&runs[i])))
	}
	return out
}

func describeRun(ar *v1alpha1.AnalysisRun) string {
	ph := string(ar.Status.Phase)
	if ph == "" {
		ph = "Pending"
	}
	return ph + inParens(ar.Status.Message)
}

func spaced(s string) string {
	if s == "" {
		return ""
	}
	return s + " "
}

func withMessage(msg string) string {
	if msg == "" {
		return ""
	}
	return fmt.Sprintf("with a message containing %q", msg)
}

// The simulation's side of analysis.

// appFault makes every pod running image misbehave (a knob of the simulation only).
func (d *simDriver) appFault(image string, f sim.AppFault) error {
	return d.configure(func(c *sim.Config) {
		apps := maps.Clone(c.Apps)
		if apps == nil {
			apps = map[string]sim.AppFault{}
		}
		apps[image] = f
		c.Apps = apps
	})
}

func (d *simDriver) StopPrometheus(down time.Duration) error {
	p := d.w.Prometheus
	if p == nil {
		return fmt.Errorf("the world has no Prometheus")
	}
	if p.Down {
		return fmt.Errorf("Prometheus is already down")
	}
	d.used = true
	p.Down = true
	d.w.Kernel.After(down, "prometheus/up", "", func() { p.Down = false })
	return nil
}

func (d *simDriver) AnalysisRuns(rollout string) ([]v1alpha1.AnalysisRun, error) {
	ro, err := d.rollout(rollout)
	if err != nil {
		return nil, err
	}
	var out []v1alpha1.AnalysisRun
	for _, ar := range sim.AnalysisRunsOf(d.w.Cluster.Store, ro) {
		out = append(out, *ar.DeepCopy())
	}
	return out, nil
}
