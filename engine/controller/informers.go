package controller

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// InstanceIDLabel is the label that assigns a rollout to one controller instance (--instance-id).
const InstanceIDLabel = "argo-rollouts.argoproj.io/controller-instance-id"

// InstanceIDSelector is Argo's filter: with an instance id, only rollouts labelled with it;
// without one, only rollouts that carry no instance-id label at all.
func InstanceIDSelector(instanceID string) labels.Selector {
	var req *labels.Requirement
	var err error
	if instanceID != "" {
		req, err = labels.NewRequirement(InstanceIDLabel, selection.Equals, []string{instanceID})
	} else {
		req, err = labels.NewRequirement(InstanceIDLabel, selection.DoesNotExist, nil)
	}
	if err != nil {
		// Only an invalid label value gets here; Options.validate rejects those first.
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}

// informers are the controller's watches. The optional ones are nil when their API is not
// served (or, for cluster-scoped kinds, when the controller is namespaced).
type informers struct {
	rollouts, replicaSets, services, ingresses, endpoints cache.SharedIndexInformer

	targetGroupBindings, virtualServices, destinationRules, apisixRoutes cache.SharedIndexInformer
	analysisRuns, analysisTemplates, clusterAnalysisTemplates            cache.SharedIndexInformer
}

// all lists the informers that exist.
func (in *informers) all() []cache.SharedIndexInformer {
	var out []cache.SharedIndexInformer
	for _, i := range []cache.SharedIndexInformer{in.rollouts, in.replicaSets, in.services, in.ingresses, in.endpoints,
		in.targetGroupBindings, in.virtualServices, in.destinationRules, in.apisixRoutes,
		in.analysisRuns, in.analysisTemplates, in.clusterAnalysisTemplates} {
		if i != nil {
			out = append(out, i)
		}
	}
	return out
}

// reader serves the engine from the informers' caches.
func (in *informers) reader() *Reader {
	idx := func(i cache.SharedIndexInformer) cache.Indexer {
		if i == nil {
			return nil
		}
		return i.GetIndexer()
	}
	return &Reader{
		rollouts: idx(in.rollouts), replicaSets: idx(in.replicaSets), services: idx(in.services),
		ingresses: idx(in.ingresses), endpoints: idx(in.endpoints),
		targetGroupBindings: idx(in.targetGroupBindings), virtualServices: idx(in.virtualServices),
		destinationRules: idx(in.destinationRules), apisixRoutes: idx(in.apisixRoutes),
		analysisRuns: idx(in.analysisRuns), analysisTemplates: idx(in.analysisTemplates),
		clusterAnalysisTemplates: idx(in.clusterAnalysisTemplates),
	}
}

// newInformers builds (without starting) the watches the engine reads from: Rollouts of this
// instance, the built-in kinds in the watched namespace ("" for all), and each optional kind whose
// API the cluster serves.
func newInformers(c Clients, opts Options, served apiSet) *informers {
	ns, resync := opts.Namespace, opts.Resync
	kube := c.Kube
	in := &informers{
		rollouts: rolloutInformer(c, ns, InstanceIDSelector(opts.InstanceID), resync),
		replicaSets: newInformer(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return kube.AppsV1().ReplicaSets(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return kube.AppsV1().ReplicaSets(ns).Watch(ctx, o)
			},
		}, kube, &appsv1.ReplicaSet{}, resync),
		services: newInformer(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return kube.CoreV1().Services(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return kube.CoreV1().Services(ns).Watch(ctx, o)
			},
		}, kube, &corev1.Service{}, resync),
		ingresses: newInformer(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return kube.NetworkingV1().Ingresses(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return kube.NetworkingV1().Ingresses(ns).Watch(ctx, o)
			},
		}, kube, &networkingv1.Ingress{}, resync),
		endpoints: newInformer(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return kube.CoreV1().Endpoints(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return kube.CoreV1().Endpoints(ns).Watch(ctx, o)
			},
		}, kube, &corev1.Endpoints{}, resync),
	}
	dyn := func(gvr schema.GroupVersionResource, namespace string, transform cache.TransformFunc) cache.SharedIndexInformer {
		if !served[gvr] {
			return nil
		}
		return dynamicInformer(c, gvr, namespace, resync, transform)
	}
	in.targetGroupBindings = dyn(tgbv1.Resource, ns, typedFrom[tgbv1.TargetGroupBinding](opts.Logger))
	in.virtualServices = dyn(rollout.VirtualServiceResource, ns, nil)
	in.destinationRules = dyn(rollout.DestinationRuleResource, ns, nil)
	in.apisixRoutes = dyn(rollout.ApisixRouteResource, ns, nil)
	in.analysisRuns = dyn(v1alpha1.AnalysisRunGVR, ns, typedFrom[v1alpha1.AnalysisRun](opts.Logger))
	in.analysisTemplates = dyn(v1alpha1.AnalysisTemplateGVR, ns, typedFrom[v1alpha1.AnalysisTemplate](opts.Logger))
	if ns == metav1.NamespaceAll {
		// As Argo: a namespaced controller does not watch cluster-scoped templates.
		in.clusterAnalysisTemplates = dyn(v1alpha1.ClusterAnalysisTemplateGVR, "", typedFrom[v1alpha1.ClusterAnalysisTemplate](opts.Logger))
	}
	return in
}

