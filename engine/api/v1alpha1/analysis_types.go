package v1alpha1

// RolloutAnalysis describes the AnalysisRun a rollout creates: which templates to combine and the
// arguments to pass them.
type RolloutAnalysis struct {
	Templates []RolloutAnalysisTemplate `json:"templates,omitempty" patchStrategy:"merge" patchMergeKey:"templateName"`
	Args      []AnalysisRunArgument     `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// DryRun metrics are measured but never fail the run.
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// MeasurementRetention overrides how many measurements are kept per metric.
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// AnalysisRunMetadata is copied onto the AnalysisRun. A struct, so Argo always emits it.
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// RolloutAnalysisBackground is a canary analysis that runs beside the steps.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// StartingStep is the step index at which the background analysis starts (default 0).
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// RolloutAnalysisTemplate references an AnalysisTemplate, or a ClusterAnalysisTemplate when
// ClusterScope is set.
type RolloutAnalysisTemplate struct {
	TemplateName string `json:"templateName"`
	ClusterScope bool   `json:"clusterScope,omitempty"`
}

// AnalysisRunArgument is a template argument: a literal Value or one taken ValueFrom the rollout.
type AnalysisRunArgument struct {
	Name      string             `json:"name"`
	Value     string             `json:"value,omitempty"`
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ArgumentValueFrom takes an argument from a pod-template hash or a rollout field.
type ArgumentValueFrom struct {
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	FieldRef             *FieldRef                 `json:"fieldRef,omitempty"`
}

// FieldRef selects a field of the Rollout, e.g. metadata.labels['region'].
type FieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// ValueFromPodTemplateHash picks whose pod-template hash an argument receives.
type ValueFromPodTemplateHash string

const (
	// Stable is the stable ReplicaSet's hash.
	Stable ValueFromPodTemplateHash = "Stable"
	// Latest is the newest ReplicaSet's hash.
	Latest ValueFromPodTemplateHash = "Latest"
)

// DryRun names a metric evaluated in dry-run mode.
type DryRun struct {
	MetricName string `json:"metricName"`
}

// MeasurementRetention keeps Limit measurements for the named metric.
type MeasurementRetention struct {
	MetricName string `json:"metricName"`
	Limit      int32  `json:"limit"`
}

// AnalysisRunMetadata is extra metadata for the AnalysisRuns a rollout creates.
type AnalysisRunMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
