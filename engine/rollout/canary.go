package rollout

import (
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// rolloutCanary is one reconcile of a canary update, in Argo Rollouts' order: revisions, history
// clean-up, Services, then ReplicaSet scaling (stop after the first ReplicaSet scaled, so each
// scale is observed before the next), then the pause step, then the status.
func (d *decision) rolloutCanary() {
	if d.templateOrStepsChanged() {
		d.plan.Why = "new template or steps: restart the steps"
		d.syncRevision()
		d.syncStatusCanary()
		return
	}
	d.syncRevision()
	d.reconcileRevisionHistoryLimit()
	d.reconcileServices()
	if d.reconcileCanaryReplicaSets() {
		d.syncStatusCanary()
		return
	}
	d.reconcileCanaryPause()
	d.syncStatusCanary()
}

// templateOrStepsChanged: the steps or the pod template differ from what the status recorded.
func (d *decision) templateOrStepsChanged() bool {
	if d.ro.Status.CurrentStepHash == "" || d.ro.Status.CurrentStepHash != d.stepsHash {
		return true
	}
	return d.ro.Status.CurrentPodHash != "" && d.ro.Status.CurrentPodHash != podHash(d.newRS)
}

// updateRS plans a write of rs (a private copy) and makes it the decision's view of that
// ReplicaSet. Several changes to one ReplicaSet in one reconcile become one write.
func (d *decision) updateRS(rs *appsv1.ReplicaSet, events ...Event) {
	for i := range d.plan.Actions {
		a := &d.plan.Actions[i]
		if a.Kind == UpdateReplicaSet && a.ReplicaSet.Name == rs.Name {
			a.ReplicaSet = rs
			a.Events = append(a.Events, events...)
			d.replaceRS(rs)
			return
		}
	}
	d.plan.add(Action{Kind: UpdateReplicaSet, ReplicaSet: rs, Events: events})
	d.replaceRS(rs)
}

func (d *decision) replaceRS(rs *appsv1.ReplicaSet) {
	for _, list := range [][]*appsv1.ReplicaSet{d.allRSs, d.olderRSs, d.otherRSs} {
		for i := range list {
			if list[i].Name == rs.Name {
				list[i] = rs
			}
		}
	}
	if d.newRS != nil && d.newRS.Name == rs.Name {
		d.newRS = rs
	}
	if d.stableRS != nil && d.stableRS.Name == rs.Name {
		d.stableRS = rs
	}
}

// syncRevision gives the new ReplicaSet the next revision number (a ReplicaSet rolled back to gets
// a new, higher one) and mirrors it on the rollout.
func (d *decision) syncRevision() {
	if d.newRS == nil {
		return
	}
	rev := maxRevision(d.olderRSs) + 1
	cur := revision(d.newRS.Annotations)
	var rs *appsv1.ReplicaSet
	if cur < rev {
		rs = d.newRS.DeepCopy()
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		rs.Annotations[v1alpha1.RevisionAnnotation] = strconv.FormatInt(rev, 10)
		cur = rev
	}
	if d.newRS.Spec.MinReadySeconds != d.ro.Spec.MinReadySeconds {
		if rs == nil {
			rs = d.newRS.DeepCopy()
		}
		rs.Spec.MinReadySeconds = d.ro.Spec.MinReadySeconds
	}
	if rs != nil {
		d.updateRS(rs)
	}
	d.setRolloutRevision(cur)
}

// reconcileRevisionHistoryLimit deletes the oldest scaled-down ReplicaSets beyond the limit.
func (d *decision) reconcileRevisionHistoryLimit() {
	var cleanable []*appsv1.ReplicaSet
	for _, rs := range d.otherRSs {
		if rs.DeletionTimestamp == nil {
			cleanable = append(cleanable, rs)
		}
	}
	excess := len(cleanable) - int(v1alpha1.RevisionHistoryLimit(d.ro))
	for i := 0; i < excess; i++ {
		rs := cleanable[i] // otherRSs are sorted oldest first
		if rs.Status.Replicas != 0 || specReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		d.plan.add(Action{Kind: DeleteReplicaSet, Name: rs.Name})
	}
}

// reconcileServices points the stable Service at the stable ReplicaSet and the canary Service at
// the new one (back at the stable one after an abort).
func (d *decision) reconcileServices() {
	c := d.ro.Spec.Strategy.Canary
	d.ensureServiceTargets(c.StableService, d.stableRS)
	if d.aborted() && c.TrafficRouting == nil {
		d.ensureServiceTargets(c.CanaryService, d.stableRS)
		return
	}
	d.ensureServiceTargets(c.CanaryService, d.newRS)
}

// ensureServiceTargets switches a Service's selector to a ReplicaSet's pods, but never to an
// empty ReplicaSet, and adopts a Service the rollout does not manage yet only once the ReplicaSet
// is fully available.
func (d *decision) ensureServiceTargets(name string, rs *appsv1.ReplicaSet) {
	if rs == nil || name == "" {
		return
	}
	svc := d.in.Services[name]
	if svc == nil {
		return // validation reports a missing Service
	}
	cur, want := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey], podHash(rs)
	if cur == want {
		return
	}
	_, managed := svc.Annotations[v1alpha1.ManagedByRolloutsKey]
	if !managed && (specReplicas(rs) == 0 || available(rs) < specReplicas(rs)) {
		return
	}
	if available(rs) == 0 {
		return
	}
	patch := fmt.Sprintf(`{"spec":{"selector":{%q:%q}}}`, v1alpha1.DefaultRolloutUniqueLabelKey, want)
	if !managed {
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"selector":{%q:%q}}}`,
			v1alpha1.ManagedByRolloutsKey, d.ro.Name, v1alpha1.DefaultRolloutUniqueLabelKey, want)
	}
	d.plan.add(Action{Kind: PatchService, Name: name, Patch: []byte(patch), PatchType: "application/strategic-merge-patch+json",
		Events: []Event{{Type: corev1.EventTypeNormal, Reason: ReasonSwitchService, Message: fmt.Sprintf(msgSwitchService, name, cur, want)}}})
}

// reconcileCanaryReplicaSets scales the stable, then the new, then the other ReplicaSets, and
// reports whether it scaled one (the caller then stops for this reconcile).
func (d *decision) reconcileCanaryReplicaSets() bool {
	if d.haltProgress() {
		return false
	}
	if distinctStable(d.newRS, d.stableRS) {
		_, stableCount := desiredStepCounts(d)
		if d.scaleRS(d.stableRS, stableCount) {
			return true
		}
	}
	if d.newRS != nil {
		newCount, _ := desiredStepCounts(d)
		if d.scaleRS(d.newRS, newCount) {
			return true
		}
	}
	return d.scaleDownOtherReplicaSets()
}

// desiredStepCounts is where the new and stable ReplicaSets move to in this reconcile.
func desiredStepCounts(d *decision) (int32, int32) {
	if d.ro.Spec.Strategy.Canary.TrafficRouting != nil {
		return TrafficRoutedCounts(d.ro)
	}
	return BasicCanaryCounts(d.ro, d.newRS, d.stableRS, d.otherRSs)
}

// haltProgress: a user paused the rollout, so ReplicaSets stay as they are.
func (d *decision) haltProgress() bool {
	if d.ro.Spec.Paused {
		return true
	}
	for _, c := range d.ro.Status.PauseConditions {
		if c.Reason == v1alpha1.PauseReasonInconclusiveAnalysis {
			return true
		}
	}
	return false
}

// scaleRS sets a ReplicaSet's size (and the desired-replicas annotation) and reports whether the
// size changed.
func (d *decision) scaleRS(rs *appsv1.ReplicaSet, to int32) bool {
	n := d.replicas()
	from := specReplicas(rs)
	annotation := strconv.Itoa(int(n))
	if from == to && rs.Annotations[v1alpha1.DesiredReplicasAnnotation] == annotation {
		return false
	}
	next := rs.DeepCopy()
	next.Spec.Replicas = &to
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[v1alpha1.DesiredReplicasAnnotation] = annotation
	if to == 0 {
		delete(next.Annotations, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey)
	}
	if from == to {
		d.updateRS(next)
		return false
	}
	dir := "down"
	if to > from {
		dir = "up"
	}
	d.updateRS(next, Event{Type: corev1.EventTypeNormal, Reason: ReasonScalingReplicaSet,
		Message: fmt.Sprintf(msgScaling, dir, rs.Name, revision(rs.Annotations), from, to)})
	return true
}

// scaleDownOtherReplicaSets drains ReplicaSets that are neither new nor stable: first the pods
// that are not available (they serve nothing), then newest revision first as far as
// maxUnavailable allows.
func (d *decision) scaleDownOtherReplicaSets() bool {
	var active []*appsv1.ReplicaSet
	for _, rs := range d.otherRSs {
		if specReplicas(rs) > 0 {
			active = append(active, rs)
		}
	}
	if len(active) == 0 {
		return false
	}
	scaled := false
	for _, rs := range active {
		if a := available(rs); specReplicas(rs) != a && a < specReplicas(rs) {
			scaled = d.scaleRS(rs, a) || scaled
		}
	}
	// Re-read: cleaning up may have replaced the objects.
	active = active[:0]
	for _, rs := range d.otherRSs {
		if specReplicas(rs) > 0 {
			active = append(active, rs)
		}
	}
	// Count only the available pods that will stay: a ReplicaSet already scaled below its
	// available count (its status lags) is about to lose the difference. Argo counts raw
	// availability here, which lets two scale-downs in a row dip below minAvailable.
	budget := sumStaying(d.allRSs) - (d.replicas() - v1alpha1.MaxUnavailable(d.ro))
	if budget <= 0 {
		return scaled
	}
	sort.SliceStable(active, func(i, j int) bool { return revision(active[i].Annotations) > revision(active[j].Annotations) })
	for _, rs := range active {
		if budget <= 0 {
			break
		}
		if d.referenced(rs) {
			continue
		}
		to := int32(0)
		if specReplicas(rs) > budget {
			to = specReplicas(rs) - budget
		}
		budget -= specReplicas(rs) - to
		scaled = d.scaleRS(rs, to) || scaled
	}
	return scaled
}

// referenced: the status still names the ReplicaSet, so it must not be scaled down.
func (d *decision) referenced(rs *appsv1.ReplicaSet) bool {
	h := podHash(rs)
	st := d.ro.Status
	for _, ref := range []string{st.StableRS, st.CurrentPodHash, st.BlueGreen.ActiveSelector, st.BlueGreen.PreviewSelector} {
		if h != "" && ref == h {
			return true
		}
	}
	return false
}

// reconcileCanaryPause adds the pause condition when a pause step is reached and asks to be woken
// when a timed pause ends.
func (d *decision) reconcileCanaryPause() {
	if d.ro.Spec.Paused || d.ro.Status.PromoteFull {
		return
	}
	step, _ := CurrentStep(d.ro)
	if step == nil || step.Pause == nil {
		return
	}
	cond := pauseCondition(d.ro, v1alpha1.PauseReasonCanaryPauseStep)
	if cond == nil {
		if !d.ro.Status.ControllerPause {
			d.pause.add = append(d.pause.add, v1alpha1.PauseReasonCanaryPauseStep)
		}
		return
	}
	if step.Pause.Duration == nil {
		return
	}
	if left := pauseEnd(cond, *step.Pause).Sub(d.now); left > 0 {
		d.plan.requeue(left)
	}
}
