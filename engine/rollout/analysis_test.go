package rollout

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// successRateTemplate is a one-metric template: a single Prometheus measurement.
func successRateTemplate() *v1alpha1.AnalysisTemplate {
	return &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "success-rate", Namespace: "ns"},
		Spec: v1alpha1.AnalysisTemplateSpec{
			Args: []v1alpha1.Argument{{Name: "service"}},
			Metrics: []v1alpha1.Metric{{Name: "success-rate", SuccessCondition: "result[0] >= 0.95",
				Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
					Address: "http://prometheus:9090", Query: `sum(rate(requests{service="{{args.service}}"}[1m]))`}}}},
		},
	}
}

func analysisRef() *v1alpha1.RolloutAnalysis {
	return &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "success-rate"}},
		Args:      []v1alpha1.AnalysisRunArgument{{Name: "service", Value: "demo"}},
	}
}

// analysisCanary is the guide's rollout with steps setWeight 20, analysis, setWeight 60, at the
// given step, the canary at 1 of 5 pods.
func analysisCanary(step int32) (*v1alpha1.Rollout, *appsv1.ReplicaSet, *appsv1.ReplicaSet) {
	ro, _, canary := midUpdate(step)
	w := func(n int32) *int32 { return &n }
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetWeight: w(20)}, {Analysis: analysisRef()}, {SetWeight: w(60)}}
	ro.Status.CurrentStepHash = StepsHash(ro)
	stable := replicaSetFor(guideRollout("blue"), 1, 4, 4, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	return ro, stable, canary
}

type analysisWorld struct {
	ro          *v1alpha1.Rollout
	rss         []*appsv1.ReplicaSet
	runs        []*v1alpha1.AnalysisRun
	templates   []*v1alpha1.AnalysisTemplate
	taken       []string
	now         time.Time
	services    map[string]*corev1.Service
	noTemplates bool
}

func (w analysisWorld) decide() *Plan {
	in := Observed{Rollout: w.ro, ReplicaSets: w.rss, Services: w.services, Now: w.now, AnalysisRuns: w.runs,
		AnalysisTemplates: map[string]*v1alpha1.AnalysisTemplate{}, TakenAnalysisRunNames: map[string]bool{}}
	if in.Services == nil {
		in.Services = map[string]*corev1.Service{}
	}
	if in.Now.IsZero() {
		in.Now = t0.Add(time.Hour)
	}
	templates := w.templates
	if templates == nil && !w.noTemplates {
		templates = []*v1alpha1.AnalysisTemplate{successRateTemplate()}
	}
	for _, t := range templates {
		in.AnalysisTemplates[t.Name] = t
	}
	for _, n := range w.taken {
		in.TakenAnalysisRunNames[n] = true
	}
	return Decide(in)
}

// createdRun returns the run the plan creates, or nil.
func createdRun(p *Plan) *v1alpha1.AnalysisRun {
	for _, a := range p.Actions {
		if a.Kind == CreateAnalysisRun {
			return a.AnalysisRun
		}
	}
	return nil
}

// stored is the run as the API server keeps it, in a phase.
func stored(ar *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase, msg string, created time.Time, uid string) *v1alpha1.AnalysisRun {
	out := ar.DeepCopy()
	out.UID = types.UID(uid)
	out.CreationTimestamp = metav1.NewTime(created)
	out.Status.Phase, out.Status.Message = phase, msg
	return out
}

func withStepRun(ro *v1alpha1.Rollout, ar *v1alpha1.AnalysisRun) *v1alpha1.Rollout {
	ro = ro.DeepCopy()
	ro.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: ar.Name, Status: ""}
	return ro
}

