package scenario

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/sim"
)

// Options change how a scenario runs.
type Options struct {
	Seed     *uint64   // overrides the scenario's seed
	Trace    io.Writer // receives the JSON-lines trace
	Version  string    // build version, recorded in the trace header
	OnMoment func(sim.Moment)
	// OnStep is called before each timeline step runs.
	OnStep func(st Step, at sim.Seconds)
	// Prepare, when set, sees the world before the timeline starts (to inject faults).
	Prepare func(w *sim.World)
}

// Result is what a run produced.
type Result struct {
	Scenario   *Scenario
	Seed       uint64
	Final      map[string]sim.State // by namespace/name
	Moments    []sim.Moment
	Failure    string // the first expectation that did not hold; empty: the scenario passed
	Virtual    time.Duration
	Events     uint64
	Reconciles int
	APICalls   int
	World      *sim.World
	Traffic    *sim.TrafficStats // client requests, when the world had traffic (every source)
	// Sources are the requests of each named traffic source still running at the end.
	Sources  map[string]*sim.TrafficStats
	Findings []sim.Finding // traffic-safety rules broken (worlds with a cloud)
	// Steps are the timeline steps that ran (the final expectation last), with when each began
	// and ended; a failing step is the last one.
	Steps []StepAt
}

// StepAt is a step of the timeline and the virtual times it began and ended.
type StepAt struct {
	Step       Step
	Start, End sim.Seconds
}

// Passed reports whether every expectation held.
func (r *Result) Passed() bool { return r.Failure == "" }

// Run plays a scenario in a fresh world. The error is for runs that could not be carried out
// (a manifest that does not load, an invariant violation); expectations that do not hold are
// reported in Result.Failure.
func Run(sc *Scenario, opt Options) (*Result, error) {
	seed := sc.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	}
	var trace *sim.Trace
	if opt.Trace != nil {
		trace = sim.NewTrace(opt.Trace)
		trace.Header(sim.TraceHeader{Scenario: sc.Name, Source: sc.Source, Files: sc.Files, Seed: seed, Version: opt.Version})
	}
	w, err := sim.NewWorld(seed, sc.World, trace)
	if err != nil {
		return nil, err
	}
	if opt.OnMoment != nil {
		w.Timeline.Listen(opt.OnMoment)
	}
	if opt.Prepare != nil {
		opt.Prepare(w)
	}
	r := &runner{sc: sc, w: w, trace: trace, opt: opt}
	res := &Result{Scenario: sc, Seed: seed, World: w}
	runErr := r.run(res)
	if trace != nil {
		if err := trace.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("writing the trace: %w", err)
		}
	}
	res.Moments = w.Timeline.Moments
	res.Virtual = w.Kernel.Elapsed()
	res.Events = w.Kernel.Events()
	res.Reconciles = w.Engine.Reconciles
	for _, n := range w.Cluster.Reactor.Calls() {
		res.APICalls += n
	}
	res.Traffic = w.RequestTotals()
	for _, name := range w.TrafficSources() {
		if res.Sources == nil {
			res.Sources = map[string]*sim.TrafficStats{}
		}
		res.Sources[name] = &w.TrafficSource(name).Stats
	}
	if w.AWS != nil {
		res.Findings = w.AWS.Findings
	}
	res.Final = map[string]sim.State{}
	for _, key := range r.rollouts {
		if ro := r.rollout(key); ro != nil {
			res.Final[key] = sim.ObserveState(w.Cluster.Store, ro)
		}
	}
	if runErr != nil {
		if ie, ok := runErr.(*sim.InvariantError); ok {
			return res, fmt.Errorf("%w\nreplay: rolloutlab sim run %s --seed %d", ie, sc.File, ie.Seed)
		}
		return res, runErr
	}
	return res, nil
}

type runner struct {
	sc       *Scenario
	w        *sim.World
	trace    *sim.Trace
	opt      Options
	rollouts []string // namespace/name of every rollout applied, in order
}

