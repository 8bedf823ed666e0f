package awslbc

import (
	"time"

	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// Config are the knobs of the model; DefaultConfig is the LBC's defaults.
type Config struct {
	// ClusterName is the --cluster-name: the elbv2.k8s.aws/cluster tag, and part of every
	// name hash.
	ClusterName string
	// IngressClass is the class of the Ingresses handled (annotation kubernetes.io/ingress.class,
	// else spec.ingressClassName).
	IngressClass string
	// AnnotationPrefix is the prefix of the annotations read (actions.*, target-type, ...).
	AnnotationPrefix string

	// ReconcileLag is how long after the controller hears of a change the object is
	// reconciled: informer delay, queue wait and the reconcile's own duration, folded into one.
	ReconcileLag dist.Delay
	// MissedReconcile is the chance that a change is never reconciled by itself: the object
	// waits for its next change or the next resync (LBC #1974).
	MissedReconcile dist.PerMille
	// Resync is --sync-period: every object is reconciled again this often (0: never).
	Resync time.Duration
	// RequeueAfter is --targetgroupbinding-requeue-duration: how often a binding looks again
	// while a gated target is not healthy yet.
	RequeueAfter time.Duration
	// BackoffBase and BackoffMax bound the exponential back-off after an AWS error
	// (--targetgroupbinding-max-exponential-backoff-delay is 16m40s).
	BackoffBase, BackoffMax time.Duration

	// Throttles are the client-side token buckets (--aws-api-throttle); a call needs a token
	// from every bucket that matches it, and waits for one rather than failing. None: no limit.
	Throttles []Throttle
	// ChunkSize is how many targets one RegisterTargets/DeregisterTargets call carries.
	ChunkSize int

	// ReadinessGateInjection runs the pod readiness-gate webhook (AWS recommends it; real
	// clusters also need the namespace label elbv2.k8s.aws/pod-readiness-gate-inject).
	ReadinessGateInjection bool
	// TargetsBeforeRules is a what-if, not the LBC: an Ingress reconcile creates the bindings
	// and registers their targets before it touches listener rules. The LBC itself creates
	// bindings after the rules and registers targets in a separate reconcile, so a rule can
	// send traffic to a group that has no target yet (Argo #2864, #4433).
	TargetsBeforeRules bool
}

// Throttle is one client-side token bucket: Burst calls at once, refilled at Rate calls per
// second of virtual time. Ops is "*" (every call), or operations separated by '|', each an
// exact name or a prefix ending in '*' ("Describe*").
type Throttle struct {
	Ops   string
	Rate  int
	Burst int
}

// DefaultThrottles are the LBC's documented default for ELBv2 (configurations.md, "throttle
// config"): RegisterTargets|DeregisterTargets=4:20 and .*=10:40, both applying to target calls.
func DefaultThrottles() []Throttle {
	return []Throttle{
		{Ops: "RegisterTargets|DeregisterTargets", Rate: 4, Burst: 20},
		{Ops: "*", Rate: 10, Burst: 40},
	}
}

// DefaultConfig is the LBC with its default flags, readiness-gate injection on, and a reconcile
// lag with a median near 1 s and a p99 near 30 s.
func DefaultConfig() Config {
	return Config{
		ClusterName:            "rolloutlab",
		IngressClass:           "alb",
		AnnotationPrefix:       alb.DefaultAnnotationPrefix,
		ReconcileLag:           dist.Delay{Min: 30 * time.Millisecond, Max: 30 * time.Second, Tail: true},
		Resync:                 10 * time.Hour,
		RequeueAfter:           15 * time.Second,
		BackoffBase:            time.Second,
		BackoffMax:             16*time.Minute + 40*time.Second,
		Throttles:              DefaultThrottles(),
		ChunkSize:              200,
		ReadinessGateInjection: true,
	}
}

// withDefaults fills the fields a caller left at zero that have no meaningful zero.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.ClusterName == "" {
		c.ClusterName = d.ClusterName
	}
	if c.IngressClass == "" {
		c.IngressClass = d.IngressClass
	}
	if c.AnnotationPrefix == "" {
		c.AnnotationPrefix = d.AnnotationPrefix
	}
	if c.RequeueAfter <= 0 {
		c.RequeueAfter = d.RequeueAfter
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = d.BackoffBase
	}
	if c.BackoffMax < c.BackoffBase {
		c.BackoffMax = max(d.BackoffMax, c.BackoffBase)
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = d.ChunkSize
	}
	return c
}
