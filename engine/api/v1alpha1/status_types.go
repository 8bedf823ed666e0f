package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolloutStatus is the observed state of a Rollout, laid out exactly as Argo writes it.
type RolloutStatus struct {
	// Abort is set (by a user or the controller) to roll back to stable.
	Abort bool `json:"abort,omitempty"`
	// PauseConditions lists why the controller paused; users clear them to resume.
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause stays true after a user clears PauseConditions, telling a resume apart.
	ControllerPause bool `json:"controllerPause,omitempty"`
	// AbortedAt is when the controller handled the abort.
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// CurrentPodHash is the pod-template hash of the desired template.
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// CurrentStepHash detects edits to the list of steps.
	CurrentStepHash string `json:"currentStepHash,omitempty"`
	// Replicas is the number of non-terminated pods selected.
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas is the number of those with the desired template.
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// ReadyReplicas is the number of ready pods.
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas is the number of pods ready for at least minReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// CurrentStepIndex is the canary step being executed; equal to len(steps) when done.
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// CollisionCount disambiguates ReplicaSet names when pod-template hashes collide.
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// ObservedGeneration is metadata.generation as a decimal STRING, as in Argo.
	ObservedGeneration string             `json:"observedGeneration,omitempty"`
	Conditions         []RolloutCondition `json:"conditions,omitempty"`
	// Canary and BlueGreen are structs, so (as in Argo) they are always emitted.
	Canary    CanaryStatus    `json:"canary,omitempty"`
	BlueGreen BlueGreenStatus `json:"blueGreen,omitempty"`
	// HPAReplicas is the number of pods receiving active traffic; the scale subresource reads it.
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`
	// Selector (serialized) of the pods receiving active traffic, for the scale subresource.
	Selector string `json:"selector,omitempty"`
	// StableRS is the pod-template hash of the stable ReplicaSet.
	StableRS string `json:"stableRS,omitempty"`
	// RestartedAt is the last time spec.restartAt was honoured.
	RestartedAt *metav1.Time `json:"restartedAt,omitempty"`
	// PromoteFull skips the remaining steps, pauses and analyses.
	PromoteFull bool `json:"promoteFull,omitempty"`
	// Phase is only meaningful when ObservedGeneration matches metadata.generation.
	Phase   RolloutPhase `json:"phase,omitempty"`
	Message string       `json:"message,omitempty"`
	// WorkloadObservedGeneration is the observed generation of spec.workloadRef's target.
	WorkloadObservedGeneration string `json:"workloadObservedGeneration,omitempty"`
	// ALB and ALBs describe the load balancer and target groups (one or several ingresses).
	ALB  *ALBStatus  `json:"alb,omitempty"`
	ALBs []ALBStatus `json:"albs,omitempty"`
}

// PauseCondition is one reason for a pause and when it began.
type PauseCondition struct {
	Reason    PauseReason `json:"reason"`
	StartTime metav1.Time `json:"startTime"`
}

// RolloutCondition is one entry of status.conditions.
type RolloutCondition struct {
	Type               RolloutConditionType   `json:"type"`
	Status             corev1.ConditionStatus `json:"status"`
	LastUpdateTime     metav1.Time            `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time            `json:"lastTransitionTime"`
	Reason             string                 `json:"reason"`
	Message            string                 `json:"message"`
}

// CanaryStatus is the canary-only part of the status.
type CanaryStatus struct {
	CurrentStepAnalysisRunStatus       *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	CurrentExperiment                  string                    `json:"currentExperiment,omitempty"`
	// Weights are the weights last applied to the traffic router.
	Weights *TrafficWeights `json:"weights,omitempty"`
	// StablePingPong is which ping-pong service is currently stable.
	StablePingPong PingPongType `json:"stablePingPong,omitempty"`
}

// TrafficWeights is the traffic split last applied to the router.
type TrafficWeights struct {
	Canary     WeightDestination   `json:"canary"`
	Stable     WeightDestination   `json:"stable"`
	Additional []WeightDestination `json:"additional,omitempty"`
	// Verified reports whether the router confirmed the weights (ALB only).
	Verified *bool `json:"verified,omitempty"`
}

// WeightDestination is the weight sent to one service / ReplicaSet.
type WeightDestination struct {
	Weight          int32  `json:"weight"`
	ServiceName     string `json:"serviceName,omitempty"`
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// BlueGreenStatus is the blue-green-only part of the status.
type BlueGreenStatus struct {
	PreviewSelector string `json:"previewSelector,omitempty"`
	ActiveSelector  string `json:"activeSelector,omitempty"`
	// ScaleUpPreviewCheckPoint: the preview may be scaled to full size once resumed.
	ScaleUpPreviewCheckPoint       bool                      `json:"scaleUpPreviewCheckPoint,omitempty"`
	PrePromotionAnalysisRunStatus  *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
}

// RolloutAnalysisRunStatus echoes an AnalysisRun's name and phase.
type RolloutAnalysisRunStatus struct {
	Name    string        `json:"name"`
	Status  AnalysisPhase `json:"status"`
	Message string        `json:"message,omitempty"`
}

// ALBStatus describes the AWS resources behind one ALB ingress.
type ALBStatus struct {
	LoadBalancer      AwsResourceRef `json:"loadBalancer,omitempty"`
	CanaryTargetGroup AwsResourceRef `json:"canaryTargetGroup,omitempty"`
	StableTargetGroup AwsResourceRef `json:"stableTargetGroup,omitempty"`
	Ingress           string         `json:"ingress,omitempty"`
}

// AwsResourceRef identifies an AWS resource.
type AwsResourceRef struct {
	Name     string `json:"name"`
	ARN      string `json:"arn"`
	FullName string `json:"fullName"`
}
