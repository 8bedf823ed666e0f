package controller

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// Reader serves the engine's reads (engine/rollout.Reader) from the controller's informer
// caches. Objects it returns are the caches' own and must not be modified.
//
// Each kind has one indexer; a nil indexer is a kind the controller does not watch (its CRD is
// not installed, or the controller is namespaced and the kind is cluster-scoped): gets answer
// NotFound and lists are empty, exactly as if no such object existed.
//
// To serve a new Reader method: add its indexer here, the informer in informers.go (newInformers)
// and, if its changes should wake rollouts up, a handler in handlers.go.
type Reader struct {
	rollouts, replicaSets, services, ingresses, endpoints cache.Indexer
	// Optional kinds (dynamic informers, typed by a transform where the engine wants a type).
	targetGroupBindings, virtualServices, destinationRules, apisixRoutes cache.Indexer
	analysisRuns, analysisTemplates, clusterAnalysisTemplates            cache.Indexer
}

var (
	_ rollout.Reader        = (*Reader)(nil)
	_ rollout.RolloutLister = (*Reader)(nil)
)

// Rollout returns a cached rollout or a NotFound error.
func (r *Reader) Rollout(ns, name string) (*v1alpha1.Rollout, error) {
	return get[*v1alpha1.Rollout](r.rollouts, v1alpha1.RolloutGVR, ns, name)
}

// Rollouts lists the cached rollouts of a namespace ("" for all).
func (r *Reader) Rollouts(ns string) ([]*v1alpha1.Rollout, error) {
	return list[*v1alpha1.Rollout](r.rollouts, ns)
}

// ReplicaSets lists the cached ReplicaSets of a namespace.
func (r *Reader) ReplicaSets(ns string) ([]*appsv1.ReplicaSet, error) {
	return list[*appsv1.ReplicaSet](r.replicaSets, ns)
}

// Service returns a cached Service or a NotFound error.
func (r *Reader) Service(ns, name string) (*corev1.Service, error) {
	return get[*corev1.Service](r.services, corev1.SchemeGroupVersion.WithResource("services"), ns, name)
}

// Ingress returns a cached Ingress or a NotFound error.
func (r *Reader) Ingress(ns, name string) (*networkingv1.Ingress, error) {
	return get[*networkingv1.Ingress](r.ingresses, networkingv1.SchemeGroupVersion.WithResource("ingresses"), ns, name)
}

// Endpoints returns a Service's cached Endpoints or a NotFound error.
func (r *Reader) Endpoints(ns, name string) (*corev1.Endpoints, error) {
	return get[*corev1.Endpoints](r.endpoints, corev1.SchemeGroupVersion.WithResource("endpoints"), ns, name)
}

// TargetGroupBindings lists the cached TargetGroupBindings of a namespace.
func (r *Reader) TargetGroupBindings(ns string) ([]*tgbv1.TargetGroupBinding, error) {
	return list[*tgbv1.TargetGroupBinding](r.targetGroupBindings, ns)
}

// VirtualService returns a cached Istio VirtualService or a NotFound error.
func (r *Reader) VirtualService(ns, name string) (*unstructured.Unstructured, error) {
	return get[*unstructured.Unstructured](r.virtualServices, rollout.VirtualServiceResource, ns, name)
}

// DestinationRule returns a cached Istio DestinationRule or a NotFound error.
func (r *Reader) DestinationRule(ns, name string) (*unstructured.Unstructured, error) {
	return get[*unstructured.Unstructured](r.destinationRules, rollout.DestinationRuleResource, ns, name)
}

// ApisixRoute returns a cached ApisixRoute or a NotFound error.
func (r *Reader) ApisixRoute(ns, name string) (*unstructured.Unstructured, error) {
	return get[*unstructured.Unstructured](r.apisixRoutes, rollout.ApisixRouteResource, ns, name)
}

// AnalysisRuns lists the cached AnalysisRuns of a namespace.
func (r *Reader) AnalysisRuns(ns string) ([]*v1alpha1.AnalysisRun, error) {
	return list[*v1alpha1.AnalysisRun](r.analysisRuns, ns)
}

// AnalysisTemplate returns a cached AnalysisTemplate or a NotFound error.
func (r *Reader) AnalysisTemplate(ns, name string) (*v1alpha1.AnalysisTemplate, error) {
	return get[*v1alpha1.AnalysisTemplate](r.analysisTemplates, v1alpha1.AnalysisTemplateGVR, ns, name)
}

// ClusterAnalysisTemplate returns a cached ClusterAnalysisTemplate or a NotFound error.
func (r *Reader) ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	return get[*v1alpha1.ClusterAnalysisTemplate](r.clusterAnalysisTemplates, v1alpha1.ClusterAnalysisTemplateGVR, "", name)
}

// get returns the object stored under ns/name, or a NotFound error naming the resource.
func get[T any](idx cache.Indexer, gvr schema.GroupVersionResource, ns, name string) (T, error) {
	var zero T
	if idx == nil {
		return zero, apierrors.NewNotFound(gvr.GroupResource(), name)
	}
	key := name
	if ns != "" {
		key = ns + "/" + name
	}
	o, ok, err := idx.GetByKey(key)
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, apierrors.NewNotFound(gvr.GroupResource(), name)
	}
	t, ok := o.(T)
	if !ok {
		return zero, apierrors.NewInternalError(errUnexpectedType(o, zero))
	}
	return t, nil
}

// list returns the objects of a namespace ("" for every namespace), skipping any of another type
// (there are none unless a transform failed).
func list[T any](idx cache.Indexer, ns string) ([]T, error) {
	if idx == nil {
		return nil, nil
	}
	var objs []any
	if ns == "" {
		objs = idx.List()
	} else {
		var err error
		if objs, err = idx.ByIndex(cache.NamespaceIndex, ns); err != nil {
			return nil, err
		}
	}
	// The caches are maps: sort, so that the engine sees the same order on every reconcile.
	sort.Slice(objs, func(i, j int) bool { return objectKey(objs[i]) < objectKey(objs[j]) })
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func objectKey(o any) string {
	k, _ := cache.MetaNamespaceKeyFunc(o)
	return k
}

func errUnexpectedType(got, want any) error {
	return fmt.Errorf("cache holds %T, want %T", got, want)
}
