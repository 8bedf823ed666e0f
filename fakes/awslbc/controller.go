package awslbc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

// Controller is the simulated AWS Load Balancer Controller. Feed it the store's changes with
// OnChange and register Admission on the store.
type Controller struct {
	cfg   Config
	store *kube.Store
	api   elbv2.API
	sched sched.Scheduler
	rand  *rand.Rand
	ctx   context.Context

	ingresses *queue
	bindings  *queue
	throttle  *throttle

	down bool
	// restart ends the current outage, if one was scheduled.
	restart sched.Timer
	start   time.Time
	// stacks are the Ingresses whose AWS resources may exist: the Ingress finalizer's memory,
	// so that a deletion is cleaned up even if it happened while the controller was down.
	stacks map[types.NamespacedName]bool
	// cleanups are deleted bindings whose targets are still registered: the binding
	// finalizer's memory.
	cleanups map[types.NamespacedName]*tgbv1.TargetGroupBinding
	resync   sched.Timer
	// seen is each Ingress's spec generation and annotations as last heard of: like the LBC,
	// an update that changes neither (its own status write) is not reconciled.
	seen map[types.NamespacedName]string

	hooks []func(Event)
	stats Stats
}

// New returns a running controller. api is its view of ELBv2 (the simulation passes the fake's
// WithCaller("aws-load-balancer-controller")); r draws the reconcile lag and missed reconciles.
func New(cfg Config, store *kube.Store, api elbv2.API, s sched.Scheduler, r *rand.Rand) *Controller {
	c := &Controller{cfg: cfg.withDefaults(), store: store, api: api, sched: s, rand: r, ctx: context.Background(),
		start: s.Now(), stacks: map[types.NamespacedName]bool{}, cleanups: map[types.NamespacedName]*tgbv1.TargetGroupBinding{},
		seen: map[types.NamespacedName]string{}, stats: Stats{Calls: map[string]int{}}}
	c.throttle = newThrottle(c.cfg.Throttles)
	c.ingresses = newQueue(c, "ingress", c.syncIngress)
	c.bindings = newQueue(c, "targetgroupbinding", c.syncBinding)
	c.relist() // a starting controller lists what already exists
	return c
}

func (c *Controller) now() time.Time { return c.sched.Now() }

// OnChange hears of a store change (the simulation delivers it after its watch delay) and
// queues the Ingresses and bindings it concerns, each after the reconcile lag.
func (c *Controller) OnChange(ch kube.Change) {
	if ch.GVR == tgbv1.Resource {
		c.trackBinding(ch)
	}
	if c.down {
		return
	}
	ings, tgbs := c.keysFor(ch)
	if len(ings)+len(tgbs) == 0 {
		return
	}
	if c.cfg.MissedReconcile.Happens(c.rand) {
		c.miss(ch)
		return
	}
	c.enqueue(ings, tgbs)
}

func (c *Controller) enqueue(ings, tgbs []types.NamespacedName) {
	for _, k := range ings {
		c.ingresses.add(k, c.cfg.ReconcileLag.Draw(c.rand))
	}
	for _, k := range tgbs {
		c.bindings.add(k, c.cfg.ReconcileLag.Draw(c.rand))
	}
}

// trackBinding remembers a deleted binding until its targets are deregistered.
func (c *Controller) trackBinding(ch kube.Change) {
	key := ch.Key()
	if ch.Type == watch.Deleted {
		c.cleanups[key] = ch.Object.(*tgbv1.TargetGroupBinding).DeepCopy()
	} else {
		delete(c.cleanups, key)
	}
}

// keysFor lists the Ingresses and bindings a change concerns, as the LBC's watches map them.
// Pods are not watched: a gated pod whose containers become ready is found by the requeue.
func (c *Controller) keysFor(ch kube.Change) (ings, tgbs []types.NamespacedName) {
	key := ch.Key()
	switch ch.GVR {
	case kube.Ingresses:
		ing := ch.Object.(*networkingv1.Ingress)
		fp := fmt.Sprint(ing.Generation, ing.Annotations) // fmt prints maps sorted
		if ch.Type == watch.Modified && c.seen[key] == fp {
			return nil, nil
		}
		if c.seen[key] = fp; ch.Type == watch.Deleted {
			delete(c.seen, key)
		}
		if c.handles(ing) || c.stacks[key] {
			ings = append(ings, key)
		}
	case tgbv1.Resource:
		tgbs = append(tgbs, key)
	case kube.Services:
		for _, o := range c.store.PeekList(kube.Ingresses, key.Namespace) {
			if ing := o.(*networkingv1.Ingress); c.handles(ing) && usesService(ing, key.Name, c.cfg.AnnotationPrefix) {
				ings = append(ings, types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name})
			}
		}
		tgbs = c.bindingsOf(key.Namespace, key.Name)
	case kube.EndpointSlices:
		if svc := ch.Object.(*discoveryv1.EndpointSlice).Labels[discoveryv1.LabelServiceName]; svc != "" {
			tgbs = c.bindingsOf(key.Namespace, svc)
		}
	}
	return ings, tgbs
}

