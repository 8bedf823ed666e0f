package v1alpha1

import "k8s.io/apimachinery/pkg/util/intstr"

// BlueGreenStrategy runs the new version beside the old one behind a preview service and switches
// the active service over in one step.
type BlueGreenStrategy struct {
	// ActiveService receives production traffic. Required.
	ActiveService string `json:"activeService"`
	// PreviewService, when set, points at the new version before promotion.
	PreviewService string `json:"previewService,omitempty"`
	// PreviewReplicaCount runs fewer pods for the preview; the rest are added on promotion.
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`
	// AutoPromotionEnabled promotes without a pause; nil means true.
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`
	// AutoPromotionSeconds delays automatic promotion after the preview is fully available.
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`
	// MaxUnavailable pods while scaling; an absolute count or a percentage (default 25%).
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// ScaleDownDelaySeconds before the previous ReplicaSet is scaled down; nil means 30.
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old ReplicaSets wait for their delay.
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// PrePromotionAnalysis must succeed before the active service is switched.
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`
	// AntiAffinity between the new and the previous ReplicaSet.
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// PostPromotionAnalysis runs after the switch; failure switches back.
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
	// PreviewMetadata is put on pods while they are the preview.
	PreviewMetadata *PodTemplateMetadata `json:"previewMetadata,omitempty"`
	// ActiveMetadata is put on pods while they are active.
	ActiveMetadata *PodTemplateMetadata `json:"activeMetadata,omitempty"`
	// AbortScaleDownDelaySeconds before the preview is scaled down after an abort; nil means 30,
	// 0 means never.
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}
