package rollout

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// guideRollout is the getting-started guide's rollout (5 replicas, 8 steps) with the given image.
func guideRollout(image string) *v1alpha1.Rollout {
	five, two := int32(5), int32(2)
	w := func(n int32) *int32 { return &n }
	dur := func(s int) *intstr.IntOrString { v := intstr.FromInt(s); return &v }
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns", UID: types.UID("ro-uid"), Generation: 1,
			Annotations: map[string]string{}},
		Spec: v1alpha1.RolloutSpec{
			Replicas:             &five,
			RevisionHistoryLimit: &two,
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{"app": "demo"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "demo", Image: image}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: w(20)}, {Pause: &v1alpha1.RolloutPause{}},
				{SetWeight: w(40)}, {Pause: &v1alpha1.RolloutPause{Duration: dur(10)}},
				{SetWeight: w(60)}, {Pause: &v1alpha1.RolloutPause{Duration: dur(10)}},
				{SetWeight: w(80)}, {Pause: &v1alpha1.RolloutPause{Duration: dur(10)}},
			}}},
		},
	}
	return ro
}

// replicaSetFor builds the ReplicaSet the engine would have created for ro's template.
func replicaSetFor(ro *v1alpha1.Rollout, rev int, spec, avail int32, created time.Time) *appsv1.ReplicaSet {
	hash := PodTemplateHash(&ro.Spec.Template, nil)
	tmpl := *ro.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: ro.Name + "-" + hash, Namespace: ro.Namespace, ResourceVersion: "7",
			CreationTimestamp: metav1.NewTime(created),
			Labels:            map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash, "app": "demo"},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: strconv.Itoa(rev),
				v1alpha1.DesiredReplicasAnnotation: "5"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.SchemeGroupVersion.WithKind("Rollout"))}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &spec, Template: tmpl},
		Status: appsv1.ReplicaSetStatus{Replicas: spec, ReadyReplicas: avail, AvailableReplicas: avail},
	}
}

// midUpdate is the guide after `set image yellow`: blue (revision 1) stable with 5 pods, yellow
// (revision 2) created; the status as the engine left it at the given step.
func midUpdate(step int32) (*v1alpha1.Rollout, *appsv1.ReplicaSet, *appsv1.ReplicaSet) {
	blue := guideRollout("blue")
	stable := replicaSetFor(blue, 1, 5, 5, t0)
	ro := guideRollout("yellow")
	canary := replicaSetFor(ro, 2, 0, 0, t0.Add(time.Minute))
	ro.Annotations[v1alpha1.RevisionAnnotation] = "2"
	ro.Status = v1alpha1.RolloutStatus{StableRS: podHash(stable), CurrentPodHash: podHash(canary),
		CurrentStepHash: StepsHash(ro), CurrentStepIndex: &step, ObservedGeneration: "1"}
	return ro, stable, canary
}

func decide(ro *v1alpha1.Rollout, now time.Time, rss ...*appsv1.ReplicaSet) *Plan {
	return Decide(Observed{Rollout: ro, ReplicaSets: rss, Services: map[string]*corev1.Service{}, Now: now})
}

func actionStrings(p *Plan) string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, a.String())
	}
	return strings.Join(out, "; ")
}

func eventReasons(p *Plan) string {
	var out []string
	for _, a := range p.Actions {
		for _, e := range a.Events {
			out = append(out, e.Reason)
		}
	}
	for _, e := range p.Events {
		out = append(out, e.Reason)
	}
	return strings.Join(out, ",")
}

func TestFirstReconcileCreatesTheReplicaSetAtZero(t *testing.T) {
	ro := guideRollout("blue")
	plan := decide(ro, t0)
	if len(plan.Actions) != 2 || plan.Actions[0].Kind != CreateReplicaSet || plan.Actions[1].Kind != UpdateRollout {
		t.Fatalf("actions: %s", actionStrings(plan))
	}
	rs := plan.Actions[0].ReplicaSet
	hash := PodTemplateHash(&ro.Spec.Template, nil)
	if rs.Name != "demo-"+hash || specReplicas(rs) != 0 || rs.Annotations[v1alpha1.RevisionAnnotation] != "1" {
		t.Errorf("ReplicaSet %s replicas %d revision %s", rs.Name, specReplicas(rs), rs.Annotations[v1alpha1.RevisionAnnotation])
	}
	if rs.Spec.Selector.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] != hash || rs.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != hash {
		t.Error("the hash label is missing from the selector or the template")
	}
	if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != ro.UID {
		t.Error("the ReplicaSet is not controlled by the rollout")
	}
	if got := plan.Actions[1].Rollout.Annotations[v1alpha1.RevisionAnnotation]; got != "1" {
		t.Errorf("rollout revision annotation %q", got)
	}
	if c := getCondition(*plan.Status, v1alpha1.RolloutProgressing); c == nil || c.Reason != ReasonNewReplicaSetCreated {
		t.Errorf("Progressing condition %+v", c)
	}
	if got := eventReasons(plan); got != "NewReplicaSetCreated,RolloutUpdated" {
		t.Errorf("events %s", got)
	}
}

