package rollout

import (
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// invalidSpecRecheck is how soon an invalid rollout is looked at again: the cause may be timing
// (the Rollout applied before its Service).
const invalidSpecRecheck = 20 * time.Second

// decision holds one reconcile's view of the world and what it has decided so far. It only ever
// reads the observed objects (copying before it changes one) and writes into plan.
type decision struct {
	ro   *v1alpha1.Rollout
	now  time.Time
	in   Observed
	plan *Plan

	newRS, stableRS  *appsv1.ReplicaSet
	allRSs, olderRSs []*appsv1.ReplicaSet // olderRSs = all but the new one
	otherRSs         []*appsv1.ReplicaSet // neither new nor stable

	newStatus v1alpha1.RolloutStatus
	pause     pauseIntent
	specErr   *field.Error

	// templateHash and stepsHash identify the desired template and steps; computed once, as
	// each costs a JSON encoding.
	templateHash, stepsHash string

	// services is the decision's view of the referenced Services: the observed ones, with the
	// selector switches planned so far applied (later steps see them, as Argo's do).
	services map[string]*corev1.Service
	// holdPromotion keeps the new version from becoming stable (AWS does not show the final weight yet).
	holdPromotion bool
	// an is the reconcile's view of the rollout's AnalysisRuns.
	an analysisState
}

// Decide computes the next step for a rollout from the observed state. It performs no I/O and does
// not modify its input.
func Decide(in Observed) *Plan {
	d := &decision{ro: in.Rollout.DeepCopy(), now: in.Now, in: in, plan: &Plan{}}
	d.run()
	return d.plan
}

func (d *decision) run() {
	if d.ro.DeletionTimestamp != nil {
		d.plan.Why = "rollout is being deleted"
		return
	}
	d.classify()
	if d.specErr = d.validate(); d.specErr != nil {
		d.invalidSpec()
		return
	}
	if d.newRS == nil {
		d.createNewRS()
		return
	}
	if d.checkPausedConditions() {
		return
	}
	if d.isScalingEvent() {
		d.syncReplicasOnly()
		return
	}
	if d.ro.Spec.Strategy.BlueGreen != nil {
		d.rolloutBlueGreen()
		return
	}
	d.rolloutCanary()
}

func (d *decision) classify() {
	d.services = map[string]*corev1.Service{}
	for name, svc := range d.in.Services {
		d.services[name] = svc
	}
	d.templateHash = PodTemplateHash(&d.ro.Spec.Template, d.ro.Status.CollisionCount)
	d.stepsHash = StepsHash(d.ro)
	d.allRSs = append([]*appsv1.ReplicaSet(nil), d.in.ReplicaSets...)
	byCreation(d.allRSs)
	d.newRS = findNewRS(d.ro, d.templateHash, d.allRSs)
	for _, rs := range d.allRSs {
		if d.newRS != nil && rs.Name == d.newRS.Name {
			continue
		}
		d.olderRSs = append(d.olderRSs, rs)
	}
	if h := d.ro.Status.StableRS; h != "" {
		for _, rs := range d.allRSs {
			if podHash(rs) == h {
				d.stableRS = rs
				break
			}
		}
	}
	for _, rs := range d.olderRSs {
		if d.stableRS == nil || rs.Name != d.stableRS.Name {
			d.otherRSs = append(d.otherRSs, rs)
		}
	}
	// Seed the status with what a reconcile never recomputes.
	d.newStatus = v1alpha1.RolloutStatus{RestartedAt: d.ro.Status.RestartedAt, ALB: d.ro.Status.ALB, ALBs: d.ro.Status.ALBs}
	d.newStatus.Canary.Weights = d.ro.Status.Canary.Weights
	d.newStatus.Canary.StablePingPong = d.ro.Status.Canary.StablePingPong
	d.classifyAnalysis()
	if d.fullyPromoted() && d.ro.Status.Abort {
		d.pause.removeAbort = true // an abort of a finished update means nothing
	}
}

func (d *decision) fullyPromoted() bool {
	return d.ro.Status.StableRS != "" && d.ro.Status.StableRS == d.ro.Status.CurrentPodHash
}

func (d *decision) replicas() int32 { return v1alpha1.Replicas(d.ro) }

func (d *decision) rolloutRevision() int64 { return revision(d.ro.Annotations) }

// invalidSpec records the InvalidSpec condition (and nothing else) and looks again later.
func (d *decision) invalidSpec() {
	msg := fmt.Sprintf(msgInvalidSpec, d.ro.Name, d.specErr.Error())
	st := d.ro.Status.DeepCopy()
	prev := getCondition(*st, v1alpha1.InvalidSpec)
	if prev == nil || prev.Message != msg {
		removeCondition(st, v1alpha1.InvalidSpec)
		setCondition(st, newCondition(v1alpha1.InvalidSpec, corev1.ConditionTrue, ReasonInvalidSpec, msg, d.now))
	}
	d.plan.Why = "invalid spec: " + d.specErr.Error()
	d.plan.requeue(invalidSpecRecheck)
	d.writeStatus(st)
}

// writeStatus stamps observedGeneration and the phase onto st and plans the status write if it
// differs from what is stored.
func (d *decision) writeStatus(st *v1alpha1.RolloutStatus) bool {
	st.ObservedGeneration = strconv.FormatInt(d.ro.Generation, 10)
	st.Phase, st.Message = Phase(d.ro.Spec, *st)
	patch, changed := statusPatch(d.ro.Status, *st)
	if !changed {
		return false
	}
	d.plan.Status, d.plan.StatusPatch = st, patch
	return true
}

// createNewRS creates the ReplicaSet for the current template (at zero replicas; later reconciles
// scale it) and records the new revision on the rollout.
func (d *decision) createNewRS() {
	hash := d.templateHash
	name := d.ro.Name + "-" + hash
	if d.in.TakenNames[name] {
		// Another object holds the name: resolve the hash collision with the next collision count.
		st := d.ro.Status.DeepCopy()
		cc := int32(0)
		if st.CollisionCount != nil {
			cc = *st.CollisionCount
		}
		cc++
		st.CollisionCount = &cc
		d.plan.Why = fmt.Sprintf("ReplicaSet name %s is taken: collision count %d", name, cc)
		d.plan.Status = st
		d.plan.StatusPatch, _ = statusPatch(d.ro.Status, *st)
		return
	}
	rev := maxRevision(d.olderRSs) + 1
	tmpl := *d.ro.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
	sel := d.ro.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	zero := int32(0)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: d.ro.Namespace,
			Labels:    withLabel(nil, v1alpha1.DefaultRolloutUniqueLabelKey, hash),
			Annotations: map[string]string{
				v1alpha1.RevisionAnnotation:        strconv.FormatInt(rev, 10),
				v1alpha1.DesiredReplicasAnnotation: strconv.Itoa(int(d.replicas())),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d.ro, v1alpha1.SchemeGroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &zero, MinReadySeconds: d.ro.Spec.MinReadySeconds, Selector: sel, Template: tmpl},
	}
	for k, v := range tmpl.Labels {
		rs.Labels[k] = v
	}
	d.plan.add(Action{Kind: CreateReplicaSet, ReplicaSet: rs, Events: []Event{
		{Type: corev1.EventTypeNormal, Reason: ReasonNewReplicaSetCreated, Message: fmt.Sprintf(msgNewRSEvent, name, rev)},
	}})
	d.setRolloutRevision(rev)
	st := d.ro.Status.DeepCopy()
	setCondition(st, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionTrue, ReasonNewReplicaSetCreated, fmt.Sprintf(msgNewRS, name), d.now))
	d.plan.Why = fmt.Sprintf("create ReplicaSet %s (revision %d)", name, rev)
	// observedGeneration stays behind until the next reconcile has restarted the steps for the
	// new ReplicaSet: until then the rollout reads as "waiting for rollout spec update to be
	// observed", never as Healthy on the old revision.
	st.Phase, st.Message = Phase(d.ro.Spec, *st)
	if patch, changed := statusPatch(d.ro.Status, *st); changed {
		d.plan.Status, d.plan.StatusPatch = st, patch
	}
}

