package sim

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

func cacheRS(ns, name, rv string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}}
}

func cacheKeys(objs []runtime.Object) []string {
	var out []string
	for _, o := range objs {
		rs := o.(*appsv1.ReplicaSet)
		out = append(out, rs.Namespace+"/"+rs.Name+"@"+rs.ResourceVersion)
	}
	return out
}

func TestCacheApply(t *testing.T) {
	c := NewCache(kube.NewStore(NewScheme(), NewKernel(1)), kube.ReplicaSets)
	steps := []struct {
		name   string
		change kube.Change
		want   []string
	}{
		{"added", kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "5")}, []string{"ns/a@5"}},
		{"older modification ignored", kube.Change{Type: watch.Modified, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "4")}, []string{"ns/a@5"}},
		{"older add ignored", kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "3")}, []string{"ns/a@5"}},
		{"same version applied", kube.Change{Type: watch.Modified, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "5")}, []string{"ns/a@5"}},
		{"newer modification", kube.Change{Type: watch.Modified, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "12")}, []string{"ns/a@12"}},
		{"numeric, not string, comparison", kube.Change{Type: watch.Modified, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "9")}, []string{"ns/a@12"}},
		{"another object", kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("ns", "b", "13")}, []string{"ns/a@12", "ns/b@13"}},
		{"unwatched resource ignored", kube.Change{Type: watch.Added, GVR: kube.Pods, Object: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", ResourceVersion: "14"}}}, []string{"ns/a@12", "ns/b@13"}},
		{"deleted", kube.Change{Type: watch.Deleted, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "12")}, []string{"ns/b@13"}},
		{"deleted of an unknown object", kube.Change{Type: watch.Deleted, GVR: kube.ReplicaSets, Object: cacheRS("ns", "zz", "1")}, []string{"ns/b@13"}},
		{"re-added after deletion", kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "15")}, []string{"ns/a@15", "ns/b@13"}},
	}
	for _, s := range steps {
		c.Apply(s.change)
		if got := cacheKeys(c.List(kube.ReplicaSets, "")); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: cache holds %v, want %v", s.name, got, s.want)
		}
	}
	if c.Watches(kube.Pods) || !c.Watches(kube.ReplicaSets) {
		t.Error("Watches is wrong")
	}
	if _, ok := c.Get(kube.Pods, "ns", "p"); ok {
		t.Error("an unwatched resource was cached")
	}
	if o, ok := c.Get(kube.ReplicaSets, "ns", "b"); !ok || o.(*appsv1.ReplicaSet).ResourceVersion != "13" {
		t.Errorf("Get(ns/b) = %v, %v", o, ok)
	}
	if _, ok := c.Get(kube.ReplicaSets, "ns", "zz"); ok {
		t.Error("Get of a missing object")
	}
}

func TestCacheListsTheStore(t *testing.T) {
	k := NewKernel(1)
	store := kube.NewStore(NewScheme(), k)
	for _, key := range [][2]string{{"b", "x"}, {"a", "z"}, {"a", "b"}, {"b", "a"}, {"a", "a10"}, {"a", "a2"}} {
		if _, err := store.Create(kube.ReplicaSets, key[0], cacheRS(key[0], key[1], "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Create(kube.Pods, "a", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}); err != nil {
		t.Fatal(err)
	}
	c := NewCache(store, kube.ReplicaSets, kube.Services)
	var got []string
	for _, o := range c.List(kube.ReplicaSets, "") {
		got = append(got, o.(*appsv1.ReplicaSet).Namespace+"/"+o.(*appsv1.ReplicaSet).Name)
	}
	if want := []string{"a/a10", "a/a2", "a/b", "a/z", "b/a", "b/x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	got = nil
	for _, o := range c.List(kube.ReplicaSets, "b") {
		got = append(got, o.(*appsv1.ReplicaSet).Name)
	}
	if want := []string{"a", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("List(b) = %v, want %v", got, want)
	}
	if n := len(c.List(kube.Services, "")); n != 0 || !c.Watches(kube.Services) {
		t.Errorf("services: %d listed, watched %v", n, c.Watches(kube.Services))
	}
	if c.Watches(kube.Pods) || len(c.List(kube.Pods, "")) != 0 {
		t.Error("pods were listed though not asked for")
	}
	// Later store writes reach the cache only through Apply.
	if _, err := store.Create(kube.ReplicaSets, "a", cacheRS("a", "new", "")); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(kube.ReplicaSets, "a", "new"); ok {
		t.Error("the cache sees a write it was not told of")
	}
}

func TestReader(t *testing.T) {
	c := NewCache(kube.NewStore(NewScheme(), NewKernel(1)), Rollouts, kube.ReplicaSets, kube.Services)
	r := Reader{Cache: c}
	if _, err := r.Rollout("ns", "demo"); !apierrors.IsNotFound(err) {
		t.Errorf("Rollout of a missing object: %v, want NotFound", err)
	}
	if _, err := r.Service("ns", "web"); !apierrors.IsNotFound(err) {
		t.Errorf("Service of a missing object: %v, want NotFound", err)
	}
	if rss, err := r.ReplicaSets("ns"); err != nil || len(rss) != 0 {
		t.Errorf("ReplicaSets of an empty cache: %v, %v", rss, err)
	}

	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo", ResourceVersion: "1"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", ResourceVersion: "2"}}
	c.Apply(kube.Change{Type: watch.Added, GVR: Rollouts, Object: ro})
	c.Apply(kube.Change{Type: watch.Added, GVR: kube.Services, Object: svc})
	c.Apply(kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("ns", "b", "3")})
	c.Apply(kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("ns", "a", "4")})
	c.Apply(kube.Change{Type: watch.Added, GVR: kube.ReplicaSets, Object: cacheRS("other", "c", "5")})

	if got, err := r.Rollout("ns", "demo"); err != nil || got != ro {
		t.Errorf("Rollout = %v, %v", got, err)
	}
	if _, err := r.Rollout("other", "demo"); !apierrors.IsNotFound(err) {
		t.Errorf("Rollout in another namespace: %v", err)
	}
	if got, err := r.Service("ns", "web"); err != nil || got != svc {
		t.Errorf("Service = %v, %v", got, err)
	}
	rss, err := r.ReplicaSets("ns")
	if err != nil || len(rss) != 2 || rss[0].Name != "a" || rss[1].Name != "b" {
		t.Errorf("ReplicaSets(ns) = %v, %v, want a and b in order", rss, err)
	}
}
