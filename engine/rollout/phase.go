package rollout

import (
	"fmt"
	"strconv"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Phase computes status.phase and status.message from spec and status; the first rule that
// matches wins: Degraded, then Paused, then Progressing, then Healthy.
func Phase(spec v1alpha1.RolloutSpec, st v1alpha1.RolloutStatus) (v1alpha1.RolloutPhase, string) {
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", v1alpha1.InvalidSpec, c.Message)
		}
		if c.Reason == ReasonRolloutAborted || c.Reason == ReasonTimedOut {
			return v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	if spec.Paused {
		return v1alpha1.RolloutPhasePaused, "manually paused"
	}
	if len(st.PauseConditions) > 0 {
		return v1alpha1.RolloutPhasePaused, string(st.PauseConditions[0].Reason)
	}
	if spec.RestartAt != nil && (st.RestartedAt == nil || !spec.RestartAt.Equal(st.RestartedAt)) {
		return v1alpha1.RolloutPhaseProgressing, "rollout is restarting"
	}
	replicas := int32(1)
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	if st.UpdatedReplicas < replicas {
		return v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	}
	if st.AvailableReplicas < st.UpdatedReplicas {
		return v1alpha1.RolloutPhaseProgressing, "updated replicas are still becoming available"
	}
	fullyPromoted := st.StableRS != "" && st.StableRS == st.CurrentPodHash
	if bg := spec.Strategy.BlueGreen; bg != nil {
		if st.BlueGreen.ActiveSelector == "" || st.BlueGreen.ActiveSelector != st.CurrentPodHash {
			return v1alpha1.RolloutPhaseProgressing, "active service cutover pending"
		}
		if !fullyPromoted {
			if bg.PostPromotionAnalysis != nil && (st.BlueGreen.PostPromotionAnalysisRunStatus == nil || !analysisCompleted(st.BlueGreen.PostPromotionAnalysisRunStatus.Status)) {
				return v1alpha1.RolloutPhaseProgressing, "waiting for analysis to complete"
			}
			return v1alpha1.RolloutPhaseProgressing, "waiting for post-promotion verification to complete"
		}
	} else if c := spec.Strategy.Canary; c != nil {
		if c.TrafficRouting == nil && st.Replicas > st.UpdatedReplicas {
			return v1alpha1.RolloutPhaseProgressing, "old replicas are pending termination"
		}
		if !fullyPromoted {
			return v1alpha1.RolloutPhaseProgressing, "waiting for all steps to complete"
		}
	}
	return v1alpha1.RolloutPhaseHealthy, ""
}

// ObservedPhase is the phase as a client should show it: Progressing while the controller has not
// yet seen the latest spec or a resume, else status.phase.
func ObservedPhase(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	if gen, err := strconv.ParseInt(ro.Status.ObservedGeneration, 10, 64); err == nil && gen < ro.Generation {
		return v1alpha1.RolloutPhaseProgressing, "waiting for rollout spec update to be observed"
	}
	if ro.Status.ObservedGeneration == "" && ro.Generation > 0 {
		return v1alpha1.RolloutPhaseProgressing, "waiting for rollout spec update to be observed"
	}
	if ro.Status.ControllerPause && len(ro.Status.PauseConditions) == 0 {
		return v1alpha1.RolloutPhaseProgressing, "waiting for rollout to unpause"
	}
	if ro.Status.Phase != "" {
		return ro.Status.Phase, ro.Status.Message
	}
	return Phase(ro.Spec, ro.Status)
}

func analysisCompleted(p v1alpha1.AnalysisPhase) bool {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
		return true
	}
	return false
}
