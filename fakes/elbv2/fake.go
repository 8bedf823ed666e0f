package elbv2

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// Network is the simulated pod network behind the targets. It must not call back into the Fake.
type Network interface {
	// HealthCheck runs one health check against ip:port and reports whether it passed.
	HealthCheck(ip string, port int32) bool
	// Serve sends one request to ip:port and returns the status code and the version that
	// answered (502 when nothing listens there).
	Serve(ip string, port int32) (code int, version string)
}

// Prober is an optional extension of Network that says why a check failed, so that
// DescribeTargetHealth can report Target.Timeout or Target.ResponseCodeMismatch.
type Prober interface {
	Probe(ip string, port int32) (ok bool, reason types.TargetHealthReasonEnum)
}

// Config are the knobs of the model. The zero Config has no propagation delay and no throttling.
type Config struct {
	// RulePropagation is how long an accepted listener or rule change takes to reach the data
	// plane. AWS observes seconds; changes to one listener take effect in the order accepted.
	RulePropagation dist.Delay
	// Token buckets of the API classes (see ClassOf); a Rate of 0 means unlimited.
	Describe, Register, Modify Bucket
	// PerCaller gives each caller (WithCaller) its own buckets. AWS throttles per account, so
	// by default one controller's calls use up the other's budget.
	PerCaller bool
}

// DefaultConfig is a generous account: no propagation delay, buckets no ordinary simulation
// exhausts.
func DefaultConfig() Config {
	return Config{
		Describe: Bucket{Rate: 100, Burst: 200},
		Register: Bucket{Rate: 40, Burst: 80},
		Modify:   Bucket{Rate: 40, Burst: 80},
	}
}

// Fake is the in-memory ELBv2. Its API methods are those of the anonymous caller; WithCaller
// returns views whose calls are counted (and, with PerCaller, throttled) under a name.
type Fake struct {
	client

	mu    sync.Mutex
	cfg   Config
	sched sched.Scheduler
	net   Network
	rand  *rand.Rand

	seq       int // creation counter: resource IDs and stable ordering
	lbs       map[string]*loadBalancer
	listeners map[string]*listener
	rules     map[string]*rule
	tgs       map[string]*targetGroup
	tags      map[string]map[string]string // by resource ARN; present for every live resource

	faults  faults
	hooks   []func(Event)
	pending []Event // events raised under the lock, delivered after it
	reqSeq  int     // request IDs of the Query protocol
}

// New returns an empty ELBv2 whose clock is s, whose targets live on net and whose random draws
// (health-check phases, propagation delays, injected faults) come from r.
func New(cfg Config, s sched.Scheduler, net Network, r *rand.Rand) *Fake {
	f := &Fake{cfg: cfg, sched: s, net: net, rand: r,
		lbs: map[string]*loadBalancer{}, listeners: map[string]*listener{}, rules: map[string]*rule{},
		tgs: map[string]*targetGroup{}, tags: map[string]map[string]string{}}
	f.client = client{f: f}
	f.faults.init()
	return f
}

// WithCaller returns a view of the Fake whose calls count under name (see Calls).
func (f *Fake) WithCaller(name string) API { return &client{f: f, caller: name} }

// OnChange registers a hook called after every state change (target states, configuration
// taking effect). Hooks run outside the Fake's lock and may call it.
func (f *Fake) OnChange(fn func(Event)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks = append(f.hooks, fn)
}

func (f *Fake) lock() { f.mu.Lock() }

// unlock releases the lock, then delivers the events raised while it was held.
func (f *Fake) unlock() {
	evs, hooks := f.pending, f.hooks
	f.pending = nil
	f.mu.Unlock()
	for _, e := range evs {
		for _, h := range hooks {
			h(e)
		}
	}
}

func (f *Fake) emit(e Event) {
	e.At = f.now()
	f.pending = append(f.pending, e)
}

func (f *Fake) now() time.Time { return f.sched.Now() }

// after schedules fn under the Fake's lock.
func (f *Fake) after(d time.Duration, name, obj string, fn func()) sched.Timer {
	return f.sched.After(d, name, obj, func() {
		f.lock()
		defer f.unlock()
		fn()
	})
}

// client is a caller's view of the Fake; every API method goes through call.
type client struct {
	f      *Fake
	caller string
}

// call runs one API operation: admission (throttling, injected faults), the operation on a
// non-nil input, and the call count.
func call[In, Out any](c *client, ctx context.Context, op string, in *In, fn func(*In) (*Out, error)) (*Out, error) {
	if ctx != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	f := c.f
	f.lock()
	defer f.unlock()
	if err := f.admit(c.caller, op); err != nil {
		return nil, err
	}
	if in == nil {
		in = new(In)
	}
	out, err := fn(in)
	f.count(c.caller, op, err)
	if err != nil {
		return nil, err
	}
	return out, nil
}
