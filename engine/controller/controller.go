// Package controller runs the rollout engine (engine/rollout) against a real cluster: client-go
// informers are the engine's Reader, a rate-limited work queue feeds N workers, events go to the
// API server, and a Lease elects the one replica that reconciles. It is the real-world twin of the
// simulation's engine host (sim/engine.go): the same changes wake the same rollouts.
//
// Unlike engine/, fakes/ and sim/, this package is not deterministic: it runs goroutines and talks
// to the network. Time the engine reasons about (pauses, deadlines, persisted timestamps) still
// comes from Options.Clock, so tests drive it with a fake clock.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/aws"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// Defaults, as Argo's controller has them.
const (
	DefaultRolloutThreads  = 10
	DefaultAnalysisThreads = 30
	DefaultResync          = 15 * time.Minute
)

// Clients are the API clients the controller works through.
type Clients struct {
	Kube     kubernetes.Interface
	Rollouts client.Interface
	// Dynamic reads and writes the kinds without a typed client here: TargetGroupBindings, Istio's
	// and APISIX's route objects, and the analysis kinds.
	Dynamic dynamic.Interface
	// Discovery finds which optional CRDs the cluster serves; nil means Kube.Discovery().
	Discovery discovery.DiscoveryInterface
	// ELBv2 reads AWS for --aws-verify-target-group; nil without AWS access.
	ELBv2 aws.ELBv2
}

// Options configure a controller; the zero value of each field is Argo's default.
type Options struct {
	// Namespace is the only namespace watched (--namespaced); "" watches all.
	Namespace string
	// InstanceID selects the rollouts labelled argo-rollouts.argoproj.io/controller-instance-id
	// with it; empty selects the rollouts without that label (--instance-id).
	InstanceID string
	// RolloutThreads and AnalysisThreads are the numbers of workers (--rollout-threads,
	// --analysis-threads).
	RolloutThreads, AnalysisThreads int
	// Resync re-delivers every cached object this often (--rollout-resync); negative disables.
	Resync time.Duration
	// Config is the engine's configuration (its flags).
	Config rollout.Config
	// Clock is the engine's time: persisted timestamps, pauses, requeues. Nil is the wall clock.
	Clock clock.WithDelayedExecution
	// Stopwatch times reconciles for the metrics. Nil is the wall clock, even when Clock is a
	// fake one: durations are the process's real cost.
	Stopwatch clock.PassiveClock
	// LeaderElection elects one reconciling replica (--leader-elect).
	LeaderElection LeaderElection
	// Logger logs; nil discards.
	Logger *slog.Logger
	// Events records the engine's events; nil records them to the API server through Kube.
	Events record.EventRecorder
	// Version is reported by argo_rollouts_controller_info.
	Version string
	// AnalysisProviders measure AnalysisRuns; nil runs Prometheus and Web metrics over HTTP.
	AnalysisProviders analysis.ProviderFactory
}

// Controller is a rollouts controller: construct it with New, start it with Run.
type Controller struct {
	opts    Options
	clients Clients
	log     *slog.Logger

	informers *informers
	reader    *Reader
	metrics   *Metrics
	deps      rollout.Deps
	queue     *workQueue
	analysis  *analysisWorker
	events    record.EventBroadcaster // the broadcaster New made, if any

	mu          sync.Mutex
	reconcilers map[string]*rollout.Reconciler // one per rollout key: a Reconciler is not safe for concurrent use
	ingressRec  *rollout.Reconciler

	synced, leading atomic.Bool
}

