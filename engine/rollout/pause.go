package rollout

import (
	"time"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// pauseIntent collects, during one reconcile, the changes to pause conditions and the abort flag;
// they are folded into the status once, at the end.
type pauseIntent struct {
	add          []v1alpha1.PauseReason
	remove       []v1alpha1.PauseReason
	clear        bool
	addAbort     bool
	removeAbort  bool
	abortMessage string
}

func (d *decision) aborted() bool {
	if d.pause.removeAbort {
		return false
	}
	return d.pause.addAbort || d.ro.Status.Abort
}

func pauseCondition(ro *v1alpha1.Rollout, reason v1alpha1.PauseReason) *v1alpha1.PauseCondition {
	for i := range ro.Status.PauseConditions {
		if ro.Status.PauseConditions[i].Reason == reason {
			c := ro.Status.PauseConditions[i]
			return &c
		}
	}
	return nil
}

// pauseEnd is when a timed pause step that started with cond is over.
func pauseEnd(cond *v1alpha1.PauseCondition, p v1alpha1.RolloutPause) time.Time {
	return cond.StartTime.Add(time.Duration(p.DurationSeconds()) * time.Second)
}

// completedPauseStep: a user resumed the pause (controllerPause set, condition cleared), or a
// timed pause ran out.
func (d *decision) completedPauseStep(p v1alpha1.RolloutPause) bool {
	cond := pauseCondition(d.ro, v1alpha1.PauseReasonCanaryPauseStep)
	if d.ro.Status.ControllerPause && cond == nil {
		return true
	}
	return p.Duration != nil && cond != nil && !d.now.Before(pauseEnd(cond, p))
}

// applyPause folds the pause intent into st: the abort flag and time, then the pause conditions.
// controllerPause stays true only while a pause condition remains.
func (d *decision) applyPause(st *v1alpha1.RolloutStatus) {
	abortedAt := d.ro.Status.AbortedAt
	if abortedAt == nil {
		t := metaTime(d.now)
		abortedAt = &t
	}
	if d.pause.addAbort || (!d.pause.removeAbort && d.ro.Status.Abort) {
		st.Abort, st.AbortedAt = true, abortedAt
		return
	}
	st.Abort, st.AbortedAt = false, nil
	if d.pause.clear {
		return
	}
	removed := map[v1alpha1.PauseReason]bool{}
	for _, r := range d.pause.remove {
		removed[r] = true
	}
	exists := map[v1alpha1.PauseReason]bool{}
	var conds []v1alpha1.PauseCondition
	for _, c := range d.ro.Status.PauseConditions {
		if !removed[c.Reason] {
			conds = append(conds, c)
		}
		exists[c.Reason] = true
	}
	controllerPause := d.ro.Status.ControllerPause
	for _, r := range d.pause.add {
		if !exists[r] {
			conds = append(conds, v1alpha1.PauseCondition{Reason: r, StartTime: metaTime(d.now)})
			exists[r] = true
			controllerPause = true
		}
	}
	if len(conds) == 0 {
		return
	}
	st.PauseConditions, st.ControllerPause = conds, controllerPause
}
