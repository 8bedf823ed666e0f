// Package kube is the simulated Kubernetes control plane: a deterministic object store behind the
// client-go fake clientsets, and the controllers a real cluster runs (ReplicaSet→Pod, a kubelet
// model, EndpointSlices, pod IP allocation). Each piece is usable alone in unit tests.
//
// The store is what the client-go fake's own tracker is not: it assigns resourceVersions and
// answers 409 to a stale one, separates spec from status (the status subresource), bumps
// metadata.generation on spec changes, stamps creation times from the injected clock, turns a pod
// delete into graceful termination, and lists in sorted order so that runs are reproducible.
package kube

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"
)

// Change is one write as a watcher sees it. Object is the stored object (for Deleted, the last
// state); watchers must not mutate it.
type Change struct {
	Type   watch.EventType
	GVR    schema.GroupVersionResource
	Object runtime.Object
}

// Key names an object in the store.
func (c Change) Key() types.NamespacedName {
	m, _ := meta.Accessor(c.Object)
	return types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}
}

// Admission sees every create and update before it is stored, like an admission webhook: it may
// change the object (mutating) or reject the write with an error (validating). op is "create",
// "update" or "update/status".
type Admission func(op string, gvr schema.GroupVersionResource, obj runtime.Object) error

// Store is the simulated API server's storage.
type Store struct {
	scheme    *runtime.Scheme
	clock     clock.PassiveClock
	rv        uint64
	uid       uint64
	objects   map[schema.GroupVersionResource]map[types.NamespacedName]runtime.Object
	watchers  []func(Change)
	admission []Admission
}

// AddAdmission registers an admission hook (run in registration order).
func (s *Store) AddAdmission(a Admission) { s.admission = append(s.admission, a) }

func (s *Store) admit(op string, gvr schema.GroupVersionResource, obj runtime.Object) error {
	for _, a := range s.admission {
		if err := a(op, gvr, obj); err != nil {
			m, _ := meta.Accessor(obj)
			return apierrors.NewForbidden(gvr.GroupResource(), m.GetName(), fmt.Errorf("admission webhook denied the request: %w", err))
		}
	}
	return nil
}

// NewStore returns an empty store. The scheme must know every kind stored (for typed lists); the
// clock stamps creation and deletion times.
func NewStore(scheme *runtime.Scheme, clk clock.PassiveClock) *Store {
	return &Store{scheme: scheme, clock: clk, objects: map[schema.GroupVersionResource]map[types.NamespacedName]runtime.Object{}}
}

// Scheme is the scheme the store was built with.
func (s *Store) Scheme() *runtime.Scheme { return s.scheme }

// Watch registers a function called synchronously after every write.
func (s *Store) Watch(f func(Change)) { s.watchers = append(s.watchers, f) }

// ResourceVersion is the store's latest resourceVersion.
func (s *Store) ResourceVersion() uint64 { return s.rv }

func (s *Store) notify(t watch.EventType, gvr schema.GroupVersionResource, obj runtime.Object) {
	for _, w := range s.watchers {
		w(Change{Type: t, GVR: gvr, Object: obj})
	}
}

func (s *Store) nextRV() string {
	s.rv++
	return strconv.FormatUint(s.rv, 10)
}

// now is the clock's time at the precision the API server persists (seconds).
func (s *Store) now() metav1.Time { return metav1.NewTime(s.clock.Now().UTC().Truncate(time.Second)) }

// Peek returns the stored object without copying; callers must not mutate it.
func (s *Store) Peek(gvr schema.GroupVersionResource, ns, name string) (runtime.Object, bool) {
	o, ok := s.objects[gvr][types.NamespacedName{Namespace: ns, Name: name}]
	return o, ok
}

// Get returns a copy of an object, or a NotFound error.
func (s *Store) Get(gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error) {
	o, ok := s.Peek(gvr, ns, name)
	if !ok {
		return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
	}
	return o.DeepCopyObject(), nil
}

// PeekList returns the stored objects of a resource in a namespace ("" = all), sorted by
// namespace and name, without copying.
func (s *Store) PeekList(gvr schema.GroupVersionResource, ns string) []runtime.Object {
	byName := s.objects[gvr]
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

// List returns a typed list (e.g. *corev1.PodList) of copies, sorted by namespace and name.
func (s *Store) List(gvr schema.GroupVersionResource, listKind schema.GroupVersionKind, ns string) (runtime.Object, error) {
	list, err := s.scheme.New(listKind)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
	}
	items := s.PeekList(gvr, ns)
	copies := make([]runtime.Object, len(items))
	for i, o := range items {
		copies[i] = o.DeepCopyObject()
	}
	if err := meta.SetList(list, copies); err != nil {
		return nil, err
	}
	if lm, err := meta.ListAccessor(list); err == nil {
		lm.SetResourceVersion(strconv.FormatUint(s.rv, 10))
	}
	return list, nil
}