func (r *runner) run(res *Result) error {
	for _, st := range r.sc.Timeline {
		if r.opt.OnStep != nil {
			r.opt.OnStep(st, sim.Seconds(r.w.Kernel.Elapsed()))
		}
		start := sim.Seconds(r.w.Kernel.Elapsed())
		failure, err := r.step(st)
		res.Steps = append(res.Steps, StepAt{Step: st, Start: start, End: sim.Seconds(r.w.Kernel.Elapsed())})
		if ie, ok := err.(*sim.InvariantError); ok {
			return ie
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %w", r.sc.File, st.Line, st.Path, err)
		}
		if failure != "" {
			res.Failure = fmt.Sprintf("%s:%d: %s: %s", r.sc.File, st.Line, st.Path, failure)
			return nil
		}
	}
	if f := r.sc.Final; f != nil {
		start := sim.Seconds(r.w.Kernel.Elapsed())
		failure, err := r.eventually(*f)
		res.Steps = append(res.Steps, StepAt{Step: *f, Start: start, End: sim.Seconds(r.w.Kernel.Elapsed())})
		if err != nil {
			return err
		}
		if failure != "" {
			res.Failure = fmt.Sprintf("%s:%d: expect: %s", r.sc.File, f.Line, failure)
		}
	}
	return r.w.Kernel.Failed()
}

func (r *runner) step(st Step) (failure string, err error) {
	w := r.w
	if st.Kind != KindWait && st.Kind != KindExpect && st.Kind != KindAfter {
		r.traceAction(st)
	}
	switch st.Kind {
	case KindApply:
		for _, name := range st.Manifests {
			p := r.sc.Manifests[name]
			docs, err := w.Decoder.Decode(p, []byte(r.sc.Files[p]))
			if err != nil {
				return "", err
			}
			if err := w.Apply(docs); err != nil {
				return "", err
			}
			for _, d := range docs {
				if ro, ok := d.Object.(*v1alpha1.Rollout); ok {
					r.remember(ro)
				}
			}
		}
		return "", nil
	case KindWait:
		return r.eventually(st)
	case KindExpect:
		return r.check(st), nil
	case KindAfter:
		_, err := w.Kernel.RunUntil(w.Kernel.Now().Add(st.For), nil)
		return "", err
	case KindCrashEngine:
		w.Engine.Crash()
		w.Kernel.After(st.For, "engine/restart", "", w.Engine.Start)
		return "", nil
	case KindLBCOutage:
		w.AWS.LBC.Outage(st.For)
		return "", nil
	case KindAWSThrottle:
		w.AWS.ELB.Throttle(st.For)
		return "", nil
	case KindAWSErrors:
		w.AWS.ELB.SetErrorRate(st.Operation, st.Rate, st.ErrorCode)
		return "", nil
	case KindStartTraffic:
		return "", w.StartTrafficSource(st.Traffic)
	case KindPrometheusDown:
		w.Prometheus.Down = true
		w.Kernel.After(st.For, "prometheus/up", "", func() { w.Prometheus.Down = false })
		return "", nil
	case KindPrometheusSlow:
		w.Prometheus.Slow = true
		w.Kernel.After(st.For, "prometheus/fast", "", func() { w.Prometheus.Slow = false })
		return "", nil
	case KindRejectRouteWrites:
		stop := r.rejectRouteWrites()
		w.Kernel.After(st.For, "admission/accept", "", stop)
		return "", nil
	case KindStopTraffic:
		w.StopTrafficSource(st.Traffic.Name)
		return "", nil
	}
	ns, name, err := r.target(st)
	if err != nil {
		return "", err
	}
	ctx, c := w.Context(), w.UserRollouts
	switch st.Kind {
	case KindSetImage:
		_, err = actions.SetImage(ctx, c, ns, name, st.Container, st.Image)
	case KindPromote:
		if st.Full {
			_, err = actions.PromoteFull(ctx, c, ns, name)
		} else {
			_, err = actions.Promote(ctx, c, ns, name)
		}
	case KindAbort:
		_, err = actions.Abort(ctx, c, ns, name)
	case KindRetry:
		_, err = actions.Retry(ctx, c, ns, name)
	case KindPause:
		_, err = actions.Pause(ctx, c, ns, name)
	case KindResume:
		_, err = actions.Resume(ctx, c, ns, name)
	case KindUndo:
		_, err = actions.Undo(ctx, c, w.UserKube, ns, name, st.ToRevision)
	case KindEditVirtualService, KindEditApisixRoute:
		ro := r.rollout(ns + "/" + name)
		if ro == nil {
			return "", fmt.Errorf("rollout %s/%s does not exist", ns, name)
		}
		if st.Kind == KindEditApisixRoute {
			err = r.editRoute(rollout.ApisixRouteResource, "ApisixRoute", st, ro, setApisixRouteWeight)
		} else {
			err = r.editRoute(rollout.VirtualServiceResource, "VirtualService", st, ro, setVirtualServiceWeight)
		}
	}
	return "", err
}