func TestAnalysisStepCreatesTheRunAsArgoNamesAndLabelsIt(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide()
	ar := createdRun(plan)
	if ar == nil {
		t.Fatalf("no run created: %s", actionStrings(plan))
	}
	hash := podHash(canary)
	if ar.Name != "demo-"+hash+"-2-1" || ar.Namespace != "ns" {
		t.Errorf("run %s/%s", ar.Namespace, ar.Name)
	}
	want := map[string]string{"rollout-type": "Step", "step-index": "1", "rollouts-pod-template-hash": hash, "app": "demo"}
	for k, v := range want {
		if ar.Labels[k] != v {
			t.Errorf("label %s=%q, want %q (labels %v)", k, ar.Labels[k], v, ar.Labels)
		}
	}
	if ar.Annotations[v1alpha1.RevisionAnnotation] != "2" {
		t.Errorf("annotations %v", ar.Annotations)
	}
	if ref := metav1.GetControllerOf(ar); ref == nil || ref.UID != ro.UID || ref.Kind != "Rollout" {
		t.Errorf("owner %+v", ref)
	}
	if len(ar.Spec.Metrics) != 1 || ar.Spec.Args[0].Value.String() != "demo" {
		t.Errorf("spec %+v", ar.Spec)
	}
	st := plan.Status
	if st == nil || st.Canary.CurrentStepAnalysisRunStatus == nil || st.Canary.CurrentStepAnalysisRunStatus.Name != ar.Name {
		t.Fatalf("status does not name the run: %+v", st)
	}
	if *st.CurrentStepIndex != 1 {
		t.Errorf("step %d", *st.CurrentStepIndex)
	}
}

// The decisions on an analysis step's run, by the run's phase.
func TestAnalysisStepFollowsTheRunPhase(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	failMsg := `Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`
	cases := []struct {
		phase            v1alpha1.AnalysisPhase
		msg              string
		step             int32
		rolloutPhase     v1alpha1.RolloutPhase
		messagePart      string
		abort, paused    bool
		statusRunPresent bool
		event            string
	}{
		{v1alpha1.AnalysisPhasePending, "", 1, v1alpha1.RolloutPhaseProgressing, "replicas need to be updated", false, false, true, "AnalysisRunPending"},
		{v1alpha1.AnalysisPhaseRunning, "", 1, v1alpha1.RolloutPhaseProgressing, "replicas need to be updated", false, false, true, "AnalysisRunRunning"},
		{v1alpha1.AnalysisPhaseSuccessful, "", 2, v1alpha1.RolloutPhaseProgressing, "replicas need to be updated", false, false, false, "AnalysisRunSuccessful"},
		{v1alpha1.AnalysisPhaseFailed, failMsg, 0, v1alpha1.RolloutPhaseDegraded,
			"RolloutAborted: Rollout aborted update to revision 2: " + failMsg, true, false, true, "AnalysisRunFailed"},
		{v1alpha1.AnalysisPhaseError, "Metric \"success-rate\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4)", 0,
			v1alpha1.RolloutPhaseDegraded, "consecutiveErrorLimit", true, false, true, "AnalysisRunError"},
		{v1alpha1.AnalysisPhaseInconclusive, "", 1, v1alpha1.RolloutPhasePaused, "InconclusiveAnalysisRun", false, true, true, "AnalysisRunInconclusive"},
	}
	for _, c := range cases {
		t.Run(string(c.phase), func(t *testing.T) {
			ar := stored(run, c.phase, c.msg, t0.Add(time.Hour), "ar-1")
			w := analysisWorld{ro: withStepRun(ro, ar), rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{ar}}
			plan := w.decide()
			if createdRun(plan) != nil {
				t.Errorf("a second run was created: %s", actionStrings(plan))
			}
			st := plan.Status
			if st == nil {
				t.Fatalf("no status written")
			}
			if *st.CurrentStepIndex != c.step || st.Abort != c.abort || (len(st.PauseConditions) > 0) != c.paused {
				t.Errorf("step %d abort %v pauses %v", *st.CurrentStepIndex, st.Abort, st.PauseConditions)
			}
			if c.paused && st.PauseConditions[0].Reason != v1alpha1.PauseReasonInconclusiveAnalysis {
				t.Errorf("pause %v", st.PauseConditions)
			}
			if st.Phase != c.rolloutPhase || !strings.Contains(st.Message, c.messagePart) {
				t.Errorf("phase %s %q, want %s containing %q", st.Phase, st.Message, c.rolloutPhase, c.messagePart)
			}
			got := st.Canary.CurrentStepAnalysisRunStatus
			if (got != nil) != c.statusRunPresent || (got != nil && (got.Status != c.phase || got.Message != c.msg)) {
				t.Errorf("currentStepAnalysisRunStatus %+v", got)
			}
			if !strings.Contains(eventReasons(plan), c.event) {
				t.Errorf("events %s, want %s", eventReasons(plan), c.event)
			}
			if c.paused && len(plan.Actions) != 0 {
				t.Errorf("an inconclusive run scales nothing: %s", actionStrings(plan))
			}
		})
	}
}

