package rollout

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"math"
	"sort"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// rolloutBlueGreen is one reconcile of a blue-green update: the new version comes up behind the
// preview Service, waits (for a person or autoPromotionSeconds), then the active Service switches
// to it at once; the old version stays for scaleDownDelaySeconds in case of a rollback.
func (d *decision) rolloutBlueGreen() {
	d.syncRevision()
	if d.blueGreenTemplateChanged() {
		d.plan.Why = "new template: a new blue-green update starts"
		d.pause.clear, d.pause.removeAbort = true, true
		d.syncStatusBlueGreen()
		return
	}
	if d.reconcileRestart() {
		return
	}
	d.reconcileBlueGreenReplicaSets()
	d.reconcilePreviewService()
	d.reconcileBlueGreenPause()
	d.reconcileActiveService()
	d.reconcileAnalysisRuns()
	if d.plan.Err != nil {
		return
	}
	d.syncStatusBlueGreen()
}

func (d *decision) bg() *v1alpha1.BlueGreenStrategy { return d.ro.Spec.Strategy.BlueGreen }

func (d *decision) activeService() *corev1.Service { return d.services[d.bg().ActiveService] }

func (d *decision) previewService() *corev1.Service {
	if d.bg().PreviewService == "" {
		return nil
	}
	return d.services[d.bg().PreviewService]
}

