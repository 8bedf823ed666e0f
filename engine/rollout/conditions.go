package rollout

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Condition reasons and event reasons, spelled as Argo Rollouts spells them: dashboards, CI scripts
// and `kubectl wait` match on these strings.
const (
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonAvailable            = "AvailableReason"
	ReasonReplicaSetUpdated    = "ReplicaSetUpdated"
	ReasonNewReplicaSetCreated = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet   = "FoundNewReplicaSet"
	ReasonNewRSAvailable       = "NewReplicaSetAvailable"
	ReasonRSNotAvailable       = "ReplicaSetNotAvailable"
	ReasonTimedOut             = "ProgressDeadlineExceeded"
	ReasonRolloutAborted       = "RolloutAborted"
	ReasonRolloutRetry         = "RolloutRetry"
	ReasonRolloutPaused        = "RolloutPaused"
	ReasonRolloutResumed       = "RolloutResumed"
	ReasonRolloutCompleted     = "RolloutCompleted"
	ReasonRolloutNotCompleted  = "RolloutNotCompleted"
	ReasonRolloutHealthy       = "RolloutHealthy"
	ReasonRolloutUpdated       = "RolloutUpdated"
	ReasonStepCompleted        = "RolloutStepCompleted"
	ReasonScalingReplicaSet    = "ScalingReplicaSet"
	ReasonSwitchService        = "SwitchService"
	ReasonSkipSteps            = "SkipSteps"
	ReasonRSCreateError        = "ReplicaSetCreateError"
)

// Condition and event messages (Argo's texts).
const (
	msgAvailable          = "Rollout has minimum availability"
	msgNotAvailable       = "Rollout does not have minimum availability"
	msgRSProgressing      = "ReplicaSet %q is progressing."
	msgRSCompleted        = "ReplicaSet %q has successfully progressed."
	msgRSTimedOut         = "ReplicaSet %q has timed out progressing."
	msgNewRS              = "Created new replica set %q"
	msgNewRSEvent         = "Created ReplicaSet %s (revision %d)"
	msgAborted            = "Rollout aborted update to revision %d"
	msgRetry              = "Retrying Rollout after abort"
	msgPaused             = "Rollout is paused"
	msgResumed            = "Rollout is resumed"
	msgHealthy            = "Rollout is healthy"
	msgNotHealthy         = "Rollout is not healthy"
	msgCompleted          = "Rollout completed update to revision %d (%s): %s"
	msgNotCompleted       = "Rollout not completed, started update to revision %d (%s)"
	msgUpdated            = "Rollout updated to revision %d"
	msgStepCompleted      = "Rollout step %d/%d completed (%s)"
	msgScaling            = "Scaled %s ReplicaSet %s (revision %d) from %d to %d"
	msgSwitchService      = "Switched selector for service '%s' from '%s' to '%s'"
	msgInvalidSpec        = "The Rollout %q is invalid: %s"
	msgSkipStepsRollback  = "Rollback to stable ReplicaSets"
	msgRolloutPausedEvent = "Rollout is paused (%s)"
)

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t.UTC().Truncate(time.Second)) }

func newCondition(t v1alpha1.RolloutConditionType, s corev1.ConditionStatus, reason, msg string, now time.Time) v1alpha1.RolloutCondition {
	ts := metaTime(now)
	return v1alpha1.RolloutCondition{Type: t, Status: s, Reason: reason, Message: msg, LastUpdateTime: ts, LastTransitionTime: ts}
}

func getCondition(st v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			c := st.Conditions[i]
			return &c
		}
	}
	return nil
}

// setCondition records c unless a condition of that type with the same status and reason is
// already there; the transition time survives when only the reason changes. Reports a change.
func setCondition(st *v1alpha1.RolloutStatus, c v1alpha1.RolloutCondition) bool {
	cur := getCondition(*st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return false
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, c.Type)
	st.Conditions = append(st.Conditions, c)
	return true
}

func removeCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) {
	var kept []v1alpha1.RolloutCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}
