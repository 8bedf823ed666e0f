package rollout

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// restartAt is when the tests' restarts are asked for: an hour after the pods were created.
var restartAt = t0.Add(time.Hour)

// healthyGuide is the guide's rollout settled on blue (5 of 5 pods), asked to restart at
// restartAt.
func healthyGuide() (*v1alpha1.Rollout, *appsv1.ReplicaSet) {
	ro := guideRollout("blue")
	rs := replicaSetFor(ro, 1, 5, 5, t0)
	rs.UID = "rs-uid"
	steps := int32(len(ro.Spec.Strategy.Canary.Steps))
	ro.Annotations[v1alpha1.RevisionAnnotation] = "1"
	ro.Status = v1alpha1.RolloutStatus{StableRS: podHash(rs), CurrentPodHash: podHash(rs), CurrentStepHash: StepsHash(ro),
		CurrentStepIndex: &steps, ObservedGeneration: "1", Replicas: 5, UpdatedReplicas: 5, ReadyReplicas: 5, AvailableReplicas: 5}
	at := metav1.NewTime(restartAt)
	ro.Spec.RestartAt = &at
	return ro, rs
}

// podOf is a pod of rs created at created; ready or not, terminating or not.
func podOf(rs *appsv1.ReplicaSet, name string, created time.Time, ready, terminating bool) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rs.Namespace, UID: types.UID(name + "-uid"),
			CreationTimestamp: metav1.NewTime(created), Labels: rs.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
		Spec: *rs.Spec.Template.Spec.DeepCopy(),
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(created.Add(time.Second))}}
	if terminating {
		ts := metav1.NewTime(restartAt)
		pod.DeletionTimestamp = &ts
	}
	return pod
}

// oldPods are n ready pods of rs created before restartAt.
func oldPods(rs *appsv1.ReplicaSet, n int) []*corev1.Pod {
	var pods []*corev1.Pod
	for i := 0; i < n; i++ {
		pods = append(pods, podOf(rs, fmt.Sprintf("old-%d", i), t0.Add(time.Duration(i)*time.Second), true, false))
	}
	return pods
}

func decideRestart(ro *v1alpha1.Rollout, now time.Time, rss []*appsv1.ReplicaSet, pods []*corev1.Pod) *Plan {
	return Decide(Observed{Rollout: ro, ReplicaSets: rss, Services: map[string]*corev1.Service{}, Now: now, Pods: pods})
}

func deletedPods(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		if a.Kind == DeletePod {
			out = append(out, a.Name)
		}
	}
	return out
}

func TestRestartDeletesOnePodAtATimeWhenAllAreAvailable(t *testing.T) {
	ro, rs := healthyGuide()
	plan := decideRestart(ro, restartAt.Add(time.Second), []*appsv1.ReplicaSet{rs}, oldPods(rs, 5))
	if got := deletedPods(plan); len(got) != 1 || got[0] != "old-0" {
		t.Fatalf("deleted %v, want the oldest pod only (actions: %s)", got, actionStrings(plan))
	}
	if a := plan.Actions[len(plan.Actions)-1]; a.Pod == nil || a.Pod.UID != "old-0-uid" {
		t.Errorf("the delete does not carry the observed pod: %+v", a.Pod)
	}
	if plan.Status != nil {
		t.Errorf("a reconcile that restarts pods writes no status: %s", plan.StatusPatch)
	}
	if plan.RequeueAfter <= 0 || plan.RequeueAfter > restartRecheck {
		t.Errorf("requeue %s", plan.RequeueAfter)
	}
}

