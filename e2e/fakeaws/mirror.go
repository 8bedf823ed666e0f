package fakeaws

import (
	"context"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// startMirror copies the objects the LBC reads from the cluster into the store, and keeps
// them up to date, until ctx is done. It returns once the store holds what the cluster had,
// with a function that waits, after ctx is done, for the informers to be gone.
func (b *bridge) startMirror(ctx context.Context) (wait func(), err error) {
	f := informers.NewSharedInformerFactory(b.kube, 0)
	df := dynamicinformer.NewDynamicSharedInformerFactory(b.dyn, 0)
	sources := map[schema.GroupVersionResource]cache.SharedIndexInformer{
		kube.Ingresses:      f.Networking().V1().Ingresses().Informer(),
		kube.Services:       f.Core().V1().Services().Informer(),
		kube.EndpointSlices: f.Discovery().V1().EndpointSlices().Informer(),
		kube.Pods:           f.Core().V1().Pods().Informer(),
		kube.Nodes:          f.Core().V1().Nodes().Informer(),
		tgbv1.Resource:      df.ForResource(tgbv1.Resource).Informer(),
	}
	var synced []cache.InformerSynced
	for gvr, inf := range sources {
		reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { b.mirror(gvr, obj) },
			UpdateFunc: func(_, obj any) { b.mirror(gvr, obj) },
			DeleteFunc: func(obj any) { b.unmirror(gvr, obj) },
		})
		if err != nil {
			return func() {}, err
		}
		synced = append(synced, reg.HasSynced) // the handler has seen the initial list
	}
	f.Start(ctx.Done())
	df.Start(ctx.Done())
	wait = func() { f.Shutdown(); df.Shutdown() }
	cache.WaitForCacheSync(ctx.Done(), synced...) // false only when stopping
	return wait, nil
}

// mirror writes the cluster's state of an object to the store.
func (b *bridge) mirror(gvr schema.GroupVersionResource, obj any) {
	o, err := typed(obj)
	if err == nil {
		b.do(func() {
			b.mirroring = true
			defer func() { b.mirroring = false }()
			err = b.apply(gvr, o)
		})
	}
	if err != nil {
		b.opts.Logf("mirror %s: %v", gvr.Resource, err)
	}
}

func (b *bridge) apply(gvr schema.GroupVersionResource, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	ns, name := m.GetNamespace(), m.GetName()
	if gvr == tgbv1.Resource && b.tombstones[types.NamespacedName{Namespace: ns, Name: name}] {
		return nil
	}
	if cur, ok := b.store.Peek(gvr, ns, name); ok {
		err = b.update(gvr, cur, obj)
	} else {
		_, err = b.store.Create(gvr, ns, obj)
	}
	if err == nil && gvr == kube.Pods && m.GetDeletionTimestamp() != nil {
		// The store keeps its own deletionTimestamp: a pod terminating in the cluster is
		// deleted gracefully in the store (nothing happens when it already terminates).
		grace := max(1, ptr.Deref(m.GetDeletionGracePeriodSeconds(), 1))
		err = b.store.Delete(gvr, ns, name, &grace)
	}
	return err
}

// update writes what differs between the stored object and the cluster's: the main resource,
// then the status subresource (the store keeps them apart as the API server does). The
// store's resourceVersion is used: the cluster's own versions mean nothing to it.
func (b *bridge) update(gvr schema.GroupVersionResource, cur, obj runtime.Object) error {
	ns, rv := accessor(cur).GetNamespace(), accessor(cur).GetResourceVersion()
	next := obj.DeepCopyObject()
	if !apiequality.Semantic.DeepEqual(userPart(cur), userPart(next)) {
		accessor(next).SetResourceVersion(rv)
		stored, err := b.store.Update(gvr, ns, next, "")
		if err != nil {
			return err
		}
		rv = accessor(stored).GetResourceVersion()
	}
	if st := status(next); st.IsValid() && !apiequality.Semantic.DeepEqual(status(cur).Interface(), st.Interface()) {
		accessor(next).SetResourceVersion(rv)
		_, err := b.store.Update(gvr, ns, next, "status")
		return err
	}
	return nil
}

// unmirror removes an object the cluster deleted.
func (b *bridge) unmirror(gvr schema.GroupVersionResource, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, err := typed(obj)
	if err != nil {
		b.opts.Logf("mirror %s: %v", gvr.Resource, err)
		return
	}
	m := accessor(o)
	b.do(func() {
		b.mirroring = true
		defer func() { b.mirroring = false }()
		if gvr == tgbv1.Resource {
			delete(b.tombstones, types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()})
		}
		if _, ok := b.store.Peek(gvr, m.GetNamespace(), m.GetName()); ok {
			_ = b.store.Remove(gvr, m.GetNamespace(), m.GetName())
		}
	})
}

// typed converts what an informer hands out to the store's typed objects.
func typed(obj any) (runtime.Object, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		var tgb tgbv1.TargetGroupBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &tgb); err != nil {
			return nil, err
		}
		return &tgb, nil
	case runtime.Object:
		return o, nil
	}
	return nil, fmt.Errorf("unexpected %T", obj)
}

func accessor(obj runtime.Object) metav1.Object {
	m, _ := meta.Accessor(obj)
	return m
}

// status is the object's Status field (invalid for kinds without one, like EndpointSlice).
func status(obj runtime.Object) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName("Status")
}