func selectorHash(svc *corev1.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

func (d *decision) rsByHash(hash string) *appsv1.ReplicaSet {
	if hash == "" {
		return nil
	}
	for _, rs := range d.allRSs {
		if podHash(rs) == hash {
			return rs
		}
	}
	return nil
}

func (d *decision) blueGreenTemplateChanged() bool {
	return d.newRS == nil || d.ro.Status.CurrentPodHash != podHash(d.newRS)
}

// blueGreenNewReplicas: full size, or previewReplicaCount until the promotion.
func (d *decision) blueGreenNewReplicas() int32 {
	n := d.replicas()
	prc := d.bg().PreviewReplicaCount
	if prc == nil || d.newRS == nil {
		return n
	}
	active := d.rsByHash(d.ro.Status.BlueGreen.ActiveSelector)
	if active == nil || active.Name == d.newRS.Name || d.ro.Status.PromoteFull {
		return n
	}
	if podHash(d.newRS) != d.ro.Status.CurrentPodHash {
		return *prc
	}
	notPaused := !d.ro.Spec.Paused && len(d.ro.Status.PauseConditions) == 0
	if notPaused && d.ro.Status.BlueGreen.ScaleUpPreviewCheckPoint {
		return n
	}
	return *prc
}

// reconcileBlueGreenReplicaSets keeps the active ReplicaSet at full size, sizes the new one and
// scales down the others once their delay has passed.
func (d *decision) reconcileBlueGreenReplicaSets() {
	if active := d.rsByHash(selectorHash(d.activeService())); active != nil {
		d.removeScaleDownDelay(active)
		if a := d.rsByHash(podHash(active)); a != nil {
			d.scaleRS(a, d.replicas())
		}
	}
	d.reconcileNewReplicaSet()
	d.scaleDownOldBlueGreen()
	d.reconcileRevisionHistoryLimit()
}

// scaleDownOldBlueGreen scales old ReplicaSets to zero once their scale-down deadline passed
// (within scaleDownDelayRevisionLimit), keeping them at full size until then.
func (d *decision) scaleDownOldBlueGreen() {
	for _, c := range d.ro.Status.PauseConditions {
		if c.Reason == v1alpha1.PauseReasonInconclusiveAnalysis {
			return
		}
	}
	if d.holdOldForPostPromotion() {
		return
	}
	var old []*appsv1.ReplicaSet
	for _, rs := range d.otherRSs {
		if specReplicas(rs) > 0 {
			old = append(old, rs)
		}
	}
	sort.SliceStable(old, func(i, j int) bool { return revision(old[i].Annotations) > revision(old[j].Annotations) })
	limit := int32(math.MaxInt32)
	if l := d.bg().ScaleDownDelayRevisionLimit; l != nil {
		limit = *l
	}
	delayed := int32(0)
	for _, rs := range old {
		if d.referenced(rs) {
			continue
		}
		to := int32(0)
		if deadline, ok := scaleDownDeadline(rs); ok {
			delayed++
			if left := deadline.Sub(d.now); delayed <= limit && left > 0 {
				d.plan.requeue(left)
				to = d.replicas()
			}
		}
		if to != specReplicas(rs) {
			d.scaleRS(rs, to)
		}
	}
}

// reconcilePreviewService points the preview Service at the new ReplicaSet, at once.
func (d *decision) reconcilePreviewService() {
	if svc := d.previewService(); svc != nil && !d.haltProgress() && d.newRS != nil {
		d.switchSelector(svc, podHash(d.newRS))
	}
}

// readyForPause: the new ReplicaSet has all the pods it should have now, available.
func (d *decision) readyForPause() bool {
	if d.newRS == nil {
		return false
	}
	want := d.blueGreenNewReplicas()
	return specReplicas(d.newRS) == want && available(d.newRS) == want
}

// saturated: a ReplicaSet runs every desired pod of the rollout.
func (d *decision) saturated(rs *appsv1.ReplicaSet) bool {
	n := d.replicas()
	return rs != nil && specReplicas(rs) == n && rs.Annotations[v1alpha1.DesiredReplicasAnnotation] == fmt.Sprint(n) && available(rs) == n
}

// fastTracked: the pause is skipped (a rollback within the scale-down delay, promote --full, the
// first deploy, or the new version is already active).
func (d *decision) fastTracked() bool {
	if hasDeadline(d.newRS) || d.ro.Status.PromoteFull {
		return true
	}
	active := selectorHash(d.activeService())
	return active == "" || active == podHash(d.newRS)
}

// needsControllerPause: the controller pauses before the switch (autoPromotionEnabled: false,
// or autoPromotionSeconds > 0).
func (d *decision) needsControllerPause() bool {
	if e := d.bg().AutoPromotionEnabled; e != nil && !*e {
		return true
	}
	return d.bg().AutoPromotionSeconds > 0
}

// completedBlueGreenPause: a person resumed, or autoPromotionSeconds passed, or no pause is needed.
func (d *decision) completedBlueGreenPause() bool {
	if len(d.pause.add) > 0 {
		return false
	}
	if d.ro.Status.BlueGreen.ScaleUpPreviewCheckPoint || !d.needsControllerPause() {
		return true
	}
	cond := pauseCondition(d.ro, v1alpha1.PauseReasonBlueGreenPause)
	if v1alpha1.AutoPromotionEnabled(d.ro) {
		secs := d.bg().AutoPromotionSeconds
		if secs == 0 {
			return true
		}
		if cond != nil {
			return !d.now.Before(cond.StartTime.Add(time.Duration(secs) * time.Second))
		}
		return false
	}
	return d.ro.Status.ControllerPause && cond == nil
}

func (d *decision) reconcileBlueGreenPause() {
	if d.ro.Status.Abort || !d.readyForPause() || d.ro.Spec.Paused {
		return
	}
	remove := func() { d.pause.remove = append(d.pause.remove, v1alpha1.PauseReasonBlueGreenPause) }
	if d.fastTracked() || selectorHash(d.activeService()) == podHash(d.newRS) || d.ro.Status.BlueGreen.ScaleUpPreviewCheckPoint || !d.needsControllerPause() {
		remove()
		return
	}
	if !d.completedPrePromotionAnalysis() {
		return // the pause starts once pre-promotion analysis succeeded
	}
	cond := pauseCondition(d.ro, v1alpha1.PauseReasonBlueGreenPause)
	if cond == nil && !d.ro.Status.ControllerPause {
		d.pause.add = append(d.pause.add, v1alpha1.PauseReasonBlueGreenPause)
		return
	}
	if !d.completedBlueGreenPause() {
		if secs := d.bg().AutoPromotionSeconds; secs > 0 && cond != nil {
			if left := cond.StartTime.Add(time.Duration(secs) * time.Second).Sub(d.now); left > 0 {
				d.plan.requeue(left)
			}
		}
		return
	}
	remove()
}

// reconcileActiveService switches the active Service: to the new version once it is fully up and
// the pause is over (or fast-tracked), back to the stable version on abort.
func (d *decision) reconcileActiveService() {
	svc := d.activeService()
	if svc == nil || d.haltProgress() || !d.readyForPause() || !d.saturated(d.newRS) {
		return
	}
	hash := selectorHash(svc)
	if d.fastTracked() || (d.completedBlueGreenPause() && d.completedPrePromotionAnalysis()) {
		hash = podHash(d.newRS)
	}
	if d.ro.Status.Abort {
		hash = d.ro.Status.StableRS
	}
	if hash != "" {
		d.switchSelector(svc, hash)
	}
}

// syncStatusBlueGreen records selectors and counts, and marks the new version stable once the
// active Service points at it and (with verification) AWS has its pods registered.
func (d *decision) syncStatusBlueGreen() {
	st := d.baseStatus()
	if d.blueGreenTemplateChanged() {
		d.pause.clear, d.pause.removeAbort = true, true
		st.RestartedAt = d.ro.Spec.RestartAt
		st.BlueGreen.PrePromotionAnalysisRunStatus = nil
		st.BlueGreen.PostPromotionAnalysisRunStatus = nil
		st.PromoteFull = false
	}
	if d.ro.Status.PromoteFull {
		d.pause.clear, d.pause.removeAbort = true, true
	}
	st.BlueGreen.PreviewSelector = selectorHash(d.previewService())
	st.BlueGreen.ActiveSelector = selectorHash(d.activeService())
	st.StableRS = d.ro.Status.StableRS
	if reason := d.blueGreenPromotion(st); reason != "" {
		if prev := d.rsByHash(d.ro.Status.StableRS); prev != nil && specReplicas(prev) > 0 && podHash(prev) != st.CurrentPodHash {
			d.addScaleDownDelay(prev, time.Duration(v1alpha1.ScaleDownDelaySeconds(d.ro))*time.Second)
		}
		d.promoteStable(&st, reason)
	}
	if active := d.rsByHash(st.BlueGreen.ActiveSelector); active != nil {
		st.HPAReplicas = active.Status.Replicas
		st.Selector = metav1.FormatLabelSelector(active.Spec.Selector)
		st.AvailableReplicas = active.Status.AvailableReplicas
		st.ReadyReplicas = active.Status.ReadyReplicas
	} else {
		st.HPAReplicas = sumStatusReplicas(d.allRSs)
		st.Selector = metav1.FormatLabelSelector(d.ro.Spec.Selector)
		st.AvailableReplicas = sumAvailable(d.allRSs)
	}
	st.BlueGreen.ScaleUpPreviewCheckPoint = d.scaleUpPreviewCheckPoint(st.StableRS)
	d.persist(st)
}

// blueGreenPromotion says why the new version becomes stable now, or "".
func (d *decision) blueGreenPromotion(st v1alpha1.RolloutStatus) string {
	if d.ro.Status.StableRS == st.CurrentPodHash {
		return ""
	}
	if st.BlueGreen.ActiveSelector == "" {
		return "Initial deploy" // the active Service switches once there is a stable
	}
	if st.BlueGreen.ActiveSelector != st.CurrentPodHash || d.aborted() {
		return ""
	}
	if !d.targetsVerifiedOnce() {
		return ""
	}
	if st.PromoteFull {
		return "Full promotion requested"
	}
	if d.rollbackWithinWindow() {
		return "Rollback within window"
	}
	if hold, reason := d.postPromotionHold(); hold {
		return ""
	} else if reason != "" {
		return reason
	}
	return "Completed blue-green update"
}

// scaleUpPreviewCheckPoint is a one-way trip-wire for previewReplicaCount: set once the preview
// pods are up and the pause is over, reset by a new template or the promotion.
func (d *decision) scaleUpPreviewCheckPoint(stableHash string) bool {
	prev := d.ro.Status.BlueGreen.ScaleUpPreviewCheckPoint
	prc := d.bg().PreviewReplicaCount
	if prc == nil {
		return false
	}
	if d.ro.Status.Abort && d.blueGreenTemplateChanged() {
		return false
	}
	if d.newRS == nil || stableHash == "" || stableHash == podHash(d.newRS) {
		return false
	}
	if prev {
		return true
	}
	if !d.completedPrePromotionAnalysis() || !d.completedBlueGreenPause() {
		return false
	}
	return *prc == available(d.newRS)
}
