package rollout

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

const (
	reasonTrafficWeightUpdated = "TrafficWeightUpdated"
	reasonTrafficRoutingError  = "TrafficRoutingError"
	reasonPatchingALBIngress   = "PatchingALBIngress"
)

// reconcileTrafficRouting sets the router's weights for where the update is, records them in the
// status and, with verification, checks AWS applied them. The weight moves only as the canary
// becomes available, and never away from a stable that cannot carry its share.
func (d *decision) reconcileTrafficRouting() {
	c := d.ro.Spec.Strategy.Canary
	if c.TrafficRouting == nil {
		d.newStatus.Canary.Weights = nil
		return
	}
	desired := d.desiredWeight()
	maxW := v1alpha1.MaxTrafficWeight(d.ro)
	n := d.replicas()
	if d.stableRS == nil {
		return // no stable yet: nothing to split
	}
	if need := int32(math.Floor(float64(maxW-desired) * float64(n) / float64(maxW))); available(d.stableRS) < need && !d.fullyPromoted() {
		// The stable cannot carry its share yet (dynamic stable scaling): leave the router alone.
		return
	}
	canaryHash, stableHash := podHash(d.newRS), podHash(d.stableRS)
	stableSvc, canarySvc := stableAndCanaryServices(d.ro, true)
	if spec := c.TrafficRouting.ALB; spec != nil {
		if err := d.setALBWeight(spec, canarySvc, stableSvc, desired); err != nil {
			d.plan.warn(reasonTrafficRoutingError, "%v", err)
			d.plan.Err = err
			return
		}
	}
	istioInEffect := true
	if c.TrafficRouting.Istio != nil {
		stableSvc, canarySvc = stableAndCanaryServices(d.ro, false)
		var err error
		if istioInEffect, err = d.setIstioWeight(desired, canaryHash, stableHash); err != nil {
			d.plan.warn(reasonTrafficRoutingError, "%v", err)
			d.plan.Err = err
			return
		}
		if prev := d.ro.Status.Canary.Weights; !istioInEffect && prev != nil && prev.Canary.Weight == desired && prev.Verified != nil {
			d.plan.warn(reasonIstioWeightNotInEffect, "VirtualService weights differ from the canary weight %d (changed outside the rollout?): setting them again", desired)
		}
	}
	apisixInEffect := true
	if c.TrafficRouting.Apisix != nil {
		var err error
		if apisixInEffect, err = d.setApisixWeight(desired); err != nil {
			d.plan.warn(reasonTrafficRoutingError, "%v", err)
			d.plan.Err = err
			return
		}
		if prev := d.ro.Status.Canary.Weights; !apisixInEffect && prev != nil && prev.Canary.Weight == desired && prev.Verified != nil {
			d.plan.warn(reasonApisixWeightNotInEffect, "ApisixRoute weights differ from the canary weight %d (changed outside the rollout?): setting them again", desired)
		}
	}
	weights := &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: desired, PodTemplateHash: canaryHash, ServiceName: canarySvc},
		Stable: v1alpha1.WeightDestination{Weight: maxW - desired, PodTemplateHash: stableHash, ServiceName: stableSvc},
	}
	prev := d.ro.Status.Canary.Weights
	if prev == nil || prev.Canary != weights.Canary || prev.Stable != weights.Stable || !reflect.DeepEqual(prev.Additional, weights.Additional) {
		d.plan.event(reasonTrafficWeightUpdated, "Traffic weight updated %s", weightChange(prev, weights))
		d.newStatus.Canary.Weights = weights
	} else {
		d.newStatus.Canary.Weights = prev.DeepCopy()
	}
	if (c.TrafficRouting.Istio != nil || c.TrafficRouting.Apisix != nil) && d.shouldVerifyWeight(desired) {
		// Read back: the step completes once the stored VirtualServices (ApisixRoute) carry the weight.
		inEffect := istioInEffect && apisixInEffect
		d.newStatus.Canary.Weights.Verified = &inEffect
		if !inEffect && desired == maxW {
			d.holdPromotion = true
		}
	} else if spec := c.TrafficRouting.ALB; spec != nil && d.shouldVerifyWeight(desired) {
		verified := d.verifyWeights(spec, canarySvc, stableSvc, desired)
		d.newStatus.Canary.Weights.Verified = verified
		if verified != nil && !*verified && desired == maxW {
			// The final shift is not in effect in AWS: the new version must not become stable.
			d.holdPromotion = true
		}
	} else {
		d.newStatus.Canary.Weights.Verified = nil
	}
}

