package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/aws"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// verifyRetry is how soon an unverified target group is checked again (Argo's 10 s).
const verifyRetry = 10 * time.Second

// endpointsRetry is how soon verification looks again when the Service's Endpoints do not show
// the new version yet: the endpoints controller usually catches up within a second, and the
// controller does not watch Endpoints.
const endpointsRetry = time.Second

// AWSState is what AWS said during the observe phase: the load balancer behind each ALB Ingress
// (for weight verification) and the registrations behind a Service (for target verification).
type AWSState struct {
	// LoadBalancers by Ingress name; a nil value: the Ingress has no load balancer (yet).
	LoadBalancers map[string]*aws.LoadBalancer
	WeightsErr    error
	// TargetsService is the Service whose target groups were checked ("" when none were).
	TargetsService string
	Registrations  []aws.Registration
	TargetsErr     error
	// TargetsNotReady says why the registrations cannot be checked yet, though the Service is
	// behind a target group: its selector switch is not observed yet, or its Endpoints still
	// list pods of another version. Argo reads the Endpoints in the reconcile that switches the
	// selector, sees the old pods (registered long ago) and calls that verified; rolloutlab waits.
	TargetsNotReady string
}

// albSpec is the rollout's ALB routing, if any.
func albSpec(ro *v1alpha1.Rollout) *v1alpha1.ALBTrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return c.TrafficRouting.ALB
	}
	return nil
}

func albIngresses(spec *v1alpha1.ALBTrafficRouting) []string { return alb.Ingresses(spec) }

// observeAWS asks AWS what the decision will need, and only that: the listener weights while a
// weight is being verified, the registrations behind the stable (canary) or active (blue-green)
// Service right after it switched. Argo limits these calls the same way: they cost API quota.
func (r *Reconciler) observeAWS(ctx context.Context, in *Observed) error {
	ro := in.Rollout
	st := &AWSState{}
	if spec := albSpec(ro); spec != nil && needsWeightVerification(ro) {
		st.LoadBalancers = map[string]*aws.LoadBalancer{}
		for _, name := range alb.Ingresses(spec) {
			ing := in.Ingresses[name]
			if ing == nil {
				continue
			}
			lb, err := r.loadBalancerOf(ctx, ingressHostname(ing))
			if err != nil {
				st.WeightsErr = err
				break
			}
			st.LoadBalancers[name] = lb
		}
	}
	if svc := targetsToVerify(ro, in.Services, in.ReplicaSets); svc != nil {
		st.TargetsService = svc.Name
		st.Registrations, st.TargetsNotReady, st.TargetsErr = r.registrations(ctx, in, svc)
		if st.Registrations == nil && st.TargetsNotReady == "" && st.TargetsErr == nil {
			st.TargetsService = "" // not behind a load balancer: nothing to verify
		}
	}
	if st.LoadBalancers != nil || st.TargetsService != "" {
		in.AWS = st
	}
	return nil
}

func (r *Reconciler) loadBalancerOf(ctx context.Context, hostname string) (*aws.LoadBalancer, error) {
	if hostname == "" {
		return nil, nil
	}
	lb, err := aws.FindLoadBalancer(ctx, r.deps.ELBv2, hostname)
	if err != nil || lb == nil {
		return nil, err
	}
	return aws.DescribeLoadBalancer(ctx, r.deps.ELBv2, lb, r.cfg.ALBTagKeyResourceID)
}

// registrations reads what AWS has registered behind svc, once svc selects the new version and
// its Endpoints list only that version's pods; until then it says what it waits for.
func (r *Reconciler) registrations(ctx context.Context, in *Observed, svc *corev1.Service) ([]aws.Registration, string, error) {
	bindings, err := r.deps.Reader.TargetGroupBindings(svc.Namespace)
	if err != nil {
		return nil, "", err
	}
	if len(aws.BindingsFor(svc, bindings)) == 0 {
		return nil, "", nil // not behind a load balancer: nothing to verify
	}
	desired := in.Rollout.Status.CurrentPodHash
	if svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] != desired {
		return nil, fmt.Sprintf("its selector does not select %s yet", desired), nil
	}
	ep, err := r.deps.Reader.Endpoints(svc.Namespace, svc.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, "", err
	}
	if why := staleEndpoints(ep, in.Rollout.Name+"-"+desired+"-"); why != "" {
		return nil, why, nil
	}
	regs, err := aws.Registrations(ctx, r.deps.ELBv2, svc, ep, bindings)
	return regs, "", err
}

