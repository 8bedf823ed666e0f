package fakeaws

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// newTestBridge is a bridge without Run: the test plays the informers.
func newTestBridge(t *testing.T, objs ...runtime.Object) *bridge {
	kc := fake.NewSimpleClientset(objs...)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{tgbv1.Resource: "TargetGroupBindingList"})
	b := newBridge(kc, dyn, Options{Logf: t.Logf})
	t.Cleanup(b.close)
	return b
}

// storedPod is a copy of the stored pod, or nil.
func (b *bridge) storedPod(name string) *corev1.Pod {
	var p *corev1.Pod
	b.do(func() { p = b.peekPod(name) })
	return p
}

// peekPod is storedPod for use under the lock.
func (b *bridge) peekPod(name string) *corev1.Pod {
	if o, ok := b.store.Peek(kube.Pods, ns, name); ok {
		return o.(*corev1.Pod).DeepCopy()
	}
	return nil
}

func (b *bridge) queued() int {
	b.writes.mu.Lock()
	defer b.writes.mu.Unlock()
	return len(b.writes.items)
}

// TestMirror checks that the cluster's objects reach the store (created, changed in spec and
// status, terminating, deleted) without being written back, and that the LBC's writes are.
func TestMirror(t *testing.T) {
	live := pod("p", "v1", "10.244.0.10", "target-health.elbv2.k8s.aws/tgb")
	b := newTestBridge(t, live)

	b.mirror(kube.Pods, live)
	if p := b.storedPod("p"); p == nil || p.Status.PodIP != "10.244.0.10" {
		t.Fatalf("stored pod after add: %+v", p)
	}
	changed := live.DeepCopy()
	changed.ResourceVersion = "42" // the cluster's versions mean nothing to the store
	changed.Labels["extra"] = "yes"
	changed.Status.Phase = corev1.PodFailed
	b.mirror(kube.Pods, changed)
	if p := b.storedPod("p"); p.Labels["extra"] != "yes" || p.Status.Phase != corev1.PodFailed {
		t.Errorf("stored pod after update: labels %v, phase %s", p.Labels, p.Status.Phase)
	}
	changed.DeletionTimestamp, changed.DeletionGracePeriodSeconds = &metav1.Time{}, ptr.To[int64](30)
	b.mirror(kube.Pods, changed)
	if p := b.storedPod("p"); p.DeletionTimestamp == nil {
		t.Error("a pod terminating in the cluster is not terminating in the store")
	}
	if n := b.queued(); n != 0 {
		t.Errorf("the mirror's own writes queued %d writes to the cluster", n)
	}
	b.unmirror(kube.Pods, changed)
	if p := b.storedPod("p"); p != nil {
		t.Error("a pod deleted in the cluster is still in the store")
	}

	// The LBC sets the gate's condition: the write reaches the cluster's pod.
	b.mirror(kube.Pods, live)
	b.do(func() {
		p := b.peekPod("p")
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "target-health.elbv2.k8s.aws/tgb", Status: corev1.ConditionTrue})
		p.ResourceVersion = ""
		if _, err := b.store.Update(kube.Pods, ns, p, "status"); err != nil {
			t.Fatal(err)
		}
	})
	if n := b.queued(); n != 1 {
		t.Fatalf("the LBC's pod write queued %d writes to the cluster, want 1", n)
	}
	if err := b.writes.pop()(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := b.kube.CoreV1().Pods(ns).Get(context.Background(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Status.Conditions; len(c) != 3 || c[2].Type != "target-health.elbv2.k8s.aws/tgb" || c[2].Status != corev1.ConditionTrue {
		t.Errorf("cluster pod conditions %+v, want the kubelet's two and the gate's True", c)
	}

	// A binding the LBC deleted does not come back from a stale informer event.
	tgb := &tgbv1.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Name: "tgb", Namespace: ns}}
	b.mirror(tgbv1.Resource, tgb)
	b.do(func() {
		if err := b.store.Delete(tgbv1.Resource, ns, "tgb", nil); err != nil {
			t.Fatal(err)
		}
	})
	b.mirror(tgbv1.Resource, tgb)
	b.do(func() {
		if _, ok := b.store.Peek(tgbv1.Resource, ns, "tgb"); ok {
			t.Error("a stale event brought back a binding the LBC deleted")
		}
	})
	b.unmirror(tgbv1.Resource, tgb)
	b.mirror(tgbv1.Resource, tgb)
	b.do(func() {
		if _, ok := b.store.Peek(tgbv1.Resource, ns, "tgb"); !ok {
			t.Error("a binding created in the cluster after the deletion was seen is not mirrored")
		}
	})
}
