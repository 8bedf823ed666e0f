package kube

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func newTestCluster(t testing.TB) *Cluster {
	t.Helper()
	return NewCluster(testScheme(t), clocktesting.NewFakePassiveClock(t0))
}

func testService(ns, name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func TestReactorCreateGetUpdateDelete(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	pods := c.Kube.CoreV1().Pods("ns")

	created, err := pods.Create(ctx, testPod("", "a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.UID == "" || created.ResourceVersion != "1" || created.Namespace != "ns" || created.Generation != 1 {
		t.Errorf("created pod lacks server fields: %+v", created.ObjectMeta)
	}
	if _, err := pods.Create(ctx, testPod("", "a"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create: %v, want AlreadyExists", err)
	}
	if _, ok := c.Store.Peek(Pods, "ns", "a"); !ok {
		t.Fatal("the store does not hold the created pod")
	}

	got, err := pods.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != created.UID {
		t.Errorf("Get uid %q, want %q", got.UID, created.UID)
	}
	if _, err := pods.Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Get of a missing pod: %v", err)
	}
	if _, err := c.Kube.CoreV1().Pods("other").Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Get in another namespace: %v", err)
	}

	// Update: labels change, status in the request is dropped.
	got.Labels["v"] = "2"
	got.Status.Phase = corev1.PodRunning
	upd, err := pods.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Labels["v"] != "2" || upd.Status.Phase != "" || upd.ResourceVersion != "2" {
		t.Errorf("Update: labels %v phase %q rv %q", upd.Labels, upd.Status.Phase, upd.ResourceVersion)
	}
	// A stale write is refused with 409.
	got.Labels["v"] = "3"
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale Update: %v, want Conflict", err)
	}

	// UpdateStatus: status changes, spec in the request is dropped.
	st := upd.DeepCopy()
	st.Status.Phase = corev1.PodRunning
	st.Spec.Containers[0].Image = "demo:2"
	st2, err := pods.UpdateStatus(ctx, st, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Status.Phase != corev1.PodRunning || st2.Spec.Containers[0].Image != "demo:1" {
		t.Errorf("UpdateStatus: phase %q image %q", st2.Status.Phase, st2.Spec.Containers[0].Image)
	}

	// Graceful delete keeps the pod, marked; a delete with grace 0 removes it.
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(30))}); err != nil {
		t.Fatal(err)
	}
	got, err = pods.Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp == nil {
		t.Fatalf("after a graceful delete: %v, %v", got, err)
	}
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after a forced delete: %v", err)
	}
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("delete of a missing pod: %v", err)
	}
}

