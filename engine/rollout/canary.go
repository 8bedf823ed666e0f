package rollout

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// rolloutCanary is one reconcile of a canary update, in Argo Rollouts' order: revisions, pod
// restarts (a reconcile that restarts pods does nothing more), history clean-up, Services, then
// ReplicaSet scaling (stop after the first ReplicaSet scaled, so each scale is observed before
// the next), then the pause step, then the status.
func (d *decision) rolloutCanary() {
	if d.templateOrStepsChanged() {
		d.plan.Why = "new template or steps: restart the steps"
		d.syncRevision()
		d.syncStatusCanary()
		return
	}
	d.syncRevision()
	if d.reconcileRestart() {
		return
	}
	d.reconcileRevisionHistoryLimit()
	d.reconcilePingPongService()
	d.reconcileServices()
	d.reconcileTrafficRouting()
	if d.plan.Err != nil {
		return
	}
	d.reconcileAnalysisRuns()
	if len(d.pause.add) > 0 {
		d.syncStatusCanary() // paused on an inconclusive run
		return
	}
	if d.plan.Err != nil {
		return
	}
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
// the new one (back at the stable one after an abort without a traffic router).
func (d *decision) reconcileServices() {
	c := d.ro.Spec.Strategy.Canary
	d.ensureServiceTargets(c.StableService, d.stableRS, true)
	if d.aborted() && c.TrafficRouting == nil {
		d.ensureServiceTargets(c.CanaryService, d.stableRS, true)
		return
	}
	if d.dynamicallyRollingBackToStable() {
		return // the stable may be undersized: switching the canary Service now could overwhelm it
	}
	d.ensureServiceTargets(c.CanaryService, d.newRS, true)
}

// reconcilePingPongService points the Service that plays canary at the new ReplicaSet, at once:
// traffic reaches it only through the router's weights.
func (d *decision) reconcilePingPongService() {
	if d.ro.Spec.Strategy.Canary.PingPong == nil || d.fullyPromoted() {
		return
	}
	_, canary := stableAndCanaryServices(d.ro, true)
	d.ensureServiceTargets(canary, d.newRS, false)
}

// dynamicallyRollingBackToStable: with dynamic stable scaling, the user went back to the stable
// version mid-update; traffic must move back as the stable grows (the previous canary hash is in
// the recorded weights).
func (d *decision) dynamicallyRollingBackToStable() bool {
	c := d.ro.Spec.Strategy.Canary
	if !d.fullyPromoted() || c.TrafficRouting == nil || !c.DynamicStableScale || d.newRS == nil {
		return false
	}
	w := d.ro.Status.Canary.Weights
	return w != nil && w.Canary.PodTemplateHash != podHash(d.newRS) && available(d.newRS) < d.replicas()
}

// ensureServiceTargets switches a Service's selector to a ReplicaSet's pods. With
// checkAvailability it never switches to an empty ReplicaSet, and adopts a Service the rollout
// does not manage yet only once the ReplicaSet is fully available.
func (d *decision) ensureServiceTargets(name string, rs *appsv1.ReplicaSet, checkAvailability bool) {
	if rs == nil || name == "" {
		return
	}
	svc := d.services[name]
	if svc == nil {
		return // validation reports a missing Service
	}
	cur, want := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey], podHash(rs)
	if cur == want {
		return
	}
	_, managed := svc.Annotations[v1alpha1.ManagedByRolloutsKey]
	if checkAvailability && !managed && (specReplicas(rs) == 0 || available(rs) < specReplicas(rs)) {
		return
	}
	if checkAvailability && available(rs) == 0 {
		return
	}
	d.switchSelector(svc, want)
}