func weightChange(prev, next *v1alpha1.TrafficWeights) string {
	var parts []string
	if prev == nil {
		parts = append(parts, fmt.Sprintf("to %d", next.Canary.Weight))
	} else if prev.Canary.Weight != next.Canary.Weight {
		parts = append(parts, fmt.Sprintf("from %d to %d", prev.Canary.Weight, next.Canary.Weight))
	}
	return strings.Join(parts, ", ")
}

// shouldVerifyWeight: mid-update at a setWeight step, or shifting everything to the canary.
func (d *decision) shouldVerifyWeight(desired int32) bool {
	if d.ro.Status.StableRS == "" || d.fullyPromoted() {
		return false
	}
	step, _ := CurrentStep(d.ro)
	return (step != nil && step.SetWeight != nil) || desired == v1alpha1.MaxTrafficWeight(d.ro)
}

// desiredWeight is the canary's traffic weight for where the update is.
func (d *decision) desiredWeight() int32 {
	c := d.ro.Spec.Strategy.Canary
	maxW := v1alpha1.MaxTrafficWeight(d.ro)
	n := d.replicas()
	recorded := int32(0)
	if w := d.ro.Status.Canary.Weights; w != nil {
		recorded = w.Canary.Weight
	}
	switch {
	case d.fullyPromoted():
		return 0
	case d.aborted():
		if c.DynamicStableScale && d.stableRS != nil && n > 0 {
			return min(maxW-maxW*available(d.stableRS)/n, recorded)
		}
		return 0
	case d.newRS == nil || available(d.newRS) == 0:
		return 0
	case d.ro.Status.PromoteFull:
		if c.DynamicStableScale && n > 0 {
			return maxW * available(d.newRS) / n
		}
		return recorded
	}
	_, idx := CurrentStep(d.ro)
	if idx == nil {
		return maxW
	}
	if !atDesiredCanaryCounts(d.ro, d.newRS, d.stableRS, d.otherRSs) {
		// The canary is not ready for this step's weight: keep the previous step's.
		for i := *idx - 1; i >= 0; i-- {
			if w := c.Steps[i].SetWeight; w != nil {
				return *w
			}
		}
		return 0
	}
	if int(*idx) < len(c.Steps) {
		return CurrentSetWeight(d.ro)
	}
	return maxW
}

// setALBWeight plans the annotation patches that make every Ingress split traffic by weight.
func (d *decision) setALBWeight(spec *v1alpha1.ALBTrafficRouting, canarySvc, stableSvc string, weight int32) error {
	for _, name := range alb.Ingresses(spec) {
		ing := d.in.Ingresses[name]
		if ing == nil {
			return fmt.Errorf("ingress %q not found", name)
		}
		changes, err := alb.SetWeight(ing, d.ro.Name, spec, canarySvc, stableSvc, weight)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			continue
		}
		d.plan.add(Action{Kind: PatchIngress, Name: name, Patch: alb.PatchOf(changes), PatchType: types.MergePatchType,
			Events: []Event{{Type: "Normal", Reason: reasonPatchingALBIngress, Message: fmt.Sprintf("Updating Ingress `%s` to desiredWeight '%d'", name, weight)}}})
	}
	return nil
}
