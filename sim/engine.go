package sim

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// EngineConfig are the knobs of the controller process in the simulation.
type EngineConfig struct {
	WatchDelay  dist.Delay    // store write → the engine's cache and queue hear of it
	WorkDelay   dist.Delay    // queued key → reconcile starts (worker pickup)
	Resync      time.Duration // every rollout is reconciled at least this often
	BackoffBase time.Duration // first retry after a failed reconcile, doubling per failure
	BackoffMax  time.Duration
	// Controller is the controller's configuration (its flags).
	Controller rollout.Config
}

// DefaultEngineConfig matches the Argo controller's defaults with a healthy API server.
func DefaultEngineConfig() EngineConfig {
	return EngineConfig{
		WatchDelay:  dist.Delay{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond},
		WorkDelay:   dist.Fixed(time.Millisecond),
		Resync:      15 * time.Minute,
		BackoffBase: time.Millisecond,
		BackoffMax:  10 * time.Second,
		Controller:  rollout.DefaultConfig(),
	}
}

// engineResources are what the engine's informers watch.
var engineResources = []schema.GroupVersionResource{Rollouts, kube.ReplicaSets, kube.Services, kube.Ingresses,
	kube.Endpoints, tgbv1.Resource, rollout.VirtualServiceResource, rollout.DestinationRuleResource,
	v1alpha1.AnalysisRunGVR, v1alpha1.AnalysisTemplateGVR, v1alpha1.ClusterAnalysisTemplateGVR, rollout.ApisixRouteResource}

// ingressKey marks work-queue keys that name an Ingress rather than a rollout.
const ingressKey = "ingress:"

// EngineHost runs the rollout engine inside the simulation the way the controller process runs
// it in a cluster: informer caches fed with delay, a deduplicating work queue with per-key
// back-off and delayed requeues, one worker. Crash drops all of that; Restart starts afresh.
type EngineHost struct {
	w      *World
	cfg    EngineConfig
	rand   *rand.Rand
	epoch  int
	up     bool
	cache  *Cache
	rec    *rollout.Reconciler
	queue  []string
	queued map[string]bool
	work   *Event
	timers map[string]*Event
	fails  map[string]int
	// lastDelivery keeps watch deliveries in order, as a watch stream is.
	lastDelivery time.Time
	restartAfter time.Duration

	// dieAfter, when positive, kills the process at its dieAfter-th next write: that write and
	// the rest of the plan never reach the API server (a crash between any two writes).
	dieAfter int

	Reconciles, Failures, Crashes, Writes int
	// OnPlan, when set, sees every reconcile's input and plan (invariants, traces).
	OnPlan func(key string, in rollout.Observed, plan *rollout.Plan, err error)
	// Analysis is the process's analysis controller: it measures the AnalysisRuns.
	Analysis *AnalysisController
}

func newEngineHost(w *World, cfg EngineConfig) *EngineHost {
	h := &EngineHost{w: w, cfg: cfg, rand: w.Kernel.Stream("engine")}
	h.Analysis = newAnalysisController(h)
	w.Cluster.Store.Watch(h.onChange)
	return h
}

// Up reports whether the engine process is running.
func (h *EngineHost) Up() bool { return h.up }

// Start boots the engine: fresh caches listed from the store, every rollout queued.
func (h *EngineHost) Start() {
	h.epoch++
	h.up = true
	h.cache = NewCache(h.w.Cluster.Store, engineResources...)
	deps := rollout.Deps{
		Kube: h.w.engineKube, Rollouts: h.w.engineRollouts, Reader: Reader{Cache: h.cache},
		Clock: h.w.Kernel, Events: h.w.Recorder, Dynamic: h.w.engineDynamic,
	}
	if h.w.ELBv2 != nil {
		deps.ELBv2 = h.w.ELBv2
	}
	h.rec = rollout.NewReconciler(deps, h.cfg.Controller)
	h.queue, h.queued, h.work = nil, map[string]bool{}, nil
	h.timers, h.fails = map[string]*Event{}, map[string]int{}
	h.lastDelivery = h.w.Kernel.Now()
	for _, o := range h.cache.List(Rollouts, "") {
		ro := o.(*v1alpha1.Rollout)
		h.add(ro.Namespace + "/" + ro.Name)
	}
	h.Analysis.start()
	h.scheduleResync()
}