func (r *runner) traceAction(st Step) {
	if r.trace == nil {
		return
	}
	what := st.Kind
	switch st.Kind {
	case KindSetImage:
		what += " " + st.Container + "=" + st.Image
	case KindPromote:
		if st.Full {
			what += " --full"
		}
	case KindApply:
		what += " " + strings.Join(st.Manifests, ", ")
	case KindLBCOutage, KindAWSThrottle:
		what += " " + st.For.String()
	case KindAWSErrors:
		what += fmt.Sprintf(" %s %s %d‰", st.Operation, st.ErrorCode, st.Rate)
	case KindStartTraffic:
		to := st.Traffic.Ingress
		if st.Traffic.Host != "" {
			to = st.Traffic.Host
		}
		what += fmt.Sprintf(" %d rps to %s", st.Traffic.Rate, to)
		if st.Traffic.Name != "" {
			what += " (" + st.Traffic.Name + ")"
		}
	}
	r.trace.Line(sim.TraceLine{T: sim.Seconds(r.w.Kernel.Elapsed()), Action: what, Obj: st.Rollout})
}

func (r *runner) remember(ro *v1alpha1.Rollout) {
	ns := ro.Namespace
	if ns == "" {
		ns = "default"
	}
	key := ns + "/" + ro.Name
	for _, k := range r.rollouts {
		if k == key {
			return
		}
	}
	r.rollouts = append(r.rollouts, key)
}

// target resolves the rollout a step acts on.
func (r *runner) target(st Step) (ns, name string, err error) {
	key := st.Rollout
	if key == "" {
		if len(r.rollouts) != 1 {
			return "", "", fmt.Errorf("say which rollout (rollout: NAME): %d rollouts are applied", len(r.rollouts))
		}
		key = r.rollouts[0]
	}
	ns, name, ok := strings.Cut(key, "/")
	if !ok {
		ns, name = "default", key
	}
	return ns, name, nil
}

func (r *runner) rollout(key string) *v1alpha1.Rollout {
	ns, name, _ := strings.Cut(key, "/")
	o, ok := r.w.Cluster.Store.Peek(sim.Rollouts, ns, name)
	if !ok {
		return nil
	}
	return o.(*v1alpha1.Rollout)
}

// eventually runs the world until the expectation holds or its time is up.
func (r *runner) eventually(st Step) (string, error) {
	w := r.w
	deadline := w.Kernel.Now().Add(st.Within)
	held, err := w.Kernel.RunUntil(deadline, func() bool { return r.check(st) == "" })
	if err != nil {
		return "", err
	}
	if held {
		return "", nil
	}
	return fmt.Sprintf("after %s still %s", st.Within, r.check(st)), nil
}

// check compares the rollout's observable state with an expectation.
func (r *runner) check(st Step) string {
	ns, name, err := r.target(st)
	if err != nil {
		return err.Error()
	}
	ro := r.rollout(ns + "/" + name)
	if ro == nil {
		return fmt.Sprintf("rollout %s/%s does not exist", ns, name)
	}
	return Mismatch(r.w, ro, st.Expect)
}

