package kube

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// t0 has a sub-second part so that tests see the store truncate to seconds.
var t0 = time.Date(2026, time.March, 4, 5, 6, 7, 890_000_000, time.UTC)

func testScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestStore(t testing.TB) (*Store, *clocktesting.FakePassiveClock) {
	clk := clocktesting.NewFakePassiveClock(t0)
	return NewStore(testScheme(t), clk), clk
}

func testPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "demo"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "demo:1"}}},
	}
}

func testRS(ns, name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "demo:1"}}},
			},
		},
	}
}

func TestStoreCreate(t *testing.T) {
	s, clk := newTestStore(t)
	got, err := s.Create(Pods, "ns", testPod("", "a"))
	if err != nil {
		t.Fatal(err)
	}
	pod := got.(*corev1.Pod)
	if pod.Namespace != "ns" {
		t.Errorf("namespace = %q, want it taken from the request", pod.Namespace)
	}
	if pod.UID == "" {
		t.Error("no uid assigned")
	}
	if want := t0.Truncate(time.Second); !pod.CreationTimestamp.Time.Equal(want) {
		t.Errorf("creationTimestamp = %s, want the clock at second precision %s", pod.CreationTimestamp.Time, want)
	}
	if pod.ResourceVersion != "1" || s.ResourceVersion() != 1 {
		t.Errorf("resourceVersion = %q (store %d), want 1", pod.ResourceVersion, s.ResourceVersion())
	}
	if pod.Generation != 1 {
		t.Errorf("generation = %d, want 1 for an object with a spec", pod.Generation)
	}

	clk.SetTime(t0.Add(90 * time.Second))
	got2, err := s.Create(Pods, "ns", testPod("ns", "b"))
	if err != nil {
		t.Fatal(err)
	}
	pod2 := got2.(*corev1.Pod)
	if pod2.UID == pod.UID {
		t.Errorf("both pods got uid %q", pod.UID)
	}
	if pod2.ResourceVersion != "2" {
		t.Errorf("second resourceVersion = %q, want 2", pod2.ResourceVersion)
	}
	if want := t0.Add(90 * time.Second).Truncate(time.Second); !pod2.CreationTimestamp.Time.Equal(want) {
		t.Errorf("creationTimestamp = %s, want %s", pod2.CreationTimestamp.Time, want)
	}

	// Objects without a spec get no generation.
	cm, err := s.Create(corev1.SchemeGroupVersion.WithResource("configmaps"), "ns",
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}})
	if err != nil {
		t.Fatal(err)
	}
	if g := cm.(*corev1.ConfigMap).Generation; g != 0 {
		t.Errorf("configmap generation = %d, want 0", g)
	}

	// Client-set server fields are overwritten.
	in := testPod("ns", "c")
	in.UID = "mine"
	in.ResourceVersion = "77"
	in.Generation = 9
	in.DeletionTimestamp = &metav1.Time{Time: t0}
	got3, err := s.Create(Pods, "ns", in)
	if err != nil {
		t.Fatal(err)
	}
	p3 := got3.(*corev1.Pod)
	if p3.UID == "mine" || p3.ResourceVersion != "4" || p3.Generation != 1 || p3.DeletionTimestamp != nil {
		t.Errorf("server fields kept from the client: uid %q rv %q generation %d deletion %v",
			p3.UID, p3.ResourceVersion, p3.Generation, p3.DeletionTimestamp)
	}
	if in.ResourceVersion != "77" {
		t.Error("Create mutated the caller's object")
	}
}

func TestStoreCreateErrors(t *testing.T) {
	s, _ := newTestStore(t)
	if _, err := s.Create(Pods, "ns", testPod("ns", "a")); err != nil {
		t.Fatal(err)
	}
	rv := s.ResourceVersion()
	tests := []struct {
		name  string
		ns    string
		obj   runtime.Object
		check func(error) bool
	}{
		{"already exists", "ns", testPod("ns", "a"), apierrors.IsAlreadyExists},
		{"namespace mismatch", "ns", testPod("other", "b"), apierrors.IsBadRequest},
		{"no name", "ns", testPod("ns", ""), apierrors.IsBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(Pods, tt.ns, tt.obj)
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if s.ResourceVersion() != rv {
				t.Errorf("a failed create moved the resourceVersion to %d", s.ResourceVersion())
			}
		})
	}
	// The same name in another namespace is another object.
	if _, err := s.Create(Pods, "other", testPod("other", "a")); err != nil {
		t.Errorf("same name in another namespace: %v", err)
	}
}

