package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// Which change wakes which rollout up: the same mapping as the simulation's engine host
// (sim/engine.go), so that a rollout behaves alike in both.
//
//   - a Rollout: itself; when deleted, also the ALB Ingresses it used (handed back);
//   - a ReplicaSet: the Rollout that controls it;
//   - a Service: the rollouts of its namespace that name it, and on deletion the one its
//     managed-by annotation names;
//   - an Istio VirtualService or DestinationRule, an ApisixRoute: the rollouts routing through it;
//   - an Ingress: the Ingress itself (ALB clean-up) and the rollouts using it;
//   - an AnalysisRun: the Rollout that controls it (and the analysis worker measures it);
//   - an AnalysisTemplate or ClusterAnalysisTemplate: the rollouts naming it;
//   - Endpoints and TargetGroupBindings: nothing (they are read when a rollout reconciles).

// ingressKeyPrefix marks work-queue keys that name an Ingress rather than a rollout.
const ingressKeyPrefix = "ingress:"

// handler runs fn on every add, update and delete, with deletion tombstones unwrapped.
func handler(fn func(obj any, deleted bool)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { fn(obj, false) },
		UpdateFunc: func(_, obj any) { fn(obj, false) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			fn(obj, true)
		},
	}
}

func (c *Controller) addHandlers() error {
	in := c.informers
	add := func(i cache.SharedIndexInformer, fn func(obj any, deleted bool)) error {
		if i == nil {
			return nil
		}
		_, err := i.AddEventHandler(handler(fn))
		return err
	}
	for _, h := range []struct {
		inf cache.SharedIndexInformer
		fn  func(obj any, deleted bool)
	}{
		{in.rollouts, c.onRollout},
		{in.replicaSets, c.onReplicaSet},
		{in.services, c.onService},
		{in.ingresses, c.onIngress},
		{in.virtualServices, c.onRoute(rollout.VirtualServiceResource)},
		{in.destinationRules, c.onRoute(rollout.DestinationRuleResource)},
		{in.apisixRoutes, c.onRoute(rollout.ApisixRouteResource)},
		{in.analysisRuns, c.onAnalysisRun},
		{in.analysisTemplates, c.onTemplate(false)},
		{in.clusterAnalysisTemplates, c.onTemplate(true)},
	} {
		if err := add(h.inf, h.fn); err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) onRollout(obj any, deleted bool) {
	ro, ok := obj.(*v1alpha1.Rollout)
	if !ok {
		return
	}
	c.enqueue(ro.Namespace + "/" + ro.Name)
	if deleted {
		// Its Ingresses are handed back from a deleted rollout (Argo waits for the next Ingress event).
		if spec := albSpec(ro); spec != nil {
			for _, name := range alb.Ingresses(spec) {
				c.enqueue(ingressKeyPrefix + ro.Namespace + "/" + name)
			}
		}
	}
}

func (c *Controller) onReplicaSet(obj any, _ bool) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == v1alpha1.RolloutGVK.Kind {
		c.enqueue(rs.Namespace + "/" + ref.Name)
	}
}

func (c *Controller) onService(obj any, deleted bool) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	c.enqueueRollouts(svc.Namespace, func(ro *v1alpha1.Rollout) bool {
		return references(ro, svc.Name) || (deleted && svc.Annotations[v1alpha1.ManagedByRolloutsKey] == ro.Name)
	})
}

func (c *Controller) onIngress(obj any, _ bool) {
	ing, ok := obj.(*networkingv1.Ingress)
	if !ok {
		return
	}
	c.enqueue(ingressKeyPrefix + ing.Namespace + "/" + ing.Name)
	c.enqueueRollouts(ing.Namespace, func(ro *v1alpha1.Rollout) bool { return usesIngress(ro, ing.Name) })
}

// onRoute wakes the rollouts that route through a changed (perhaps hand-edited) route object.
func (c *Controller) onRoute(gvr schema.GroupVersionResource) func(any, bool) {
	return func(obj any, _ bool) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		c.enqueueRollouts(metav1.NamespaceAll, func(ro *v1alpha1.Rollout) bool {
			return rollout.RoutesThrough(ro, gvr, u.GetNamespace(), u.GetName())
		})
	}
}

func (c *Controller) onAnalysisRun(obj any, deleted bool) {
	ar, ok := obj.(*v1alpha1.AnalysisRun)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(ar); ref != nil && ref.Kind == v1alpha1.RolloutGVK.Kind {
		c.enqueue(ar.Namespace + "/" + ref.Name)
	}
	if !deleted && !ar.Status.Phase.Completed() {
		c.analysis.add(ar.Namespace + "/" + ar.Name)
	}
}

// onTemplate wakes the rollouts naming a changed template: one that was invalid for want of it
// may go on.
func (c *Controller) onTemplate(cluster bool) func(any, bool) {
	return func(obj any, _ bool) {
		m, ok := obj.(metav1.Object)
		if !ok {
			return
		}
		c.enqueueRollouts(m.GetNamespace(), func(ro *v1alpha1.Rollout) bool {
			return rollout.ReferencesTemplate(ro, m.GetName(), cluster)
		})
	}
}

// enqueueRollouts queues the cached rollouts of a namespace ("" for all) that match.
func (c *Controller) enqueueRollouts(ns string, match func(*v1alpha1.Rollout) bool) {
	rollouts, _ := c.reader.Rollouts(ns)
	for _, ro := range rollouts {
		if match(ro) {
			c.enqueue(ro.Namespace + "/" + ro.Name)
		}
	}
}

func albSpec(ro *v1alpha1.Rollout) *v1alpha1.ALBTrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return c.TrafficRouting.ALB
	}
	return nil
}

func usesIngress(ro *v1alpha1.Rollout, name string) bool {
	if spec := albSpec(ro); spec != nil {
		for _, n := range alb.Ingresses(spec) {
			if n == name {
				return true
			}
		}
	}
	return false
}

// references says whether a rollout's strategy names the Service.
func references(ro *v1alpha1.Rollout, svc string) bool {
	c := ro.Spec.Strategy.Canary
	if c != nil && (c.CanaryService == svc || c.StableService == svc ||
		(c.PingPong != nil && (c.PingPong.PingService == svc || c.PingPong.PongService == svc))) {
		return true
	}
	bg := ro.Spec.Strategy.BlueGreen
	return bg != nil && (bg.ActiveService == svc || bg.PreviewService == svc)
}