// switchSelector plans the Service patch and applies it to the decision's view of the Service.
func (d *decision) switchSelector(svc *corev1.Service, hash string) {
	cur := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	_, managed := svc.Annotations[v1alpha1.ManagedByRolloutsKey]
	if cur == hash && managed {
		return
	}
	patch := fmt.Sprintf(`{"spec":{"selector":{%q:%q}}}`, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	if !managed {
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"selector":{%q:%q}}}`,
			v1alpha1.ManagedByRolloutsKey, d.ro.Name, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	}
	d.plan.add(Action{Kind: PatchService, Name: svc.Name, Patch: []byte(patch), PatchType: "application/strategic-merge-patch+json",
		Events: []Event{{Type: corev1.EventTypeNormal, Reason: ReasonSwitchService, Message: fmt.Sprintf(msgSwitchService, svc.Name, cur, hash)}}})
	next := svc.DeepCopy()
	next.Spec.Selector = withLabel(next.Spec.Selector, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[v1alpha1.ManagedByRolloutsKey] = d.ro.Name
	d.services[svc.Name] = next
}

// reconcileCanaryReplicaSets scales the stable, then the new, then the other ReplicaSets, and
// reports whether it scaled one (the caller then stops for this reconcile).
func (d *decision) reconcileCanaryReplicaSets() bool {
	if d.haltProgress() {
		return false
	}
	d.removeScaleDownDeadlines()
	if distinctStable(d.newRS, d.stableRS) {
		_, stableCount := desiredStepCounts(d)
		if d.scaleRS(d.stableRS, stableCount) {
			return true
		}
	}
	if d.reconcileNewReplicaSet() {
		return true
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

// newReplicas is the size the new ReplicaSet should have now.
func (d *decision) newReplicas() int32 {
	if d.ro.Spec.Strategy.BlueGreen != nil {
		return d.blueGreenNewReplicas()
	}
	n, _ := desiredStepCounts(d)
	return n
}

// reconcileNewReplicaSet sizes the new ReplicaSet. After an abort with a traffic router the
// canary stays up until the stable is back at full size, then for abortScaleDownDelaySeconds,
// so the router has moved traffic away before its pods go.
func (d *decision) reconcileNewReplicaSet() bool {
	if d.newRS == nil {
		return false
	}
	count := d.newReplicas()
	if d.delayScaleDownOnAbort() {
		if deadline, ok := scaleDownDeadline(d.newRS); ok {
			if left := deadline.Sub(d.now); left > 0 {
				d.plan.requeue(left)
				return false
			}
			count = 0
		} else {
			if d.stableRS != nil && available(d.stableRS) >= d.replicas() {
				d.addScaleDownDelay(d.newRS, time.Duration(v1alpha1.AbortScaleDownDelaySeconds(d.ro))*time.Second)
			}
			return false
		}
	}
	return d.scaleRS(d.newRS, count)
}

// delayScaleDownOnAbort: aborted, with a traffic router (or blue-green), and an abort delay.
func (d *decision) delayScaleDownOnAbort() bool {
	if !d.aborted() || d.stableRS == nil {
		return false
	}
	if c := d.ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting == nil {
		return false
	}
	if v1alpha1.AbortScaleDownNever(d.ro) {
		return false
	}
	if c := d.ro.Spec.Strategy.Canary; c != nil && c.DynamicStableScale && c.AbortScaleDownDelaySeconds == nil {
		return false
	}
	return true
}

// removeScaleDownDeadlines takes the scale-down deadline off the new and stable ReplicaSets: one
// rolled back to within its delay must stay.
func (d *decision) removeScaleDownDeadlines() {
	if d.newRS != nil && !d.delayScaleDownOnAbort() {
		d.removeScaleDownDelay(d.newRS)
	}
	if d.stableRS != nil && (d.newRS == nil || d.stableRS.Name != d.newRS.Name) {
		d.removeScaleDownDelay(d.stableRS)
	}
}

func (d *decision) removeScaleDownDelay(rs *appsv1.ReplicaSet) {
	if _, ok := rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]; !ok {
		return
	}
	next := rs.DeepCopy()
	delete(next.Annotations, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey)
	d.updateRS(next)
}

// addScaleDownDelay marks a ReplicaSet to be scaled down after delay (second precision, RFC 3339,
// as Argo writes it) and asks to be woken then.
func (d *decision) addScaleDownDelay(rs *appsv1.ReplicaSet, delay time.Duration) {
	if delay <= 0 {
		d.removeScaleDownDelay(rs)
		return
	}
	next := rs.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = d.now.Add(delay).UTC().Format(time.RFC3339)
	d.updateRS(next)
	d.plan.requeue(delay)
}

// scaleDownDeadline reads a ReplicaSet's scale-down deadline.
func scaleDownDeadline(rs *appsv1.ReplicaSet) (time.Time, bool) {
	v, ok := rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
	if !ok || v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
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
// maxUnavailable allows. With a traffic router the previous stable keeps its pods for
// scaleDownDelaySeconds after the promotion (and, for an ALB, only once AWS shows the stable
// target group registered with the new pods). An intermediate ReplicaSet (V2 when V3 arrived)
// gets the same delay once the canary Service left it (and, for an ALB, once the canary target
// group holds V3's pods): Argo scales it down at once, while the load balancer may still send it
// the canary's share (Argo #3617, #4534).
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
		if a := available(rs); a < specReplicas(rs) {
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
	routed := d.ro.Spec.Strategy.Canary.TrafficRouting != nil
	if routed && !d.canAnnotateForScaleDown(active) {
		return scaled
	}
	delayed := int32(0)
	for _, rs := range active {
		if routed && d.referenced(rs) {
			continue
		}
		if budget <= 0 {
			break
		}
		to := int32(0)
		switch {
		case !routed:
			if specReplicas(rs) > budget {
				to = specReplicas(rs) - budget
			}
		case d.fullyPromoted() || hasDeadline(rs):
			if !d.ro.Spec.Strategy.Canary.DynamicStableScale {
				delayed, to = d.delayedScaleDown(rs, delayed)
			}
		default:
			delayed, to = d.delayedScaleDown(rs, delayed)
		}
		if to == specReplicas(rs) {
			continue
		}
		budget -= specReplicas(rs) - to
		scaled = d.scaleRS(rs, to) || scaled
	}
	return scaled
}

func hasDeadline(rs *appsv1.ReplicaSet) bool {
	_, ok := scaleDownDeadline(rs)
	return ok
}

// delayedScaleDown keeps an old ReplicaSet at its size until its scale-down deadline (adding the
// deadline if it has none), within scaleDownDelayRevisionLimit; it returns the updated count of
// delayed ReplicaSets and the size to set.
func (d *decision) delayedScaleDown(rs *appsv1.ReplicaSet, delayed int32) (int32, int32) {
	limit := int32(math.MaxInt32)
	if l := d.ro.Spec.Strategy.Canary.ScaleDownDelayRevisionLimit; l != nil {
		limit = *l
	}
	deadline, ok := scaleDownDeadline(rs)
	if !ok {
		if delayed < limit {
			d.addScaleDownDelay(rs, time.Duration(v1alpha1.ScaleDownDelaySeconds(d.ro))*time.Second)
			return delayed + 1, specReplicas(rs)
		}
		return delayed, 0
	}
	delayed++
	if delayed > limit {
		return delayed, 0
	}
	if left := deadline.Sub(d.now); left > 0 {
		d.plan.requeue(left)
		return delayed, specReplicas(rs)
	}
	return delayed, 0
}

// canAnnotateForScaleDown is the ALB safety gate: no old ReplicaSet is marked for scale-down
// until AWS shows the stable Service's (mid-update: the canary Service's) target groups
// registered with its endpoints. An old ReplicaSet that already has a deadline passed the gate
// when it got it.
func (d *decision) canAnnotateForScaleDown(old []*appsv1.ReplicaSet) bool {
	if albSpec(d.ro) == nil {
		return true
	}
	for _, rs := range old {
		if specReplicas(rs) > 0 && !hasDeadline(rs) {
			return d.targetsVerified()
		}
	}
	return true
}

// referenced: the status or a Service still points at the ReplicaSet, so it must not go.
func (d *decision) referenced(rs *appsv1.ReplicaSet) bool {
	h := podHash(rs)
	if h == "" {
		return false
	}
	st := d.ro.Status
	refs := []string{st.StableRS, st.CurrentPodHash, st.BlueGreen.ActiveSelector, st.BlueGreen.PreviewSelector}
	if w := st.Canary.Weights; w != nil {
		refs = append(refs, w.Canary.PodTemplateHash, w.Stable.PodTemplateHash)
	}
	for _, ref := range refs {
		if ref == h {
			return true
		}
	}
	// Then the Services that pin a version (not ping/pong: after a promotion the new canary one
	// keeps selecting the old version, at weight 0, until the next update).
	var names []string
	if c := d.ro.Spec.Strategy.Canary; c != nil {
		names = []string{c.CanaryService, c.StableService}
	} else if bg := d.ro.Spec.Strategy.BlueGreen; bg != nil {
		names = []string{bg.ActiveService, bg.PreviewService}
	}
	for _, name := range names {
		if svc := d.services[name]; svc != nil && svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] == h {
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