func TestStoreGet(t *testing.T) {
	s, _ := newTestStore(t)
	if _, err := s.Get(Pods, "ns", "a"); !apierrors.IsNotFound(err) {
		t.Fatalf("Get of a missing pod: %v, want NotFound", err)
	}
	if _, err := s.Create(Pods, "ns", testPod("ns", "a")); err != nil {
		t.Fatal(err)
	}
	o, err := s.Get(Pods, "ns", "a")
	if err != nil {
		t.Fatal(err)
	}
	o.(*corev1.Pod).Labels["app"] = "changed"
	if p, _ := s.Peek(Pods, "ns", "a"); p.(*corev1.Pod).Labels["app"] != "demo" {
		t.Error("Get returned the stored object, not a copy")
	}
}

func TestStoreUpdateResourceVersion(t *testing.T) {
	tests := []struct {
		name     string
		rv       func(created string) string
		conflict bool
	}{
		{"current", func(c string) string { return c }, false},
		{"empty means unconditional", func(string) string { return "" }, false},
		{"stale", func(string) string { return "1" }, true},
		{"from the future", func(string) string { return "999" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			if _, err := s.Create(Pods, "ns", testPod("ns", "other")); err != nil {
				t.Fatal(err)
			}
			created, err := s.Create(Pods, "ns", testPod("ns", "a"))
			if err != nil {
				t.Fatal(err)
			}
			in := created.(*corev1.Pod).DeepCopy()
			in.ResourceVersion = tt.rv(in.ResourceVersion)
			in.Labels["app"] = "v2"
			out, err := s.Update(Pods, "ns", in, "")
			if tt.conflict {
				if !apierrors.IsConflict(err) {
					t.Fatalf("err = %v, want 409 Conflict", err)
				}
				if p, _ := s.Peek(Pods, "ns", "a"); p.(*corev1.Pod).Labels["app"] != "demo" {
					t.Error("a conflicting update was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.(*corev1.Pod); got.Labels["app"] != "v2" || got.ResourceVersion != "3" {
				t.Errorf("updated pod: labels %v rv %q", got.Labels, got.ResourceVersion)
			}
		})
	}
}

func TestStoreUpdateNotFound(t *testing.T) {
	s, _ := newTestStore(t)
	if _, err := s.Update(Pods, "ns", testPod("ns", "a"), ""); !apierrors.IsNotFound(err) {
		t.Fatalf("err = %v, want NotFound", err)
	}
}

func TestStoreUpdateSpecStatusSeparation(t *testing.T) {
	s, _ := newTestStore(t)
	rs := testRS("ns", "rs", 1)
	rs.Status.Replicas = 7
	created, err := s.Create(ReplicaSets, "ns", rs)
	if err != nil {
		t.Fatal(err)
	}
	cur := created.(*appsv1.ReplicaSet)

	// Main resource: the status of the request is ignored, the spec is written, generation bumps.
	in := cur.DeepCopy()
	in.Spec.Replicas = ptr.To(int32(3))
	in.Status.Replicas = 99
	out, err := s.Update(ReplicaSets, "ns", in, "")
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.ReplicaSet)
	if *got.Spec.Replicas != 3 {
		t.Errorf("spec.replicas = %d, want 3", *got.Spec.Replicas)
	}
	if got.Status.Replicas != 7 {
		t.Errorf("main-resource update changed status.replicas to %d", got.Status.Replicas)
	}
	if got.Generation != 2 {
		t.Errorf("generation = %d after a spec change, want 2", got.Generation)
	}

	// Status subresource: the spec and metadata of the request are ignored, generation stays.
	in = got.DeepCopy()
	in.Spec.Replicas = ptr.To(int32(10))
	in.Labels = map[string]string{"sneaky": "yes"}
	in.Generation = 42
	in.Status.Replicas = 3
	in.Status.ObservedGeneration = 2
	out, err = s.Update(ReplicaSets, "ns", in, "status")
	if err != nil {
		t.Fatal(err)
	}
	got = out.(*appsv1.ReplicaSet)
	if *got.Spec.Replicas != 3 {
		t.Errorf("status update changed spec.replicas to %d", *got.Spec.Replicas)
	}
	if got.Labels["sneaky"] != "" {
		t.Error("status update changed labels")
	}
	if got.Status.Replicas != 3 || got.Status.ObservedGeneration != 2 {
		t.Errorf("status = %+v, want the request's", got.Status)
	}
	if got.Generation != 2 {
		t.Errorf("generation = %d after a status update, want 2", got.Generation)
	}

	// Metadata-only change: no generation bump.
	in = got.DeepCopy()
	in.Labels = map[string]string{"team": "a"}
	out, err = s.Update(ReplicaSets, "ns", in, "")
	if err != nil {
		t.Fatal(err)
	}
	if got = out.(*appsv1.ReplicaSet); got.Generation != 2 || got.Labels["team"] != "a" {
		t.Errorf("after a label change: generation %d labels %v, want 2 and the label", got.Generation, got.Labels)
	}

	// A client cannot set the generation itself.
	in = got.DeepCopy()
	in.Generation = 100
	out, err = s.Update(ReplicaSets, "ns", in, "")
	if err != nil {
		t.Fatal(err)
	}
	if g := out.(*appsv1.ReplicaSet).Generation; g != 2 {
		t.Errorf("client-set generation kept: %d", g)
	}
}

func TestStoreUpdateKeepsServerMetadata(t *testing.T) {
	s, clk := newTestStore(t)
	created, _ := s.Create(Pods, "ns", testPod("ns", "a"))
	cur := created.(*corev1.Pod)
	clk.SetTime(t0.Add(time.Hour))
	in := cur.DeepCopy()
	in.UID = "forged"
	in.CreationTimestamp = metav1.NewTime(t0.Add(time.Hour))
	in.DeletionTimestamp = &metav1.Time{Time: t0}
	in.Namespace = "elsewhere"
	out, err := s.Update(Pods, "ns", in, "")
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Pod)
	if got.UID != cur.UID || !got.CreationTimestamp.Equal(&cur.CreationTimestamp) || got.DeletionTimestamp != nil || got.Namespace != "ns" {
		t.Errorf("server-owned metadata changed: %+v", got.ObjectMeta)
	}
}