// setRolloutRevision mirrors the new ReplicaSet's revision on the rollout's annotation.
func (d *decision) setRolloutRevision(rev int64) {
	if d.rolloutRevision() == rev {
		return
	}
	ro := d.in.Rollout.DeepCopy()
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	ro.Annotations[v1alpha1.RevisionAnnotation] = strconv.FormatInt(rev, 10)
	d.plan.add(Action{Kind: UpdateRollout, Rollout: ro, Events: []Event{
		{Type: corev1.EventTypeNormal, Reason: ReasonRolloutUpdated, Message: fmt.Sprintf(msgUpdated, rev)},
	}})
	d.ro.Annotations = ro.Annotations
}

func withLabel(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		out[lk] = lv
	}
	out[k] = v
	return out
}

// checkPausedConditions keeps the Paused and Progressing conditions in step with the pause state
// a user or the controller set. When they are out of step it writes just the conditions and
// stops: the next reconcile acts on the new state.
func (d *decision) checkPausedConditions() bool {
	prog := getCondition(d.ro.Status, v1alpha1.RolloutProgressing)
	progPaused := prog != nil && prog.Reason == ReasonRolloutPaused
	paused := len(d.ro.Status.PauseConditions) > 0 || d.ro.Spec.Paused
	abortCond := prog != nil && prog.Reason == ReasonRolloutAborted

	var updates []v1alpha1.RolloutCondition
	if paused != progPaused && !abortCond {
		if paused {
			updates = append(updates, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutPaused, msgPaused, d.now))
		} else {
			updates = append(updates, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutResumed, msgResumed, d.now))
		}
	}
	if !d.ro.Status.Abort && abortCond {
		updates = append(updates, newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutRetry, msgRetry, d.now))
	}
	pausedCond := getCondition(d.ro.Status, v1alpha1.RolloutPaused)
	pausedTrue := pausedCond != nil && pausedCond.Status == corev1.ConditionTrue
	if paused != pausedTrue && !abortCond {
		s := corev1.ConditionFalse
		if paused {
			s = corev1.ConditionTrue
		}
		updates = append(updates, newCondition(v1alpha1.RolloutPaused, s, ReasonRolloutPaused, msgPaused, d.now))
	}
	if len(updates) == 0 {
		return false
	}
	st := d.ro.Status.DeepCopy()
	for _, c := range updates {
		setCondition(st, c)
	}
	d.plan.Why = "pause conditions changed"
	return d.writeStatus(st)
}

// isScalingEvent: spec.replicas changed since the ReplicaSets were last sized.
func (d *decision) isScalingEvent() bool {
	for _, rs := range d.allRSs {
		if specReplicas(rs) == 0 {
			continue
		}
		v, ok := rs.Annotations[v1alpha1.DesiredReplicasAnnotation]
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(v); err == nil && int32(n) != d.replicas() {
			return true
		}
	}
	return false
}

// syncReplicasOnly resizes the ReplicaSets after a change of spec.replicas without moving the
// steps, traffic or Services forward.
func (d *decision) syncReplicasOnly() {
	d.plan.Why = "scaling event: spec.replicas changed"
	d.syncRevision()
	if d.ro.Spec.Strategy.BlueGreen != nil {
		d.reconcileBlueGreenReplicaSets()
		d.syncStatusBlueGreen()
		return
	}
	d.reconcileCanaryReplicaSets()
	d.reconcileCanaryPause()
	d.reconcileServices()
	d.reconcileTrafficRouting()
	d.syncStatusCanary()
}
