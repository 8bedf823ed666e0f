package kube

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// epoch is a whole second, so that the store's second precision does not shift test times.
var epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// testSched is a minimal deterministic Scheduler (and clock): timers run in (time, sequence) order.
type testSched struct {
	t     testing.TB
	now   time.Time
	seq   int
	queue []*testTimer
	ran   int
}

type testTimer struct {
	at       time.Time
	seq      int
	name     string
	fn       func()
	canceled bool
}

func (t *testTimer) Cancel() { t.canceled = true }

func (s *testSched) Now() time.Time                  { return s.now }
func (s *testSched) Since(t time.Time) time.Duration { return s.now.Sub(t) }

func (s *testSched) After(d time.Duration, name, _ string, fn func()) Timer {
	s.seq++
	t := &testTimer{at: s.now.Add(d), seq: s.seq, name: name, fn: fn}
	s.queue = append(s.queue, t)
	return t
}

// peek returns the next live timer, dropping cancelled ones.
func (s *testSched) peek() *testTimer {
	sort.Slice(s.queue, func(i, j int) bool {
		if !s.queue[i].at.Equal(s.queue[j].at) {
			return s.queue[i].at.Before(s.queue[j].at)
		}
		return s.queue[i].seq < s.queue[j].seq
	})
	for len(s.queue) > 0 && s.queue[0].canceled {
		s.queue = s.queue[1:]
	}
	if len(s.queue) == 0 {
		return nil
	}
	return s.queue[0]
}

// runFor runs every timer due within d (inclusive) and moves the clock to now+d.
func (s *testSched) runFor(d time.Duration) {
	s.t.Helper()
	deadline := s.now.Add(d)
	for {
		t := s.peek()
		if t == nil || t.at.After(deadline) {
			break
		}
		s.queue = s.queue[1:]
		s.now = t.at
		s.ran++
		if s.ran > 1_000_000 {
			s.t.Fatal("the controllers do not settle")
		}
		t.fn()
	}
	s.now = deadline
}

// runTo runs until the clock reads epoch+at.
func (s *testSched) runTo(at time.Duration) {
	s.t.Helper()
	if d := epoch.Add(at).Sub(s.now); d >= 0 {
		s.runFor(d)
	} else {
		s.t.Fatalf("runTo(%s): the clock is already at %s", at, s.now.Sub(epoch))
	}
}

// testWorld wires the cluster's controllers to a store the way the simulation does: every change
// is delivered to them, in order, as a separate event right after the write.
type testWorld struct {
	t       testing.TB
	sched   *testSched
	cluster *Cluster
	store   *Store
	rsc     *ReplicaSetController
	kubelet *Kubelet
	eps     *EndpointsController
}

func fixedKubelet() KubeletConfig {
	return KubeletConfig{
		Nodes:      3,
		StartDelay: dist.Fixed(2 * time.Second),
		ReadyDelay: dist.Fixed(time.Second),
		ExitDelay:  dist.Fixed(3 * time.Second),
	}
}

func newTestWorld(t testing.TB, cfg KubeletConfig) *testWorld {
	t.Helper()
	sched := &testSched{t: t, now: epoch}
	c := NewCluster(testScheme(t), sched)
	w := &testWorld{t: t, sched: sched, cluster: c, store: c.Store}
	w.rsc = NewReplicaSetController(c.Store, sched, rand.New(rand.NewPCG(1, 2)))
	var err error
	if w.kubelet, err = NewKubelet(cfg, c.Store, sched, rand.New(rand.NewPCG(3, 4))); err != nil {
		t.Fatal(err)
	}
	w.eps = NewEndpointsController(c.Store, sched)
	c.Store.Watch(func(ch Change) {
		sched.After(0, "watch", "", func() {
			w.rsc.OnChange(ch)
			w.kubelet.OnChange(ch)
			w.eps.OnChange(ch)
		})
	})
	return w
}

func (w *testWorld) createRS(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	w.t.Helper()
	o, err := w.store.Create(ReplicaSets, rs.Namespace, rs)
	if err != nil {
		w.t.Fatal(err)
	}
	return o.(*appsv1.ReplicaSet)
}

func (w *testWorld) rs(name string) *appsv1.ReplicaSet {
	w.t.Helper()
	o, ok := w.store.Peek(ReplicaSets, "ns", name)
	if !ok {
		w.t.Fatalf("no replicaset %s", name)
	}
	return o.(*appsv1.ReplicaSet)
}

func (w *testWorld) scale(name string, n int32) {
	w.t.Helper()
	next := w.rs(name).DeepCopy()
	next.Spec.Replicas = &n
	if _, err := w.store.Update(ReplicaSets, "ns", next, ""); err != nil {
		w.t.Fatal(err)
	}
}