func TestStoreUnsupportedSubresource(t *testing.T) {
	s, _ := newTestStore(t)
	created, _ := s.Create(Pods, "ns", testPod("ns", "a"))
	if _, err := s.Update(Pods, "ns", created, "scale"); !apierrors.IsBadRequest(err) {
		t.Errorf("update of subresource scale: %v, want BadRequest", err)
	}
	cms := corev1.SchemeGroupVersion.WithResource("configmaps")
	cm, _ := s.Create(cms, "ns", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}})
	if _, err := s.Update(cms, "ns", cm, "status"); err == nil {
		t.Error("status update of a kind without a status succeeded")
	}
}

func TestStoreDelete(t *testing.T) {
	s, clk := newTestStore(t)
	if _, err := s.Create(Pods, "ns", testPod("ns", "a")); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(t0.Add(10 * time.Second))
	if err := s.Delete(Pods, "ns", "a", ptr.To(int64(30))); err != nil {
		t.Fatal(err)
	}
	o, ok := s.Peek(Pods, "ns", "a")
	if !ok {
		t.Fatal("a graceful delete removed the pod at once")
	}
	pod := o.(*corev1.Pod)
	if pod.DeletionTimestamp == nil || !pod.DeletionTimestamp.Time.Equal(t0.Add(10*time.Second).Truncate(time.Second)) {
		t.Errorf("deletionTimestamp = %v", pod.DeletionTimestamp)
	}
	if pod.DeletionGracePeriodSeconds == nil || *pod.DeletionGracePeriodSeconds != 30 {
		t.Errorf("deletionGracePeriodSeconds = %v, want 30", pod.DeletionGracePeriodSeconds)
	}
	if pod.ResourceVersion != "2" {
		t.Errorf("resourceVersion = %q, want 2", pod.ResourceVersion)
	}
	// A second delete does not move the timestamp.
	clk.SetTime(t0.Add(20 * time.Second))
	if err := s.Delete(Pods, "ns", "a", ptr.To(int64(5))); err != nil {
		t.Fatal(err)
	}
	o, _ = s.Peek(Pods, "ns", "a")
	if again := o.(*corev1.Pod); !again.DeletionTimestamp.Equal(pod.DeletionTimestamp) || again.ResourceVersion != "2" {
		t.Errorf("second delete rewrote the pod: %v rv %s", again.DeletionTimestamp, again.ResourceVersion)
	}
	// Updates keep the deletion mark.
	upd := o.(*corev1.Pod).DeepCopy()
	upd.DeletionTimestamp = nil
	upd.DeletionGracePeriodSeconds = nil
	out, err := s.Update(Pods, "ns", upd, "")
	if err != nil {
		t.Fatal(err)
	}
	if p := out.(*corev1.Pod); p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil {
		t.Error("an update cleared the deletion mark")
	}
	if err := s.Remove(Pods, "ns", "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Peek(Pods, "ns", "a"); ok {
		t.Error("Remove left the pod")
	}
	if err := s.Remove(Pods, "ns", "a"); !apierrors.IsNotFound(err) {
		t.Errorf("second Remove: %v, want NotFound", err)
	}
	if err := s.Delete(Pods, "ns", "a", nil); !apierrors.IsNotFound(err) {
		t.Errorf("Delete of a missing pod: %v, want NotFound", err)
	}
}

