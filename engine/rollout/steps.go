package rollout

import (
	"fmt"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// CurrentStep returns the canary step at status.currentStepIndex and the index. The step is nil
// when there are no steps or all have run (the index is then len(steps), or nil without steps).
func CurrentStep(ro *v1alpha1.Rollout) (*v1alpha1.CanaryStep, *int32) {
	if ro.Spec.Strategy.Canary == nil || len(ro.Spec.Strategy.Canary.Steps) == 0 {
		return nil, nil
	}
	idx := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		idx = *ro.Status.CurrentStepIndex
	}
	steps := ro.Spec.Strategy.Canary.Steps
	if int(idx) >= len(steps) {
		return nil, &idx
	}
	return &steps[idx], &idx
}

// CurrentSetWeight is the canary weight the steps ask for now: 0 when aborted, the maximum weight
// once every step has run, else the last setWeight at or before the current step (0 if none).
func CurrentSetWeight(ro *v1alpha1.Rollout) int32 {
	if ro.Status.Abort {
		return 0
	}
	step, idx := CurrentStep(ro)
	if step == nil {
		return v1alpha1.MaxTrafficWeight(ro)
	}
	for i := *idx; i >= 0; i-- {
		if w := ro.Spec.Strategy.Canary.Steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// setCanaryScaleInEffect returns the setCanaryScale that sizes the canary now, if any: the latest
// one at or before the current step, unless a later matchTrafficWeight cancelled it. It only
// applies with traffic routing.
func setCanaryScaleInEffect(ro *v1alpha1.Rollout) *v1alpha1.SetCanaryScale {
	step, idx := CurrentStep(ro)
	if step == nil || ro.Spec.Strategy.Canary.TrafficRouting == nil {
		return nil
	}
	for i := *idx; i >= 0; i-- {
		scs := ro.Spec.Strategy.Canary.Steps[i].SetCanaryScale
		if scs == nil {
			continue
		}
		if scs.MatchTrafficWeight {
			return nil
		}
		return scs
	}
	return nil
}

// canaryReplicasOrWeight returns either a fixed canary replica count or the weight to size the
// canary by.
func canaryReplicasOrWeight(ro *v1alpha1.Rollout) (*int32, int32) {
	if ro.Status.PromoteFull || ro.Status.CurrentPodHash == ro.Status.StableRS {
		return nil, v1alpha1.MaxTrafficWeight(ro)
	}
	if scs := setCanaryScaleInEffect(ro); scs != nil {
		if scs.Replicas != nil {
			return scs.Replicas, 0
		}
		if scs.Weight != nil {
			return nil, *scs.Weight
		}
	}
	return nil, CurrentSetWeight(ro)
}

// StepString describes a step the way events and the CLI show it.
func StepString(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *s.SetWeight)
	case s.Pause != nil:
		if s.Pause.Duration != nil {
			return "pause: " + s.Pause.Duration.String()
		}
		return "pause"
	case s.Experiment != nil:
		return "experiment"
	case s.Analysis != nil:
		return "analysis"
	case s.SetCanaryScale != nil:
		switch scs := s.SetCanaryScale; {
		case scs.Weight != nil:
			return fmt.Sprintf("setCanaryScale{weight: %d}", *scs.Weight)
		case scs.MatchTrafficWeight:
			return "setCanaryScale{matchTrafficWeight: true}"
		case scs.Replicas != nil:
			return fmt.Sprintf("setCanaryScale{replicas: %d}", *scs.Replicas)
		}
	case s.SetHeaderRoute != nil:
		return "setHeaderRoute"
	case s.SetMirrorRoute != nil:
		return "setMirrorRoute"
	case s.Plugin != nil:
		return "plugin"
	}
	return "invalid"
}

// isIndefiniteStep: steps that may legitimately take longer than the progress deadline.
func isIndefiniteStep(ro *v1alpha1.Rollout) bool {
	step, _ := CurrentStep(ro)
	return step != nil && (step.Experiment != nil || step.Analysis != nil || step.Pause != nil)
}
