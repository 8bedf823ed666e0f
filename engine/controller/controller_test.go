package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The getting-started guide, through the real controller's informers, queue and workers, with
// the engine's time on a fake clock: deploy blue, update to yellow, pause at 20% (1 of 5 pods
// new), promote, then the timed 40/60/80% steps, each pause held exactly until its 10s are up.
func TestBasicCanaryThroughTheSteps(t *testing.T) {
	c := newCluster(t)
	events := &eventLog{}
	ctrl, _ := c.start(c.options(events))
	c.create(guideRollout("default", "demo", nil))

	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "initial deploy")
	if got := c.replicaSets("default"); got["argoproj/rollouts-demo:blue"] != 5 {
		t.Fatalf("after the initial deploy: replica sets %v, want 5 blue", got)
	}

	c.setImage("default", "demo", "argoproj/rollouts-demo:yellow")
	c.waitStep("default", "demo", 1, true)
	ro := c.rollout("default", "demo")
	if len(ro.Status.PauseConditions) != 1 || ro.Status.PauseConditions[0].Reason != v1alpha1.PauseReasonCanaryPauseStep {
		t.Fatalf("pause conditions %+v, want one CanaryPauseStep", ro.Status.PauseConditions)
	}
	if got := c.replicaSets("default"); got["argoproj/rollouts-demo:yellow"] != 1 || got["argoproj/rollouts-demo:blue"] != 4 {
		t.Fatalf("at setWeight 20: replica sets %v, want 1 yellow and 4 blue", got)
	}
	if ro.Status.Phase != v1alpha1.RolloutPhasePaused || ro.Status.Message != "CanaryPauseStep" {
		t.Fatalf("phase %q message %q, want Paused CanaryPauseStep", ro.Status.Phase, ro.Status.Message)
	}

	c.promote("default", "demo")
	for _, step := range []int32{3, 5, 7} {
		c.waitStep("default", "demo", step, true)
		c.expectHeldFor(ctrl, "default", "demo", step, 10*time.Second)
	}
	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "end of the steps")
	ro = c.rollout("default", "demo")
	if ro.Status.StableRS != ro.Status.CurrentPodHash || ptr.Deref(ro.Status.CurrentStepIndex, -1) != 8 {
		t.Fatalf("stable %q current %q step %v, want the yellow revision stable at step 8", ro.Status.StableRS,
			ro.Status.CurrentPodHash, ptr.Deref(ro.Status.CurrentStepIndex, -1))
	}
	c.eventually("blue scaled to zero", func() bool {
		got := c.replicaSets("default")
		return got["argoproj/rollouts-demo:yellow"] == 5 && got["argoproj/rollouts-demo:blue"] == 0
	})

	// Argo's events, each once per occurrence (a reconcile on a stale cache must not repeat one).
	want := map[string]int{
		"Normal NewReplicaSetCreated: Created ReplicaSet demo-":                   2,
		"Normal RolloutStepCompleted: Rollout step 1/8 completed (setWeight: 20)": 1,
		"Normal RolloutPaused: Rollout is paused (CanaryPauseStep)":               4,
		"Normal RolloutStepCompleted: Rollout step 2/8 completed (pause)":         1,
		"Normal RolloutResumed: Rollout is resumed":                               3,
		"Normal RolloutStepCompleted: Rollout step 8/8 completed (pause: 10)":     1,
		"Normal RolloutCompleted: Rollout completed update to revision 2 (":       1,
		"Scaled down ReplicaSet demo-":                                            5,
	}
	got := strings.Join(events.all(), "\n")
	for w, n := range want {
		if m := strings.Count(got, w); m != n {
			t.Errorf("event %q recorded %d times, want %d, among:\n%s", w, m, n, got)
		}
	}
}

// waitPhase waits for a rollout to report phase for its current generation.
func (c *cluster) waitPhase(ns, name string, phase v1alpha1.RolloutPhase, what string) {
	c.t.Helper()
	c.eventually(what+": phase "+string(phase), func() bool {
		ro := c.rollout(ns, name)
		return ro.Status.Phase == phase && ro.Status.ObservedGeneration == itoa(ro.Generation)
	})
}

// waitStep waits for a rollout to stand at a step, paused or not.
func (c *cluster) waitStep(ns, name string, step int32, paused bool) {
	c.t.Helper()
	c.eventually("step "+itoa(int64(step)), func() bool {
		ro := c.rollout(ns, name)
		return ptr.Deref(ro.Status.CurrentStepIndex, -1) == step && (len(ro.Status.PauseConditions) > 0) == paused
	})
}

// expectHeldFor checks that a paused step holds until d has passed on the fake clock and ends
// then: one second before the end, a reconcile (as a resync would run) leaves it paused; at the
// end, the requeue the engine asked for ends it, within a further second.
func (c *cluster) expectHeldFor(ctrl *Controller, ns, name string, step int32, d time.Duration) {
	c.t.Helper()
	atStep := func() bool { return ptr.Deref(c.rollout(ns, name).Status.CurrentStepIndex, -1) == step }
	c.clock.Step(d - time.Second)
	c.settle(ctrl)
	n := reconciles(ctrl, ns, name)
	ctrl.Enqueue(ns + "/" + name)
	c.eventually("a reconcile of "+name, func() bool { return reconciles(ctrl, ns, name) > n })
	c.settle(ctrl)
	if !atStep() {
		c.t.Fatalf("step %d ended a second before its %s pause was over", step, d)
	}
	c.clock.Step(time.Second)
	for range 10 {
		c.settle(ctrl)
		if !atStep() {
			return
		}
		c.clock.Step(100 * time.Millisecond)
	}
	c.settle(ctrl)
	if atStep() {
		c.t.Fatalf("step %d still paused a second after its %s pause was over", step, d)
	}
}

// settle waits until the controller has nothing queued or in progress, several polls in a row
// (watch events still in flight re-queue work between polls).
func (c *cluster) settle(ctrl *Controller) {
	c.t.Helper()
	quiet := 0
	c.eventually("the controller to go idle", func() bool {
		if ctrl.queue.idle() && ctrl.analysis.queue.idle() {
			quiet++
		} else {
			quiet = 0
		}
		return quiet >= 5
	})
}

// reconciles counts a rollout's reconciles so far (rollout_reconcile's sample count).
func reconciles(ctrl *Controller, ns, name string) uint64 {
	var m dto.Metric
	if err := ctrl.metrics.reconcile.WithLabelValues(ns, name).(prometheus.Histogram).Write(&m); err != nil {
		panic(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
