package rollout

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Pod restarts (`kubectl argo rollouts restart`, which sets spec.restartAt), as Argo Rollouts'
// RolloutPodRestarter does them: every pod of the rollout's ReplicaSets created before
// spec.restartAt is deleted, as many at a time as maxUnavailable allows (at least one), and the
// ReplicaSet controller replaces it. Once no such pod is left, status.restartedAt takes the value
// of spec.restartAt and the phase leaves "rollout is restarting".

const (
	// restartRecheck is how soon a restart that is not finished is looked at again if nothing
	// else wakes the rollout (Argo's restartPodCheckTime). A replacement pod becoming available
	// changes its ReplicaSet's status, which wakes the rollout sooner.
	restartRecheck = 30 * time.Second
	// terminatingRecheck is how soon a restart waiting only for deleted pods to go is looked at
	// again: no ReplicaSet status changes when they do.
	terminatingRecheck = 2 * time.Second
)

// ReasonRolloutRestarted is the event recorded when the last pod older than spec.restartAt has
// gone. It is rolloutlab's: Argo Rollouts only logs its restarts.
const ReasonRolloutRestarted = "RolloutRestarted"

const msgRestarted = "Restarted all pods created before %s"

// restartRequested: spec.restartAt asks for a restart that status.restartedAt does not record.
func restartRequested(ro *v1alpha1.Rollout) bool {
	at := ro.Spec.RestartAt
	return at != nil && (ro.Status.RestartedAt == nil || !at.Equal(ro.Status.RestartedAt))
}

// RestartPending reports whether a restart is due now: requested and its time has come. Only then
// does a reconcile list the rollout's pods.
func RestartPending(ro *v1alpha1.Rollout, now time.Time) bool {
	return restartRequested(ro) && !now.Before(ro.Spec.RestartAt.Time)
}

// reconcileRestart plans the deletion of the pods spec.restartAt asks to restart, within the
// availability budget, and records the restart as done when none is left. It reports whether it
// deleted any: the rest of the reconcile then waits for the next one, as the ReplicaSets'
// availability does not show those pods gone yet (scaling on top could cost more availability
// than maxUnavailable allows).
func (d *decision) reconcileRestart() bool {
	if !restartRequested(d.ro) {
		return false
	}
	at := *d.ro.Spec.RestartAt
	if d.now.Before(at.Time) {
		d.plan.requeue(at.Sub(d.now))
		return false
	}
	var (
		old         []*corev1.Pod // created before restartAt and not yet deleted
		terminating bool          // an old pod is deleted but not yet gone
		avail       int32
	)
	for _, pod := range d.in.Pods {
		if podAvailable(pod, d.ro.Spec.MinReadySeconds, d.now) {
			avail++
		}
		if !pod.CreationTimestamp.Before(&at) {
			continue
		}
		if pod.DeletionTimestamp != nil {
			terminating = true
			continue
		}
		old = append(old, pod)
	}
	if len(old) == 0 && !terminating {
		d.newStatus.RestartedAt = at.DeepCopy()
		d.plan.event(ReasonRolloutRestarted, msgRestarted, at.UTC().Format(time.RFC3339))
		return false
	}
	// Argo's budget: the pods available beyond max(spec.replicas, the ReplicaSets' replicas)
	// minus max(maxUnavailable, 1). The larger total covers a canary's surge.
	concurrent := max(v1alpha1.MaxUnavailable(d.ro), 1)
	minAvailable := max(d.replicas(), sumSpec(d.allRSs)) - concurrent
	budget := avail - minAvailable
	sort.SliceStable(old, func(i, j int) bool { return restartFirst(old[i], old[j], d.ro.Spec.MinReadySeconds, d.now) })
	var names []string
	for _, pod := range old[:max(min(budget, int32(len(old))), 0)] {
		d.plan.add(Action{Kind: DeletePod, Name: pod.Name, Pod: pod})
		names = append(names, pod.Name)
	}
	if terminating {
		d.plan.requeue(terminatingRecheck)
	} else {
		d.plan.requeue(restartRecheck)
	}
	if len(names) == 0 {
		return false
	}
	d.plan.Why = fmt.Sprintf("restart: delete pods %v (created before %s; %d available, at least %d must stay)",
		names, at.UTC().Format(time.RFC3339), avail, minAvailable)
	return true
}

// restartFirst orders the pods to restart: unavailable ones first (deleting them costs no
// availability), then the oldest, then by name.
func restartFirst(a, b *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if aa, ba := podAvailable(a, minReadySeconds, now), podAvailable(b, minReadySeconds, now); aa != ba {
		return !aa
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// podAvailable: not being deleted, and ready for at least minReadySeconds (Kubernetes'
// IsPodAvailable).
func podAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodReady {
			continue
		}
		if c.Status != corev1.ConditionTrue {
			return false
		}
		return minReadySeconds == 0 ||
			(!c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now))
	}
	return false
}

// podGracePeriod is the grace period a restarted pod is deleted with: its own, else Kubernetes'
// default. (An API server applies the pod's own when the delete names none; saying it keeps a
// simulated API server from removing the pod at once.)
func podGracePeriod(pod *corev1.Pod) int64 {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// restartDeleteOptions deletes exactly the pod observed (not a namesake created since) with its
// grace period.
func restartDeleteOptions(pod *corev1.Pod) metav1.DeleteOptions {
	grace := podGracePeriod(pod)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &grace}
	if pod.UID != "" {
		opts.Preconditions = metav1.NewUIDPreconditions(string(pod.UID))
	}
	return opts
}
