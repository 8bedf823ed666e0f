package rollout

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// baseStatus computes the fields every strategy reports from the ReplicaSets.
func (d *decision) baseStatus() v1alpha1.RolloutStatus {
	prevConds := append([]v1alpha1.RolloutCondition(nil), d.ro.Status.Conditions...)
	st := d.newStatus
	st.Conditions = prevConds
	if d.specErr == nil {
		removeCondition(&st, v1alpha1.InvalidSpec)
	}
	if d.newRS != nil {
		st.CurrentPodHash = podHash(d.newRS)
	} else {
		st.CurrentPodHash = d.templateHash
	}
	st.Replicas = sumStatusReplicas(d.allRSs)
	if d.newRS != nil {
		st.UpdatedReplicas = d.newRS.Status.Replicas
	}
	st.ReadyReplicas = sumReady(d.allRSs)
	st.CollisionCount = d.ro.Status.CollisionCount
	st.PromoteFull = st.CurrentPodHash != st.StableRS && d.ro.Status.PromoteFull
	return st
}

// syncStatusCanary computes the canary status: restart the steps on a new template, promote the
// new ReplicaSet to stable when the update is done, hold at step 0 while aborted, or move past a
// completed step.
func (d *decision) syncStatusCanary() {
	st := d.baseStatus()
	st.AvailableReplicas = sumAvailable(d.allRSs)
	st.HPAReplicas = sumStatusReplicas(d.allRSs)
	st.Selector = metav1.FormatLabelSelector(d.ro.Spec.Selector)
	st.StableRS = d.ro.Status.StableRS
	st.CurrentStepHash = d.stepsHash
	steps := int32(len(d.ro.Spec.Strategy.Canary.Steps))
	step, idx := CurrentStep(d.ro)

	if d.templateOrStepsChanged() {
		d.resetStatus(&st)
		if d.newRS != nil && steps > 0 {
			switch {
			case d.ro.Status.StableRS == podHash(d.newRS):
				// Back to the stable template: nothing to step through.
				d.plan.event(ReasonSkipSteps, msgSkipStepsRollback)
				st.CurrentStepIndex = &steps
			case d.rollbackWithinWindow() && specReplicas(d.newRS) > 0:
				d.plan.event(ReasonSkipSteps, "Rollback to active ReplicaSets within RollbackWindow")
				st.CurrentStepIndex = &steps
			}
		}
		d.persist(st)
		return
	}
	if d.ro.Status.PromoteFull || d.rollbackWithinWindow() {
		d.pause.clear, d.pause.removeAbort = true, true
		if steps > 0 {
			idx = &steps
		}
	}
	if reason := d.shouldFullPromote(); reason != "" {
		d.promoteStable(&st, reason)
		d.persist(st)
		return
	}
	if d.aborted() {
		if steps > 0 {
			zero := int32(0)
			st.CurrentStepIndex = &zero
			if st.StableRS == st.CurrentPodHash {
				st.CurrentStepIndex = &steps
			}
		}
		d.persist(st)
		return
	}
	if !d.ro.Status.PromoteFull && d.completedCurrentStep() {
		next := *idx + 1
		idx = &next
		st.Canary.CurrentStepAnalysisRunStatus = nil
		d.plan.event(ReasonStepCompleted, msgStepCompleted, next, steps, StepString(*step))
		d.pause.remove = append(d.pause.remove, v1alpha1.PauseReasonCanaryPauseStep)
	}
	st.CurrentStepIndex = idx
	d.persist(st)
}

// resetStatus starts a new update: no pauses, no abort, first step.
func (d *decision) resetStatus(st *v1alpha1.RolloutStatus) {
	d.pause.clear, d.pause.removeAbort = true, true
	st.RestartedAt = d.ro.Spec.RestartAt
	st.PromoteFull = false
	st.BlueGreen.PrePromotionAnalysisRunStatus = nil
	st.BlueGreen.PostPromotionAnalysisRunStatus = nil
	st.BlueGreen.ScaleUpPreviewCheckPoint = false
	st.Canary.CurrentStepAnalysisRunStatus = nil
	st.Canary.CurrentBackgroundAnalysisRunStatus = nil
	st.CurrentStepIndex = nil
	if c := d.ro.Spec.Strategy.Canary; c != nil && len(c.Steps) > 0 {
		zero := int32(0)
		st.CurrentStepIndex = &zero
	}
}