// userPart is a copy of obj without its status and what servers own (identity, versions,
// timestamps): what a client's update of the main resource changes.
func userPart(obj runtime.Object) runtime.Object {
	c := obj.DeepCopyObject()
	c.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	m := accessor(c)
	m.SetUID("")
	m.SetResourceVersion("")
	m.SetGeneration(0)
	m.SetCreationTimestamp(metav1.Time{})
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetManagedFields(nil)
	if st := status(c); st.IsValid() {
		st.SetZero()
	}
	return c
}

// writeBack queues the cluster write that reproduces a change the LBC made to the store.
func (b *bridge) writeBack(ch kube.Change) {
	key := ch.Key()
	switch {
	case ch.GVR == tgbv1.Resource && ch.Type == watch.Deleted:
		b.tombstones[key] = true
		b.writes.push(func(ctx context.Context) error { return b.deleteBinding(ctx, key) })
	case ch.GVR == tgbv1.Resource:
		delete(b.tombstones, key)
		want := ch.Object.(*tgbv1.TargetGroupBinding).DeepCopy()
		b.writes.push(func(ctx context.Context) error { return b.putBinding(ctx, want) })
	case ch.GVR == kube.Ingresses && ch.Type == watch.Modified:
		lb := ch.Object.(*networkingv1.Ingress).Status.LoadBalancer.DeepCopy()
		b.writes.push(func(ctx context.Context) error { return b.putIngressStatus(ctx, key, *lb) })
	case ch.GVR == kube.Pods && ch.Type == watch.Modified:
		conds := gateConditions(ch.Object.(*corev1.Pod))
		b.writes.push(func(ctx context.Context) error { return b.putPodConditions(ctx, key, conds) })
	default:
		b.opts.Logf("write-back: the LBC's %s of %s %s is not written to the cluster", ch.Type, ch.GVR.Resource, key)
	}
}

// retrying runs a read-modify-write again on a conflict or another transient error.
func retrying(what string, fn func() error) error {
	err := retry.OnError(retry.DefaultBackoff, func(err error) bool { return !apierrors.IsNotFound(err) }, fn)
	if apierrors.IsNotFound(err) {
		return nil // gone from the cluster: nothing left to write
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (b *bridge) deleteBinding(ctx context.Context, key types.NamespacedName) error {
	return retrying("delete targetgroupbinding "+key.String(), func() error {
		return b.dyn.Resource(tgbv1.Resource).Namespace(key.Namespace).Delete(ctx, key.Name, metav1.DeleteOptions{})
	})
}

// putBinding creates the binding, or gives the existing one the LBC's spec and labels.
func (b *bridge) putBinding(ctx context.Context, want *tgbv1.TargetGroupBinding) error {
	res := b.dyn.Resource(tgbv1.Resource).Namespace(want.Namespace)
	return retrying("write targetgroupbinding "+want.Namespace+"/"+want.Name, func() error {
		cur, err := res.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			obj := &tgbv1.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace,
				Labels: want.Labels, Annotations: want.Annotations}, Spec: want.Spec}
			obj.APIVersion, obj.Kind = tgbv1.SchemeGroupVersion.String(), "TargetGroupBinding"
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				return err
			}
			_, err = res.Create(ctx, &unstructured.Unstructured{Object: u}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(tgbv1.Resource.GroupResource(), want.Name, err) // retried
			}
			return err
		}
		if err != nil {
			return err
		}
		spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&want.Spec)
		if err != nil {
			return err
		}
		labels := cur.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range want.Labels {
			labels[k] = v
		}
		if reflect.DeepEqual(cur.Object["spec"], spec) && reflect.DeepEqual(cur.GetLabels(), labels) {
			return nil
		}
		cur.SetLabels(labels)
		cur.Object["spec"] = spec
		_, err = res.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func (b *bridge) putIngressStatus(ctx context.Context, key types.NamespacedName, lb networkingv1.IngressLoadBalancerStatus) error {
	api := b.kube.NetworkingV1().Ingresses(key.Namespace)
	return retrying("write status of ingress "+key.String(), func() error {
		ing, err := api.Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil || apiequality.Semantic.DeepEqual(ing.Status.LoadBalancer, lb) {
			return err
		}
		ing.Status.LoadBalancer = lb
		_, err = api.UpdateStatus(ctx, ing, metav1.UpdateOptions{})
		return err
	})
}

// gateConditions are a pod's conditions that its readiness gates wait for: the only pod
// status the LBC writes.
func gateConditions(pod *corev1.Pod) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range pod.Status.Conditions {
		for _, g := range pod.Spec.ReadinessGates {
			if c.Type == g.ConditionType {
				out = append(out, c)
			}
		}
	}
	return out
}

// putPodConditions sets conditions on the live pod, leaving the others (the kubelet's) alone.
func (b *bridge) putPodConditions(ctx context.Context, key types.NamespacedName, conds []corev1.PodCondition) error {
	api := b.kube.CoreV1().Pods(key.Namespace)
	return retrying("write conditions of pod "+key.String(), func() error {
		pod, err := api.Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changed := false
		for _, c := range conds {
			i := 0
			for i < len(pod.Status.Conditions) && pod.Status.Conditions[i].Type != c.Type {
				i++
			}
			switch {
			case i == len(pod.Status.Conditions):
				pod.Status.Conditions = append(pod.Status.Conditions, c)
			case !apiequality.Semantic.DeepEqual(pod.Status.Conditions[i], c):
				pod.Status.Conditions[i] = c
			default:
				continue
			}
			changed = true
		}
		if !changed {
			return nil
		}
		_, err = api.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
}
