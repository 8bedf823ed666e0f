package sim

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// addInvariants registers the checks that must hold after every event of every run.
func addInvariants(w *World) {
	var decisionErr error
	w.Engine.OnPlan = func(key string, in rollout.Observed, plan *rollout.Plan, err error) {
		if w.trace != nil {
			w.traceDecision(key, plan, err)
		}
		if decisionErr == nil {
			decisionErr = checkMinAvailable(in, plan)
		}
	}
	w.Kernel.AddCheck(Check{Name: "scale-down keeps minAvailable", Fn: func() error { return decisionErr }})
	w.Kernel.AddCheck(Check{Name: "rollout status is consistent", Fn: func() error { return eachRollout(w, checkStatus) }})
	w.Kernel.AddCheck(Check{Name: "pods within maxSurge", Fn: func() error { return eachRollout(w, checkSurge) }})
	w.Kernel.AddCheck(Check{Name: "ALB weights sum to 100", Fn: albWeightsChecker(w)})
}

func (w *World) traceDecision(key string, plan *rollout.Plan, err error) {
	l := TraceLine{T: Seconds(w.Kernel.Elapsed()), Reconcile: key, Why: plan.Why, Status: plan.StatusPatch != nil}
	for _, a := range plan.Actions {
		l.Actions = append(l.Actions, a.String())
	}
	if plan.RequeueAfter > 0 {
		l.Requeue = plan.RequeueAfter.String()
	}
	if err != nil {
		l.Err = err.Error()
	}
	w.trace.Line(l)
}

func eachRollout(w *World, check func(*World, *v1alpha1.Rollout, []*appsv1.ReplicaSet) error) error {
	for _, o := range w.Cluster.Store.PeekList(Rollouts, "") {
		ro := o.(*v1alpha1.Rollout)
		if err := check(w, ro, OwnedReplicaSets(w.Cluster.Store, ro)); err != nil {
			return fmt.Errorf("rollout %s/%s: %w", ro.Namespace, ro.Name, err)
		}
	}
	return nil
}

// OwnedReplicaSets lists the ReplicaSets a rollout controls, straight from the store.
func OwnedReplicaSets(store *kube.Store, ro *v1alpha1.Rollout) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, o := range store.PeekList(kube.ReplicaSets, ro.Namespace) {
		rs := o.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == ro.UID {
			out = append(out, rs)
		}
	}
	return out
}

// checkStatus: the step index is within the steps, the stable ReplicaSet exists, and the
// controller never claims to have observed a generation that does not exist yet.
func checkStatus(_ *World, ro *v1alpha1.Rollout, rss []*appsv1.ReplicaSet) error {
	if c := ro.Spec.Strategy.Canary; c != nil && ro.Status.CurrentStepIndex != nil {
		if i := *ro.Status.CurrentStepIndex; i < 0 || int(i) > len(c.Steps) {
			return fmt.Errorf("currentStepIndex %d outside 0..%d", i, len(c.Steps))
		}
	}
	if h := ro.Status.StableRS; h != "" {
		found := false
		for _, rs := range rss {
			found = found || rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == h
		}
		if !found {
			return fmt.Errorf("status.stableRS %s names no ReplicaSet", h)
		}
	}
	if g, err := strconv.ParseInt(ro.Status.ObservedGeneration, 10, 64); err == nil && g > ro.Generation {
		return fmt.Errorf("observedGeneration %d ahead of generation %d", g, ro.Generation)
	}
	return nil
}

// checkSurge: the ReplicaSets together never ask for more than spec.replicas + maxSurge pods,
// except while a change of spec.replicas is being applied.
func checkSurge(_ *World, ro *v1alpha1.Rollout, rss []*appsv1.ReplicaSet) error {
	if ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.TrafficRouting != nil {
		return nil
	}
	n := v1alpha1.Replicas(ro)
	total := int32(0)
	for _, rs := range rss {
		if rs.Spec.Replicas == nil {
			continue
		}
		total += *rs.Spec.Replicas
		if d, ok := rs.Annotations[v1alpha1.DesiredReplicasAnnotation]; ok && d != strconv.Itoa(int(n)) && *rs.Spec.Replicas > 0 {
			return nil // resizing after a change of spec.replicas
		}
	}
	if limit := n + v1alpha1.MaxSurge(ro); total > limit {
		return fmt.Errorf("ReplicaSets ask for %d pods, more than replicas %d + maxSurge", total, n)
	}
	return nil
}

// checkMinAvailable: a reconcile never scales down so far that, by what it observed, fewer than
// spec.replicas - maxUnavailable available pods remain (or fewer than there were, if already below).
func checkMinAvailable(in rollout.Observed, plan *rollout.Plan) error {
	ro := in.Rollout
	if ro == nil || ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.TrafficRouting != nil {
		return nil
	}
	next := map[string]int32{}
	for _, a := range plan.Actions {
		if a.Kind == rollout.UpdateReplicaSet && a.ReplicaSet.Spec.Replicas != nil {
			next[a.ReplicaSet.Name] = *a.ReplicaSet.Spec.Replicas
		}
	}
	// Count the available pods each ReplicaSet keeps at its size before and after the plan.
	var before, after int32
	for _, rs := range in.ReplicaSets {
		spec := int32(0)
		if rs.Spec.Replicas != nil {
			spec = *rs.Spec.Replicas
		}
		before += min(rs.Status.AvailableReplicas, spec)
		if s, ok := next[rs.Name]; ok {
			spec = s
		}
		after += min(rs.Status.AvailableReplicas, spec)
	}
	floor := min(before, v1alpha1.Replicas(ro)-v1alpha1.MaxUnavailable(ro))
	if after < floor {
		return fmt.Errorf("reconcile of %s/%s scales down to %d available pods (had %d, minimum %d): %s",
			ro.Namespace, ro.Name, after, before, floor, plan.Why)
	}
	return nil
}
