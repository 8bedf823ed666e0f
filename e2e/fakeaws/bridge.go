package fakeaws

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/awslbc"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

// CallerLBC is the name the LBC's ELBv2 calls are counted under (as in the simulation).
const CallerLBC = "aws-load-balancer-controller"

// bridge holds the models and everything that must be touched under its lock.
type bridge struct {
	mu     sync.Mutex
	closed bool
	// mirroring is set while the mirror writes to the store: the changes made meanwhile
	// come from the cluster and are not written back.
	mirroring bool
	// pending are store changes not yet heard by the LBC; they are delivered in order once
	// the write that made them is done, as a watch would.
	pending []kube.Change
	// tombstones are bindings the LBC deleted whose deletion the informer has not seen yet:
	// stale informer events must not bring them back.
	tombstones map[types.NamespacedName]bool

	store   *kube.Store
	elb     *elbv2.Fake
	lbc     *awslbc.Controller
	names   *awslbc.ServiceNames
	traffic traffic
	opts    Options

	kube   kubernetes.Interface
	dyn    dynamic.Interface
	writes writeQueue
}

func newBridge(kc kubernetes.Interface, dyn dynamic.Interface, o Options) *bridge {
	b := &bridge{kube: kc, dyn: dyn, opts: o,
		tombstones: map[types.NamespacedName]bool{}, writes: writeQueue{wake: make(chan struct{}, 1)}}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = tgbv1.AddToScheme(scheme)
	clock := wallClock{b}
	b.do(func() {
		b.store = kube.NewStore(scheme, clock)
		b.store.Watch(b.onStoreChange)
		b.names = awslbc.NewServiceNames(b.store)
		b.elb = elbv2.New(o.ELBv2, clock, podNetwork{b.store}, o.rng(1))
		b.lbc = awslbc.New(o.LBC, b.store, b.elb.WithCaller(CallerLBC), clock, o.rng(2))
		b.lbc.OnEvent(func(e awslbc.Event) { o.Logf("lbc: %s", e) })
	})
	return b
}

// do runs fn under the lock, then lets the LBC hear of the store changes fn made. After close
// it does nothing: timers and informers may still fire.
func (b *bridge) do(fn func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	fn()
	for len(b.pending) > 0 {
		ch := b.pending[0]
		b.pending = b.pending[1:]
		b.lbc.OnChange(ch)
	}
}

func (b *bridge) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.stopTraffic()
}

// onStoreChange queues a change for the LBC and, when the LBC made it, for the cluster.
func (b *bridge) onStoreChange(ch kube.Change) {
	b.pending = append(b.pending, ch)
	if !b.mirroring {
		b.writeBack(ch)
	}
}

// wallClock is the models' scheduler in real time. Its timers fire under the bridge's lock.
type wallClock struct{ b *bridge }

func (wallClock) Now() time.Time                  { return time.Now() }
func (wallClock) Since(t time.Time) time.Duration { return time.Since(t) }

func (c wallClock) After(d time.Duration, _, _ string, fn func()) sched.Timer {
	t := &timer{}
	t.t = time.AfterFunc(d, func() {
		c.b.do(func() {
			if !t.cancelled {
				fn()
			}
		})
	})
	return t
}

// timer is cancelled by the models under the lock its callback takes, so the flag needs no
// lock of its own and a callback already waiting for the lock still sees it.
type timer struct {
	t         *time.Timer
	cancelled bool
}

func (t *timer) Cancel() {
	t.cancelled = true
	t.t.Stop()
}

// writeQueue is the cluster writes waiting for the writer goroutine, in order.
type writeQueue struct {
	mu    sync.Mutex
	items []func(context.Context) error
	wake  chan struct{}
}

func (q *writeQueue) push(w func(context.Context) error) {
	q.mu.Lock()
	q.items = append(q.items, w)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *writeQueue) pop() func(context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	w := q.items[0]
	q.items = q.items[1:]
	return w
}

// run performs the writes until ctx is done.
func (q *writeQueue) run(ctx context.Context, logf func(string, ...any)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for w := q.pop(); w != nil && ctx.Err() == nil; w = q.pop() {
			if err := w(ctx); err != nil && ctx.Err() == nil {
				logf("write-back: %v", err)
			}
		}
	}
}