func TestPromotingAnInconclusiveRunStartsANewOne(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	ar := stored(run, v1alpha1.AnalysisPhaseInconclusive, "", t0.Add(time.Hour), "ar-1")
	ro = withStepRun(ro, ar)
	// The person promoted: the pause conditions are gone, controllerPause stays.
	ro.Status.ControllerPause = true
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{ar}}.decide()
	next := createdRun(plan)
	if next == nil || next.Name != ar.Name+".1" {
		t.Fatalf("want a new run %s.1, got %s", ar.Name, actionStrings(plan))
	}
	if plan.Status.Canary.CurrentStepAnalysisRunStatus.Name != next.Name {
		t.Errorf("status %+v", plan.Status.Canary.CurrentStepAnalysisRunStatus)
	}
}

func TestRunAlreadyCreatedIsAdoptedNotDuplicated(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	// The run exists (the status write naming it was lost).
	ar := stored(run, v1alpha1.AnalysisPhaseRunning, "", t0.Add(time.Hour), "ar-1")
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{ar}}.decide()
	if createdRun(plan) != nil {
		t.Fatalf("created again: %s", actionStrings(plan))
	}
	if s := plan.Status.Canary.CurrentStepAnalysisRunStatus; s == nil || s.Name != ar.Name || s.Status != v1alpha1.AnalysisPhaseRunning {
		t.Errorf("status %+v", s)
	}
	// Another run holds the name: the counter goes up.
	plan = analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, taken: []string{ar.Name}}.decide()
	if next := createdRun(plan); next == nil || next.Name != ar.Name+".1" {
		t.Errorf("name collision: %s", actionStrings(plan))
	}
}

func TestRunOfAPreviousStepIsTerminated(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	ar := stored(run, v1alpha1.AnalysisPhaseRunning, "", t0.Add(time.Hour), "ar-1")
	ro = withStepRun(ro, ar)
	two := int32(2) // a person skipped the analysis step
	ro.Status.CurrentStepIndex = &two
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{ar}}.decide()
	if got := actionStrings(plan); !strings.Contains(got, "patch AnalysisRun "+ar.Name+` {"spec":{"terminate":true}}`) {
		t.Fatalf("actions %s", got)
	}
	if plan.Status.Canary.CurrentStepAnalysisRunStatus != nil {
		t.Errorf("status still names the run")
	}
}

func TestPromoteFullTerminatesRunsAndSkipsAnalysis(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	ar := stored(run, v1alpha1.AnalysisPhaseRunning, "", t0.Add(time.Hour), "ar-1")
	ro = withStepRun(ro, ar)
	ro.Status.PromoteFull = true
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{ar}}.decide()
	got := actionStrings(plan)
	if !strings.Contains(got, "patch AnalysisRun "+ar.Name) || createdRun(plan) != nil {
		t.Fatalf("actions %s", got)
	}
	if !strings.Contains(got, "update ReplicaSet ") {
		t.Errorf("the update does not move on: %s", got)
	}
}

func TestBackgroundAnalysisFromStartingStepAndAbortOnFailure(t *testing.T) {
	ro, stable, canary := analysisCanary(0)
	one := int32(1)
	ro.Spec.Strategy.Canary.Steps[1] = v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *analysisRef(), StartingStep: &one}
	ro.Status.CurrentStepHash = StepsHash(ro)
	rss := []*appsv1.ReplicaSet{stable, canary}
	plan := analysisWorld{ro: ro, rss: rss}.decide()
	if createdRun(plan) != nil {
		t.Fatalf("started before startingStep: %s", actionStrings(plan))
	}
	ro.Status.CurrentStepIndex = &one
	plan = analysisWorld{ro: ro, rss: rss}.decide()
	run := createdRun(plan)
	if run == nil || run.Name != "demo-"+podHash(canary)+"-2" || run.Labels["rollout-type"] != "Background" {
		t.Fatalf("background run: %s", actionStrings(plan))
	}
	if _, ok := run.Labels["step-index"]; ok {
		t.Errorf("a background run has no step index")
	}
	if s := plan.Status.Canary.CurrentBackgroundAnalysisRunStatus; s == nil || s.Name != run.Name {
		t.Errorf("status %+v", s)
	}
	// It fails: the update aborts with the run's message.
	ar := stored(run, v1alpha1.AnalysisPhaseFailed, `Metric "success-rate" assessed Failed due to failed (3) > failureLimit (2)`, t0.Add(time.Hour), "ar-1")
	ro = ro.DeepCopy()
	ro.Status.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: ar.Name, Status: v1alpha1.AnalysisPhaseRunning}
	plan = analysisWorld{ro: ro, rss: rss, runs: []*v1alpha1.AnalysisRun{ar}}.decide()
	st := plan.Status
	if !st.Abort || st.Phase != v1alpha1.RolloutPhaseDegraded || !strings.Contains(st.Message, "failed (3) > failureLimit (2)") {
		t.Fatalf("abort %v phase %s %q", st.Abort, st.Phase, st.Message)
	}
	if c := getCondition(*st, v1alpha1.RolloutProgressing); c == nil || c.Reason != ReasonRolloutAborted {
		t.Errorf("Progressing %+v", c)
	}
}

