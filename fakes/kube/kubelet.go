package kube

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// KubeletConfig are the knobs of the pod lifecycle model.
type KubeletConfig struct {
	Nodes      int        // nodes pods are spread over (least-loaded first)
	StartDelay dist.Delay // pod created → containers running with an IP
	ReadyDelay dist.Delay // running → readiness probe passes
	ExitDelay  dist.Delay // deletion requested → containers exited (capped by the grace period)
	// CrashPerMille is the chance a container crashes instead of becoming ready; a crashed pod
	// restarts with back-off and crashes again (CrashLoopBackOff). Per-image values override it.
	CrashPerMille dist.PerMille
	ImageCrash    map[string]dist.PerMille
}

// DefaultKubeletConfig is a small, healthy cluster.
func DefaultKubeletConfig() KubeletConfig {
	return KubeletConfig{
		Nodes:      3,
		StartDelay: dist.Delay{Min: time.Second, Max: 3 * time.Second},
		ReadyDelay: dist.Delay{Min: 500 * time.Millisecond, Max: 2 * time.Second},
		ExitDelay:  dist.Delay{Min: 100 * time.Millisecond, Max: time.Second},
	}
}

// Kubelet models the scheduler, the kubelets and pod IP allocation: it runs pods through
// Pending → Running → Ready, honours readiness gates, crashes pods on demand and finishes graceful
// termination.
type Kubelet struct {
	cfg     KubeletConfig
	store   *Store
	sched   Scheduler
	rand    *rand.Rand
	ipam    *IPAM
	timers  map[types.NamespacedName][]Timer
	exiting map[types.NamespacedName]bool
	nodeOf  map[types.NamespacedName]string
	load    map[string]int
}

// NewKubelet creates the nodes in the store and returns the model; feed it pod changes with OnChange.
func NewKubelet(cfg KubeletConfig, store *Store, sched Scheduler, r *rand.Rand) (*Kubelet, error) {
	k := &Kubelet{cfg: cfg, store: store, sched: sched, rand: r, ipam: NewIPAM(),
		timers: map[types.NamespacedName][]Timer{}, exiting: map[types.NamespacedName]bool{},
		nodeOf: map[types.NamespacedName]string{}, load: map[string]int{}}
	for i := 1; i <= max(cfg.Nodes, 1); i++ {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}}
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
		if _, err := store.Create(Nodes, "", n); err != nil {
			return nil, err
		}
		k.load[n.Name] = 0
	}
	return k, nil
}

// IPAM is the pod IP allocator.
func (k *Kubelet) IPAM() *IPAM { return k.ipam }

// OnChange reacts to pod writes.
func (k *Kubelet) OnChange(c Change) {
	if c.GVR != Pods {
		return
	}
	pod := c.Object.(*corev1.Pod)
	key := c.Key()
	switch {
	case c.Type == watch.Deleted:
		k.forget(key)
	case c.Type == watch.Added:
		k.schedule(key, k.cfg.StartDelay.Draw(k.rand), "kubelet/start", func() { k.start(key) })
	case pod.DeletionTimestamp != nil:
		k.terminate(key, pod)
	default:
		k.evaluateReady(key)
	}
}

func (k *Kubelet) schedule(key types.NamespacedName, d time.Duration, what string, fn func()) {
	k.timers[key] = append(k.timers[key], k.sched.After(d, what, key.String(), fn))
}

func (k *Kubelet) forget(key types.NamespacedName) {
	for _, t := range k.timers[key] {
		t.Cancel()
	}
	delete(k.timers, key)
	delete(k.exiting, key)
	k.ipam.Release(key) // the pod may be removed without its exit (grace period 0)
	if node, ok := k.nodeOf[key]; ok {
		k.load[node]--
		delete(k.nodeOf, key)
	}
}

func (k *Kubelet) pod(key types.NamespacedName) *corev1.Pod {
	o, ok := k.store.Peek(Pods, key.Namespace, key.Name)
	if !ok {
		return nil
	}
	return o.(*corev1.Pod)
}

func (k *Kubelet) writeStatus(pod *corev1.Pod) {
	pod.ResourceVersion = ""
	_, _ = k.store.Update(Pods, pod.Namespace, pod, "status")
}

// leastLoaded picks the node running the fewest pods (ties by name).
func (k *Kubelet) leastLoaded() string {
	names := make([]string, 0, len(k.load))
	for n := range k.load {
		names = append(names, n)
	}
	sort.Strings(names)
	best := names[0]
	for _, n := range names[1:] {
		if k.load[n] < k.load[best] {
			best = n
		}
	}
	return best
}