var namespaceIndexers = cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}

// newInformer is an informer over lw, indexed by namespace. client is the clientset behind lw: a
// fake one says it cannot serve watch-list requests, and the reflector then lists instead.
func newInformer(lw *cache.ListWatch, client any, obj runtime.Object, resync time.Duration) cache.SharedIndexInformer {
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), obj, resync, namespaceIndexers)
}

// rolloutInformer watches the rollouts of this controller instance. The label selector goes to
// the API server and is applied again here, so a client that ignores it on watches (a fake) and
// a rollout relabelled away from this instance (seen as deleted) are both handled.
func rolloutInformer(c Clients, ns string, sel labels.Selector, resync time.Duration) cache.SharedIndexInformer {
	tweak := func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			l, err := c.Rollouts.Rollouts(ns).List(ctx, o)
			if err != nil {
				return nil, err
			}
			items := l.Items[:0]
			for _, ro := range l.Items {
				if sel.Matches(labels.Set(ro.Labels)) {
					items = append(items, ro)
				}
			}
			l.Items = items
			return l, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			w, err := c.Rollouts.Rollouts(ns).Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return selectWatch(w, sel), nil
		},
	}
	return newInformer(lw, c.Rollouts, &v1alpha1.Rollout{}, resync)
}

// selectWatch passes on the events of objects that match sel; an object modified out of the
// selection is reported deleted, as the API server does for a watch with a label selector.
func selectWatch(w watch.Interface, sel labels.Selector) watch.Interface {
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		if e.Type == watch.Bookmark || e.Type == watch.Error {
			return e, true
		}
		m, err := meta.Accessor(e.Object)
		if err != nil || sel.Matches(labels.Set(m.GetLabels())) {
			return e, true
		}
		if e.Type == watch.Modified {
			e.Type = watch.Deleted
			return e, true
		}
		return e, false
	})
}

// dynamicInformer watches an API through the dynamic client; transform, if set, turns the
// unstructured objects into the types the engine reads.
func dynamicInformer(c Clients, gvr schema.GroupVersionResource, ns string, resync time.Duration, transform cache.TransformFunc) cache.SharedIndexInformer {
	res := c.Dynamic.Resource(gvr)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			if ns == "" {
				return res.List(ctx, o)
			}
			return res.Namespace(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if ns == "" {
				return res.Watch(ctx, o)
			}
			return res.Namespace(ns).Watch(ctx, o)
		},
	}
	inf := newInformer(lw, c.Dynamic, &unstructured.Unstructured{}, resync)
	if transform != nil {
		if err := inf.SetTransform(transform); err != nil {
			panic(err) // only fails once started
		}
	}
	return inf
}

// typedFrom converts the unstructured objects of a dynamic informer to *T before they are
// cached. An object that does not convert stays unstructured (the Reader skips it) and is logged:
// failing the transform would stall the whole informer on one bad object.
func typedFrom[T any, P interface {
	*T
	runtime.Object
}](log *slog.Logger) cache.TransformFunc {
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj, nil
		}
		out := P(new(T))
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
			log.Error("cannot read object; the controller ignores it", "kind", u.GetKind(),
				"namespace", u.GetNamespace(), "name", u.GetName(), "err", err)
			return obj, nil
		}
		return out, nil
	}
}

// apiSet is the set of resources the API server serves.
type apiSet map[schema.GroupVersionResource]bool

// optionalAPIs are the resources the controller watches only when their CRDs are installed.
var optionalAPIs = []schema.GroupVersionResource{
	tgbv1.Resource, rollout.VirtualServiceResource, rollout.DestinationRuleResource, rollout.ApisixRouteResource,
	v1alpha1.AnalysisRunGVR, v1alpha1.AnalysisTemplateGVR, v1alpha1.ClusterAnalysisTemplateGVR,
}

// discoverAPIs asks the API server which of the Rollout API and the optional APIs it serves. A
// group version it does not know is simply absent; any other discovery failure is an error.
func discoverAPIs(d discovery.DiscoveryInterface) (apiSet, error) {
	served := apiSet{}
	byGV := map[schema.GroupVersion][]schema.GroupVersionResource{}
	for _, gvr := range append([]schema.GroupVersionResource{v1alpha1.RolloutGVR}, optionalAPIs...) {
		byGV[gvr.GroupVersion()] = append(byGV[gvr.GroupVersion()], gvr)
	}
	for gv, gvrs := range byGV {
		list, err := d.ServerResourcesForGroupVersion(gv.String())
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("discover %s: %w", gv, err)
		}
		for _, r := range list.APIResources {
			for _, gvr := range gvrs {
				if r.Name == gvr.Resource {
					served[gvr] = true
				}
			}
		}
	}
	if !served[v1alpha1.RolloutGVR] {
		return nil, fmt.Errorf("the API server does not serve %s: install the Rollout CRD (manifests/crds)", v1alpha1.RolloutGVR.GroupResource())
	}
	return served, nil
}