func TestAbortTerminatesEveryRun(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	step := stored(run, v1alpha1.AnalysisPhaseRunning, "", t0.Add(time.Hour), "ar-1")
	bg := stored(run, v1alpha1.AnalysisPhaseRunning, "", t0.Add(time.Hour), "ar-2")
	bg.Name = "demo-" + podHash(canary) + "-2"
	ro = withStepRun(ro, step)
	ro.Status.Abort = true
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{step, bg}}.decide()
	got := actionStrings(plan)
	if !strings.Contains(got, "patch AnalysisRun "+step.Name+" ") || !strings.Contains(got, "patch AnalysisRun "+bg.Name+" ") {
		t.Fatalf("actions %s", got)
	}
	if s := plan.Status.Canary.CurrentStepAnalysisRunStatus; s == nil || s.Name != step.Name {
		t.Errorf("the aborted update's run stays in the status: %+v", s)
	}
}

func TestRetryAfterAbortStartsANewRun(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	run := createdRun(analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide())
	ar := stored(run, v1alpha1.AnalysisPhaseFailed, "failed", t0.Add(time.Hour), "ar-1")
	ro = withStepRun(ro, ar)
	at := metav1.NewTime(t0.Add(time.Hour))
	ro.Status.AbortedAt = &at // retried: abort false, abortedAt still set
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: []*v1alpha1.AnalysisRun{ar}}.decide()
	if next := createdRun(plan); next == nil || next.Name != ar.Name+".1" {
		t.Fatalf("actions %s", actionStrings(plan))
	}
	if plan.Status.Abort || plan.Status.AbortedAt != nil {
		t.Errorf("abort %v at %v", plan.Status.Abort, plan.Status.AbortedAt)
	}
}

func TestRunsOfDeletedReplicaSetsAndBeyondHistoryAreDeleted(t *testing.T) {
	ro, stable, canary := analysisCanary(2)
	var runs []*v1alpha1.AnalysisRun
	for i := 0; i < 7; i++ {
		ar := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "ok-" + string(rune('a'+i)), Namespace: "ns",
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(i) * time.Minute)),
			Labels:            map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: podHash(canary)},
			OwnerReferences:   []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.RolloutGVK)}},
			Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseSuccessful}}
		runs = append(runs, ar)
	}
	gone := runs[6].DeepCopy()
	gone.Name, gone.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = "of-a-deleted-rs", "deadbeef"
	runs = append(runs, gone)
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, runs: runs}.decide()
	got := actionStrings(plan)
	for _, want := range []string{"delete AnalysisRun ok-a", "delete AnalysisRun ok-b", "delete AnalysisRun of-a-deleted-rs"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	if strings.Contains(got, "delete AnalysisRun ok-c") {
		t.Errorf("keeps 5 successful runs: %s", got)
	}
}