func (k *Kubelet) start(key types.NamespacedName) {
	cur := k.pod(key)
	if cur == nil || cur.DeletionTimestamp != nil {
		return
	}
	pod := cur.DeepCopy()
	node := k.leastLoaded()
	k.load[node]++
	k.nodeOf[key] = node
	pod.Spec.NodeName = node // binding; the spec is immutable to clients but the scheduler sets it
	ip, err := k.ipam.Allocate(key)
	if err != nil {
		setCondition(pod, corev1.PodScheduled, corev1.ConditionFalse, "IPExhausted", k.now())
		k.writeStatus(pod)
		return
	}
	now := k.now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pod.Status.HostIP = nodeIP(node)
	pod.Status.StartTime = &now
	setCondition(pod, corev1.PodScheduled, corev1.ConditionTrue, "", k.now())
	setCondition(pod, corev1.PodInitialized, corev1.ConditionTrue, "", k.now())
	setCondition(pod, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", k.now())
	setCondition(pod, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", k.now())
	pod.Status.ContainerStatuses = containerStatuses(pod, true, 0)
	// NodeName lives in spec: write it through the main resource first, then the status.
	spec := cur.DeepCopy()
	spec.Spec.NodeName = node
	spec.ResourceVersion = ""
	if _, err := k.store.Update(Pods, key.Namespace, spec, ""); err != nil {
		return
	}
	k.writeStatus(pod)
	if k.crashes(pod) {
		k.schedule(key, k.cfg.ReadyDelay.Draw(k.rand), "kubelet/crash", func() { k.crash(key, 1) })
		return
	}
	k.schedule(key, k.cfg.ReadyDelay.Draw(k.rand), "kubelet/probe-ok", func() { k.containersReady(key) })
}

func (k *Kubelet) crashes(pod *corev1.Pod) bool {
	p := k.cfg.CrashPerMille
	for _, c := range pod.Spec.Containers {
		if v, ok := k.cfg.ImageCrash[c.Image]; ok {
			p = max(p, v)
		}
	}
	return p.Happens(k.rand)
}

// crash models CrashLoopBackOff: the container exits, restarts after a doubling back-off, and
// crashes again.
func (k *Kubelet) crash(key types.NamespacedName, restarts int32) {
	cur := k.pod(key)
	if cur == nil || cur.DeletionTimestamp != nil {
		return
	}
	pod := cur.DeepCopy()
	setCondition(pod, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", k.now())
	setCondition(pod, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", k.now())
	pod.Status.ContainerStatuses = containerStatuses(pod, false, restarts)
	k.writeStatus(pod)
	backoff := min(10*time.Second<<min(restarts-1, 5), 5*time.Minute)
	k.schedule(key, backoff, "kubelet/crash", func() { k.crash(key, restarts+1) })
}

func (k *Kubelet) containersReady(key types.NamespacedName) {
	cur := k.pod(key)
	if cur == nil || cur.DeletionTimestamp != nil {
		return
	}
	pod := cur.DeepCopy()
	setCondition(pod, corev1.ContainersReady, corev1.ConditionTrue, "", k.now())
	for i := range pod.Status.ContainerStatuses {
		pod.Status.ContainerStatuses[i].Ready = true
	}
	k.writeStatus(pod)
	k.evaluateReady(key)
}

// evaluateReady sets the Ready condition: containers ready and every readiness gate True.
func (k *Kubelet) evaluateReady(key types.NamespacedName) {
	cur := k.pod(key)
	if cur == nil || cur.DeletionTimestamp != nil || cur.Status.Phase != corev1.PodRunning {
		return
	}
	ready := conditionTrue(cur, corev1.ContainersReady)
	for _, g := range cur.Spec.ReadinessGates {
		ready = ready && conditionTrue(cur, g.ConditionType)
	}
	if ready == conditionTrue(cur, corev1.PodReady) {
		return
	}
	pod := cur.DeepCopy()
	status, reason := corev1.ConditionFalse, "ReadinessGatesNotReady"
	if ready {
		status, reason = corev1.ConditionTrue, ""
	}
	setCondition(pod, corev1.PodReady, status, reason, k.now())
	k.writeStatus(pod)
}

func (k *Kubelet) terminate(key types.NamespacedName, pod *corev1.Pod) {
	if k.exiting[key] {
		return
	}
	for _, t := range k.timers[key] {
		t.Cancel()
	}
	delete(k.timers, key)
	d := k.cfg.ExitDelay.Draw(k.rand)
	if g := pod.DeletionGracePeriodSeconds; g != nil && time.Duration(*g)*time.Second < d {
		d = time.Duration(*g) * time.Second
	}
	k.schedule(key, d, "kubelet/exited", func() {
		k.ipam.Release(key)
		_ = k.store.Remove(Pods, key.Namespace, key.Name)
	})
	k.exiting[key] = true
}

func conditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func setCondition(pod *corev1.Pod, t corev1.PodConditionType, s corev1.ConditionStatus, reason string, now metav1.Time) {
	for i, c := range pod.Status.Conditions {
		if c.Type == t {
			if c.Status != s {
				pod.Status.Conditions[i].LastTransitionTime = now
			}
			pod.Status.Conditions[i].Status = s
			pod.Status.Conditions[i].Reason = reason
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: now})
}

// now is the scheduler's time at the API's second precision.
func (k *Kubelet) now() metav1.Time { return metav1.NewTime(k.sched.Now().UTC().Truncate(time.Second)) }

func containerStatuses(pod *corev1.Pod, running bool, restarts int32) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: restarts, Started: &running}
		if running {
			st.State.Running = &corev1.ContainerStateRunning{}
		} else {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}
		}
		out = append(out, st)
	}
	return out
}

func nodeIP(node string) string {
	var n int
	_, _ = fmt.Sscanf(node, "node-%d", &n)
	return fmt.Sprintf("192.168.0.%d", n)
}
