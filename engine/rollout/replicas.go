package rollout

import (
	"math"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The replica math of a canary, as pure functions of the rollout and its ReplicaSets. Without a
// traffic router the canary weight can only be approximated by the ratio of pods, within the
// maxSurge/maxUnavailable budget; with a router the canary is sized by its weight and the stable
// stays at full size.

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

func available(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return rs.Status.AvailableReplicas
}

func sumSpec(rss []*appsv1.ReplicaSet) (n int32) {
	for _, rs := range rss {
		n += specReplicas(rs)
	}
	return n
}

func sumAvailable(rss []*appsv1.ReplicaSet) (n int32) {
	for _, rs := range rss {
		n += available(rs)
	}
	return n
}

// sumStaying counts the available pods each ReplicaSet keeps at its current size.
func sumStaying(rss []*appsv1.ReplicaSet) (n int32) {
	for _, rs := range rss {
		n += min(available(rs), specReplicas(rs))
	}
	return n
}

func sumStatusReplicas(rss []*appsv1.ReplicaSet) (n int32) {
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.Replicas
		}
	}
	return n
}

func sumReady(rss []*appsv1.ReplicaSet) (n int32) {
	for _, rs := range rss {
		if rs != nil {
			n += rs.Status.ReadyReplicas
		}
	}
	return n
}

// distinctStable reports whether there is a stable ReplicaSet other than the new one.
func distinctStable(newRS, stableRS *appsv1.ReplicaSet) bool {
	return stableRS != nil && (newRS == nil || newRS.Name != stableRS.Name)
}

// ApproximateCanaryStable splits n pods (n+1 when surge allows) into canary and stable so the
// canary's share of pods is as close as possible to weight%. A weight strictly between 0 and 100
// never gives an empty canary or stable (unless there is a single pod and no surge), and when
// rounding up and down are equally close the larger canary wins.
func ApproximateCanaryStable(n, weight, surge int32) (canary, stable int32) {
	if n == 0 {
		return 0, 0
	}
	type option struct{ canary, total int32 }
	ceil := int32(math.Ceil(float64(n*weight) / 100))
	floor := int32(math.Floor(float64(n*weight) / 100))
	zeroAllowed := weight == 0 || weight == 100 || (n == 1 && surge == 0)
	var opts []option
	if ceil < n || zeroAllowed {
		opts = append(opts, option{ceil, n})
	}
	if !halfTied(weight, n) && (floor != 0 || zeroAllowed) {
		opts = append(opts, option{floor, n})
	}
	if surge > 0 {
		opts = append(opts, option{ceil, n + 1})
		if !halfTied(weight, n+1) && (floor != 0 || zeroAllowed) {
			opts = append(opts, option{floor, n + 1})
		}
	}
	if len(opts) == 0 {
		return 0, n
	}
	best := opts[0]
	for _, o := range opts[1:] {
		if weightDelta(weight, o.canary, o.total) < weightDelta(weight, best.canary, best.total) {
			best = o
		}
	}
	return best.canary, best.total - best.canary
}

func halfTied(weight, total int32) bool {
	_, frac := math.Modf(float64(total) * float64(weight) / 100)
	return frac == 0.5
}

func weightDelta(weight, canary, total int32) float64 {
	return math.Abs(float64(canary*100)/float64(total) - float64(weight))
}

// BasicCanaryCounts returns the replica counts the new and stable ReplicaSets should move to in
// this reconcile for a canary without a traffic router: towards the split of ApproximateCanaryStable,
// scaling up within maxSurge (stable first), draining other ReplicaSets before anything else is
// scaled down, and scaling down only as far as maxUnavailable allows.
func BasicCanaryCounts(ro *v1alpha1.Rollout, newRS, stableRS *appsv1.ReplicaSet, otherRSs []*appsv1.ReplicaSet) (newCount, stableCount int32) {
	n := v1alpha1.Replicas(ro)
	_, weight := canaryReplicasOrWeight(ro)
	surge := v1alpha1.MaxSurge(ro)
	wantNew, wantStable := ApproximateCanaryStable(n, weight, surge)

	newCount = specReplicas(newRS)
	hasStable := distinctStable(newRS, stableRS)
	if hasStable {
		stableCount = specReplicas(stableRS)
	} else {
		wantNew, wantStable = n, 0
	}

	maxTotal := n + surge
	total := sumSpec(otherRSs) + specReplicas(newRS)
	if hasStable {
		total += specReplicas(stableRS)
	}
	up := maxTotal - total
	if hasStable && stableCount < wantStable && up > 0 {
		grow := min(wantStable-stableCount, up)
		stableCount += grow
		up -= grow
	}
	if newRS != nil && newCount < wantNew && up > 0 {
		newCount += min(wantNew-newCount, up)
	}

	if sumSpec(otherRSs) > 0 {
		return newCount, stableCount // other ReplicaSets drain first
	}

	minAvailable := n - v1alpha1.MaxUnavailable(ro)
	increasing := newRS == nil || wantNew >= specReplicas(newRS)
	// The ReplicaSet being drained counts with its spec (its unavailable pods may go first); the
	// one being kept counts only its available pods.
	countable := replicasForScaleDown(newRS, !increasing) + replicasForScaleDown(stableRS, increasing)
	if countable <= minAvailable {
		return newCount, stableCount
	}
	down := countable - minAvailable
	if !increasing {
		newCount = drainTo(newRS, wantNew, down, newCount)
		newCount, stableCount = withinLimits(newRS, stableRS, newCount, stableCount, maxTotal, minAvailable)
	} else if hasStable {
		stableCount = drainTo(stableRS, wantStable, down, stableCount)
		stableCount, newCount = withinLimits(stableRS, newRS, stableCount, newCount, maxTotal, minAvailable)
	}
	return newCount, stableCount
}