func TestInvalidSpecTouchesNothingButTheStatus(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Rollout)
		field  string
	}{
		{"weight over 100", func(ro *v1alpha1.Rollout) { w := int32(120); ro.Spec.Strategy.Canary.Steps[0].SetWeight = &w },
			"spec.strategy.canary.steps[0].setWeight"},
		{"missing canary Service", func(ro *v1alpha1.Rollout) { ro.Spec.Strategy.Canary.CanaryService = "nope" },
			"spec.strategy.canary.canaryService"},
		{"traffic routing not built yet", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "c", "s"
			ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "i", ServicePort: 80}}
		}, "spec.strategy.canary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro, stable, canary := midUpdate(1)
			c.mutate(ro)
			plan := decide(ro, t0, stable, canary)
			if len(plan.Actions) != 0 || len(plan.Events) != 0 {
				t.Fatalf("an invalid spec must change nothing else, got actions %q", actionStrings(plan))
			}
			if plan.Status == nil || plan.Status.Phase != v1alpha1.RolloutPhaseDegraded {
				t.Fatalf("status %+v", plan.Status)
			}
			if !strings.Contains(plan.Status.Message, c.field) || !strings.HasPrefix(plan.Status.Message, "InvalidSpec: The Rollout \"demo\" is invalid") {
				t.Errorf("message %q does not name %s", plan.Status.Message, c.field)
			}
			if plan.RequeueAfter != invalidSpecRecheck {
				t.Errorf("requeue %s", plan.RequeueAfter)
			}
		})
	}
}

func TestStepZeroScalesStableFirstThenCanary(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	plan := decide(ro, t0, stable, canary)
	if got := actionStrings(plan); got != "update ReplicaSet "+stable.Name+" (replicas 4)" {
		t.Fatalf("first reconcile: %s", got)
	}
	stable = plan.Actions[0].ReplicaSet
	stable.Status.Replicas, stable.Status.AvailableReplicas = 4, 4
	plan = decide(ro, t0, stable, canary)
	if got := actionStrings(plan); got != "update ReplicaSet "+canary.Name+" (replicas 1)" {
		t.Fatalf("second reconcile: %s", got)
	}
	canary = plan.Actions[0].ReplicaSet
	canary.Status.Replicas, canary.Status.AvailableReplicas = 1, 1
	plan = decide(ro, t0, stable, canary)
	if plan.Status == nil || *plan.Status.CurrentStepIndex != 1 {
		t.Fatalf("step 0 should be complete with 1 of 5 pods new: %+v", plan.Status)
	}
	if got := eventReasons(plan); !strings.Contains(got, "RolloutStepCompleted") {
		t.Errorf("events %s", got)
	}
}

func TestPauseStepPausesUntilPromoted(t *testing.T) {
	ro, stable, canary := midUpdate(1)
	stable = replicaSetFor(guideRollout("blue"), 1, 4, 4, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	plan := decide(ro, t0, stable, canary)
	st := plan.Status
	if st == nil || len(st.PauseConditions) != 1 || st.PauseConditions[0].Reason != v1alpha1.PauseReasonCanaryPauseStep || !st.ControllerPause {
		t.Fatalf("pause not added: %+v", st)
	}
	if st.Phase != v1alpha1.RolloutPhasePaused || st.Message != "CanaryPauseStep" {
		t.Errorf("phase %s %q", st.Phase, st.Message)
	}
	if !strings.Contains(eventReasons(plan), ReasonRolloutPaused) {
		t.Errorf("no RolloutPaused event: %s", eventReasons(plan))
	}
	// Still paused later: an indefinite pause never times out.
	ro.Status = *st
	if p := decide(ro, t0.Add(time.Hour), stable, canary); p.Status != nil && len(p.Status.PauseConditions) == 0 {
		t.Fatal("the pause ended by itself")
	}
	// `promote` clears the pause conditions; controllerPause tells that apart from "not yet paused".
	ro.Status.PauseConditions = nil
	ro.Status.Conditions = append(ro.Status.Conditions, newCondition(v1alpha1.RolloutPaused, corev1.ConditionFalse, ReasonRolloutPaused, msgPaused, t0),
		newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutResumed, msgResumed, t0))
	plan = decide(ro, t0.Add(time.Hour), stable, canary)
	if plan.Status == nil || *plan.Status.CurrentStepIndex != 2 || plan.Status.ControllerPause {
		t.Fatalf("promote did not move to step 2: %+v", plan.Status)
	}
}

