package features

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// defaultWait bounds "the rollout becomes ..." when the step gives no "within".
const defaultWait = 5 * time.Minute

// phase matches a rollout phase, in any case.
const phase = `((?i:healthy|paused|degraded|progressing))`

// registerSteps is the whole step vocabulary (features/README.md lists it). Steps phrased "is",
// "has", "run", "include" check the present; "becomes", "reaches" and "within D" let time pass
// until the statement holds, and fail with what still differs when it does not.
func registerSteps(sc *godog.ScenarioContext, r *run) {
	// Each step is registered here, not through a helper, so godog's output points at its line.
	rp := func(fn any) any { return replayable(r, fn) }

	// Setting up.
	sc.Step(`^the simulation seed is (\d+)$`, rp(func(seed string) error {
		n, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			return err
		}
		return r.setSeed(n)
	}))
	sc.Step(`^(?:I apply )?(?:the|a|an) (?:[\w'-]+ )*manifest(?: is applied)?:$`, rp(r.applyDocString))
	sc.Step(`^(?:I apply )?the (basic canary guide|ALB guide|ALB ping-pong example|ALB blue-green example|Istio guide|Istio guide text|Istio subset example|Istio header-route example)'s `+
		`((?:rollout|services?|ingress|virtualservices?|gateway|destinationrule)(?:(?:, | and )(?:rollout|services?|ingress|virtualservices?|gateway|destinationrule))*)(?: (?:is|are) applied)?$`, rp(r.applyGuide))
	sc.Step(`^I note the ReplicaSets$`, rp(func() error { r.note("I noted them"); return nil }))

	// Acting as the user (kubectl argo rollouts ...).
	sc.Step(`^I set the image of container "?([^"\s]+)"? to "?([^"\s]+)"?$`, rp(func(container, image string) error {
		return r.act("set image", func(d driver, ro string) error { return d.SetImage(ro, container, image) })
	}))
	sc.Step(`^I update the rollout to image "?([^"\s]+)"?$`, rp(func(image string) error {
		return r.act("set image", func(d driver, ro string) error { return d.SetImage(ro, "*", image) })
	}))
	sc.Step(`^I promote the rollout$`, rp(func() error {
		return r.act("promote", func(d driver, ro string) error { return d.Promote(ro, false) })
	}))
	sc.Step(`^I (?:fully promote the rollout|promote the rollout fully|promote the rollout with --full)$`, rp(func() error {
		return r.act("promote --full", func(d driver, ro string) error { return d.Promote(ro, true) })
	}))
	sc.Step(`^I abort the rollout$`, rp(func() error { return r.act("abort", driver.Abort) }))
	sc.Step(`^I retry the rollout$`, rp(func() error { return r.act("retry", driver.Retry) }))
	sc.Step(`^I pause the rollout$`, rp(func() error { return r.act("pause", driver.Pause) }))
	sc.Step(`^I resume the rollout$`, rp(func() error { return r.act("resume", driver.Resume) }))
	sc.Step(`^I undo the rollout(?: to revision (\d+))?$`, rp(func(rev string) error {
		n, _ := strconv.ParseInt(rev, 10, 64) // "" is 0: the revision before the current one
		return r.act("undo", func(d driver, ro string) error { return d.Undo(ro, n) })
	}))

	// Time and faults.
	sc.Step(`^(\d+(?:\.\d+)? \w+|an? \w+) pass(?:es)?$`, rp(func(d string) error {
		dur, err := parseDuration(d)
		if err != nil {
			return err
		}
		r.acted = true
		return r.drv.Advance(dur)
	}))
	sc.Step(`^the controller crashes(?: and restarts after (.+))?$`, rp(func(down string) error {
		dur := time.Duration(0) // restarts at once: it still loses all it held in memory
		if down != "" {
			var err error
			if dur, err = parseDuration(down); err != nil {
				return err
			}
		}
		r.acted = true
		return r.drv.CrashController(dur)
	}))

	// Waiting.
	sc.Step(`^the rollout becomes `+phase+`(?: with message "([^"]*)")?(?: within (.+))?$`, rp(func(ph, msg, within string) error {
		return r.expect(scenario.Expectation{Phase: phaseName(ph), Message: msg}, orDefault(within))
	}))
	sc.Step(`^the rollout reaches step (\d+)(?: within (.+))?$`, rp(func(k, within string) error {
		s, err := r.stepOf(k)
		if err != nil {
			return err
		}
		return r.expect(scenario.Expectation{Step: s}, orDefault(within))
	}))

	// Checking.
	sc.Step(`^the rollout is `+phase+`(?: with message "([^"]*)")?$`, rp(func(ph, msg string) error {
		return r.expect(scenario.Expectation{Phase: phaseName(ph), Message: msg}, "")
	}))
	sc.Step(`^the rollout is paused at step (\d+)(?: with canary weight (\d+))?$`, rp(func(k, weight string) error {
		s, err := r.stepOf(k)
		if err != nil {
			return err
		}
		x := scenario.Expectation{Phase: "Paused", Step: s}
		if weight != "" {
			x.Weight = int32p(weight)
		}
		return r.expect(x, "")
	}))
	sc.Step(`^the rollout is at step (\d+)(?: of (\d+))?$`, rp(func(k, n string) error {
		s := k + "/" + n
		if n == "" {
			var err error
			if s, err = r.stepOf(k); err != nil {
				return err
			}
		}
		return r.expect(scenario.Expectation{Step: s}, "")
	}))
	sc.Step(`^the canary weight is (\d+)$`, rp(func(w string) error {
		return r.expect(scenario.Expectation{Weight: int32p(w)}, "")
	}))
	sc.Step(`^the stable revision is (\d+)$`, rp(func(rev string) error {
		n, err := strconv.ParseInt(rev, 10, 64)
		if err != nil {
			return err
		}
		return r.expect(scenario.Expectation{Stable: &n}, "")
	}))
	sc.Step(`^the rollout's message contains "([^"]*)"$`, rp(func(msg string) error {
		return r.expect(scenario.Expectation{Message: msg}, "")
	}))
	sc.Step(`^(\d+) of (\d+) pods? runs? the new version$`, rp(r.podsOfNewVersion))
	sc.Step(`^(no|\d+) pods? runs? revision (\d+)(?: within (.+))?$`, rp(func(n, rev, within string) error {
		revision, err := strconv.ParseInt(rev, 10, 64)
		if err != nil {
			return err
		}
		pods := *int32p(n)
		x := scenario.Expectation{Revisions: map[int64]scenario.SpecAvailable{revision: {Spec: pods, Available: pods}}}
		return r.expect(x, within)
	}))
	sc.Step(`^the [Ss]ervice ([\w.-]+) selects revision (\d+)(?: within (.+))?$`, rp(func(svc, rev, within string) error {
		n, err := strconv.ParseInt(rev, 10, 64)
		if err != nil {
			return err
		}
		return r.expect(scenario.Expectation{Services: map[string]int64{svc: n}}, within)
	}))
	sc.Step(`^the rollout has (no|\d+) ReplicaSets?$`, rp(func(n string) error {
		c := int(*int32p(n))
		return r.expect(scenario.Expectation{ReplicaSets: &c}, "")
	}))
	sc.Step(`^no new ReplicaSet was created$`, rp(func() error {
		created, err := r.createdSinceNoted()
		if err != nil {
			return err
		}
		if len(created) > 0 {
			return fmt.Errorf("ReplicaSets created since %s: %s", r.notedAt, strings.Join(created, ", "))
		}
		return nil
	}))
	sc.Step(`^the events for the rollout include "([^"]*)"$`, rp(func(what string) error {
		ro, err := r.target()
		if err != nil {
			return err
		}
		events, err := r.drv.Events(ro)
		if err != nil {
			return err
		}
		for _, e := range events {
			if strings.Contains(e, what) {
				return nil
			}
		}
		return fmt.Errorf("no event contains %q; the rollout's events:\n    %s", what, strings.Join(events, "\n    "))
	}))

	// The cloud: the ALB, its controller, and clients calling through it.
	registerALBSteps(sc, r)
	// Apache APISIX: ApisixRoutes, header routes, clients calling through the gateway.
	registerAPISIXSteps(sc, r)
	// The service mesh: Istio's VirtualServices, DestinationRules and proxies.
	registerIstioSteps(sc, r)
	// Analysis: AnalysisRuns and their metrics, a bad version, the metrics provider's outage.
	registerAnalysisSteps(sc, r)
}