// New builds a controller: it asks the API server which optional APIs it serves (their watches
// are skipped quietly when they are not) and prepares the informers, queues and metrics.
func New(c Clients, opts Options) (*Controller, error) {
	opts = withDefaults(opts)
	if opts.InstanceID != "" {
		if errs := validation.IsValidLabelValue(opts.InstanceID); len(errs) > 0 {
			return nil, fmt.Errorf("--instance-id %q is not a valid label value: %s", opts.InstanceID, strings.Join(errs, "; "))
		}
	}
	if err := opts.LeaderElection.validate(); err != nil {
		return nil, err
	}
	disc := c.Discovery
	if disc == nil {
		disc = c.Kube.Discovery()
	}
	served, err := discoverAPIs(disc)
	if err != nil {
		return nil, err
	}
	ctrl := &Controller{opts: opts, clients: c, log: opts.Logger, reconcilers: map[string]*rollout.Reconciler{}}
	ctrl.informers = newInformers(c, opts, served)
	ctrl.reader = ctrl.informers.reader()
	ctrl.metrics = newMetrics(opts.Version, ctrl.reader, ctrl.Leading)
	recorder := opts.Events
	if recorder == nil {
		ctrl.events, recorder = newEventBroadcaster(c.Kube)
	}
	ctrl.deps = rollout.Deps{Kube: c.Kube, Rollouts: c.Rollouts, Reader: ctrl.reader, Clock: opts.Clock,
		Events: countingRecorder{next: recorder, metrics: ctrl.metrics}, ELBv2: c.ELBv2, Dynamic: c.Dynamic}
	ctrl.ingressRec = rollout.NewReconciler(ctrl.deps, opts.Config)
	ctrl.queue = newWorkQueue("Rollouts", opts.Clock)
	ctrl.analysis = newAnalysisWorker(ctrl, opts.AnalysisProviders)
	for gvr := range served {
		ctrl.log.Debug("watching", "resource", gvr.String())
	}
	if err := ctrl.addHandlers(); err != nil {
		return nil, err
	}
	return ctrl, nil
}

