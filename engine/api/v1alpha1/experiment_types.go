package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RolloutExperimentStep starts an Experiment for the duration of a canary step. rolloutlab decodes
// and validates it; running experiments is not implemented yet.
type RolloutExperimentStep struct {
	Templates []RolloutExperimentTemplate `json:"templates" patchStrategy:"merge" patchMergeKey:"name"`
	// Duration such as "30s", "5m", "1h"; empty means until the analyses finish.
	Duration DurationString                             `json:"duration,omitempty"`
	Analyses []RolloutExperimentStepAnalysisTemplateRef `json:"analyses,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	DryRun   []DryRun                                   `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// AnalysisRunMetadata is copied onto the experiment's AnalysisRuns.
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
	// ScaleDownDelaySeconds before the experiment's ReplicaSets are scaled down.
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
}

// DurationString is a Go duration string ("30s", "5m", "1h").
type DurationString string

// RolloutExperimentTemplate is one ReplicaSet of an experiment.
type RolloutExperimentTemplate struct {
	Name string `json:"name"`
	// SpecRef copies the pod template from the canary or the stable ReplicaSet.
	SpecRef  ReplicaSetSpecRef   `json:"specRef"`
	Replicas *int32              `json:"replicas,omitempty"`
	Metadata PodTemplateMetadata `json:"metadata,omitempty"`
	// Selector overrides the rollout's selector for this ReplicaSet.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Weight is the share of traffic the template gets (traffic routing only).
	Weight *int32 `json:"weight,omitempty"`
	// Service, when set, creates a Service for the template's pods.
	Service *TemplateService `json:"service,omitempty"`
}

// TemplateService names the Service generated for an experiment template.
type TemplateService struct {
	Name string `json:"name,omitempty"`
}

// ReplicaSetSpecRef selects where an experiment template takes its pod spec from.
type ReplicaSetSpecRef string

const (
	CanarySpecRef ReplicaSetSpecRef = "canary"
	StableSpecRef ReplicaSetSpecRef = "stable"
)

// RolloutExperimentStepAnalysisTemplateRef runs an analysis template as part of an experiment.
type RolloutExperimentStepAnalysisTemplateRef struct {
	Name         string                `json:"name"`
	TemplateName string                `json:"templateName"`
	ClusterScope bool                  `json:"clusterScope,omitempty"`
	Args         []AnalysisRunArgument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// RequiredForCompletion keeps the experiment running until this analysis completes.
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}