// staleEndpoints says why Endpoints do not (yet) show the pods of the new version, whose names
// start with prefix: none listed, or a pod of another version still listed.
func staleEndpoints(ep *corev1.Endpoints, prefix string) string {
	n := 0
	if ep != nil {
		for _, s := range ep.Subsets {
			for _, a := range s.Addresses {
				if a.TargetRef != nil && a.TargetRef.Kind == "Pod" && !strings.HasPrefix(a.TargetRef.Name, prefix) {
					return fmt.Sprintf("its Endpoints still list pod %s", a.TargetRef.Name)
				}
				n++
			}
		}
	}
	if n == 0 {
		return "its Endpoints list no ready pod yet"
	}
	return ""
}

// ingressHostname is the DNS name the load balancer controller published for an Ingress.
func ingressHostname(ing *networkingv1.Ingress) string {
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.Hostname != "" {
			return lb.Hostname
		}
	}
	return ""
}

// needsWeightVerification: mid-update, at a setWeight step or at the end of the steps (the final
// shift to 100% must be seen in AWS before the new version becomes stable), or once to fill in
// status.alb.
func needsWeightVerification(ro *v1alpha1.Rollout) bool {
	if ro.Status.ALB == nil && len(ro.Status.ALBs) == 0 {
		return true
	}
	if ro.Status.StableRS == "" || ro.Status.StableRS == ro.Status.CurrentPodHash {
		return false
	}
	step, idx := CurrentStep(ro)
	return (step != nil && step.SetWeight != nil) || (step == nil && idx != nil) || ro.Status.PromoteFull
}

// targetsToVerify is the Service whose target groups must have the new pods registered now, or nil:
// for an ALB canary the stable Service once it switched to the new version (before the old one
// scales down), or mid-update the canary Service while an intermediate version still runs (before
// that one scales down: its pods leave the canary target group only when the new ones are
// registered there); for blue-green the active Service once it switched (before the new version
// is marked stable).
func targetsToVerify(ro *v1alpha1.Rollout, services map[string]*corev1.Service, rss []*appsv1.ReplicaSet) *corev1.Service {
	desired := ro.Status.CurrentPodHash
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		svc := services[bg.ActiveService]
		if svc == nil || desired == "" || ro.Status.StableRS == "" || ro.Status.StableRS == desired ||
			ro.Status.BlueGreen.PostPromotionAnalysisRunStatus != nil {
			return nil
		}
		return svc
	}
	if albSpec(ro) == nil || desired == "" {
		return nil
	}
	stable, canary := stableAndCanaryServices(ro, true)
	if ro.Status.StableRS == desired {
		return services[stable]
	}
	for _, rs := range rss {
		if h := podHash(rs); h != desired && h != ro.Status.StableRS && specReplicas(rs) > 0 {
			return services[canary]
		}
	}
	return nil
}

// stableAndCanaryServices names the Services that play stable and canary; with ping-pong the
// roles alternate between the ping and pong Services (ALB prefers ping-pong when both are set).
func stableAndCanaryServices(ro *v1alpha1.Rollout, pingPongPreferred bool) (string, string) {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return "", ""
	}
	if pp := c.PingPong; pp != nil && (pingPongPreferred || (c.StableService == "" && c.CanaryService == "")) {
		if ro.Status.Canary.StablePingPong == v1alpha1.PPPing {
			return pp.PingService, pp.PongService
		}
		return pp.PongService, pp.PingService
	}
	return c.StableService, c.CanaryService
}

