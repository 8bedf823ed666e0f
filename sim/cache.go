package sim

import (
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// Cache is an informer cache as the simulation keeps it for a controller: a copy of the store as
// the controller has been told about it, which lags the store by the watch delay. Stored objects
// are never mutated (the store replaces them), so the cache shares them instead of copying.
type Cache struct {
	objects map[schema.GroupVersionResource]map[types.NamespacedName]runtime.Object
}

// NewCache lists the given resources from the store, as an informer does when it starts.
func NewCache(store *kube.Store, resources ...schema.GroupVersionResource) *Cache {
	c := &Cache{objects: map[schema.GroupVersionResource]map[types.NamespacedName]runtime.Object{}}
	for _, gvr := range resources {
		c.objects[gvr] = map[types.NamespacedName]runtime.Object{}
		for _, o := range store.PeekList(gvr, "") {
			m, _ := meta.Accessor(o)
			c.objects[gvr][types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}] = o
		}
	}
	return c
}

// Watches reports whether the cache holds a resource.
func (c *Cache) Watches(gvr schema.GroupVersionResource) bool {
	_, ok := c.objects[gvr]
	return ok
}

// Apply records a delivered change, ignoring one older than what the cache holds.
func (c *Cache) Apply(ch kube.Change) {
	byName, ok := c.objects[ch.GVR]
	if !ok {
		return
	}
	key := ch.Key()
	if cur, ok := byName[key]; ok && ch.Type != watch.Deleted && rv(cur) > rv(ch.Object) {
		return
	}
	if ch.Type == watch.Deleted {
		delete(byName, key)
		return
	}
	byName[key] = ch.Object
}

func rv(o runtime.Object) uint64 {
	m, err := meta.Accessor(o)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
	return n
}

// Get returns a cached object.
func (c *Cache) Get(gvr schema.GroupVersionResource, ns, name string) (runtime.Object, bool) {
	o, ok := c.objects[gvr][types.NamespacedName{Namespace: ns, Name: name}]
	return o, ok
}

// List returns the cached objects of a resource in a namespace ("" = all), sorted by key.
func (c *Cache) List(gvr schema.GroupVersionResource, ns string) []runtime.Object {
	byName := c.objects[gvr]
	keys := make([]types.NamespacedName, 0, len(byName))
	for k := range byName {
		if ns == "" || k.Namespace == ns {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Namespace != keys[j].Namespace {
			return keys[i].Namespace < keys[j].Namespace
		}
		return keys[i].Name < keys[j].Name
	})
	out := make([]runtime.Object, len(keys))
	for i, k := range keys {
		out[i] = byName[k]
	}
	return out
}

// Reader serves the engine's reads from the cache (engine/rollout.Reader).
type Reader struct{ Cache *Cache }

func (r Reader) Rollout(ns, name string) (*v1alpha1.Rollout, error) {
	o, ok := r.Cache.Get(Rollouts, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(Rollouts.GroupResource(), name)
	}
	return o.(*v1alpha1.Rollout), nil
}

func (r Reader) ReplicaSets(ns string) ([]*appsv1.ReplicaSet, error) {
	objs := r.Cache.List(kube.ReplicaSets, ns)
	out := make([]*appsv1.ReplicaSet, len(objs))
	for i, o := range objs {
		out[i] = o.(*appsv1.ReplicaSet)
	}
	return out, nil
}

func (r Reader) Service(ns, name string) (*corev1.Service, error) {
	o, ok := r.Cache.Get(kube.Services, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(kube.Services.GroupResource(), name)
	}
	return o.(*corev1.Service), nil
}

func (r Reader) Ingress(ns, name string) (*networkingv1.Ingress, error) {
	o, ok := r.Cache.Get(kube.Ingresses, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(kube.Ingresses.GroupResource(), name)
	}
	return o.(*networkingv1.Ingress), nil
}

func (r Reader) Endpoints(ns, name string) (*corev1.Endpoints, error) {
	o, ok := r.Cache.Get(kube.Endpoints, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(kube.Endpoints.GroupResource(), name)
	}
	return o.(*corev1.Endpoints), nil
}

func (r Reader) TargetGroupBindings(ns string) ([]*tgbv1.TargetGroupBinding, error) {
	objs := r.Cache.List(tgbv1.Resource, ns)
	out := make([]*tgbv1.TargetGroupBinding, len(objs))
	for i, o := range objs {
		out[i] = o.(*tgbv1.TargetGroupBinding)
	}
	return out, nil
}

func (r Reader) VirtualService(ns, name string) (*unstructured.Unstructured, error) {
	return r.unstructured(rollout.VirtualServiceResource, ns, name)
}

func (r Reader) DestinationRule(ns, name string) (*unstructured.Unstructured, error) {
	return r.unstructured(rollout.DestinationRuleResource, ns, name)
}

func (r Reader) ApisixRoute(ns, name string) (*unstructured.Unstructured, error) {
	return r.unstructured(rollout.ApisixRouteResource, ns, name)
}

func (r Reader) unstructured(gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	o, ok := r.Cache.Get(gvr, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
	}
	return o.(*unstructured.Unstructured), nil
}

// Rollouts lists the cached rollouts of a namespace (engine/rollout.RolloutLister).
func (r Reader) Rollouts(ns string) ([]*v1alpha1.Rollout, error) {
	objs := r.Cache.List(Rollouts, ns)
	out := make([]*v1alpha1.Rollout, len(objs))
	for i, o := range objs {
		out[i] = o.(*v1alpha1.Rollout)
	}
	return out, nil
}

// Rollouts is the resource of Rollout objects.
var Rollouts = v1alpha1.SchemeGroupVersion.WithResource("rollouts")