// podsOf lists the pods a ReplicaSet owns (terminating ones included), by name.
func (w *testWorld) podsOf(rsName string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range w.store.PeekList(Pods, "ns") {
		pod := o.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.Name == rsName {
			out = append(out, pod)
		}
	}
	return out
}

func (w *testWorld) pod(name string) (*corev1.Pod, bool) {
	o, ok := w.store.Peek(Pods, "ns", name)
	if !ok {
		return nil, false
	}
	return o.(*corev1.Pod), true
}

type podState struct {
	Phase       corev1.PodPhase
	HasIP       bool
	Ready       bool
	Terminating bool
}

func stateOf(p *corev1.Pod) podState {
	return podState{p.Status.Phase, p.Status.PodIP != "", conditionTrue(p, corev1.PodReady), p.DeletionTimestamp != nil}
}

func (w *testWorld) states(rsName string) []podState {
	var out []podState
	for _, p := range w.podsOf(rsName) {
		out = append(out, stateOf(p))
	}
	return out
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

type rsCounts struct{ Replicas, Ready, Available int32 }

func (w *testWorld) counts(name string) rsCounts {
	st := w.rs(name).Status
	return rsCounts{st.Replicas, st.ReadyReplicas, st.AvailableReplicas}
}

var (
	pending = podState{Phase: corev1.PodPending}
	running = podState{Phase: corev1.PodRunning, HasIP: true}
	ready   = podState{Phase: corev1.PodRunning, HasIP: true, Ready: true}
)

func TestReplicaSetScaleUp(t *testing.T) {
	w := newTestWorld(t, fixedKubelet())
	rs := w.createRS(testRS("ns", "web", 3))

	steps := []struct {
		at     time.Duration
		pods   []podState
		counts rsCounts
	}{
		{0, repeat(pending, 3), rsCounts{3, 0, 0}},
		{2*time.Second - time.Millisecond, repeat(pending, 3), rsCounts{3, 0, 0}},
		{2 * time.Second, repeat(running, 3), rsCounts{3, 0, 0}},
		{3*time.Second - time.Millisecond, repeat(running, 3), rsCounts{3, 0, 0}},
		{3 * time.Second, repeat(ready, 3), rsCounts{3, 3, 3}},
		{time.Minute, repeat(ready, 3), rsCounts{3, 3, 3}},
	}
	for _, s := range steps {
		w.sched.runTo(s.at)
		if got := w.states("web"); !reflect.DeepEqual(got, s.pods) {
			t.Errorf("t=%s: pods %+v, want %+v", s.at, got, s.pods)
		}
		if got := w.counts("web"); got != s.counts {
			t.Errorf("t=%s: status %+v, want %+v", s.at, got, s.counts)
		}
	}

	cur := w.rs("web")
	if cur.Status.ObservedGeneration != 1 || cur.Status.FullyLabeledReplicas != 3 {
		t.Errorf("status %+v", cur.Status)
	}
	ips, nodes := map[string]bool{}, map[string]int{}
	for _, p := range w.podsOf("web") {
		if ref := metav1.GetControllerOf(p); ref.UID != rs.UID || ref.Kind != "ReplicaSet" {
			t.Errorf("%s: controller ref %+v", p.Name, ref)
		}
		if p.Labels["app"] != "web" || p.Spec.Containers[0].Image != "demo:1" {
			t.Errorf("%s: not made from the template: %v %v", p.Name, p.Labels, p.Spec.Containers)
		}
		if len(p.Name) != len("web-")+5 || p.Name[:4] != "web-" {
			t.Errorf("pod name %q", p.Name)
		}
		ips[p.Status.PodIP] = true
		nodes[p.Spec.NodeName]++
		if p.Status.HostIP == "" || p.Status.StartTime == nil || len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready {
			t.Errorf("%s: status %+v", p.Name, p.Status)
		}
		if owner, ok := w.kubelet.IPAM().Owner(p.Status.PodIP); !ok || owner.Name != p.Name {
			t.Errorf("IPAM owner of %s = %v, %v", p.Status.PodIP, owner, ok)
		}
	}
	if len(ips) != 3 {
		t.Errorf("pod IPs %v, want 3 distinct", ips)
	}
	if want := map[string]int{"node-1": 1, "node-2": 1, "node-3": 1}; !reflect.DeepEqual(nodes, want) {
		t.Errorf("pods per node %v, want one on each", nodes)
	}
	if nl := w.store.PeekList(Nodes, ""); len(nl) != 3 {
		t.Errorf("%d nodes stored, want 3", len(nl))
	}

	// Scaling up later adds pods beside the old ones; the least-loaded nodes fill first.
	w.scale("web", 6)
	w.sched.runFor(3 * time.Second)
	if got := w.counts("web"); got != (rsCounts{6, 6, 6}) {
		t.Errorf("after scaling to 6: %+v", got)
	}
	for n, c := range w.kubelet.load {
		if c != 2 {
			t.Errorf("node %s runs %d pods, want 2", n, c)
		}
	}
	if g := w.rs("web").Status.ObservedGeneration; g != 2 {
		t.Errorf("observedGeneration %d, want 2", g)
	}
}

func TestReplicaSetMinReadySeconds(t *testing.T) {
	w := newTestWorld(t, fixedKubelet())
	rs := testRS("ns", "web", 2)
	rs.Spec.MinReadySeconds = 5
	w.createRS(rs)
	steps := []struct {
		at   time.Duration
		want rsCounts
	}{
		{3 * time.Second, rsCounts{2, 2, 0}},
		{8*time.Second - time.Millisecond, rsCounts{2, 2, 0}},
		{8 * time.Second, rsCounts{2, 2, 2}},
	}
	for _, s := range steps {
		w.sched.runTo(s.at)
		if got := w.counts("web"); got != s.want {
			t.Errorf("t=%s: %+v, want %+v", s.at, got, s.want)
		}
	}
}

func TestDeleteFirst(t *testing.T) {
	at := func(sec int, name string, ready bool) *corev1.Pod {
		p := testPod("ns", name)
		p.CreationTimestamp = metav1.NewTime(epoch.Add(time.Duration(sec) * time.Second))
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		return p
	}
	tests := []struct {
		name string
		a, b *corev1.Pod
		want bool
	}{
		{"unready before ready", at(1, "a", false), at(2, "b", true), true},
		{"ready after unready", at(2, "b", true), at(1, "a", false), false},
		{"old unready before new ready", at(1, "a", false), at(9, "b", true), true},
		{"newer first among ready", at(2, "b", true), at(1, "a", true), true},
		{"older later among ready", at(1, "a", true), at(2, "b", true), false},
		{"newer first among unready", at(5, "a", false), at(1, "b", false), true},
		{"same time: higher name first", at(1, "b", true), at(1, "a", true), true},
		{"same time: lower name later", at(1, "a", true), at(1, "b", true), false},
	}
	for _, tt := range tests {
		if got := deleteFirst(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: deleteFirst = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Without a Ready condition at all a pod counts as unready.
	noCond := testPod("ns", "c")
	if !deleteFirst(noCond, at(0, "d", true)) {
		t.Error("a pod without conditions is not deleted before a ready one")
	}
}

func TestReplicaSetScaleDown(t *testing.T) {
	w := newTestWorld(t, fixedKubelet())
	w.createRS(testRS("ns", "web", 1))
	// Pods created at 0s, 10s and 20s.
	var byAge []string
	seen := map[string]bool{}
	for i, at := range []time.Duration{0, 10 * time.Second, 20 * time.Second} {
		w.sched.runTo(at)
		w.scale("web", int32(i+1))
		w.sched.runFor(0)
		for _, p := range w.podsOf("web") {
			if !seen[p.Name] {
				seen[p.Name] = true
				byAge = append(byAge, p.Name)
			}
		}
	}
	w.sched.runTo(30 * time.Second)
	if got := w.counts("web"); got != (rsCounts{3, 3, 3}) {
		t.Fatalf("setup: %+v", got)
	}
	oldest, middle, newest := byAge[0], byAge[1], byAge[2]

	// The oldest pod fails its probe: it goes first although it is the oldest.
	p, _ := w.pod(oldest)
	p = p.DeepCopy()
	setCondition(p, corev1.ContainersReady, corev1.ConditionFalse, "ProbeFailed", metav1.NewTime(w.sched.now))
	setCondition(p, corev1.PodReady, corev1.ConditionFalse, "ProbeFailed", metav1.NewTime(w.sched.now))
	if _, err := w.store.Update(Pods, "ns", p, "status"); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	if got := w.counts("web"); got != (rsCounts{3, 2, 2}) {
		t.Fatalf("after the probe failure: %+v", got)
	}
	w.scale("web", 2)
	w.sched.runFor(0)
	terminating := func() []string {
		var out []string
		for _, name := range byAge {
			if p, ok := w.pod(name); ok && p.DeletionTimestamp != nil {
				out = append(out, name)
			}
		}
		return out
	}
	if got := terminating(); !reflect.DeepEqual(got, []string{oldest}) {
		t.Errorf("terminating %v, want the unready %s", got, oldest)
	}
	if got := w.counts("web"); got != (rsCounts{2, 2, 2}) {
		t.Errorf("status while one terminates: %+v (terminating pods do not count)", got)
	}

	// All ready: the newest goes.
	w.scale("web", 1)
	w.sched.runFor(0)
	if got := terminating(); !reflect.DeepEqual(got, []string{oldest, newest}) {
		t.Errorf("terminating %v, want %s and then the newest %s", got, oldest, newest)
	}
	w.sched.runFor(time.Minute)
	var left []string
	for _, p := range w.podsOf("web") {
		left = append(left, p.Name)
	}
	if !reflect.DeepEqual(left, []string{middle}) {
		t.Errorf("left %v, want [%s]", left, middle)
	}

	// Scale to zero.
	w.scale("web", 0)
	w.sched.runFor(time.Minute)
	if n := len(w.podsOf("web")); n != 0 || w.counts("web") != (rsCounts{}) {
		t.Errorf("after scaling to 0: %d pods, status %+v", n, w.counts("web"))
	}
}

func TestReplicaSetReplacesLostPods(t *testing.T) {
	w := newTestWorld(t, fixedKubelet())
	rs := testRS("ns", "web", 2)
	rs.Spec.Replicas = nil // defaults to 1
	w.createRS(rs)
	w.sched.runTo(5 * time.Second)
	pods := w.podsOf("web")
	if len(pods) != 1 {
		t.Fatalf("%d pods for a ReplicaSet without replicas, want 1", len(pods))
	}
	if err := w.store.Remove(Pods, "ns", pods[0].Name); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	if got := w.podsOf("web"); len(got) != 1 || got[0].Name == pods[0].Name {
		t.Errorf("the lost pod was not replaced: %v", got)
	}
	// A failed pod does not count: the controller starts another.
	failed := w.podsOf("web")[0].DeepCopy()
	failed.Status.Phase = corev1.PodFailed
	if _, err := w.store.Update(Pods, "ns", failed, "status"); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	if got := w.podsOf("web"); len(got) != 2 {
		t.Errorf("%d pods after one failed, want a replacement beside it", len(got))
	}
}

func TestReplicaSetDeletedCollectsPods(t *testing.T) {
	w := newTestWorld(t, fixedKubelet())
	rs := testRS("ns", "web", 2)
	rs.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To(int64(1))
	w.createRS(rs)
	w.createRS(testRS("ns", "other", 1))
	w.sched.runTo(5 * time.Second)
	var ips []string
	for _, p := range w.podsOf("web") {
		ips = append(ips, p.Status.PodIP)
	}
	if len(ips) != 2 {
		t.Fatalf("setup: %d pods", len(ips))
	}
	if err := w.store.Delete(ReplicaSets, "ns", "web", nil); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	if got := w.states("web"); !reflect.DeepEqual(got, repeat(podState{corev1.PodRunning, true, true, true}, 2)) {
		t.Errorf("pods of the deleted ReplicaSet: %+v, want terminating", got)
	}
	// The pods' own grace period (1s) caps the exit delay (3s).
	w.sched.runFor(time.Second)
	if n := len(w.podsOf("web")); n != 0 {
		t.Errorf("%d pods left 1s after the ReplicaSet was deleted, want none (grace period 1s)", n)
	}
	for _, ip := range ips {
		if owner, ok := w.kubelet.IPAM().Owner(ip); ok {
			t.Errorf("IP %s still held by %v", ip, owner)
		}
	}
	if got := w.states("other"); !reflect.DeepEqual(got, []podState{ready}) {
		t.Errorf("pods of the other ReplicaSet: %+v", got)
	}
}

func TestReadinessGates(t *testing.T) {
	ctx := context.Background()
	w := newTestWorld(t, fixedKubelet())
	rs := testRS("ns", "web", 1)
	rs.Spec.Template.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	w.createRS(rs)
	w.sched.runTo(time.Minute)
	pod := w.podsOf("web")[0]
	if !conditionTrue(pod, corev1.ContainersReady) || conditionTrue(pod, corev1.PodReady) {
		t.Fatalf("before the gate: conditions %+v, want containers ready, pod not ready", pod.Status.Conditions)
	}
	if got := w.counts("web"); got != (rsCounts{1, 0, 0}) {
		t.Errorf("before the gate: %+v", got)
	}

	setGate := func(status corev1.ConditionStatus) {
		t.Helper()
		patch := fmt.Sprintf(`{"status":{"conditions":[{"type":"example.com/lb","status":%q}]}}`, status)
		if _, err := w.cluster.Kube.CoreV1().Pods("ns").Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
		w.sched.runFor(0)
	}
	setGate(corev1.ConditionFalse)
	if p, _ := w.pod(pod.Name); conditionTrue(p, corev1.PodReady) {
		t.Error("ready with the gate False")
	}
	setGate(corev1.ConditionTrue)
	p, _ := w.pod(pod.Name)
	if !conditionTrue(p, corev1.PodReady) {
		t.Errorf("not ready with the gate True: %+v", p.Status.Conditions)
	}
	if got := w.counts("web"); got != (rsCounts{1, 1, 1}) {
		t.Errorf("after the gate: %+v", got)
	}
	setGate(corev1.ConditionFalse)
	if p, _ := w.pod(pod.Name); conditionTrue(p, corev1.PodReady) {
		t.Error("still ready after the gate went False")
	}
}

func TestCrashLoop(t *testing.T) {
	cfg := fixedKubelet()
	cfg.ImageCrash = map[string]dist.PerMille{"demo:bad": 1000}
	w := newTestWorld(t, cfg)
	bad := testRS("ns", "bad", 1)
	bad.Spec.Template.Spec.Containers[0].Image = "demo:bad"
	w.createRS(bad)
	w.createRS(testRS("ns", "good", 1))

	type restart struct {
		At    time.Duration
		Count int32
	}
	var restarts []restart
	var everReady bool
	var watched string // the first crashing pod; its replacement crashes too
	w.store.Watch(func(ch Change) {
		pod, ok := ch.Object.(*corev1.Pod)
		if !ok || pod.Labels["app"] != "bad" || (watched != "" && pod.Name != watched) {
			return
		}
		watched = pod.Name
		everReady = everReady || conditionTrue(pod, corev1.PodReady) || conditionTrue(pod, corev1.ContainersReady)
		if cs := pod.Status.ContainerStatuses; len(cs) == 1 && cs[0].RestartCount > 0 &&
			(len(restarts) == 0 || restarts[len(restarts)-1].Count != cs[0].RestartCount) {
			restarts = append(restarts, restart{w.sched.now.Sub(epoch), cs[0].RestartCount})
			if cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "CrashLoopBackOff" || cs[0].Ready {
				t.Errorf("crashed container state %+v", cs[0])
			}
		}
	})
	w.sched.runTo(1000 * time.Second)
	// Crash after the ready delay (3s), then back-off 10s doubling, capped at 5m.
	want := []restart{{3 * time.Second, 1}, {13 * time.Second, 2}, {33 * time.Second, 3}, {73 * time.Second, 4},
		{153 * time.Second, 5}, {313 * time.Second, 6}, {613 * time.Second, 7}, {913 * time.Second, 8}}
	if !reflect.DeepEqual(restarts, want) {
		t.Errorf("restarts %v\nwant %v", restarts, want)
	}
	if everReady {
		t.Error("a crashing pod became ready")
	}
	if got := w.counts("bad"); got != (rsCounts{1, 0, 0}) {
		t.Errorf("crashing ReplicaSet status %+v", got)
	}
	if got := w.counts("good"); got != (rsCounts{1, 1, 1}) {
		t.Errorf("healthy ReplicaSet status %+v", got)
	}
	// Deleting a crash-looping pod stops the loop.
	p := w.podsOf("bad")[0]
	if err := w.store.Delete(Pods, "ns", p.Name, ptr.To(int64(30))); err != nil {
		t.Fatal(err)
	}
	n := len(restarts)
	w.sched.runFor(10 * time.Minute)
	if len(restarts) != n {
		t.Errorf("a deleted pod kept crashing: %v", restarts[n:])
	}
	if _, ok := w.pod(p.Name); ok {
		t.Error("the deleted crashing pod is still there")
	}
}

func TestKubeletCrashPerMille(t *testing.T) {
	// A global crash chance of 1000‰ crashes every image.
	cfg := fixedKubelet()
	cfg.CrashPerMille = 1000
	w := newTestWorld(t, cfg)
	w.createRS(testRS("ns", "web", 2))
	w.sched.runTo(time.Minute)
	if got := w.counts("web"); got != (rsCounts{2, 0, 0}) {
		t.Errorf("status %+v, want nothing ready", got)
	}
}

func TestGracefulTermination(t *testing.T) {
	tests := []struct {
		name     string
		grace    *int64
		deleteAt time.Duration // after creation
		gone     time.Duration // after deletion
	}{
		{"exit delay within the grace period", ptr.To(int64(30)), 5 * time.Second, 3 * time.Second},
		{"grace period caps the exit delay", ptr.To(int64(1)), 5 * time.Second, time.Second},
		{"grace period 0 removes at once", ptr.To(int64(0)), 5 * time.Second, 0},
		{"no grace period removes at once", nil, 5 * time.Second, 0},
		{"deleted while starting", ptr.To(int64(30)), time.Second, 3 * time.Second},
		{"deleted before ready", ptr.To(int64(30)), 2500 * time.Millisecond, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTestWorld(t, fixedKubelet())
			if _, err := w.store.Create(Pods, "ns", testPod("ns", "p")); err != nil {
				t.Fatal(err)
			}
			w.sched.runTo(tt.deleteAt)
			before, _ := w.pod("p")
			ip := before.Status.PodIP
			wasReady := conditionTrue(before, corev1.PodReady)
			if err := w.store.Delete(Pods, "ns", "p", tt.grace); err != nil {
				t.Fatal(err)
			}
			if tt.gone > 0 {
				// A write to the terminating pod half-way does not restart its exit.
				w.sched.runFor(tt.gone / 2)
				touched, _ := w.pod("p")
				touched = touched.DeepCopy()
				touched.Labels["touched"] = "yes"
				if _, err := w.store.Update(Pods, "ns", touched, ""); err != nil {
					t.Fatal(err)
				}
				w.sched.runFor(tt.gone - tt.gone/2 - time.Millisecond)
				p, ok := w.pod("p")
				if !ok {
					t.Fatalf("gone before %s", tt.gone)
				}
				if p.DeletionTimestamp == nil {
					t.Error("no deletionTimestamp")
				}
				if !wasReady && conditionTrue(p, corev1.PodReady) {
					t.Error("a terminating pod became ready")
				}
				if tt.deleteAt < 2*time.Second && p.Status.PodIP != "" {
					t.Error("a pod deleted before it started got an IP")
				}
				if ip != "" {
					if owner, ok := w.kubelet.IPAM().Owner(ip); !ok || owner.Name != "p" {
						t.Errorf("IP released before the pod exited: %v %v", owner, ok)
					}
				}
				w.sched.runFor(time.Millisecond)
			} else {
				w.sched.runFor(0)
			}
			if _, ok := w.pod("p"); ok {
				t.Fatalf("still there %s after deletion", tt.gone)
			}
			if ip != "" {
				if owner, ok := w.kubelet.IPAM().Owner(ip); ok {
					t.Errorf("IP %s still held by %v after the pod is gone", ip, owner)
				}
			}
			for n, c := range w.kubelet.load {
				if c != 0 {
					t.Errorf("node %s still counts %d pods", n, c)
				}
			}
			w.sched.runFor(time.Hour)
			if len(w.kubelet.timers)+len(w.kubelet.exiting)+len(w.kubelet.nodeOf) != 0 {
				t.Errorf("kubelet still tracks the pod: timers %v exiting %v nodes %v", w.kubelet.timers, w.kubelet.exiting, w.kubelet.nodeOf)
			}
		})
	}
}

func TestDefaultKubeletConfig(t *testing.T) {
	cfg := DefaultKubeletConfig()
	if cfg.Nodes < 1 || cfg.StartDelay.Min <= 0 || cfg.ReadyDelay.Min <= 0 || cfg.ExitDelay.Min <= 0 || cfg.CrashPerMille != 0 {
		t.Errorf("DefaultKubeletConfig() = %+v, want a healthy cluster with real delays", cfg)
	}
	// Random delays stay within their ranges and pods still become ready.
	w := newTestWorld(t, cfg)
	w.createRS(testRS("ns", "web", 5))
	w.sched.runTo(cfg.StartDelay.Max + cfg.ReadyDelay.Max)
	if got := w.counts("web"); got != (rsCounts{5, 5, 5}) {
		t.Errorf("status %+v after the longest start and ready delays", got)
	}
}

func TestKubeletMinimumOneNode(t *testing.T) {
	cfg := fixedKubelet()
	cfg.Nodes = 0
	w := newTestWorld(t, cfg)
	if n := len(w.store.PeekList(Nodes, "")); n != 1 {
		t.Errorf("%d nodes, want 1", n)
	}
	if _, err := NewKubelet(cfg, w.store, w.sched, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("a second kubelet re-created node-1 without error")
	}
	if nodeIP("node-12") != "192.168.0.12" {
		t.Errorf("nodeIP(node-12) = %s", nodeIP("node-12"))
	}
}

// endpointView is what a test cares about in an EndpointSlice endpoint.
type endpointView struct {
	Pod                         string
	Ready, Serving, Terminating bool
}

func (w *testWorld) slice(svc string) ([]endpointView, *discoveryv1.EndpointSlice) {
	w.t.Helper()
	o, ok := w.store.Peek(EndpointSlices, "ns", svc+"-sim")
	if !ok {
		return nil, nil
	}
	sl := o.(*discoveryv1.EndpointSlice)
	var out []endpointView
	for _, e := range sl.Endpoints {
		p, ok := w.pod(e.TargetRef.Name)
		if !ok || len(e.Addresses) != 1 || e.Addresses[0] != p.Status.PodIP || e.NodeName == nil || *e.NodeName != p.Spec.NodeName {
			w.t.Errorf("endpoint %+v does not match its pod", e)
		}
		out = append(out, endpointView{e.TargetRef.Name, *e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating})
	}
	return out, sl
}

// legacy returns the pod names of the Endpoints object's ready and not-ready addresses.
func (w *testWorld) legacy(svc string) (ready, notReady []string, ok bool) {
	o, ok := w.store.Peek(Endpoints, "ns", svc)
	if !ok {
		return nil, nil, false
	}
	ep := o.(*corev1.Endpoints)
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ready = append(ready, a.TargetRef.Name)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, a.TargetRef.Name)
		}
	}
	return ready, notReady, true
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	w := newTestWorld(t, fixedKubelet())
	svc := testService("ns", "web", map[string]string{"app": "web"})
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "admin", Protocol: corev1.ProtocolTCP, Port: 9000})
	if _, err := w.store.Create(Services, "ns", svc); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Create(Services, "ns", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "headless"}}); err != nil {
		t.Fatal(err)
	}
	w.createRS(testRS("ns", "web", 2))
	w.createRS(testRS("ns", "other", 1))

	// No pod has an IP yet: an empty slice and no subsets.
	w.sched.runFor(time.Second)
	eps, sl := w.slice("web")
	if sl == nil || len(eps) != 0 {
		t.Fatalf("before the pods start: slice %v endpoints %v", sl, eps)
	}
	if sl.Labels[discoveryv1.LabelServiceName] != "web" || sl.AddressType != discoveryv1.AddressTypeIPv4 || metav1.GetControllerOf(sl) == nil {
		t.Errorf("slice metadata %+v", sl.ObjectMeta)
	}
	wantPorts := []struct {
		name string
		port int32
	}{{"http", 8080}, {"admin", 9000}}
	if len(sl.Ports) != 2 {
		t.Fatalf("slice ports %+v", sl.Ports)
	}
	for i, p := range sl.Ports {
		if *p.Name != wantPorts[i].name || *p.Port != wantPorts[i].port || *p.Protocol != corev1.ProtocolTCP {
			t.Errorf("slice port %d = %s %d, want %+v", i, *p.Name, *p.Port, wantPorts[i])
		}
	}
	if r, nr, ok := w.legacy("web"); !ok || len(r)+len(nr) != 0 {
		t.Errorf("legacy endpoints before the pods start: %v %v %v", r, nr, ok)
	}
	if _, sl := w.slice("headless"); sl != nil {
		t.Error("a slice for a Service without selector")
	}

	web := names(w.podsOf("web"))
	// Running, not ready.
	w.sched.runTo(2 * time.Second)
	eps, _ = w.slice("web")
	want := []endpointView{{web[0], false, false, false}, {web[1], false, false, false}}
	if !reflect.DeepEqual(eps, want) {
		t.Errorf("running pods: %+v, want %+v", eps, want)
	}
	if r, nr, _ := w.legacy("web"); len(r) != 0 || !reflect.DeepEqual(nr, web) {
		t.Errorf("legacy: ready %v notReady %v", r, nr)
	}

	// Ready.
	w.sched.runTo(3 * time.Second)
	eps, _ = w.slice("web")
	want = []endpointView{{web[0], true, true, false}, {web[1], true, true, false}}
	if !reflect.DeepEqual(eps, want) {
		t.Errorf("ready pods: %+v, want %+v", eps, want)
	}
	r, nr, _ := w.legacy("web")
	if !reflect.DeepEqual(r, web) || len(nr) != 0 {
		t.Errorf("legacy: ready %v notReady %v", r, nr)
	}
	o, _ := w.store.Peek(Endpoints, "ns", "web")
	if ports := o.(*corev1.Endpoints).Subsets[0].Ports; len(ports) != 2 || ports[0].Port != 8080 || ports[1].Port != 9000 {
		t.Errorf("legacy ports %+v", ports)
	}
	rvBefore := w.store.ResourceVersion()
	w.sched.runFor(time.Minute)
	if rv := w.store.ResourceVersion(); rv != rvBefore {
		t.Errorf("a settled cluster keeps writing (rv %d → %d)", rvBefore, rv)
	}

	// A terminating pod stays, not ready, serving, terminating.
	if err := w.store.Delete(Pods, "ns", web[0], ptr.To(int64(30))); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	eps, _ = w.slice("web")
	replacement := ""
	for _, n := range names(w.podsOf("web")) {
		if n != web[0] && n != web[1] {
			replacement = n
		}
	}
	want = []endpointView{{web[0], false, true, true}, {web[1], true, true, false}}
	if !reflect.DeepEqual(eps, want) {
		t.Errorf("terminating pod: %+v, want %+v", eps, want)
	}
	// The legacy Endpoints object leaves terminating pods out, as Kubernetes does.
	if r, nr, _ := w.legacy("web"); !reflect.DeepEqual(r, web[1:]) || len(nr) != 0 {
		t.Errorf("legacy with a terminating pod: ready %v notReady %v", r, nr)
	}
	// Gone after the exit delay; the replacement is ready by then.
	w.sched.runFor(3 * time.Second)
	eps, _ = w.slice("web")
	want = []endpointView{{web[1], true, true, false}, {replacement, true, true, false}}
	sort.Slice(want, func(i, j int) bool { return want[i].Pod < want[j].Pod })
	if !reflect.DeepEqual(eps, want) {
		t.Errorf("after the exit: %+v, want %+v", eps, want)
	}

	// The selector moves to the other ReplicaSet's pods.
	if _, err := w.cluster.Kube.CoreV1().Services("ns").Patch(ctx, "web", types.MergePatchType,
		[]byte(`{"spec":{"selector":{"app":"other"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	other := names(w.podsOf("other"))
	eps, _ = w.slice("web")
	if want := []endpointView{{other[0], true, true, false}}; !reflect.DeepEqual(eps, want) {
		t.Errorf("after the selector change: %+v, want %+v", eps, want)
	}
	if r, nr, _ := w.legacy("web"); !reflect.DeepEqual(r, other) || len(nr) != 0 {
		t.Errorf("legacy after the selector change: %v %v", r, nr)
	}

	// Deleting the Service deletes both.
	if err := w.store.Delete(Services, "ns", "web", nil); err != nil {
		t.Fatal(err)
	}
	w.sched.runFor(0)
	if _, sl := w.slice("web"); sl != nil {
		t.Error("slice left after the Service was deleted")
	}
	if _, _, ok := w.legacy("web"); ok {
		t.Error("Endpoints left after the Service was deleted")
	}
}

func TestIPAM(t *testing.T) {
	pod := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: n} }
	a := NewIPAM()
	steps := []struct {
		op, pod string
		want    string
	}{
		{"alloc", "a", "10.244.0.2"},
		{"alloc", "b", "10.244.0.3"},
		{"alloc", "a", "10.244.0.2"}, // idempotent
		{"release", "a", ""},
		{"alloc", "c", "10.244.0.4"}, // a released address is not reused at once
		{"release", "nobody", ""},
	}
	for _, s := range steps {
		switch s.op {
		case "alloc":
			got, err := a.Allocate(pod(s.pod))
			if err != nil || got != s.want {
				t.Errorf("Allocate(%s) = %s, %v, want %s", s.pod, got, err, s.want)
			}
		case "release":
			a.Release(pod(s.pod))
		}
	}
	owners := []struct {
		ip   string
		pod  string
		want bool
	}{
		{"10.244.0.3", "b", true},
		{"10.244.0.4", "c", true},
		{"10.244.0.2", "", false}, // released
		{"10.244.0.5", "", false}, // never allocated
		{"10.245.0.3", "", false}, // outside the range
		{"10.243.0.3", "", false},
		{"192.168.0.3", "", false},
		{"::1", "", false},
		{"not an ip", "", false},
	}
	for _, o := range owners {
		got, ok := a.Owner(o.ip)
		if ok != o.want || (ok && got != pod(o.pod)) {
			t.Errorf("Owner(%s) = %v, %v, want %s %v", o.ip, got, ok, o.pod, o.want)
		}
	}

	// Addresses beyond the last octet carry into the third.
	big := NewIPAM()
	big.next = 255
	if ip, _ := big.Allocate(pod("x")); ip != "10.244.0.255" {
		t.Errorf("got %s", ip)
	}
	if ip, _ := big.Allocate(pod("y")); ip != "10.244.1.0" {
		t.Errorf("got %s", ip)
	}
	if p, ok := big.Owner("10.244.1.0"); !ok || p != pod("y") {
		t.Errorf("Owner(10.244.1.0) = %v %v", p, ok)
	}

	// A small range wraps to .2, skipping what is in use, and runs out.
	small := NewIPAM()
	small.size = 6 // .2 .. .5
	var got []string
	for _, n := range []string{"a", "b", "c", "d"} {
		ip, err := small.Allocate(pod(n))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip)
	}
	if want := []string{"10.244.0.2", "10.244.0.3", "10.244.0.4", "10.244.0.5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("allocated %v, want %v", got, want)
	}
	small.Release(pod("c"))
	small.Release(pod("a"))
	if ip, _ := small.Allocate(pod("e")); ip != "10.244.0.2" {
		t.Errorf("after the wrap got %s, want 10.244.0.2", ip)
	}
	if ip, _ := small.Allocate(pod("f")); ip != "10.244.0.4" {
		t.Errorf("got %s, want 10.244.0.4 (skipping the used .3)", ip)
	}
	if ip, err := small.Allocate(pod("g")); err == nil {
		t.Errorf("allocated %s from a full range", ip)
	}
	if p, ok := small.Owner("10.244.0.4"); !ok || p != pod("f") {
		t.Errorf("Owner(10.244.0.4) = %v %v", p, ok)
	}
}

func TestKubeletIPExhausted(t *testing.T) {
	w := newTestWorld(t, fixedKubelet())
	w.kubelet.ipam.size = 3 // one address: .2
	w.createRS(testRS("ns", "web", 2))
	w.sched.runTo(time.Minute)
	var withIP, unscheduled int
	for _, p := range w.podsOf("web") {
		if p.Status.PodIP != "" {
			withIP++
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == "IPExhausted" {
				unscheduled++
			}
		}
	}
	if withIP != 1 || unscheduled != 1 {
		t.Errorf("%d pods with an IP and %d marked IPExhausted, want 1 and 1", withIP, unscheduled)
	}
}
