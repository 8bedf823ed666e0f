package sim

import (
	"math/rand/v2"

	"github.com/rolloutlab/rolloutlab/fakes/awslbc"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// AWSConfig is the cloud side of a world: the ELBv2 API and the AWS Load Balancer Controller
// that turns alb-class Ingresses into load balancers and registers pods as targets.
type AWSConfig struct {
	ELBv2 elbv2.Config
	LBC   awslbc.Config
	// LBCWatchDelay is how late the LBC's informers hear of a change (its reconcile lag comes
	// on top).
	LBCWatchDelay dist.Delay
}

// DefaultAWSConfig is an AWS account with default limits and the LBC with its default flags.
func DefaultAWSConfig() AWSConfig {
	return AWSConfig{ELBv2: elbv2.DefaultConfig(), LBC: awslbc.DefaultConfig(), LBCWatchDelay: DefaultConfig().ControllerDelay}
}

// AWS is the simulated cloud of a world.
type AWS struct {
	ELB *elbv2.Fake
	LBC *awslbc.Controller
	// Weights records, each time a listener's configuration reaches the data plane, the
	// weights its rules give each target group (by name): what the ALB really does.
	Weights []ALBWeights

	// Findings are the traffic-safety rules broken so far.
	Findings []Finding

	store *kube.Store
	names *awslbc.ServiceNames
}

// ALBWeights is the forward weights in effect at the load balancers at one virtual time.
type ALBWeights struct {
	T       Seconds          `json:"t"`
	Weights map[string]int32 `json:"weights"` // namespace/service → weight
}

// Callers name who calls ELBv2, so that calls and throttling are counted per controller.
const (
	CallerEngine = "rollouts-controller"
	CallerLBC    = "aws-load-balancer-controller"
)

func (w *World) startAWS(cfg AWSConfig) {
	sch := scheduler{w.Kernel}
	fake := elbv2.New(cfg.ELBv2, sch, w.Net, w.Kernel.Stream("elbv2"))
	lbc := awslbc.New(cfg.LBC, w.Cluster.Store, fake.WithCaller(CallerLBC), sch, w.Kernel.Stream(CallerLBC))
	w.Cluster.Store.AddAdmission(lbc.Admission())
	w.watchWithDelay(CallerLBC, cfg.LBCWatchDelay, lbc.OnChange)
	w.AWS = &AWS{ELB: fake, LBC: lbc, store: w.Cluster.Store, names: awslbc.NewServiceNames(w.Cluster.Store)}
	w.ELBv2 = fake.WithCaller(CallerEngine)
	w.watchSafety()
	lbc.OnEvent(func(e awslbc.Event) {
		w.tracef(CallerLBC, e.Object, "%s", e.String())
	})
	fake.OnChange(func(e elbv2.Event) {
		w.tracef("elbv2", e.ARN, "%s", e.String())
		if e.Kind == elbv2.EventConfigInEffect {
			w.AWS.recordWeights(w)
		}
	})
}

// recordWeights notes the weights in effect when they differ from the last ones noted.
func (a *AWS) recordWeights(w *World) {
	cur := a.InEffect()
	if n := len(a.Weights); n > 0 && equalWeights(a.Weights[n-1].Weights, cur) {
		return
	}
	a.Weights = append(a.Weights, ALBWeights{T: Seconds(w.Kernel.Elapsed()), Weights: cur})
}

// InEffect returns the weight each target group gets from the forward rules the data plane
// uses now, keyed by the Service it serves ("namespace/name"; the group's name when no binding
// says). A group in several rules keeps its largest weight.
func (a *AWS) InEffect() map[string]int32 {
	s := a.ELB.Snapshot()
	out := map[string]int32{}
	for _, lb := range s.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, r := range l.InEffect {
				for _, f := range r.Forward {
					if n := a.label(f.TargetGroupArn, s); f.Weight >= out[n] {
						out[n] = f.Weight
					}
				}
			}
		}
	}
	return out
}

// label names a target group by the Service its binding serves.
func (a *AWS) label(arn string, s elbv2.Snapshot) string { return a.names.Of(arn, s) }

// NotReady says why the load balancers cannot serve every request now ("" when they can): none
// exists, its listener rules are not all in effect, or a target group that rules in effect send
// traffic to has no healthy target.
func (a *AWS) NotReady() string {
	s := a.ELB.Snapshot()
	return s.NotReady(a.names.In(s))
}

// Shares is each Service's percentage of its forward rule from the rules in effect now.
func (a *AWS) Shares() map[string]int32 {
	s := a.ELB.Snapshot()
	return s.Shares(a.names.In(s))
}

func equalWeights(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// Serve sends one client request through the simulated ALB: the Frontend of ALB traffic.
func (a *AWS) Serve(host string, r *rand.Rand) Outcome {
	resp := a.ELB.Request(host, r)
	o := Outcome{Code: resp.Code, Version: resp.Version}
	if resp.TargetGroupArn != "" {
		if n, ok := a.names.Known(resp.TargetGroupArn); ok {
			o.Backend = n // most requests: no snapshot needed
		} else {
			o.Backend = a.label(resp.TargetGroupArn, a.ELB.Snapshot())
		}
	}
	return o
}