func TestAnalysisTemplatesAreValidated(t *testing.T) {
	cases := []struct {
		name      string
		templates []*v1alpha1.AnalysisTemplate
		want      string
	}{
		{"missing", []*v1alpha1.AnalysisTemplate{},
			`spec.strategy.canary.steps[1].analysis.templates: Invalid value: "success-rate": AnalysisTemplate 'success-rate' not found`},
		{"runs forever", func() []*v1alpha1.AnalysisTemplate {
			t := successRateTemplate()
			t.Spec.Metrics[0].Interval = "1m"
			return []*v1alpha1.AnalysisTemplate{t}
		}(), "AnalysisTemplate success-rate has metric success-rate which runs indefinitely. Invalid value for count: <nil>"},
		{"unresolved arg", func() []*v1alpha1.AnalysisTemplate {
			t := successRateTemplate()
			t.Spec.Args = append(t.Spec.Args, v1alpha1.Argument{Name: "other"})
			return []*v1alpha1.AnalysisTemplate{t}
		}(), `Invalid value: "templateNames: [success-rate]"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro, stable, canary := analysisCanary(1)
			plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, templates: c.templates, noTemplates: true}.decide()
			if len(plan.Actions) != 0 || plan.Status == nil {
				t.Fatalf("actions %s", actionStrings(plan))
			}
			if plan.Status.Phase != v1alpha1.RolloutPhaseDegraded || !strings.Contains(plan.Status.Message, c.want) ||
				!strings.HasPrefix(plan.Status.Message, `InvalidSpec: The Rollout "demo" is invalid: `) {
				t.Errorf("message %q, want %q", plan.Status.Message, c.want)
			}
		})
	}
	// A background analysis may run forever.
	ro, stable, canary := analysisCanary(0)
	ro.Spec.Strategy.Canary.Steps[1] = v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *analysisRef()}
	ro.Status.CurrentStepHash = StepsHash(ro)
	tmpl := successRateTemplate()
	tmpl.Spec.Metrics[0].Interval = "1m"
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}, templates: []*v1alpha1.AnalysisTemplate{tmpl}}.decide()
	if plan.Status != nil && plan.Status.Phase == v1alpha1.RolloutPhaseDegraded {
		t.Errorf("background: %s", plan.Status.Message)
	}
}

func TestExperimentStepsAreStillRejected(t *testing.T) {
	ro, stable, canary := analysisCanary(1)
	ro.Spec.Strategy.Canary.Steps[2] = v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{
		Templates: []v1alpha1.RolloutExperimentTemplate{{Name: "x", SpecRef: "canary"}}}}
	ro.Status.CurrentStepHash = StepsHash(ro)
	plan := analysisWorld{ro: ro, rss: []*appsv1.ReplicaSet{stable, canary}}.decide()
	if plan.Status == nil || !strings.Contains(plan.Status.Message, "experiment steps are not supported") {
		t.Fatalf("status %+v", plan.Status)
	}
}

// blueGreenAnalysis is a blue-green update with pre- and post-promotion analysis: blue active
// and stable, green up at full size behind the preview.
func blueGreenAnalysis() (analysisWorld, *appsv1.ReplicaSet, *appsv1.ReplicaSet) {
	blue, green := guideRollout("blue"), guideRollout("green")
	for _, ro := range []*v1alpha1.Rollout{blue, green} {
		ro.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview",
			PrePromotionAnalysis: analysisRef(), PostPromotionAnalysis: analysisRef()}}
	}
	stable := replicaSetFor(blue, 1, 5, 5, t0)
	newRS := replicaSetFor(green, 2, 5, 5, t0.Add(time.Minute))
	green.Annotations[v1alpha1.RevisionAnnotation] = "2"
	green.Status = v1alpha1.RolloutStatus{StableRS: podHash(stable), CurrentPodHash: podHash(newRS), ObservedGeneration: "1",
		BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: podHash(stable), PreviewSelector: podHash(newRS)}}
	svc := func(name, hash string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
			Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: "demo"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo", v1alpha1.DefaultRolloutUniqueLabelKey: hash}}}
	}
	w := analysisWorld{ro: green, rss: []*appsv1.ReplicaSet{stable, newRS},
		services: map[string]*corev1.Service{"active": svc("active", podHash(stable)), "preview": svc("preview", podHash(newRS))}}
	return w, stable, newRS
}

func TestBlueGreenPrePromotionAnalysisGatesTheSwitch(t *testing.T) {
	w, _, newRS := blueGreenAnalysis()
	plan := w.decide()
	pre := createdRun(plan)
	if pre == nil || pre.Name != "demo-"+podHash(newRS)+"-2-pre" || pre.Labels["rollout-type"] != "PrePromotion" {
		t.Fatalf("pre-promotion run: %s", actionStrings(plan))
	}
	if strings.Contains(actionStrings(plan), "patch Service active") {
		t.Fatalf("switched before the analysis: %s", actionStrings(plan))
	}
	if s := plan.Status.BlueGreen.PrePromotionAnalysisRunStatus; s == nil || s.Name != pre.Name {
		t.Errorf("status %+v", s)
	}
	for _, phase := range []v1alpha1.AnalysisPhase{v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseSuccessful} {
		ar := stored(pre, phase, "", t0.Add(time.Hour), "ar-pre")
		w2 := w
		w2.ro = w.ro.DeepCopy()
		w2.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: ar.Name}
		w2.runs = []*v1alpha1.AnalysisRun{ar}
		plan = w2.decide()
		switched := strings.Contains(actionStrings(plan), "patch Service active")
		if switched != (phase == v1alpha1.AnalysisPhaseSuccessful) {
			t.Errorf("%s: switched %v (%s)", phase, switched, actionStrings(plan))
		}
	}
}

func TestBlueGreenPostPromotionAnalysisGatesStableAndFailureSwitchesBack(t *testing.T) {
	w, stable, newRS := blueGreenAnalysis()
	// Switched: the active Service and the status select green.
	w.services["active"].Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = podHash(newRS)
	w.ro.Status.BlueGreen.ActiveSelector = podHash(newRS)
	plan := w.decide()
	post := createdRun(plan)
	if post == nil || post.Name != "demo-"+podHash(newRS)+"-2-post" || post.Labels["rollout-type"] != "PostPromotion" {
		t.Fatalf("post-promotion run: %s", actionStrings(plan))
	}
	if plan.Status.StableRS != podHash(stable) || plan.Status.Phase != v1alpha1.RolloutPhaseProgressing ||
		plan.Status.Message != "waiting for analysis to complete" {
		t.Errorf("stable %s phase %s %q", plan.Status.StableRS, plan.Status.Phase, plan.Status.Message)
	}
	at := func(phase v1alpha1.AnalysisPhase, msg string) analysisWorld {
		ar := stored(post, phase, msg, t0.Add(time.Hour), "ar-post")
		w2 := w
		w2.ro = w.ro.DeepCopy()
		w2.ro.Status.BlueGreen.PostPromotionAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: ar.Name, Status: v1alpha1.AnalysisPhaseRunning}
		w2.runs = []*v1alpha1.AnalysisRun{ar}
		return w2
	}
	if plan = at(v1alpha1.AnalysisPhaseRunning, "").decide(); plan.Status != nil && plan.Status.StableRS != podHash(stable) {
		t.Errorf("promoted while the analysis runs")
	}
	plan = at(v1alpha1.AnalysisPhaseSuccessful, "").decide()
	if plan.Status.StableRS != podHash(newRS) || !strings.Contains(eventReasons(plan), "RolloutCompleted") {
		t.Errorf("not promoted after success: stable %s, events %s", plan.Status.StableRS, eventReasons(plan))
	}
	failed := at(v1alpha1.AnalysisPhaseFailed, `Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`)
	plan = failed.decide()
	if !plan.Status.Abort || plan.Status.StableRS != podHash(stable) || plan.Status.Phase != v1alpha1.RolloutPhaseDegraded {
		t.Fatalf("abort %v stable %s phase %s", plan.Status.Abort, plan.Status.StableRS, plan.Status.Phase)
	}
	// The next reconcile, aborted, switches the active Service back to the stable version.
	failed.ro = failed.ro.DeepCopy()
	failed.ro.Status = *plan.Status
	plan = failed.decide()
	if got := actionStrings(plan); !strings.Contains(got, "patch Service active") || !strings.Contains(got, podHash(stable)) {
		t.Errorf("not switched back: %s", got)
	}
}

func TestBlueGreenPromoteFullSkipsAnalysis(t *testing.T) {
	w, _, newRS := blueGreenAnalysis()
	w.ro.Status.PromoteFull = true
	plan := w.decide()
	if createdRun(plan) != nil {
		t.Fatalf("analysis with promote --full: %s", actionStrings(plan))
	}
	if got := actionStrings(plan); !strings.Contains(got, "patch Service active") || !strings.Contains(got, podHash(newRS)) {
		t.Errorf("not switched: %s", got)
	}
}