func TestRestartWaitsForAvailability(t *testing.T) {
	ro, rs := healthyGuide()
	later := restartAt.Add(time.Minute)
	cases := []struct {
		name string
		pods []*corev1.Pod
		// wantRequeue is the longest acceptable requeue.
		wantRequeue time.Duration
	}{
		{"replacement not ready yet", append(oldPods(rs, 4), podOf(rs, "new-0", later, false, false)), restartRecheck},
		{"deleted pod still terminating counts as unavailable", append(oldPods(rs, 5)[1:],
			podOf(rs, "old-0", t0, true, true), podOf(rs, "new-0", later, false, false)), terminatingRecheck},
		{"an old pod is not ready", append(oldPods(rs, 4), podOf(rs, "old-9", t0, false, false)), restartRecheck},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := decideRestart(ro, later.Add(time.Second), []*appsv1.ReplicaSet{rs}, c.pods)
			if got := deletedPods(plan); len(got) != 0 {
				t.Fatalf("deleted %v with only 4 of 5 pods available", got)
			}
			if plan.Status != nil && plan.Status.RestartedAt != nil {
				t.Errorf("restartedAt set with old pods left")
			}
			if plan.RequeueAfter <= 0 || plan.RequeueAfter > c.wantRequeue {
				t.Errorf("requeue %s, want at most %s", plan.RequeueAfter, c.wantRequeue)
			}
		})
	}
}

func TestRestartTakesMaxUnavailableAtATimeUnavailableFirst(t *testing.T) {
	ro, rs := healthyGuide()
	two := intstr.FromInt32(2)
	ro.Spec.Strategy.Canary.MaxUnavailable = &two
	plan := decideRestart(ro, restartAt.Add(time.Second), []*appsv1.ReplicaSet{rs}, oldPods(rs, 5))
	if got := fmt.Sprint(deletedPods(plan)); got != "[old-0 old-1]" {
		t.Errorf("all available: deleted %s, want the two oldest", got)
	}
	// One old pod is not ready: 4 available, 3 must stay, so one goes, the unready one.
	pods := append(oldPods(rs, 4), podOf(rs, "old-9", t0.Add(time.Minute), false, false))
	plan = decideRestart(ro, restartAt.Add(time.Second), []*appsv1.ReplicaSet{rs}, pods)
	if got := fmt.Sprint(deletedPods(plan)); got != "[old-9]" {
		t.Errorf("one unready: deleted %s, want the unready pod", got)
	}
}

func TestRestartIsDoneWhenNoOldPodIsLeft(t *testing.T) {
	ro, rs := healthyGuide()
	var pods []*corev1.Pod
	for i := 0; i < 5; i++ {
		pods = append(pods, podOf(rs, fmt.Sprintf("new-%d", i), restartAt.Add(time.Duration(i)*time.Second), true, false))
	}
	plan := decideRestart(ro, restartAt.Add(time.Minute), []*appsv1.ReplicaSet{rs}, pods)
	if got := deletedPods(plan); len(got) != 0 {
		t.Fatalf("deleted %v", got)
	}
	if plan.Status == nil || plan.Status.RestartedAt == nil || !plan.Status.RestartedAt.Equal(ro.Spec.RestartAt) {
		t.Fatalf("restartedAt not recorded: %+v", plan.Status)
	}
	if plan.Status.Phase != v1alpha1.RolloutPhaseHealthy {
		t.Errorf("phase %s %q", plan.Status.Phase, plan.Status.Message)
	}
	if got := eventReasons(plan); got != ReasonRolloutRestarted {
		t.Errorf("events %s", got)
	}
	// A pod created in the very second of restartAt is not older than it.
	pods[0] = podOf(rs, "new-0", restartAt, true, false)
	if plan := decideRestart(ro, restartAt.Add(time.Minute), []*appsv1.ReplicaSet{rs}, pods); plan.Status == nil || plan.Status.RestartedAt == nil {
		t.Errorf("a pod created at restartAt was taken for an old one: %s", actionStrings(plan))
	}
	// Once recorded, nothing more happens and the pods are not needed.
	done := ro.DeepCopy()
	done.Status = *plan.Status
	if RestartPending(done, restartAt.Add(time.Hour)) {
		t.Error("a recorded restart is still pending")
	}
	if plan := decideRestart(done, restartAt.Add(time.Hour), []*appsv1.ReplicaSet{rs}, nil); len(plan.Actions) > 0 || plan.Status != nil {
		t.Errorf("after the restart: %s %s", actionStrings(plan), plan.StatusPatch)
	}
}

