package tree

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

var plain = Options{Now: fixtures.Now, NoColor: true}

func TestPausedCanarySummary(t *testing.T) {
	s := fixtures.PausedCanary()
	info := NewRolloutInfo(s.Rollout, s.ReplicaSets, s.Pods)
	if info.Status != "Paused" || info.Message != "CanaryPauseStep" || info.Icon != IconPaused ||
		info.Step != "1/8" || info.SetWeight != "20" || info.ActualWeight != "20" {
		t.Errorf("summary %+v", info)
	}
	if len(info.ReplicaSets) != 2 || info.ReplicaSets[0].Revision != 2 || !info.ReplicaSets[0].Canary ||
		!info.ReplicaSets[1].Stable || len(info.ReplicaSets[1].Pods) != 4 {
		t.Errorf("replica sets %+v", info.ReplicaSets)
	}
	imgs := info.Images()
	if len(imgs) != 2 || imgs[0].Image != fixtures.Blue || imgs[0].Tags[0] != TagStable || imgs[1].Tags[0] != TagCanary {
		t.Errorf("images %+v", imgs)
	}
}

// Objects of other rollouts, and pods of other ReplicaSets, stay out of the tree.
func TestOnlyOwnedObjects(t *testing.T) {
	s := fixtures.PausedCanary()
	other := fixtures.Rollout(fixtures.Blue, time.Hour)
	other.UID = "someone-else"
	stranger := fixtures.ReplicaSet(other, 9, "ffffffffff", "nginx", 3, 3, time.Hour)
	info := NewRolloutInfo(s.Rollout, append(s.ReplicaSets, stranger), append(s.Pods, fixtures.RunningPods(stranger, 3, time.Hour)...))
	if got := info.Revisions(); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Errorf("revisions %v", got)
	}
	if strings.Contains(Render(info, plain), "nginx") {
		t.Error("a stranger's ReplicaSet is in the tree")
	}
}

func TestActualWeight(t *testing.T) {
	s := fixtures.PausedCanary()
	ro := s.Rollout
	// Without a router: the canary's share of available pods, rounded down (1 of 3 → 33).
	ro.Status.AvailableReplicas = 3
	if w := NewRolloutInfo(ro, s.ReplicaSets, nil).ActualWeight; w != "33" {
		t.Errorf("without a router: %s", w)
	}
	// With one: what was written to the router, else the step's weight.
	ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
	if w := NewRolloutInfo(ro, s.ReplicaSets, nil).ActualWeight; w != "20" {
		t.Errorf("with a router, nothing written yet: %s", w)
	}
	ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 5}}
	if w := NewRolloutInfo(ro, s.ReplicaSets, nil).ActualWeight; w != "5" {
		t.Errorf("with a router: %s", w)
	}
	ro.Status.AvailableReplicas = 0
	if w := NewRolloutInfo(ro, s.ReplicaSets, nil).ActualWeight; w != "0" {
		t.Errorf("nothing available: %s", w)
	}
}

func TestBlueGreen(t *testing.T) {
	s := fixtures.PausedCanary()
	ro := s.Rollout
	ro.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "a", PreviewService: "p"}}
	ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = fixtures.BlueHash, fixtures.YellowHash
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "BlueGreenPause"
	out := Render(NewRolloutInfo(ro, s.ReplicaSets, s.Pods), plain)
	for _, want := range []string{
		"Strategy:        BlueGreen\nImages:          argoproj/rollouts-demo:blue (active, stable)\n                 argoproj/rollouts-demo:yellow (preview)\n",
		"ReplicaSet  ✔ Healthy  58s  preview\n",
		"ReplicaSet  ✔ Healthy  10m  stable,active\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "Step:") {
		t.Errorf("a blue-green rollout has no steps:\n%s", out)
	}
}

func TestScaleDownDelay(t *testing.T) {
	s := fixtures.PausedCanary()
	rs := s.ReplicaSets[0]
	rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = fixtures.Now.Add(30 * time.Second).Format(time.RFC3339)
	if out := Render(NewRolloutInfo(s.Rollout, s.ReplicaSets, s.Pods), plain); !strings.Contains(out, "stable,delay:30s\n") {
		t.Errorf("no delay:30s in\n%s", out)
	}
	rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = fixtures.Now.Add(-time.Second).Format(time.RFC3339)
	if out := Render(NewRolloutInfo(s.Rollout, s.ReplicaSets, s.Pods), plain); !strings.Contains(out, "stable,delay:passed\n") {
		t.Errorf("no delay:passed in\n%s", out)
	}
}