// completedCurrentStep reports whether the step at the current index is done.
func (d *decision) completedCurrentStep() bool {
	if d.ro.Spec.Paused {
		return false
	}
	step, _ := CurrentStep(d.ro)
	if step == nil {
		return false
	}
	switch {
	case step.Pause != nil:
		return d.completedPauseStep(*step.Pause)
	case step.SetCanaryScale != nil, step.SetWeight != nil:
		return atDesiredCanaryCounts(d.ro, d.newRS, d.stableRS, d.otherRSs) && weightsVerified(d.newStatus)
	case step.SetHeaderRoute != nil, step.SetMirrorRoute != nil:
		return true
	case step.Analysis != nil:
		return d.completedStepAnalysis()
	}
	return false // experiment and plugin steps complete through their own controllers
}

func weightsVerified(st v1alpha1.RolloutStatus) bool {
	w := st.Canary.Weights
	return w == nil || w.Verified == nil || *w.Verified
}

// shouldFullPromote says why the new ReplicaSet should become stable now, or "".
func (d *decision) shouldFullPromote() string {
	if d.stableRS == nil {
		return "Initial deploy"
	}
	if d.aborted() {
		return ""
	}
	if d.newRS == nil || available(d.newRS) != d.replicas() || d.holdPromotion {
		return ""
	}
	if d.ro.Status.PromoteFull {
		return "Full promotion requested"
	}
	if d.rollbackWithinWindow() {
		return "Rollback within window"
	}
	steps := int32(len(d.ro.Spec.Strategy.Canary.Steps))
	_, idx := CurrentStep(d.ro)
	if steps == 0 || (idx != nil && *idx == steps) {
		return fmt.Sprintf("Completed all %d canary steps", steps)
	}
	return ""
}

// rollbackWithinWindow: the new ReplicaSet is older than the stable one and fewer than
// rollbackWindow.revisions ReplicaSets lie between them.
func (d *decision) rollbackWithinWindow() bool {
	w := d.ro.Spec.RollbackWindow
	if d.newRS == nil || d.stableRS == nil || w == nil || w.Revisions <= 0 {
		return false
	}
	if !d.newRS.CreationTimestamp.Before(&d.stableRS.CreationTimestamp) {
		return false
	}
	between := int32(0)
	for _, rs := range d.allRSs {
		if rs.CreationTimestamp.Before(&d.stableRS.CreationTimestamp) && d.newRS.CreationTimestamp.Before(&rs.CreationTimestamp) {
			between++
		}
	}
	return between < w.Revisions
}

// promoteStable makes the new ReplicaSet the stable one.
func (d *decision) promoteStable(st *v1alpha1.RolloutStatus, reason string) {
	d.pause.clear, d.pause.removeAbort = true, true
	st.PromoteFull = false
	st.BlueGreen.ScaleUpPreviewCheckPoint = false
	if c := d.ro.Spec.Strategy.Canary; c != nil {
		st.CurrentStepIndex = nil
		if n := int32(len(c.Steps)); n > 0 {
			st.CurrentStepIndex = &n
		}
	}
	if st.StableRS == st.CurrentPodHash {
		return
	}
	if pp := d.ro.Spec.Strategy.Canary; pp != nil && pp.PingPong != nil {
		if st.Canary.StablePingPong == v1alpha1.PPPing {
			st.Canary.StablePingPong = v1alpha1.PPPong
		} else {
			st.Canary.StablePingPong = v1alpha1.PPPing
		}
	}
	st.StableRS = st.CurrentPodHash
	d.plan.event(ReasonRolloutCompleted, msgCompleted, d.rolloutRevision(), st.CurrentPodHash, reason)
	if d.plan.Why == "" {
		d.plan.Why = "promote to stable: " + reason
	}
}