// expect checks x now (within == "") or waits up to within for it to hold.
func (r *run) expect(x scenario.Expectation, within string) error {
	ro, err := r.target()
	if err != nil {
		return err
	}
	if within == "" {
		return r.drv.Check(ro, x)
	}
	d, err := parseDuration(within)
	if err != nil {
		return err
	}
	r.acted = true
	return r.drv.WaitFor(ro, x, d)
}

// podsOfNewVersion: of the available pods of every revision (total), n belong to the revision
// of the rollout's current pod template, as the guide reads "1 of 5 pods run the new version".
func (r *run) podsOfNewVersion(n, total string) error {
	ro, err := r.target()
	if err != nil {
		return err
	}
	st, err := r.drv.State(ro)
	if err != nil {
		return err
	}
	rev, err := r.drv.NewRevision(ro)
	if err != nil {
		return err
	}
	var onNew, all int32
	for _, rv := range st.Revisions {
		all += rv.Available
		if rev != 0 && rv.Revision == rev {
			onNew = rv.Available
		}
	}
	if strconv.Itoa(int(onNew)) != n || strconv.Itoa(int(all)) != total {
		return fmt.Errorf("%d of %d available pods run the new version (revision %d), want %s of %s: %s",
			onNew, all, rev, n, total, describe(st))
	}
	return nil
}