func TestReactorList(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	for _, p := range []struct{ ns, name, app string }{
		{"ns", "c", "web"}, {"ns", "a", "web"}, {"ns", "b", "db"}, {"other", "d", "web"},
	} {
		pod := testPod(p.ns, p.name)
		pod.Labels["app"] = p.app
		if _, err := c.Kube.CoreV1().Pods(p.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(l *corev1.PodList) []string {
		var out []string
		for _, p := range l.Items {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		return out
	}
	tests := []struct {
		ns, selector string
		want         []string
	}{
		{"ns", "", []string{"ns/a", "ns/b", "ns/c"}},
		{"ns", "app=web", []string{"ns/a", "ns/c"}},
		{"ns", "app!=web", []string{"ns/b"}},
		{"", "app=web", []string{"ns/a", "ns/c", "other/d"}},
		{"", "", []string{"ns/a", "ns/b", "ns/c", "other/d"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		l, err := c.Kube.CoreV1().Pods(tt.ns).List(ctx, metav1.ListOptions{LabelSelector: tt.selector})
		if err != nil {
			t.Fatalf("List(%q, %q): %v", tt.ns, tt.selector, err)
		}
		if got := names(l); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%q, %q) = %v, want %v", tt.ns, tt.selector, got, tt.want)
		}
		if l.ResourceVersion != "4" {
			t.Errorf("list resourceVersion = %q, want 4", l.ResourceVersion)
		}
	}
}

func TestReactorPatch(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	rss := c.Kube.AppsV1().ReplicaSets("ns")
	rs, err := rss.Create(ctx, testRS("ns", "rs", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// JSON patch of the spec bumps the generation.
	out, err := rss.Patch(ctx, "rs", types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/spec/replicas","value":5},{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Spec.Replicas != 5 || out.Labels["x"] != "y" || out.Generation != 2 || out.UID != rs.UID {
		t.Errorf("JSON patch: replicas %d labels %v generation %d uid %q", *out.Spec.Replicas, out.Labels, out.Generation, out.UID)
	}

	// Merge patch of metadata only keeps the generation.
	out, err = rss.Patch(ctx, "rs", types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Annotations["a"] != "b" || out.Labels["x"] != "y" || out.Generation != 2 {
		t.Errorf("merge patch: annotations %v labels %v generation %d", out.Annotations, out.Labels, out.Generation)
	}

	// A merge patch of the main resource cannot change the status.
	out, err = rss.Patch(ctx, "rs", types.MergePatchType, []byte(`{"status":{"replicas":9}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status.Replicas != 0 {
		t.Errorf("main-resource patch changed status.replicas to %d", out.Status.Replicas)
	}

	// A merge patch of the status subresource changes only the status.
	before := out.ResourceVersion
	out, err = rss.Patch(ctx, "rs", types.MergePatchType,
		[]byte(`{"spec":{"replicas":10},"metadata":{"labels":{"x":"z"}},"status":{"replicas":3,"readyReplicas":1}}`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if *out.Spec.Replicas != 5 || out.Labels["x"] != "y" || out.Generation != 2 {
		t.Errorf("status patch changed spec or metadata: replicas %d labels %v generation %d", *out.Spec.Replicas, out.Labels, out.Generation)
	}
	if out.Status.Replicas != 3 || out.Status.ReadyReplicas != 1 || out.ResourceVersion == before {
		t.Errorf("status patch: status %+v rv %s", out.Status, out.ResourceVersion)
	}
	stored, _ := c.Store.Peek(ReplicaSets, "ns", "rs")
	if s := stored.(*appsv1.ReplicaSet); *s.Spec.Replicas != 5 || s.Status.Replicas != 3 {
		t.Errorf("stored: replicas %d status %+v", *s.Spec.Replicas, s.Status)
	}

	// A JSON patch of the status subresource.
	out, err = rss.Patch(ctx, "rs", types.JSONPatchType, []byte(`[{"op":"replace","path":"/status/replicas","value":4}]`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if out.Status.Replicas != 4 || out.Status.ReadyReplicas != 1 {
		t.Errorf("JSON status patch: %+v", out.Status)
	}
}

func TestReactorPatchResourceVersion(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	rss := c.Kube.AppsV1().ReplicaSets("ns")
	if _, err := rss.Create(ctx, testRS("ns", "rs", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		patch       string
		subresource []string
		conflict    bool
	}{
		{"no resourceVersion applies to the latest", `{"spec":{"replicas":3}}`, nil, false},
		{"current resourceVersion", `{"metadata":{"resourceVersion":"CUR"},"spec":{"replicas":4}}`, nil, false},
		{"stale resourceVersion", `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":5}}`, nil, true},
		{"status, no resourceVersion", `{"status":{"replicas":1}}`, []string{"status"}, false},
		{"status, current resourceVersion", `{"metadata":{"resourceVersion":"CUR"},"status":{"replicas":2}}`, []string{"status"}, false},
		{"status, stale resourceVersion", `{"metadata":{"resourceVersion":"1"},"status":{"replicas":7}}`, []string{"status"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, _ := c.Store.Get(ReplicaSets, "ns", "rs")
			curRV := cur.(*appsv1.ReplicaSet).ResourceVersion
			patch := []byte(strings.ReplaceAll(tt.patch, "CUR", curRV))
			_, err := rss.Patch(ctx, "rs", types.MergePatchType, patch, metav1.PatchOptions{}, tt.subresource...)
			if tt.conflict != apierrors.IsConflict(err) || (!tt.conflict && err != nil) {
				t.Fatalf("err = %v, want conflict %v", err, tt.conflict)
			}
			after, _ := c.Store.Peek(ReplicaSets, "ns", "rs")
			if changed := after.(*appsv1.ReplicaSet).ResourceVersion != curRV; changed == tt.conflict {
				t.Errorf("written = %v, want %v", changed, !tt.conflict)
			}
		})
	}
}

func TestReactorStrategicMergePatch(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	svcs := c.Kube.CoreV1().Services("ns")
	if _, err := svcs.Create(ctx, testService("ns", "web", map[string]string{"app": "web", "hash": "aaa"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := svcs.Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"spec":{"selector":{"hash":"bbb","track":"canary"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"app": "web", "hash": "bbb", "track": "canary"}; !reflect.DeepEqual(out.Spec.Selector, want) {
		t.Errorf("selector = %v, want %v", out.Spec.Selector, want)
	}
	if out.Generation != 2 {
		t.Errorf("generation = %d, want 2", out.Generation)
	}
	out, err = svcs.Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"spec":{"selector":{"track":null}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"app": "web", "hash": "bbb"}; !reflect.DeepEqual(out.Spec.Selector, want) {
		t.Errorf("selector = %v, want %v", out.Spec.Selector, want)
	}
	// Ports merge by port number: a new port is added, the old one kept.
	out, err = svcs.Patch(ctx, "web", types.StrategicMergePatchType, []byte(`{"spec":{"ports":[{"name":"metrics","port":9090}]}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Spec.Ports) != 2 {
		t.Errorf("ports = %+v, want both", out.Spec.Ports)
	}

	// Strategic merge of a pod's status conditions merges by type.
	pods := c.Kube.CoreV1().Pods("ns")
	pod := testPod("ns", "p")
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx, "p", types.StrategicMergePatchType,
		[]byte(`{"status":{"conditions":[{"type":"Ready","status":"False"},{"type":"PodScheduled","status":"True"}]}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Patch(ctx, "p", types.StrategicMergePatchType,
		[]byte(`{"spec":{"nodeName":"evil"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Conditions) != 2 || !conditionTrue(got, corev1.PodReady) || !conditionTrue(got, corev1.PodScheduled) {
		t.Errorf("conditions = %+v", got.Status.Conditions)
	}
	if got.Spec.NodeName != "" {
		t.Errorf("status patch set spec.nodeName to %q", got.Spec.NodeName)
	}
}

func TestReactorPatchErrors(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	pods := c.Kube.CoreV1().Pods("ns")
	if _, err := pods.Create(ctx, testPod("ns", "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().ConfigMaps("ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		do    func() error
		check func(error) bool
	}{
		{"missing object", func() error {
			_, err := pods.Patch(ctx, "nope", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
			return err
		}, apierrors.IsNotFound},
		{"malformed JSON patch", func() error {
			_, err := pods.Patch(ctx, "p", types.JSONPatchType, []byte(`{"op":`), metav1.PatchOptions{})
			return err
		}, apierrors.IsBadRequest},
		{"JSON patch of a missing path", func() error {
			_, err := pods.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/nope/x","value":1}]`), metav1.PatchOptions{})
			return err
		}, apierrors.IsBadRequest},
		{"malformed merge patch", func() error {
			_, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":`), metav1.PatchOptions{})
			return err
		}, apierrors.IsBadRequest},
		{"malformed strategic merge patch", func() error {
			_, err := pods.Patch(ctx, "p", types.StrategicMergePatchType, []byte(`[1]`), metav1.PatchOptions{})
			return err
		}, apierrors.IsBadRequest},
		{"patch that breaks the type", func() error {
			_, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"spec":{"containers":"nope"}}`), metav1.PatchOptions{})
			return err
		}, apierrors.IsBadRequest},
		{"apply patch is not supported", func() error {
			_, err := pods.Patch(ctx, "p", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{})
			return err
		}, apierrors.IsBadRequest},
		{"status of a kind without status", func() error {
			_, err := c.Kube.CoreV1().ConfigMaps("ns").Patch(ctx, "cm", types.MergePatchType, []byte(`{"data":{"a":"b"}}`), metav1.PatchOptions{}, "status")
			return err
		}, apierrors.IsBadRequest},
		{"create of a subresource", func() error {
			return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}})
		}, apierrors.IsBadRequest},
		{"delete collection", func() error {
			return pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}, apierrors.IsMethodNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv := c.Store.ResourceVersion()
			err := tt.do()
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if c.Store.ResourceVersion() != rv {
				t.Error("a failed call wrote to the store")
			}
		})
	}
}

func TestReactorFaultsAndCalls(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	pods := c.Kube.CoreV1().Pods("ns")
	boom := apierrors.NewInternalError(errors.New("etcd is down"))
	var seen []string
	c.Reactor.AddFault(func(a k8stesting.Action) error {
		seen = append(seen, a.GetVerb())
		if a.GetVerb() == "create" && a.GetResource() == Pods {
			if ca := a.(k8stesting.CreateAction); ca.GetObject().(*corev1.Pod).Name == "bad" {
				return boom
			}
		}
		return nil
	})
	c.Reactor.AddFault(func(a k8stesting.Action) error {
		if a.GetVerb() == "delete" {
			return apierrors.NewForbidden(Pods.GroupResource(), "x", errors.New("no"))
		}
		return nil
	})

	if _, err := pods.Create(ctx, testPod("ns", "bad"), metav1.CreateOptions{}); !apierrors.IsInternalError(err) {
		t.Fatalf("faulted create: %v", err)
	}
	if _, ok := c.Store.Peek(Pods, "ns", "bad"); ok || c.Store.ResourceVersion() != 0 {
		t.Error("a faulted create was written")
	}
	if _, err := pods.Create(ctx, testPod("ns", "good"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "good", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("delete: %v, want the second fault's error", err)
	}
	if _, ok := c.Store.Peek(Pods, "ns", "good"); !ok {
		t.Error("a faulted delete was applied")
	}
	if _, err := pods.Get(ctx, "good", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "good", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.AppsV1().ReplicaSets("ns").Patch(ctx, "nope", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{}); !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	want := map[string]int{"create pods": 2, "delete pods": 1, "get pods": 2, "list pods": 1, "patch replicasets": 1}
	if got := c.Reactor.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("Calls() = %v, want %v", got, want)
	}
	if want := []string{"create", "create", "delete", "get", "list", "get", "patch"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("the first fault saw %v, want %v", seen, want)
	}
}

func TestClusterServe(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	other := fake.NewSimpleClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "seeded"}})
	c.Serve(&other.Fake)
	if _, err := other.CoreV1().Pods("ns").Get(ctx, "seeded", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a served fake still answers from its own tracker: %v", err)
	}
	if _, err := c.Kube.CoreV1().Pods("ns").Create(ctx, testPod("ns", "a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := other.CoreV1().Pods("ns").Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.Name != "a" {
		t.Fatalf("the other clientset does not see the shared store: %v", err)
	}
	if len(c.Kube.Actions()) == 0 || len(other.Actions()) == 0 {
		t.Fatal("the fakes recorded no actions")
	}
	c.ClearActions()
	if n := len(c.Kube.Actions()) + len(other.Actions()); n != 0 {
		t.Errorf("%d actions left after ClearActions", n)
	}
	if c.Store.Scheme() == nil {
		t.Error("no scheme")
	}
}