// Create stores a copy of obj in namespace ns and returns the stored copy.
func (s *Store) Create(gvr schema.GroupVersionResource, ns string, obj runtime.Object) (runtime.Object, error) {
	obj = obj.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(ns)
	}
	if ns != "" && m.GetNamespace() != ns {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("namespace %q of the object does not match the request's %q", m.GetNamespace(), ns))
	}
	if m.GetName() == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: metadata.name is required", gvr.Resource))
	}
	key := types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}
	if _, ok := s.objects[gvr][key]; ok {
		return nil, apierrors.NewAlreadyExists(gvr.GroupResource(), m.GetName())
	}
	if err := s.admit("create", gvr, obj); err != nil {
		return nil, err
	}
	s.uid++
	m.SetUID(types.UID(fmt.Sprintf("uid-%06d", s.uid)))
	m.SetCreationTimestamp(s.now())
	m.SetResourceVersion(s.nextRV())
	m.SetDeletionTimestamp(nil)
	if hasField(obj, "Spec") {
		m.SetGeneration(1)
	}
	if s.objects[gvr] == nil {
		s.objects[gvr] = map[types.NamespacedName]runtime.Object{}
	}
	s.objects[gvr][key] = obj
	s.notify(watch.Added, gvr, obj)
	return obj.DeepCopyObject(), nil
}

// Update replaces an object as the API server would: a non-empty resourceVersion must match the
// stored one (else 409 Conflict); writes to the main resource keep the stored status, writes to the
// "status" subresource keep everything but the status; a spec change bumps metadata.generation.
func (s *Store) Update(gvr schema.GroupVersionResource, ns string, obj runtime.Object, subresource string) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if ns == "" {
		ns = m.GetNamespace()
	}
	key := types.NamespacedName{Namespace: ns, Name: m.GetName()}
	cur, ok := s.objects[gvr][key]
	if !ok {
		return nil, apierrors.NewNotFound(gvr.GroupResource(), m.GetName())
	}
	curMeta, _ := meta.Accessor(cur)
	if rv := m.GetResourceVersion(); rv != "" && rv != curMeta.GetResourceVersion() {
		return nil, apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	var next runtime.Object
	switch {
	case subresource == "status" && !hasField(cur, "Status"):
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s have no status subresource", gvr.Resource))
	case subresource == "status":
		next = cur.DeepCopyObject()
		copyField(next, obj, "Status")
	case subresource != "":
		return nil, apierrors.NewBadRequest(fmt.Sprintf("subresource %q is not supported by the simulated API server", subresource))
	default:
		next = obj.DeepCopyObject()
		if hasField(cur, "Status") {
			copyField(next, cur, "Status")
		}
		nm, _ := meta.Accessor(next)
		nm.SetGeneration(curMeta.GetGeneration())
		if hasField(cur, "Spec") && !apiequality.Semantic.DeepEqual(field(cur, "Spec"), field(next, "Spec")) {
			nm.SetGeneration(curMeta.GetGeneration() + 1)
		}
	}
	nm, _ := meta.Accessor(next)
	// Identity and server-owned metadata cannot be changed by a client.
	nm.SetNamespace(ns)
	nm.SetUID(curMeta.GetUID())
	nm.SetCreationTimestamp(curMeta.GetCreationTimestamp())
	nm.SetDeletionTimestamp(curMeta.GetDeletionTimestamp())
	nm.SetDeletionGracePeriodSeconds(curMeta.GetDeletionGracePeriodSeconds())
	if subresource == "status" {
		nm.SetGeneration(curMeta.GetGeneration())
	}
	op := "update"
	if subresource != "" {
		op += "/" + subresource
	}
	if err := s.admit(op, gvr, next); err != nil {
		return nil, err
	}
	nm.SetResourceVersion(s.nextRV())
	s.objects[gvr][key] = next
	s.notify(watch.Modified, gvr, next)
	return next.DeepCopyObject(), nil
}

// Delete removes an object. A pod deleted with a positive grace period is only marked for
// deletion (deletionTimestamp) and stays until Remove is called, as the kubelet does. Other kinds
// have no graceful deletion in Kubernetes and are removed at once whatever the grace period (no
// one would ever Remove them).
func (s *Store) Delete(gvr schema.GroupVersionResource, ns, name string, grace *int64) error {
	key := types.NamespacedName{Namespace: ns, Name: name}
	cur, ok := s.objects[gvr][key]
	if !ok {
		return apierrors.NewNotFound(gvr.GroupResource(), name)
	}
	if gvr == Pods && grace != nil && *grace > 0 {
		curMeta, _ := meta.Accessor(cur)
		if curMeta.GetDeletionTimestamp() != nil {
			return nil // already terminating
		}
		next := cur.DeepCopyObject()
		nm, _ := meta.Accessor(next)
		ts := s.now()
		nm.SetDeletionTimestamp(&ts)
		nm.SetDeletionGracePeriodSeconds(grace)
		nm.SetResourceVersion(s.nextRV())
		s.objects[gvr][key] = next
		s.notify(watch.Modified, gvr, next)
		return nil
	}
	return s.Remove(gvr, ns, name)
}

// Remove deletes an object at once.
func (s *Store) Remove(gvr schema.GroupVersionResource, ns, name string) error {
	key := types.NamespacedName{Namespace: ns, Name: name}
	cur, ok := s.objects[gvr][key]
	if !ok {
		return apierrors.NewNotFound(gvr.GroupResource(), name)
	}
	delete(s.objects[gvr], key)
	s.rv++
	s.notify(watch.Deleted, gvr, cur)
	return nil
}

func field(obj runtime.Object, name string) any {
	return reflect.ValueOf(obj).Elem().FieldByName(name).Interface()
}

func hasField(obj runtime.Object, name string) bool {
	return reflect.ValueOf(obj).Elem().FieldByName(name).IsValid()
}

// copyField sets dst.<name> to a deep copy of src.<name> (both must be the same type).
func copyField(dst, src runtime.Object, name string) {
	tmp := src.DeepCopyObject()
	reflect.ValueOf(dst).Elem().FieldByName(name).Set(reflect.ValueOf(tmp).Elem().FieldByName(name))
}