func TestReplicaSetHealth(t *testing.T) {
	ro := fixtures.Rollout(fixtures.Blue, time.Hour)
	rs := func(mutate func(*appsv1.ReplicaSet)) *appsv1.ReplicaSet {
		r := fixtures.ReplicaSet(ro, 1, "h", "x", 3, 3, time.Hour)
		mutate(r)
		return r
	}
	for _, tc := range []struct {
		rs   *appsv1.ReplicaSet
		want string
	}{
		{rs(func(*appsv1.ReplicaSet) {}), "Healthy"},
		{rs(func(r *appsv1.ReplicaSet) { r.Status.AvailableReplicas = 2 }), "Progressing"},
		{rs(func(r *appsv1.ReplicaSet) { r.Generation = 2 }), "Progressing"},
		{rs(func(r *appsv1.ReplicaSet) { r.Spec.Replicas = ptr.To[int32](0); r.Status.AvailableReplicas = 0 }), "ScaledDown"},
		{rs(func(r *appsv1.ReplicaSet) {
			r.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue}}
		}), "ReplicaFailure"},
	} {
		if got := replicaSetHealth(tc.rs); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.rs.Status, got, tc.want)
		}
	}
}

func TestPodStatus(t *testing.T) {
	running := func() *corev1.Pod {
		return fixtures.RunningPods(fixtures.ReplicaSet(fixtures.Rollout(fixtures.Blue, time.Hour), 1, "h", "x", 1, 1, time.Hour), 1, time.Hour)[0]
	}
	waiting := func(reason string, restarts int32) *corev1.Pod {
		p := running()
		p.Status.ContainerStatuses[0].Ready = false
		p.Status.ContainerStatuses[0].RestartCount = restarts
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
		return p
	}
	deleted := running()
	deleted.DeletionTimestamp = &metav1.Time{Time: fixtures.Now}
	initWaiting := running()
	initWaiting.Status.Phase = corev1.PodPending
	initWaiting.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	initWaiting.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	failedInit := running()
	failedInit.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	failedInit.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}}}
	crashed := running()
	crashed.Status.ContainerStatuses[0].Ready = false
	crashed.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137}}

	for _, tc := range []struct {
		pod                 *corev1.Pod
		status, icon, ready string
		restarts            int32
	}{
		{running(), "Running", IconOK, "1/1", 0},
		{waiting("ImagePullBackOff", 0), "ImagePullBackOff", IconWarning, "0/1", 0},
		{waiting("CrashLoopBackOff", 4), "CrashLoopBackOff", IconBad, "0/1", 4},
		{waiting("ContainerCreating", 0), "ContainerCreating", IconProgressing, "0/1", 0},
		{waiting("CreateContainerConfigError", 0), "CreateContainerConfigError", IconWarning, "0/1", 0},
		{deleted, "Terminating", IconProgressing, "1/1", 0},
		{initWaiting, "Init:0/1", IconProgressing, "0/1", 0},
		{failedInit, "Init:ExitCode:2", IconProgressing, "0/1", 0},
		{crashed, "ExitCode:137", IconBad, "0/1", 0},
	} {
		got := newPodInfo(tc.pod)
		if got.Status != tc.status || got.Icon != tc.icon || got.Ready != tc.ready || got.Restarts != tc.restarts {
			t.Errorf("got %s %s %s restarts %d, want %s %s %s restarts %d",
				got.Status, got.Icon, got.Ready, got.Restarts, tc.status, tc.icon, tc.ready, tc.restarts)
		}
	}
}

func TestRestartsColumn(t *testing.T) {
	s := fixtures.Healthy()
	s.Pods[0].Status.ContainerStatuses[0].RestartCount = 3
	if out := Render(NewRolloutInfo(s.Rollout, s.ReplicaSets, s.Pods), plain); !strings.Contains(out, "ready:1/1,restarts:3\n") {
		t.Errorf("no restarts in\n%s", out)
	}
}

func TestTableAlignsColoredCells(t *testing.T) {
	tb := &table{}
	tb.add("NAME", "STATUS", "INFO")
	tb.add("a", "\x1b[32m✔\x1b[0m ok", "x")
	tb.add("longer-name", "✖ bad", "")
	got := tb.String()
	want := "NAME         STATUS  INFO\na            \x1b[32m✔\x1b[0m ok    x\nlonger-name  ✖ bad\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if visibleWidth("\x1b[94m◌\x1b[0m ॥") != 3 {
		t.Error("visibleWidth counts escape codes or bytes")
	}
}

func TestListRow(t *testing.T) {
	s := fixtures.PausedCanary()
	rows := []ListRow{NewListRow(s.Rollout)}
	got := ListTable(rows, ListOptions{})
	want := "NAME           STRATEGY   STATUS        STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE\n" +
		"rollouts-demo  Canary     Paused        1/8   20          5/5    5        1           5\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if line := ListLine(rows[0], ListOptions{}); line != "rollouts-demo  Canary     Paused        1/8   20          5/5    5        1           5\n" {
		t.Errorf("watch line %q", line)
	}
}