func TestTimedPauseWakesAtItsEnd(t *testing.T) {
	ro, stable, canary := midUpdate(3)
	stable = replicaSetFor(guideRollout("blue"), 1, 3, 3, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(2), 2, 2
	start := t0.Add(90 * time.Second)
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(start)}}
	ro.Status.ControllerPause = true
	ro.Status.Conditions = pausedConditions()
	plan := decide(ro, start.Add(4*time.Second), stable, canary)
	if plan.RequeueAfter != 6*time.Second {
		t.Fatalf("requeue after %s, want 6s (the rest of the 10s pause)", plan.RequeueAfter)
	}
	plan = decide(ro, start.Add(10*time.Second), stable, canary)
	if plan.Status == nil || *plan.Status.CurrentStepIndex != 4 || len(plan.Status.PauseConditions) != 0 {
		t.Fatalf("the pause did not end after 10s: %+v", plan.Status)
	}
}

func TestAbortGoesBackToStepZeroDegraded(t *testing.T) {
	ro, stable, canary := midUpdate(1)
	stable = replicaSetFor(guideRollout("blue"), 1, 4, 4, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	ro.Status.Abort = true
	plan := decide(ro, t0, stable, canary)
	if got := actionStrings(plan); got != "update ReplicaSet "+stable.Name+" (replicas 5)" {
		t.Fatalf("abort first grows the stable back: %s", got)
	}
	st := plan.Status
	if st == nil || *st.CurrentStepIndex != 0 || !st.Abort || st.AbortedAt == nil || st.Phase != v1alpha1.RolloutPhaseDegraded {
		t.Fatalf("status %+v", st)
	}
	if st.Message != "RolloutAborted: Rollout aborted update to revision 2" {
		t.Errorf("message %q", st.Message)
	}
	if !strings.Contains(eventReasons(plan), ReasonRolloutAborted) {
		t.Errorf("no RolloutAborted event: %s", eventReasons(plan))
	}
}

func TestReapplyingTheStableTemplateIsAFastRollback(t *testing.T) {
	blue := guideRollout("blue")
	stable := replicaSetFor(blue, 1, 4, 4, t0)
	yellow := guideRollout("yellow")
	canary := replicaSetFor(yellow, 2, 1, 1, t0.Add(time.Minute))
	ro := blue.DeepCopy() // the user re-applied blue mid-update
	ro.Annotations[v1alpha1.RevisionAnnotation] = "2"
	one := int32(1)
	ro.Status = v1alpha1.RolloutStatus{StableRS: podHash(stable), CurrentPodHash: podHash(canary),
		CurrentStepHash: StepsHash(ro), CurrentStepIndex: &one, ObservedGeneration: "1"}
	plan := decide(ro, t0, stable, canary)
	for _, a := range plan.Actions {
		if a.Kind == CreateReplicaSet {
			t.Fatal("a rollback must not create a ReplicaSet")
		}
	}
	if got := actionStrings(plan); !strings.Contains(got, "update ReplicaSet "+stable.Name) {
		t.Errorf("the stable ReplicaSet should get the next revision: %s", got)
	}
	if plan.Status == nil || *plan.Status.CurrentStepIndex != 8 || plan.Status.CurrentPodHash != podHash(stable) {
		t.Fatalf("status %+v", plan.Status)
	}
	if !strings.Contains(eventReasons(plan), ReasonSkipSteps) {
		t.Errorf("no SkipSteps event: %s", eventReasons(plan))
	}
}

func TestNameTakenBumpsTheCollisionCount(t *testing.T) {
	ro := guideRollout("blue")
	name := "demo-" + PodTemplateHash(&ro.Spec.Template, nil)
	plan := Decide(Observed{Rollout: ro, TakenNames: map[string]bool{name: true}, Now: t0})
	if len(plan.Actions) != 0 || plan.Status == nil || plan.Status.CollisionCount == nil || *plan.Status.CollisionCount != 1 {
		t.Fatalf("plan %s status %+v", actionStrings(plan), plan.Status)
	}
	ro.Status.CollisionCount = plan.Status.CollisionCount
	if h := PodTemplateHash(&ro.Spec.Template, ro.Status.CollisionCount); "demo-"+h == name {
		t.Fatal("the collision count does not change the hash")
	}
}

func TestChangingReplicasResizesWithoutMovingSteps(t *testing.T) {
	ro, stable, canary := midUpdate(1)
	stable = replicaSetFor(guideRollout("blue"), 1, 4, 4, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	ro.Status.ControllerPause = true
	ro.Status.Conditions = pausedConditions()
	ten := int32(10)
	ro.Spec.Replicas = &ten
	plan := decide(ro, t0, stable, canary)
	if got := actionStrings(plan); got != "update ReplicaSet "+stable.Name+" (replicas 8)" {
		t.Fatalf("scaling event: %s", got)
	}
	if plan.Status != nil && *plan.Status.CurrentStepIndex != 1 {
		t.Fatal("a scaling event moved the steps")
	}
}

func TestRevisionHistoryLimitDeletesTheOldestScaledDown(t *testing.T) {
	ro, stable, canary := midUpdate(1)
	var old []*appsv1.ReplicaSet
	for i, img := range []string{"a", "b", "c"} {
		rs := replicaSetFor(guideRollout(img), i+10, 0, 0, t0.Add(-time.Duration(10-i)*time.Minute))
		old = append(old, rs)
	}
	plan := decide(ro, t0, append([]*appsv1.ReplicaSet{stable, canary}, old...)...)
	deleted := 0
	for _, a := range plan.Actions {
		if a.Kind == DeleteReplicaSet {
			deleted++
			if a.Name != old[0].Name {
				t.Errorf("deleted %s, want the oldest %s", a.Name, old[0].Name)
			}
		}
	}
	if deleted != 1 {
		t.Fatalf("deleted %d ReplicaSets, want 1 (3 old, limit 2): %s", deleted, actionStrings(plan))
	}
}

func TestServicesSwitchToTheirReplicaSets(t *testing.T) {
	ro, stable, canary := midUpdate(1)
	ro.Spec.Strategy.Canary.CanaryService, ro.Spec.Strategy.Canary.StableService = "demo-canary", "demo-stable"
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	svc := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo"}}}
	}
	plan := Decide(Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, Now: t0,
		Services: map[string]*corev1.Service{"demo-canary": svc("demo-canary"), "demo-stable": svc("demo-stable")}})
	var patches []string
	for _, a := range plan.Actions {
		if a.Kind == PatchService {
			patches = append(patches, a.Name+" "+string(a.Patch))
		}
	}
	want := []string{
		`demo-stable {"metadata":{"annotations":{"argo-rollouts.argoproj.io/managed-by-rollouts":"demo"}},"spec":{"selector":{"rollouts-pod-template-hash":"` + podHash(stable) + `"}}}`,
		`demo-canary {"metadata":{"annotations":{"argo-rollouts.argoproj.io/managed-by-rollouts":"demo"}},"spec":{"selector":{"rollouts-pod-template-hash":"` + podHash(canary) + `"}}}`,
	}
	if strings.Join(patches, "\n") != strings.Join(want, "\n") {
		t.Fatalf("patches:\n%s\nwant:\n%s", strings.Join(patches, "\n"), strings.Join(want, "\n"))
	}
	// A Service another rollout manages is refused.
	other := svc("demo-canary")
	other.Annotations = map[string]string{v1alpha1.ManagedByRolloutsKey: "someone-else"}
	plan = Decide(Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, Now: t0,
		Services: map[string]*corev1.Service{"demo-canary": other, "demo-stable": svc("demo-stable")}})
	if plan.Status == nil || !strings.Contains(plan.Status.Message, `Service "demo-canary" is managed by another Rollout`) {
		t.Fatalf("status %+v", plan.Status)
	}
}

func TestDecideDoesNotModifyItsInput(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	in := Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, Now: t0}
	before, _ := json.Marshal(in)
	for i := 0; i < 3; i++ {
		Decide(in)
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Fatal("Decide modified the observed objects (they are shared with the informer cache)")
	}
	if !apiequality.Semantic.DeepEqual(decide(ro, t0, stable, canary), decide(ro, t0, stable, canary)) {
		t.Fatal("Decide is not a function of its input")
	}
}

func ptr(n int32) *int32 { return &n }

// pausedConditions are the conditions of a rollout the controller has seen paused.
func pausedConditions() []v1alpha1.RolloutCondition {
	return []v1alpha1.RolloutCondition{newCondition(v1alpha1.RolloutPaused, corev1.ConditionTrue, ReasonRolloutPaused, msgPaused, t0),
		newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutPaused, msgPaused, t0)}
}