// Mismatch lists how a rollout differs from an expectation ("" when it matches).
func Mismatch(w *sim.World, ro *v1alpha1.Rollout, x Expectation) string {
	s := sim.ObserveState(w.Cluster.Store, ro)
	diffs := StateMismatch(s, x, len(sim.OwnedReplicaSets(w.Cluster.Store, ro)))
	differs := func(what string, got, want any) {
		diffs = append(diffs, fmt.Sprintf("%s is %v, want %v", what, got, want))
	}
	if b := x.FailedRequests; b != nil {
		failed := 0
		if t := w.RequestTotals(); t != nil {
			failed = t.Failed
		}
		if !b.Holds(int64(failed)) {
			differs("failed requests", failed, b.String())
		}
	}
	if x.ALB != nil {
		in := w.AWS.InEffect()
		for _, svc := range sortedKeys(x.ALB) {
			key := svc
			if !strings.Contains(key, "/") {
				key = ro.Namespace + "/" + svc
			}
			if got, ok := in[key]; !ok || got != x.ALB[svc] {
				differs(fmt.Sprintf("ALB weight of %s", svc), describeWeight(got, ok), x.ALB[svc])
			}
		}
	}
	if x.VirtualServices != nil {
		checkVirtualServices(w, ro, x.VirtualServices, false, differs)
	}
	if x.MeshWeights != nil {
		checkVirtualServices(w, ro, x.MeshWeights, true, differs)
	}
	checkIstio(w, ro, x, differs)
	if x.ApisixRoutes != nil {
		checkApisixRoutes(w, ro, x.ApisixRoutes, false, differs)
	}
	if x.GatewayWeights != nil {
		checkApisixRoutes(w, ro, x.GatewayWeights, true, differs)
	}
	checkAnalysis(w, ro, x, differs)
	if x.ALBReady != nil {
		if why := w.AWS.NotReady(); (why == "") != *x.ALBReady {
			if why == "" {
				why = "ready"
			}
			differs("the ALB", why, map[bool]string{true: "ready", false: "not ready"}[*x.ALBReady])
		}
	}
	return strings.Join(diffs, "; ")
}

func describeWeight(w int32, ok bool) string {
	if !ok {
		return "absent (no rule in effect forwards to it)"
	}
	return fmt.Sprint(w)
}

func describeMessage(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

func sortedRevisions[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// StateMismatch lists how a rollout's observable state (and replicaSets, the number of
// ReplicaSets it owns) differs from the facts of x that the state holds: phase, message, step,
// pause, abort, weights, revisions, stable revision, ReplicaSets and Services. The facts of the
// world around it (requests, ALB, mesh, analysis) are Mismatch's.
func StateMismatch(s sim.State, x Expectation, replicaSets int) []string {
	var diffs []string
	differs := func(what string, got, want any) {
		diffs = append(diffs, fmt.Sprintf("%s is %v, want %v", what, got, want))
	}
	if x.Phase != "" && s.Phase != x.Phase {
		differs("phase", s.Phase+describeMessage(s.Message), x.Phase)
	}
	if x.Message != "" && !strings.Contains(s.Message, x.Message) {
		differs("message", fmt.Sprintf("%q", s.Message), fmt.Sprintf("one containing %q", x.Message))
	}
	if x.Step != "" && s.Step != x.Step {
		differs("step", s.Step, x.Step)
	}
	if x.Paused != nil && (len(s.Paused) > 0) != *x.Paused {
		differs("paused", len(s.Paused) > 0, *x.Paused)
	}
	if x.Abort != nil && s.Abort != *x.Abort {
		differs("abort", s.Abort, *x.Abort)
	}
	if x.Weight != nil && s.Weight.Desired != *x.Weight {
		differs("canary weight", s.Weight.Desired, *x.Weight)
	}
	if x.ActualWeight != nil && s.Weight.Actual != *x.ActualWeight {
		differs("actual canary weight", s.Weight.Actual, *x.ActualWeight)
	}
	byRev := map[int64]sim.RevisionState{}
	for _, rv := range s.Revisions {
		byRev[rv.Revision] = rv
	}
	for _, rev := range sortedRevisions(x.Revisions) {
		want := x.Revisions[rev]
		got := byRev[rev]
		if got.Spec != want.Spec || got.Available != want.Available {
			differs(fmt.Sprintf("revision %d (spec/available)", rev), SpecAvailable{got.Spec, got.Available}, want)
		}
	}
	if x.Stable != nil {
		stable := int64(0)
		for _, rv := range s.Revisions {
			if rv.Role == "stable" {
				stable = rv.Revision
			}
		}
		if stable != *x.Stable {
			differs("stable revision", stable, *x.Stable)
		}
	}
	if x.ReplicaSets != nil {
		if n := replicaSets; n != *x.ReplicaSets {
			differs("number of ReplicaSets", n, *x.ReplicaSets)
		}
	}
	for _, svc := range sortedKeys(x.Services) {
		if got := s.Services[svc]; got != x.Services[svc] {
			differs(fmt.Sprintf("Service %s selects revision", svc), got, x.Services[svc])
		}
	}
	return diffs
}