func (r *run) applyDocString(doc *godog.DocString) error {
	return r.apply("the step's manifest", []byte(doc.Content))
}

// guideManifests are the files of each guide the steps apply, by the names the steps use; they
// are the ones `rolloutlab sim run` plays (scenarios/manifests).
var guideManifests = map[string]map[string]string{
	"basic canary guide": {
		"rollout": "manifests/basic/rollout.yaml",
		"service": "manifests/basic/service.yaml",
	},
	// Argo Rollouts' "Getting Started - AWS Load Balancer Controller".
	"ALB guide": {
		"rollout":  "manifests/alb/rollout.yaml",
		"services": "manifests/alb/services.yaml",
		"ingress":  "manifests/alb/ingress.yaml",
	},
	// The ping-pong example of Argo Rollouts' ALB page.
	"ALB ping-pong example": {
		"rollout":  "manifests/alb-pingpong/rollout.yaml",
		"services": "manifests/alb-pingpong/services.yaml",
		"ingress":  "manifests/alb-pingpong/ingress.yaml",
	},
	// A blue-green rollout behind an ALB Ingress (the hazard of Argo Rollouts' ALB page).
	"ALB blue-green example": {
		"rollout":  "manifests/bluegreen/rollout.yaml",
		"services": "manifests/bluegreen/services.yaml",
		"ingress":  "manifests/alb-bluegreen/ingress.yaml",
	},
}

// applyGuide applies the named files of a guide ("rollout, services and ingress") in the order
// given, as the guide's kubectl apply commands do.
func (r *run) applyGuide(guide, which string) error {
	files := guideManifests[guide]
	for _, name := range strings.Split(strings.ReplaceAll(which, " and ", ", "), ", ") {
		path, ok := files[name]
		if !ok {
			have := make([]string, 0, len(files))
			for n := range files {
				have = append(have, n)
			}
			sort.Strings(have)
			return fmt.Errorf("the %s has no %s (it has: %s)", guide, name, strings.Join(have, ", "))
		}
		data, err := fs.ReadFile(scenarios.FS, path)
		if err != nil {
			return err
		}
		if err := r.apply(path, data); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) apply(file string, data []byte) error {
	r.note("apply")
	rollouts, err := r.drv.Apply(file, data)
	if err != nil {
		return err
	}
	if len(rollouts) > 0 {
		r.rollout = rollouts[len(rollouts)-1]
	}
	return nil
}

func phaseName(s string) string {
	s = strings.ToLower(s)
	return strings.ToUpper(s[:1]) + s[1:]
}

func orDefault(within string) string {
	if within == "" {
		return defaultWait.String()
	}
	return within
}

// int32p reads a count or weight the regex already matched as digits (or "no").
func int32p(s string) *int32 {
	n, _ := strconv.ParseInt(s, 10, 32) // "no" is 0
	v := int32(n)
	return &v
}