func TestRestartInTheFutureWaitsForItsTime(t *testing.T) {
	ro, rs := healthyGuide()
	now := restartAt.Add(-10 * time.Second)
	if RestartPending(ro, now) {
		t.Error("a restart in ten seconds is pending now")
	}
	plan := decideRestart(ro, now, []*appsv1.ReplicaSet{rs}, nil)
	if got := deletedPods(plan); len(got) != 0 {
		t.Fatalf("deleted %v before restartAt", got)
	}
	if plan.RequeueAfter != 10*time.Second {
		t.Errorf("requeue %s, want 10s", plan.RequeueAfter)
	}
	if plan.Status != nil && plan.Status.RestartedAt != nil {
		t.Error("restartedAt recorded before restartAt")
	}
	if !RestartPending(ro, restartAt) {
		t.Error("not pending at restartAt")
	}
}

func TestRestartOfABlueGreenRollout(t *testing.T) {
	ro, rs := healthyGuide()
	ro.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "active"}}
	ro.Status.CurrentStepHash, ro.Status.CurrentStepIndex = "", nil
	ro.Status.BlueGreen.ActiveSelector = podHash(rs)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "active", Namespace: "ns"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo", v1alpha1.DefaultRolloutUniqueLabelKey: podHash(rs)}}}
	in := Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{rs}, Services: map[string]*corev1.Service{"active": svc},
		Now: restartAt.Add(time.Second), Pods: oldPods(rs, 5)}
	if got := deletedPods(Decide(in)); len(got) != 1 {
		t.Fatalf("deleted %v, want one pod (25%% of 5 rounds down to 1)", got)
	}
}

// The reconciler lists pods only while a restart is pending, and deletes with the pod's grace
// period and UID.
func TestReconcileListsPodsOnlyForAPendingRestart(t *testing.T) {
	ro, rs := healthyGuide()
	ro.Spec.RestartAt = nil
	var objs []runtime.Object
	objs = append(objs, rs)
	for _, p := range oldPods(rs, 5) {
		objs = append(objs, p)
	}
	kube := fake.NewSimpleClientset(objs...)
	rf := &k8stesting.Fake{}
	tracker := k8stesting.NewObjectTracker(client.Scheme, client.Codecs.UniversalDecoder())
	if err := tracker.Add(ro); err != nil {
		t.Fatal(err)
	}
	rf.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	rollouts := client.NewFake(rf)
	clk := clocktesting.NewFakePassiveClock(restartAt.Add(time.Second))
	r := NewReconciler(Deps{Kube: kube, Rollouts: rollouts, Reader: fakeReader{kube, rollouts}, Clock: clk}, DefaultConfig())
	ctx := context.Background()
	podCalls := func() (list, del int, grace *int64, uid *types.UID) {
		for _, a := range kube.Actions() {
			if a.GetResource().Resource != "pods" {
				continue
			}
			switch a := a.(type) {
			case k8stesting.ListAction:
				list++
			case k8stesting.DeleteActionImpl:
				del++
				grace = a.DeleteOptions.GracePeriodSeconds
				if a.DeleteOptions.Preconditions != nil {
					uid = a.DeleteOptions.Preconditions.UID
				}
			}
		}
		return
	}
	for i := 0; i < 3; i++ {
		if _, err := r.Reconcile(ctx, "ns/demo"); err != nil {
			t.Fatal(err)
		}
	}
	if list, del, _, _ := podCalls(); list != 0 || del != 0 {
		t.Fatalf("without a restart: %d pod lists, %d deletes", list, del)
	}

	stored, err := rollouts.Rollouts("ns").Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := metav1.NewTime(restartAt)
	stored.Spec.RestartAt = &at
	if _, err := rollouts.Rollouts("ns").Update(ctx, stored, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Reconcile(ctx, "ns/demo")
	if err != nil {
		t.Fatal(err)
	}
	list, del, grace, uid := podCalls()
	if list != 1 || del != 1 {
		t.Fatalf("with a restart: %d pod lists, %d deletes (plan: %s)", list, del, actionStrings(r.LastPlan))
	}
	if grace == nil || *grace != corev1.DefaultTerminationGracePeriodSeconds || uid == nil || *uid != "old-0-uid" {
		t.Errorf("delete options: grace %v, uid %v", grace, uid)
	}
	if res.RequeueAfter <= 0 {
		t.Errorf("no requeue while restarting")
	}
	pods, err := kube.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 4 {
		t.Fatalf("pods left: %d (%v)", len(pods.Items), err)
	}
}