// persist finishes the status (conditions, pause, phase) and plans the write, or, when nothing
// changed, plans the progress-deadline check.
func (d *decision) persist(st v1alpha1.RolloutStatus) {
	st = d.rolloutConditions(st)
	d.applyPause(&st)
	prev := d.ro.Status
	if !d.writeStatus(&st) {
		d.requeueStuck(st)
		return
	}
	prevPaused, nowPaused := len(prev.PauseConditions) > 0, len(st.PauseConditions) > 0
	if prevPaused != nowPaused {
		if nowPaused {
			d.plan.event(ReasonRolloutPaused, msgRolloutPausedEvent, st.PauseConditions[0].Reason)
		} else if st.AbortedAt == nil {
			d.plan.event(ReasonRolloutResumed, msgResumed)
		}
	}
}

// rolloutConditions computes the Healthy, Progressing, Available and Completed conditions.
func (d *decision) rolloutConditions(st v1alpha1.RolloutStatus) v1alpha1.RolloutStatus {
	paused := len(d.ro.Status.PauseConditions) > 0 || d.ro.Spec.Paused
	aborted := d.aborted()

	becameUnhealthy := false
	if !paused && d.healthy(st) {
		setCondition(&st, newCondition(v1alpha1.RolloutHealthy, corev1.ConditionTrue, ReasonRolloutHealthy, msgHealthy, d.now))
	} else if getCondition(d.ro.Status, v1alpha1.RolloutHealthy) != nil {
		becameUnhealthy = setCondition(&st, newCondition(v1alpha1.RolloutHealthy, corev1.ConditionFalse, ReasonRolloutHealthy, msgNotHealthy, d.now))
	}

	if aborted {
		msg := fmt.Sprintf(msgAborted, d.rolloutRevision())
		if d.pause.abortMessage != "" {
			msg += ": " + d.pause.abortMessage
		}
		if setCondition(&st, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionFalse, ReasonRolloutAborted, msg, d.now)) {
			d.plan.warn(ReasonRolloutAborted, "%s", msg)
		}
	}

	cur := getCondition(d.ro.Status, v1alpha1.RolloutProgressing)
	rsName := ""
	if d.newRS != nil {
		rsName = d.newRS.Name
	}
	if !aborted {
		switch {
		case d.healthy(st):
			setCondition(&st, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, fmt.Sprintf(msgRSCompleted, rsName), d.now))
		case d.progressing(st) || becameUnhealthy:
			reason, msg := ReasonReplicaSetUpdated, fmt.Sprintf(msgRSProgressing, rsName)
			if st.StableRS == st.CurrentPodHash && becameUnhealthy {
				reason, msg = ReasonRSNotAvailable, msgNotAvailable
			}
			c := newCondition(v1alpha1.RolloutProgressing, corev1.ConditionTrue, reason, msg, d.now)
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeCondition(&st, v1alpha1.RolloutProgressing)
			}
			setCondition(&st, c) // refreshes lastUpdateTime: progress was made
		case !isIndefiniteStep(d.ro) && d.timedOut(st):
			msg := fmt.Sprintf(msgRSTimedOut, rsName)
			changed := setCondition(&st, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionFalse, ReasonTimedOut, msg, d.now))
			if d.ro.Spec.ProgressDeadlineAbort && (changed || !d.aborted()) {
				d.pause.addAbort, d.pause.abortMessage = true, msg
				d.plan.warn(ReasonRolloutAborted, "%s", msg)
			}
		}
	}

	availableNow := sumAvailable(d.allRSs) >= d.replicas()
	if d.ro.Spec.Strategy.BlueGreen != nil {
		availableNow = d.saturated(d.rsByHash(st.BlueGreen.ActiveSelector))
	}
	if availableNow {
		setCondition(&st, newCondition(v1alpha1.RolloutAvailable, corev1.ConditionTrue, ReasonAvailable, msgAvailable, d.now))
	} else {
		setCondition(&st, newCondition(v1alpha1.RolloutAvailable, corev1.ConditionFalse, ReasonAvailable, msgNotAvailable, d.now))
	}

	if st.StableRS != "" && st.StableRS == st.CurrentPodHash {
		setCondition(&st, newCondition(v1alpha1.RolloutCompleted, corev1.ConditionTrue, ReasonRolloutCompleted, ReasonRolloutCompleted, d.now))
	} else if setCondition(&st, newCondition(v1alpha1.RolloutCompleted, corev1.ConditionFalse, ReasonRolloutCompleted, ReasonRolloutCompleted, d.now)) {
		d.plan.event(ReasonRolloutNotCompleted, msgNotCompleted, d.rolloutRevision(), st.CurrentPodHash)
	}
	return st
}