// replicasForScaleDown is how many pods of rs may be counted on when deciding how far to scale
// down: its spec when its availability may be ignored or when it is already shrinking, else its
// available pods.
func replicasForScaleDown(rs *appsv1.ReplicaSet, ignoreAvailability bool) int32 {
	if rs == nil {
		return 0
	}
	if specReplicas(rs) < rs.Status.AvailableReplicas || ignoreAvailability {
		return specReplicas(rs)
	}
	return rs.Status.AvailableReplicas
}

// drainTo shrinks the drained ReplicaSet by up to down pods, never below want.
func drainTo(rs *appsv1.ReplicaSet, want, down, cur int32) int32 {
	if rs != nil && specReplicas(rs) > want {
		return max(want, specReplicas(rs)-down)
	}
	return cur
}

// withinLimits trims the adjusted ReplicaSet back under maxTotal, then gives back pods to it
// where trimming would take availability below minAvailable, taking them from the drained one.
func withinLimits(drain, adjust *appsv1.ReplicaSet, drainCount, adjustCount, maxTotal, minAvailable int32) (int32, int32) {
	if adjust == nil {
		return drainCount, adjustCount
	}
	over := max(0, adjustCount+drainCount-maxTotal)
	avail := int32(0)
	if drain != nil {
		avail = min(drain.Status.AvailableReplicas, drainCount)
	}
	adjustCount -= over
	avail += min(adjust.Status.AvailableReplicas, adjustCount)
	lost := max(0, adjust.Status.AvailableReplicas-adjustCount)
	short := max(0, minAvailable-avail)
	adjustCount += min(lost, short)
	over = max(0, adjustCount+drainCount-maxTotal)
	return drainCount - over, adjustCount
}

// TrafficRoutedCounts returns the canary and stable sizes with a traffic router: the canary by
// its weight (or setCanaryScale), the stable at full size — or, with dynamicStableScale, at the
// size its share of traffic needs, shrinking only after the recorded weights (which lag one
// reconcile on purpose) show the traffic has left it.
func TrafficRoutedCounts(ro *v1alpha1.Rollout) (canary, stable int32) {
	n := v1alpha1.Replicas(ro)
	maxW := v1alpha1.MaxTrafficWeight(ro)
	toReplicas := func(w int32) int32 { return int32(math.Ceil(float64(w) * float64(n) / float64(maxW))) }
	fixed, weight := canaryReplicasOrWeight(ro)
	if fixed != nil {
		canary = *fixed
	} else {
		canary = toReplicas(weight)
	}
	if m := ro.Spec.Strategy.Canary.MinPodsPerReplicaSet; m != nil && canary > 0 && canary < *m {
		canary = min(*m, n)
	}
	if !ro.Spec.Strategy.Canary.DynamicStableScale {
		return canary, n
	}
	stable = toReplicas(maxW - weight)
	if w := ro.Status.Canary.Weights; w != nil {
		stable = max(stable, toReplicas(w.Stable.Weight))
		if ro.Status.Abort {
			canary = max(canary, toReplicas(w.Canary.Weight))
		}
	}
	return canary, stable
}

// desiredCanaryCounts returns the end state of the current step for the new and stable ReplicaSets.
func desiredCanaryCounts(ro *v1alpha1.Rollout, newRS, stableRS *appsv1.ReplicaSet, otherRSs []*appsv1.ReplicaSet) (int32, int32) {
	if ro.Spec.Strategy.Canary.TrafficRouting != nil {
		return TrafficRoutedCounts(ro)
	}
	return BasicCanaryCounts(ro, newRS, stableRS, otherRSs)
}

// atDesiredCanaryCounts reports whether the current step's replica counts are reached: the new
// ReplicaSet has all its desired pods available, the stable has its desired pods created, and
// (without a router, where every pod gets traffic) no other ReplicaSet has an available pod.
func atDesiredCanaryCounts(ro *v1alpha1.Rollout, newRS, stableRS *appsv1.ReplicaSet, otherRSs []*appsv1.ReplicaSet) bool {
	wantNew, wantStable := desiredCanaryCounts(ro, newRS, stableRS, otherRSs)
	if newRS == nil || specReplicas(newRS) != wantNew || newRS.Status.AvailableReplicas != wantNew {
		return false
	}
	routed := ro.Spec.Strategy.Canary.TrafficRouting != nil
	if !routed || !ro.Spec.Strategy.Canary.DynamicStableScale {
		if stableRS == nil || specReplicas(stableRS) != wantStable || stableRS.Status.Replicas != wantStable {
			return false
		}
	}
	return routed || sumAvailable(otherRSs) == 0
}