func TestStoreDeleteImmediate(t *testing.T) {
	tests := []struct {
		name  string
		gvr   schema.GroupVersionResource
		obj   runtime.Object
		grace *int64
	}{
		{"pod without grace period", Pods, testPod("ns", "a"), nil},
		{"pod with grace period 0", Pods, testPod("ns", "a"), ptr.To(int64(0))},
		// Only pods terminate gracefully; anything else would stay marked forever.
		{"replicaset with a grace period", ReplicaSets, testRS("ns", "a", 1), ptr.To(int64(30))},
		{"configmap with a grace period", corev1.SchemeGroupVersion.WithResource("configmaps"),
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}, ptr.To(int64(30))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			if _, err := s.Create(tt.gvr, "ns", tt.obj); err != nil {
				t.Fatal(err)
			}
			var seen []watch.EventType
			s.Watch(func(c Change) { seen = append(seen, c.Type) })
			if err := s.Delete(tt.gvr, "ns", "a", tt.grace); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Peek(tt.gvr, "ns", "a"); ok {
				t.Error("object still stored")
			}
			if !reflect.DeepEqual(seen, []watch.EventType{watch.Deleted}) {
				t.Errorf("watch saw %v, want [DELETED]", seen)
			}
		})
	}
}

func TestStoreList(t *testing.T) {
	s, _ := newTestStore(t)
	// Created out of order; "a-b" sorts after "a" as a namespace although "a-b/..." < "a/..." as a string.
	for _, k := range [][2]string{{"b", "x"}, {"a", "z"}, {"a-b", "a"}, {"a", "b"}, {"b", "a"}, {"a", "a10"}, {"a", "a2"}} {
		if _, err := s.Create(Pods, k[0], testPod(k[0], k[1])); err != nil {
			t.Fatal(err)
		}
	}
	names := func(objs []runtime.Object) []string {
		var out []string
		for _, o := range objs {
			p := o.(*corev1.Pod)
			out = append(out, p.Namespace+"/"+p.Name)
		}
		return out
	}
	want := []string{"a/a10", "a/a2", "a/b", "a/z", "a-b/a", "b/a", "b/x"}
	if got := names(s.PeekList(Pods, "")); !reflect.DeepEqual(got, want) {
		t.Errorf("PeekList = %v, want %v", got, want)
	}
	if got := names(s.PeekList(Pods, "b")); !reflect.DeepEqual(got, []string{"b/a", "b/x"}) {
		t.Errorf("PeekList(b) = %v", got)
	}
	if got := s.PeekList(ReplicaSets, ""); len(got) != 0 {
		t.Errorf("PeekList of an unused resource = %v", got)
	}

	lo, err := s.List(Pods, corev1.SchemeGroupVersion.WithKind("PodList"), "a")
	if err != nil {
		t.Fatal(err)
	}
	list := lo.(*corev1.PodList)
	var got []string
	for _, p := range list.Items {
		got = append(got, p.Namespace+"/"+p.Name)
	}
	if !reflect.DeepEqual(got, want[:4]) {
		t.Errorf("List(a) = %v, want %v", got, want[:4])
	}
	if list.ResourceVersion != fmt.Sprint(s.ResourceVersion()) {
		t.Errorf("list resourceVersion = %q, want %d", list.ResourceVersion, s.ResourceVersion())
	}
	list.Items[0].Labels["app"] = "changed"
	if p, _ := s.Peek(Pods, "a", "a10"); p.(*corev1.Pod).Labels["app"] != "demo" {
		t.Error("List returned stored objects, not copies")
	}
	if _, err := s.List(Pods, corev1.SchemeGroupVersion.WithKind("NoSuchList"), ""); err == nil {
		t.Error("List with a kind the scheme does not know succeeded")
	}
}