func withDefaults(o Options) Options {
	if o.RolloutThreads <= 0 {
		o.RolloutThreads = DefaultRolloutThreads
	}
	if o.AnalysisThreads <= 0 {
		o.AnalysisThreads = DefaultAnalysisThreads
	}
	switch {
	case o.Resync == 0:
		o.Resync = DefaultResync
	case o.Resync < 0:
		o.Resync = 0
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Stopwatch == nil {
		o.Stopwatch = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Config.ALBIngressClasses == nil {
		o.Config.ALBIngressClasses = rollout.DefaultConfig().ALBIngressClasses
	}
	o.LeaderElection = o.LeaderElection.withDefaults()
	return o
}

// Reader is the controller's view of the cluster, as the engine reads it.
func (c *Controller) Reader() *Reader { return c.reader }

// Metrics are the controller's Prometheus metrics.
func (c *Controller) Metrics() *Metrics { return c.metrics }

// Synced reports whether the informers have listed everything once.
func (c *Controller) Synced() bool { return c.synced.Load() }

// Leading reports whether this controller's workers are running (it holds the lease, or leader
// election is off).
func (c *Controller) Leading() bool { return c.leading.Load() }

// Enqueue asks for a reconcile of a rollout ("namespace/name").
func (c *Controller) Enqueue(key string) { c.enqueue(key) }

func (c *Controller) enqueue(key string) { c.queue.Add(key) }

// HealthHandler serves /healthz (the process is up) and /readyz (its caches are synced), on
// every replica, leading or not.
func (c *Controller) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.Synced() {
			http.Error(w, "informer caches are not synced yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

// ErrLostLeadership is returned by Run when the controller stops holding the lease without being
// asked to stop: the process should exit, and start afresh as a candidate.
var ErrLostLeadership = errors.New("lost the leader lease")

// Run starts the informers, waits for their caches and reconciles until ctx ends: at once
// without leader election, else while it holds the lease. On the end of ctx it lets the workers
// finish the keys they hold, then releases the lease.
func (c *Controller) Run(ctx context.Context) error {
	if c.events != nil {
		defer c.events.Shutdown()
	}
	var synced []cache.InformerSynced
	for _, inf := range c.informers.all() {
		go inf.RunWithContext(ctx)
		synced = append(synced, inf.HasSynced)
	}
	c.log.Info("waiting for informer caches to sync")
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // stopped before the caches synced
	}
	c.synced.Store(true)
	c.log.Info("informer caches synced")
	if !c.opts.LeaderElection.Enabled {
		c.lead(ctx)
		return nil
	}
	return c.runElected(ctx)
}

// lead runs the workers until ctx ends, then shuts the queues down and waits for them.
func (c *Controller) lead(ctx context.Context) {
	c.leading.Store(true)
	defer c.leading.Store(false)
	c.log.Info("starting workers", "rolloutThreads", c.opts.RolloutThreads, "analysisThreads", c.opts.AnalysisThreads)
	var wg sync.WaitGroup
	run := func(n int, q *workQueue, sync func(context.Context, string) (time.Duration, error)) {
		for range n {
			wg.Go(func() {
				for q.process(c.log, func(key string) (time.Duration, error) { return sync(ctx, key) }) {
				}
			})
		}
	}
	run(c.opts.RolloutThreads, c.queue, c.sync)
	run(c.opts.AnalysisThreads, c.analysis.queue, c.analysis.sync)
	<-ctx.Done()
	c.log.Info("stopping workers")
	c.queue.shutDown()
	c.analysis.queue.shutDown()
	wg.Wait()
	c.log.Info("workers stopped")
}

// sync reconciles one key: a rollout, or an Ingress to hand back.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	if ing, ok := strings.CutPrefix(key, ingressKeyPrefix); ok {
		return 0, c.syncIngress(ctx, ing)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil // not a key this controller queues: drop it
	}
	rec := c.reconcilerFor(key)
	start := c.opts.Stopwatch.Now()
	res, err := rec.Reconcile(ctx, key)
	took := c.opts.Stopwatch.Since(start)
	c.metrics.reconcile.WithLabelValues(ns, name).Observe(took.Seconds())
	if err != nil {
		c.metrics.reconcileError.WithLabelValues(ns, name).Inc()
		return 0, err
	}
	if _, err := c.reader.Rollout(ns, name); apierrors.IsNotFound(err) {
		c.forget(key, ns, name)
		return 0, nil
	}
	if plan := rec.LastPlan; plan != nil {
		c.log.Debug("reconciled", "rollout", key, "took", took, "decision", plan.Why,
			"writes", len(plan.Actions), "requeueAfter", res.RequeueAfter)
		if waitsOnVerification(rec) {
			c.metrics.verificationWait.WithLabelValues(ns, name).Inc()
		}
	}
	return res.RequeueAfter, nil
}

// syncIngress hands an ALB Ingress back from the rollouts that no longer use it. Unlike Argo, it
// weighs the rollouts of every controller instance, read from the API: a rollout of another
// instance (--instance-id) that shares the Ingress is not in this controller's cache, and must
// not have its actions reset. Ingresses without rollout bookkeeping cost nothing.
func (c *Controller) syncIngress(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	ing, err := c.reader.Ingress(ns, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if managed, err := alb.Managed(ing); err == nil && len(managed) == 0 {
		return nil
	}
	return c.ingressRec.ReconcileIngress(ctx, key, everyInstance{ctx: ctx, client: c.clients.Rollouts})
}

// everyInstance lists the rollouts of a namespace from the API, whatever their instance.
type everyInstance struct {
	ctx    context.Context
	client client.Interface
}

func (e everyInstance) Rollouts(ns string) ([]*v1alpha1.Rollout, error) {
	l, err := e.client.Rollouts(ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.Rollout, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out, nil
}

// reconcilerFor is the key's own reconciler. The engine's Reconciler remembers the status it
// last wrote for each rollout (so that it never acts on an older cached one) in a map that is not
// safe for concurrent use; the work queue never hands one key to two workers at once, so one
// reconciler per key is both safe and keeps that memory.
func (c *Controller) reconcilerFor(key string) *rollout.Reconciler {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.reconcilers[key]
	if !ok {
		rec = rollout.NewReconciler(c.deps, c.opts.Config)
		c.reconcilers[key] = rec
	}
	return rec
}

// forget drops what the controller keeps for a rollout that is gone: its reconciler and its
// metric series.
func (c *Controller) forget(key, ns, name string) {
	c.mu.Lock()
	delete(c.reconcilers, key)
	c.mu.Unlock()
	c.metrics.forget(ns, name)
}

// waitsOnVerification says whether the last reconcile left the rollout held until the traffic
// router confirms its weights or target registrations.
func waitsOnVerification(rec *rollout.Reconciler) bool {
	plan := rec.LastPlan
	for _, e := range plan.Events {
		if e.Reason == "TargetGroupUnverified" {
			return true
		}
	}
	st := plan.Status
	if st == nil && rec.LastObserved.Rollout != nil {
		st = &rec.LastObserved.Rollout.Status
	}
	if st == nil || st.Canary.Weights == nil || st.Canary.Weights.Verified == nil {
		return false
	}
	return !*st.Canary.Weights.Verified
}