// healthy: every desired pod updated and available, the controller has seen this spec, and the
// update has run its course (all steps done, the new ReplicaSet stable, old pods gone).
func (d *decision) healthy(st v1alpha1.RolloutStatus) bool {
	n := d.replicas()
	done := true
	if bg := d.ro.Spec.Strategy.BlueGreen; bg != nil {
		done = st.BlueGreen.ActiveSelector == st.CurrentPodHash && (bg.PreviewService == "" || st.BlueGreen.PreviewSelector == st.CurrentPodHash)
	}
	if c := d.ro.Spec.Strategy.Canary; c != nil {
		allSteps := true
		if len(c.Steps) > 0 && st.CurrentStepIndex != nil {
			allSteps = int32(len(c.Steps)) == *st.CurrentStepIndex
		}
		done = allSteps && st.StableRS != "" && st.StableRS == st.CurrentPodHash && st.Replicas == n
	}
	return st.UpdatedReplicas == n && st.AvailableReplicas == n &&
		d.ro.Status.ObservedGeneration == strconv.FormatInt(d.ro.Generation, 10) && done
}

// progressing: something moved since the last status (pods updated, ready or available, old pods
// gone, a step or the stable ReplicaSet changed).
func (d *decision) progressing(st v1alpha1.RolloutStatus) bool {
	old := d.ro.Status
	stepMoved := st.CurrentStepIndex != nil && old.CurrentStepIndex != nil && *st.CurrentStepIndex != *old.CurrentStepIndex
	strategy := st.StableRS != old.StableRS || stepMoved || st.CurrentStepHash != old.CurrentStepHash
	if d.ro.Spec.Strategy.BlueGreen != nil {
		strategy = st.BlueGreen.ActiveSelector != old.BlueGreen.ActiveSelector || st.BlueGreen.PreviewSelector != old.BlueGreen.PreviewSelector
	}
	return st.UpdatedReplicas != old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas ||
		strategy
}

// timedOut: no progress for progressDeadlineSeconds.
func (d *decision) timedOut(st v1alpha1.RolloutStatus) bool {
	c := getCondition(st, v1alpha1.RolloutProgressing)
	if c == nil || c.Reason == ReasonRolloutAborted {
		return false
	}
	if c.Reason == ReasonTimedOut {
		return true
	}
	deadline := time.Duration(v1alpha1.ProgressDeadlineSeconds(d.ro)) * time.Second
	return c.LastUpdateTime.Add(deadline).Before(d.now)
}

// requeueStuck asks to be woken when the progress deadline would pass.
func (d *decision) requeueStuck(st v1alpha1.RolloutStatus) {
	c := getCondition(d.ro.Status, v1alpha1.RolloutProgressing)
	paused := len(d.ro.Status.PauseConditions) > 0 || d.ro.Spec.Paused
	if c == nil || d.healthy(st) || c.Reason == ReasonTimedOut || paused || d.ro.Status.Abort || isIndefiniteStep(d.ro) {
		return
	}
	deadline := time.Duration(v1alpha1.ProgressDeadlineSeconds(d.ro)) * time.Second
	after := c.LastUpdateTime.Add(deadline).Sub(d.now)
	if after < time.Second {
		d.plan.requeue(time.Millisecond)
		return
	}
	d.plan.requeue(after + time.Second)
}

// statusPatch is the JSON merge patch from one status to another, as a patch of the whole
// object ({"status": ...}), and whether there is any change.
func statusPatch(from, to v1alpha1.RolloutStatus) ([]byte, bool) {
	if apiequality.Semantic.DeepEqual(from, to) {
		return nil, false
	}
	a, err := json.Marshal(map[string]any{"status": from})
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(map[string]any{"status": to})
	if err != nil {
		panic(err)
	}
	p, err := mergepatch.Create(a, b)
	if err != nil {
		panic(err)
	}
	if string(p) == "{}" {
		return nil, false
	}
	return p, true
}