// Crash kills the engine process: caches, queue, timers, back-off and the reconciler's memory
// are gone. Writes it already made stay.
func (h *EngineHost) Crash() {
	h.epoch++
	h.up = false
	h.Crashes++
	for _, t := range h.timers {
		t.Cancel()
	}
	h.work.Cancel()
	h.cache, h.rec, h.queue, h.queued, h.timers, h.fails, h.work = nil, nil, nil, nil, nil, nil, nil
}

// alive wraps fn so that it only runs if the engine has not crashed since it was scheduled.
func (h *EngineHost) alive(fn func()) func() {
	epoch := h.epoch
	return func() {
		if h.up && h.epoch == epoch {
			fn()
		}
	}
}

func (h *EngineHost) onChange(ch kube.Change) {
	if !h.up || !h.cache.Watches(ch.GVR) {
		return
	}
	at := h.w.Kernel.Now().Add(h.cfg.WatchDelay.Draw(h.rand))
	if at.Before(h.lastDelivery) {
		at = h.lastDelivery
	}
	h.lastDelivery = at
	h.w.Kernel.At(at, "engine/watch", ch.GVR.Resource+" "+ch.Key().String(), h.alive(func() { h.deliver(ch) }))
}

func (h *EngineHost) deliver(ch kube.Change) {
	h.cache.Apply(ch)
	switch ch.GVR {
	case Rollouts:
		h.add(ch.Key().String())
	case kube.ReplicaSets:
		rs := ch.Object.(*appsv1.ReplicaSet)
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.Kind == "Rollout" {
			h.add(rs.Namespace + "/" + ref.Name)
		}
	case kube.Services:
		svc := ch.Object.(*corev1.Service)
		for _, o := range h.cache.List(Rollouts, svc.Namespace) {
			ro := o.(*v1alpha1.Rollout)
			if references(ro, svc.Name) || (ch.Type == watch.Deleted && svc.Annotations[v1alpha1.ManagedByRolloutsKey] == ro.Name) {
				h.add(ro.Namespace + "/" + ro.Name)
			}
		}
	case rollout.VirtualServiceResource, rollout.DestinationRuleResource, rollout.ApisixRouteResource:
		// A route object changed (perhaps by hand): the rollouts routing through it look again.
		obj := ch.Object.(*unstructured.Unstructured)
		for _, o := range h.cache.List(Rollouts, "") {
			if ro := o.(*v1alpha1.Rollout); rollout.RoutesThrough(ro, ch.GVR, obj.GetNamespace(), obj.GetName()) {
				h.add(ro.Namespace + "/" + ro.Name)
			}
		}
	case v1alpha1.AnalysisRunGVR:
		h.deliverAnalysisRun(ch)
	case v1alpha1.AnalysisTemplateGVR, v1alpha1.ClusterAnalysisTemplateGVR:
		h.deliverAnalysisTemplate(ch)
	case kube.Ingresses:
		ing := ch.Object.(*networkingv1.Ingress)
		h.add(ingressKey + ing.Namespace + "/" + ing.Name)
		for _, o := range h.cache.List(Rollouts, ing.Namespace) {
			if ro := o.(*v1alpha1.Rollout); usesIngress(ro, ing.Name) {
				h.add(ro.Namespace + "/" + ro.Name)
			}
		}
	}
	if ch.GVR == Rollouts && ch.Type == watch.Deleted {
		// The rollout's Ingresses are handed back (Argo waits for the next Ingress event).
		ro := ch.Object.(*v1alpha1.Rollout)
		if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.ALB != nil {
			for _, name := range alb.Ingresses(c.TrafficRouting.ALB) {
				h.add(ingressKey + ro.Namespace + "/" + name)
			}
		}
	}
}

func usesIngress(ro *v1alpha1.Rollout, name string) bool {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.ALB != nil {
		for _, n := range alb.Ingresses(c.TrafficRouting.ALB) {
			if n == name {
				return true
			}
		}
	}
	return false
}

func references(ro *v1alpha1.Rollout, svc string) bool {
	c := ro.Spec.Strategy.Canary
	if c != nil && (c.CanaryService == svc || c.StableService == svc || (c.PingPong != nil && (c.PingPong.PingService == svc || c.PingPong.PongService == svc))) {
		return true
	}
	bg := ro.Spec.Strategy.BlueGreen
	return bg != nil && (bg.ActiveService == svc || bg.PreviewService == svc)
}

