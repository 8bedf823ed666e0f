package kube

import (
	"math/rand/v2"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// podGracePeriod is the grace period a pod gets when its spec does not say (Kubernetes' default).
const podGracePeriod = int64(30)

// ReplicaSetController keeps each ReplicaSet's pod count at spec.replicas and reports replicas,
// ready and available counts in its status, like kube-controller-manager's. It also plays the
// garbage collector for pods whose ReplicaSet is gone.
type ReplicaSetController struct {
	store *Store
	sched Scheduler
	rand  *rand.Rand
	dirty map[types.NamespacedName]bool
	timer Timer
}

// NewReplicaSetController returns the controller; feed it changes with OnChange.
func NewReplicaSetController(store *Store, sched Scheduler, r *rand.Rand) *ReplicaSetController {
	return &ReplicaSetController{store: store, sched: sched, rand: r, dirty: map[types.NamespacedName]bool{}}
}

// OnChange queues the ReplicaSet a change concerns.
func (c *ReplicaSetController) OnChange(ch Change) {
	switch ch.GVR {
	case ReplicaSets:
		c.enqueue(ch.Key())
		if ch.Type == watch.Deleted {
			c.collectOrphans(ch.Object.(*appsv1.ReplicaSet))
		}
	case Pods:
		pod := ch.Object.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "ReplicaSet" {
			c.enqueue(types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name})
		}
	}
}

func (c *ReplicaSetController) enqueue(key types.NamespacedName) {
	c.enqueueAfter(key, 0)
}

func (c *ReplicaSetController) enqueueAfter(key types.NamespacedName, d time.Duration) {
	if d > 0 {
		c.sched.After(d, "replicaset/resync", key.String(), func() { c.enqueue(key) })
		return
	}
	c.dirty[key] = true
	if c.timer == nil {
		c.timer = c.sched.After(0, "replicaset/sync", "", c.syncDirty)
	}
}

func (c *ReplicaSetController) syncDirty() {
	c.timer = nil
	keys := make([]types.NamespacedName, 0, len(c.dirty))
	for k := range c.dirty {
		keys = append(keys, k)
	}
	c.dirty = map[types.NamespacedName]bool{}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		c.sync(k)
	}
}

// podsOf lists the live pods a ReplicaSet controls and whether any is terminating.
func (c *ReplicaSetController) podsOf(rs *appsv1.ReplicaSet) (active []*corev1.Pod) {
	for _, o := range c.store.PeekList(Pods, rs.Namespace) {
		pod := o.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref == nil || ref.UID != rs.UID {
			continue
		}
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
			continue
		}
		active = append(active, pod)
	}
	return active
}

func (c *ReplicaSetController) sync(key types.NamespacedName) {
	o, ok := c.store.Peek(ReplicaSets, key.Namespace, key.Name)
	if !ok {
		return
	}
	rs := o.(*appsv1.ReplicaSet)
	want := int32(1)
	if rs.Spec.Replicas != nil {
		want = *rs.Spec.Replicas
	}
	active := c.podsOf(rs)
	if diff := int(want) - len(active); diff > 0 {
		for i := 0; i < diff; i++ {
			if pod, err := c.createPod(rs); err == nil {
				active = append(active, pod)
			}
		}
	} else if diff < 0 {
		sort.SliceStable(active, func(i, j int) bool { return deleteFirst(active[i], active[j]) })
		for _, pod := range active[:-diff] {
			_ = c.store.Delete(Pods, pod.Namespace, pod.Name, ptr.To(gracePeriod(pod)))
		}
		active = active[-diff:]
	}
	c.updateStatus(rs, active)
}

// deleteFirst ranks pods for scale-down as the ReplicaSet controller does in spirit: unready
// before ready, then the most recently created first.
func deleteFirst(a, b *corev1.Pod) bool {
	ra, rb := conditionTrue(a, corev1.PodReady), conditionTrue(b, corev1.PodReady)
	if ra != rb {
		return !ra
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func (c *ReplicaSetController) createPod(rs *appsv1.ReplicaSet) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: *rs.Spec.Template.ObjectMeta.DeepCopy(),
		Spec:       *rs.Spec.Template.Spec.DeepCopy(),
	}
	pod.Namespace = rs.Namespace
	pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}
	pod.Status.Phase = corev1.PodPending
	for {
		pod.Name = rs.Name + "-" + randomSuffix(c.rand)
		if _, taken := c.store.Peek(Pods, pod.Namespace, pod.Name); !taken {
			break
		}
	}
	o, err := c.store.Create(Pods, pod.Namespace, pod)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Pod), nil
}

func (c *ReplicaSetController) updateStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod) {
	now := c.sched.Now()
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	st := appsv1.ReplicaSetStatus{Replicas: int32(len(active)), ObservedGeneration: rs.Generation}
	var soonest time.Duration
	for _, pod := range active {
		st.FullyLabeledReplicas++
		since, ready := readySince(pod)
		if !ready {
			continue
		}
		st.ReadyReplicas++
		if wait := since.Add(minReady).Sub(now); wait <= 0 {
			st.AvailableReplicas++
		} else if soonest == 0 || wait < soonest {
			soonest = wait
		}
	}
	st.Conditions = rs.Status.Conditions
	if soonest > 0 {
		c.enqueueAfter(types.NamespacedName{Namespace: rs.Namespace, Name: rs.Name}, soonest)
	}
	if apiequality.Semantic.DeepEqual(st, rs.Status) {
		return
	}
	next := rs.DeepCopy()
	next.Status = st
	next.ResourceVersion = ""
	_, _ = c.store.Update(ReplicaSets, rs.Namespace, next, "status")
}

// readySince returns when the pod became ready; the model records no transition times, so the
// last status write stands in for it unless the condition carries one.
func readySince(pod *corev1.Pod) (time.Time, bool) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time, c.Status == corev1.ConditionTrue
		}
	}
	return time.Time{}, false
}

// collectOrphans deletes the pods of a deleted ReplicaSet (the garbage collector's job).
func (c *ReplicaSetController) collectOrphans(rs *appsv1.ReplicaSet) {
	for _, o := range c.store.PeekList(Pods, rs.Namespace) {
		pod := o.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.UID == rs.UID && pod.DeletionTimestamp == nil {
			_ = c.store.Delete(Pods, pod.Namespace, pod.Name, ptr.To(gracePeriod(pod)))
		}
	}
}

// gracePeriod is the grace period a pod is deleted with: its spec's, else Kubernetes' default.
func gracePeriod(pod *corev1.Pod) int64 {
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return podGracePeriod
}

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomSuffix(r *rand.Rand) string {
	b := make([]byte, 5)
	for i := range b {
		b[i] = suffixAlphabet[r.IntN(len(suffixAlphabet))]
	}
	return string(b)
}