// targetsVerified says whether the registrations observed are complete (and healthy, if asked),
// emitting Argo's events. Without verification, or without bindings, it is true.
func (d *decision) targetsVerified() bool {
	st := d.in.AWS
	if !d.in.Config.VerifyTargetGroup || st == nil || st.TargetsService == "" {
		return true
	}
	if st.TargetsErr != nil {
		d.plan.warn(reasonTGVerifyError, "Failed to verify Service %s: %v", st.TargetsService, st.TargetsErr)
		d.plan.requeue(verifyRetry)
		return false
	}
	if st.TargetsNotReady != "" {
		d.plan.requeue(endpointsRetry)
		return false
	}
	for _, reg := range st.Registrations {
		missing := reg.Missing(d.in.Config.VerifyTargetHealth)
		if len(missing) > 0 {
			d.plan.warn(reasonTGUnverified, "Service %s (TargetGroup %s) not verified: %d/%d endpoints %s",
				st.TargetsService, reg.TargetGroupARN, len(reg.Want)-len(missing), len(reg.Want), d.verifiedWord())
			d.plan.requeue(verifyRetry)
			return false
		}
	}
	for _, reg := range st.Registrations {
		d.plan.event(reasonTGVerified, "Service %s (TargetGroup %s) verified: %d endpoints %s",
			st.TargetsService, reg.TargetGroupARN, len(reg.Want), d.verifiedWord())
	}
	return true
}

func (d *decision) verifiedWord() string {
	if d.in.Config.VerifyTargetHealth {
		return "registered and healthy"
	}
	return "registered"
}

// verifyWeights compares the canary weight AWS has in its listener rules with the desired one,
// for every Ingress, and records what it found in status.alb(s). It returns nil when it did not
// verify (verification off or not needed now).
func (d *decision) verifyWeights(spec *v1alpha1.ALBTrafficRouting, canarySvc, stableSvc string, desired int32) *bool {
	st := d.in.AWS
	if !d.in.Config.VerifyTargetGroup || st == nil || st.LoadBalancers == nil {
		return nil
	}
	verified := false
	if st.WeightsErr != nil {
		d.plan.warn(reasonWeightVerifyError, "Failed to verify weight: %v", st.WeightsErr)
		d.plan.requeue(verifyRetry)
		return &verified
	}
	count := 0
	var statuses []v1alpha1.ALBStatus
	port := spec.ServicePort
	for _, name := range alb.Ingresses(spec) {
		lb := st.LoadBalancers[name]
		if lb == nil {
			host := ""
			if ing := d.in.Ingresses[name]; ing != nil {
				host = ingressHostname(ing)
			}
			if host == "" {
				d.plan.warn(reasonLBNotFound, "Failed to find load balancer: LoadBalancer not yet allocated for Ingress %s", name)
			} else {
				d.plan.warn(reasonLBNotFound, "Failed to find load balancer: %s", host)
			}
			continue
		}
		canaryTG := lb.TargetGroups[alb.ResourceID(d.ro.Namespace, name, canarySvc, port)]
		stableTG := lb.TargetGroups[alb.ResourceID(d.ro.Namespace, name, stableSvc, port)]
		statuses = append(statuses, v1alpha1.ALBStatus{
			Ingress:           name,
			LoadBalancer:      v1alpha1.AwsResourceRef{Name: lb.Name, ARN: lb.ARN, FullName: lb.FullName},
			CanaryTargetGroup: v1alpha1.AwsResourceRef{Name: canaryTG.Name, ARN: canaryTG.ARN, FullName: canaryTG.FullName},
			StableTargetGroup: v1alpha1.AwsResourceRef{Name: stableTG.Name, ARN: stableTG.ARN, FullName: stableTG.FullName},
		})
		if canaryTG.ARN == "" {
			continue
		}
		current := int32(0)
		if canaryTG.Weight != nil {
			current = *canaryTG.Weight
		}
		if current == desired {
			count++
			d.plan.event(reasonTGVerified, "Service %s (TargetGroup %s) verified: canary weight %d set", canarySvc, canaryTG.ARN, desired)
		} else {
			d.plan.warn(reasonTGUnverified, "Service %s (TargetGroup %s) not verified: canary weight %d not yet set (current: %d)", canarySvc, canaryTG.ARN, desired, current)
		}
	}
	if spec.Ingress != "" {
		if len(statuses) > 0 {
			d.newStatus.ALB = &statuses[0]
		}
	} else {
		d.newStatus.ALBs = statuses
	}
	verified = count == len(alb.Ingresses(spec))
	if !verified {
		d.plan.requeue(verifyRetry)
	}
	return &verified
}

// Event reasons of target-group verification.
const (
	reasonTGVerified        = "TargetGroupVerified"
	reasonTGUnverified      = "TargetGroupUnverified"
	reasonTGVerifyError     = "TargetGroupVerifyError"
	reasonWeightVerifyError = "WeightVerifyError"
	reasonLBNotFound        = "LoadBalancerNotFound"
)