// add queues a key unless it is already queued (the work queue's de-duplication).
func (h *EngineHost) add(key string) {
	if h.queued[key] {
		return
	}
	h.queued[key] = true
	h.queue = append(h.queue, key)
	if h.work == nil {
		h.work = h.w.Kernel.After(h.cfg.WorkDelay.Draw(h.rand), "engine/reconcile", "", h.alive(h.processNext))
	}
}

// addAfter queues a key after d, keeping only the earliest pending request per key.
func (h *EngineHost) addAfter(key string, d time.Duration) {
	at := h.w.Kernel.Now().Add(d)
	if t, ok := h.timers[key]; ok && !t.canceled {
		if !t.At.After(at) {
			return
		}
		t.Cancel()
	}
	h.timers[key] = h.w.Kernel.At(at, "engine/requeue", key, h.alive(func() {
		delete(h.timers, key)
		h.add(key)
	}))
}

// DieAtWrite arms a crash: the engine dies as it is about to make its n-th next write (n ≥ 1).
// It is restarted after down.
func (h *EngineHost) DieAtWrite(n int, down time.Duration) {
	h.dieAfter = n
	h.restartAfter = down
}

// gate sees every write the engine's clients attempt; it kills the process at the armed write.
func (h *EngineHost) gate(action k8stesting.Action) (bool, runtime.Object, error) {
	if !h.up {
		return true, nil, errProcessDead
	}
	switch action.GetVerb() {
	case "create", "update", "patch", "delete":
	default:
		return false, nil, nil
	}
	if h.dieAfter > 0 {
		if h.dieAfter--; h.dieAfter == 0 {
			h.Crash()
			h.w.Kernel.After(h.restartAfter, "engine/restart", "", h.Start)
			return true, nil, errProcessDead
		}
	}
	h.Writes++
	return false, nil, nil
}

var errProcessDead = errors.New("the controller process is dead")

func (h *EngineHost) processNext() {
	h.work = nil
	if len(h.queue) == 0 {
		return
	}
	key := h.queue[0]
	h.queue = h.queue[1:]
	delete(h.queued, key)
	h.Reconciles++
	var res rollout.Result
	var err error
	if ing, ok := strings.CutPrefix(key, ingressKey); ok {
		err = h.rec.ReconcileIngress(context.Background(), ing, Reader{Cache: h.cache})
	} else {
		res, err = h.rec.Reconcile(context.Background(), key)
	}
	if !h.up {
		return // died while applying the plan
	}
	if h.OnPlan != nil && h.rec.LastPlan != nil && !strings.HasPrefix(key, ingressKey) {
		h.OnPlan(key, h.rec.LastObserved, h.rec.LastPlan, err)
	}
	h.w.clearActions()
	if err != nil {
		h.Failures++
		h.w.tracef("engine", key, "reconcile failed: %v", err)
		h.addAfter(key, h.backoff(key))
	} else {
		delete(h.fails, key)
		if res.RequeueAfter > 0 {
			h.addAfter(key, res.RequeueAfter)
		}
	}
	if len(h.queue) > 0 {
		h.work = h.w.Kernel.After(h.cfg.WorkDelay.Draw(h.rand), "engine/reconcile", "", h.alive(h.processNext))
	}
}

// backoff is the per-key exponential retry delay of Argo's work queue (1ms doubling to 10s).
func (h *EngineHost) backoff(key string) time.Duration {
	n := h.fails[key]
	h.fails[key] = n + 1
	d := h.cfg.BackoffBase << min(n, 30)
	if d > h.cfg.BackoffMax || d <= 0 {
		d = h.cfg.BackoffMax
	}
	return d
}

func (h *EngineHost) scheduleResync() {
	if h.cfg.Resync <= 0 {
		return
	}
	h.w.Kernel.After(h.cfg.Resync, "engine/resync", "", h.alive(func() {
		for _, o := range h.cache.List(Rollouts, "") {
			ro := o.(*v1alpha1.Rollout)
			h.add(ro.Namespace + "/" + ro.Name)
		}
		h.scheduleResync()
	}))
}
