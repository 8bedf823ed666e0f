package v1alpha1

// Labels and annotations that Argo Rollouts puts on the objects it manages. Tools (Argo CD health
// checks, the kubectl plugin, dashboards) read them, so rolloutlab writes the very same keys.
const (
	// DefaultRolloutUniqueLabelKey is added to every ReplicaSet (and its pods and selector) a Rollout
	// creates, so old and new ReplicaSets never select each other's pods.
	DefaultRolloutUniqueLabelKey = "rollouts-pod-template-hash"

	// RevisionAnnotation records the rollout revision a ReplicaSet belongs to.
	RevisionAnnotation = "rollout.argoproj.io/revision"
	// DesiredReplicasAnnotation records spec.replicas on a ReplicaSet at the time it was scaled.
	DesiredReplicasAnnotation = "rollout.argoproj.io/desired-replicas"
	// EphemeralMetadataAnnotation records the canary/stable/active/preview metadata injected into a
	// ReplicaSet's pods, so it can be removed again when the role changes.
	EphemeralMetadataAnnotation = "rollout.argoproj.io/ephemeral-metadata"
	// DefaultReplicaSetScaleDownDeadlineAnnotationKey holds the time after which an old ReplicaSet may
	// be scaled down (scaleDownDelaySeconds).
	DefaultReplicaSetScaleDownDeadlineAnnotationKey = "scale-down-deadline"
	// ManagedByRolloutsKey marks services and routes that a Rollout edits but does not own.
	ManagedByRolloutsKey = "argo-rollouts.argoproj.io/managed-by-rollouts"
)

// PauseReason says why the controller paused a rollout.
type PauseReason string

const (
	// PauseReasonCanaryPauseStep is set by a canary `pause` step.
	PauseReasonCanaryPauseStep PauseReason = "CanaryPauseStep"
	// PauseReasonBlueGreenPause is set before promoting a blue-green preview.
	PauseReasonBlueGreenPause PauseReason = "BlueGreenPause"
	// PauseReasonInconclusiveAnalysis is set when an AnalysisRun ends Inconclusive.
	PauseReasonInconclusiveAnalysis PauseReason = "InconclusiveAnalysisRun"
	// PauseReasonInconclusiveExperiment is set when an Experiment ends Inconclusive.
	PauseReasonInconclusiveExperiment PauseReason = "InconclusiveExperiment"
)

// RolloutPhase summarises a rollout for humans and health checks.
type RolloutPhase string

const (
	RolloutPhaseHealthy     RolloutPhase = "Healthy"
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	RolloutPhasePaused      RolloutPhase = "Paused"
	RolloutPhaseDegraded    RolloutPhase = "Degraded"
)

// RolloutConditionType names a condition in status.conditions.
type RolloutConditionType string

const (
	// InvalidSpec: the spec failed validation; the rollout does not progress until it is fixed.
	InvalidSpec RolloutConditionType = "InvalidSpec"
	// RolloutAvailable: enough pods are available (minReadySeconds elapsed) behind the active/stable service.
	RolloutAvailable RolloutConditionType = "Available"
	// RolloutProgressing: an update is moving (or stuck past progressDeadlineSeconds).
	RolloutProgressing RolloutConditionType = "Progressing"
	// RolloutReplicaFailure: creating or deleting pods failed.
	RolloutReplicaFailure RolloutConditionType = "ReplicaFailure"
	// RolloutPaused: the rollout is paused, by a step or by a user.
	RolloutPaused RolloutConditionType = "Paused"
	// RolloutCompleted: the update reached the desired revision.
	RolloutCompleted RolloutConditionType = "Completed"
	// RolloutHealthy: completed and every pod is healthy.
	RolloutHealthy RolloutConditionType = "Healthy"
)

// PingPongType says which of the two ping-pong services currently plays the stable role.
type PingPongType string

const (
	PPPing PingPongType = "ping"
	PPPong PingPongType = "pong"
)

// AnalysisPhase is the phase of an AnalysisRun as echoed into the rollout status.
type AnalysisPhase string

const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Values of spec.workloadRef.scaleDown.
const (
	ScaleDownNever         = "never"
	ScaleDownOnSuccess     = "onsuccess"
	ScaleDownProgressively = "progressively"
)