func TestStoreWatch(t *testing.T) {
	s, _ := newTestStore(t)
	type seen struct {
		Type watch.EventType
		Key  string
		RV   string
	}
	var first, second []seen
	record := func(into *[]seen) func(Change) {
		return func(c Change) {
			if c.GVR != Pods {
				t.Errorf("change of %v", c.GVR)
			}
			p := c.Object.(*corev1.Pod)
			*into = append(*into, seen{c.Type, c.Key().String(), p.ResourceVersion})
		}
	}
	s.Watch(record(&first))
	s.Watch(record(&second))

	created, _ := s.Create(Pods, "ns", testPod("ns", "a"))
	upd := created.(*corev1.Pod).DeepCopy()
	upd.Labels["v"] = "2"
	if _, err := s.Update(Pods, "ns", upd, ""); err != nil {
		t.Fatal(err)
	}
	upd.ResourceVersion = ""
	upd.Status.Phase = corev1.PodRunning
	if _, err := s.Update(Pods, "ns", upd, "status"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(Pods, "ns", "a", ptr.To(int64(1))); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(Pods, "ns", "a"); err != nil {
		t.Fatal(err)
	}
	// Failed writes are not seen.
	_, _ = s.Update(Pods, "ns", upd, "")

	want := []seen{
		{watch.Added, "ns/a", "1"},
		{watch.Modified, "ns/a", "2"},
		{watch.Modified, "ns/a", "3"},
		{watch.Modified, "ns/a", "4"},
		{watch.Deleted, "ns/a", "4"}, // the last stored state
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first watcher saw %v\nwant %v", first, want)
	}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second watcher saw %v\nwant %v", second, want)
	}
	if s.ResourceVersion() != 5 {
		t.Errorf("store resourceVersion = %d after 5 writes", s.ResourceVersion())
	}
}

func TestAdmissionMutatesAndRejects(t *testing.T) {
	s := NewStore(testScheme(t), clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	var ops []string
	s.AddAdmission(func(op string, gvr schema.GroupVersionResource, obj runtime.Object) error {
		ops = append(ops, op)
		if pod, ok := obj.(*corev1.Pod); ok {
			if pod.Labels["reject"] == "yes" {
				return fmt.Errorf("pods labelled reject=yes are not allowed")
			}
			pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "injected"}}
		}
		return nil
	})
	o, err := s.Create(Pods, "ns", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}})
	if err != nil || len(o.(*corev1.Pod).Spec.ReadinessGates) != 1 {
		t.Fatalf("the mutation was not stored: %v", err)
	}
	bad := o.(*corev1.Pod).DeepCopy()
	bad.Labels = map[string]string{"reject": "yes"}
	_, err = s.Update(Pods, "ns", bad, "")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "admission webhook denied the request: pods labelled reject=yes") {
		t.Fatalf("error %v", err)
	}
	if cur, _ := s.Get(Pods, "ns", "p"); cur.(*corev1.Pod).Labels["reject"] == "yes" {
		t.Fatal("a rejected write was stored")
	}
	if _, err := s.Update(Pods, "ns", o, "status"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ops, ",") != "create,update,update/status" {
		t.Fatalf("ops %v", ops)
	}
}