// bindingsOf lists the bindings of a Service, sorted.
func (c *Controller) bindingsOf(ns, svc string) []types.NamespacedName {
	var out []types.NamespacedName
	for _, o := range c.store.PeekList(tgbv1.Resource, ns) {
		if b := o.(*tgbv1.TargetGroupBinding); b.Spec.ServiceRef.Name == svc {
			out = append(out, types.NamespacedName{Namespace: b.Namespace, Name: b.Name})
		}
	}
	return out
}

// miss drops a change: its objects wait for their next change or the next resync, which is
// scheduled on the sync-period grid from the controller's start.
func (c *Controller) miss(ch kube.Change) {
	c.stats.Missed++
	c.emit(Event{Kind: EventMissed, Object: ch.GVR.Resource + " " + ch.Key().String()})
	if c.resync != nil || c.cfg.Resync <= 0 {
		return
	}
	elapsed := c.now().Sub(c.start)
	next := (elapsed/c.cfg.Resync + 1) * c.cfg.Resync
	c.resync = c.sched.After(next-elapsed, "awslbc/resync", "", func() {
		c.resync = nil
		c.relist()
	})
}

// relist queues every object the controller owns or handles, as a starting controller's
// informers list them.
func (c *Controller) relist() {
	var ings, tgbs []types.NamespacedName
	seen := map[types.NamespacedName]bool{}
	for _, o := range c.store.PeekList(kube.Ingresses, "") {
		ing := o.(*networkingv1.Ingress)
		k := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
		if c.handles(ing) || c.stacks[k] {
			ings, seen[k] = append(ings, k), true
		}
	}
	for k := range c.stacks {
		if !seen[k] {
			ings = append(ings, k)
		}
	}
	seen = map[types.NamespacedName]bool{}
	for _, o := range c.store.PeekList(tgbv1.Resource, "") {
		b := o.(*tgbv1.TargetGroupBinding)
		k := types.NamespacedName{Namespace: b.Namespace, Name: b.Name}
		tgbs, seen[k] = append(tgbs, k), true
	}
	for k := range c.cleanups {
		if !seen[k] {
			tgbs = append(tgbs, k)
		}
	}
	sortKeys(ings)
	sortKeys(tgbs)
	c.enqueue(ings, tgbs)
}

// SetDown stops (true) or restarts (false) the controller. While down nothing is reconciled and
// the webhook lets pods through without gates; on restart it forgets its queues, back-offs and
// throttle state and lists the world again.
func (c *Controller) SetDown(down bool) {
	if c.restart != nil { // an explicit change overrides a scheduled end of outage
		c.restart.Cancel()
		c.restart = nil
	}
	if down == c.down {
		return
	}
	c.down = down
	if down {
		c.ingresses.clear()
		c.bindings.clear()
		if c.resync != nil {
			c.resync.Cancel()
			c.resync = nil
		}
		c.emit(Event{Kind: EventDown})
		return
	}
	c.throttle.reset()
	c.emit(Event{Kind: EventUp})
	c.relist()
}

// Outage takes the controller down for d (replacing any outage in progress).
func (c *Controller) Outage(d time.Duration) {
	c.SetDown(true)
	c.restart = c.sched.After(d, "awslbc/up", "", func() {
		c.restart = nil
		c.SetDown(false)
	})
}

// Down reports whether the controller is down.
func (c *Controller) Down() bool { return c.down }

// handles reports whether an Ingress is of the controller's class.
func (c *Controller) handles(ing *networkingv1.Ingress) bool {
	return alb.Class(ing) == c.cfg.IngressClass
}

// service returns a stored Service, or nil.
func (c *Controller) service(ns, name string) *corev1.Service {
	if o, ok := c.store.Peek(kube.Services, ns, name); ok {
		return o.(*corev1.Service)
	}
	return nil
}
