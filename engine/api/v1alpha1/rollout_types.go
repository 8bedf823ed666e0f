package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The JSON tags in this package mirror Argo Rollouts field for field, omitempty included: the
// output must be byte-compatible with what Argo writes and what its users' tooling reads.

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Rollout replaces a Deployment with a canary or blue-green update strategy.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RolloutSpec   `json:"spec"`
	Status RolloutStatus `json:"status,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RolloutList is a list of Rollouts.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	Items []Rollout `json:"items"`
}

// RolloutSpec is the desired state of a Rollout.
type RolloutSpec struct {
	// Replicas is the desired pod count; nil means 1 (see Replicas()).
	Replicas *int32 `json:"replicas,omitempty"`
	// Selector must match the template's labels. Argo emits it even when nil, hence no omitempty.
	Selector *metav1.LabelSelector `json:"selector"`
	// Template is the pod template, as in a Deployment.
	Template corev1.PodTemplateSpec `json:"template"`
	// WorkloadRef points at a Deployment that provides the template. Decoded for compatibility;
	// rolloutlab rejects it in validation for now.
	WorkloadRef *ObjectRef `json:"workloadRef,omitempty"`
	// MinReadySeconds a new pod must be ready, without crashing, to count as available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RollbackWindow fast-tracks rollbacks to one of the last N revisions.
	RollbackWindow *RollbackWindowSpec `json:"rollbackWindow,omitempty"`
	// Strategy is the update strategy: exactly one of canary or blueGreen.
	Strategy RolloutStrategy `json:"strategy"`
	// RevisionHistoryLimit is how many old ReplicaSets to keep; nil means 10.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// Paused stops progress through the steps (scaling still happens).
	Paused bool `json:"paused,omitempty"`
	// ProgressDeadlineSeconds before an update without progress is reported failed; nil means 600.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// ProgressDeadlineAbort aborts the update when the progress deadline is exceeded.
	ProgressDeadlineAbort bool `json:"progressDeadlineAbort,omitempty"`
	// RestartAt asks for every pod created before this time to be restarted.
	RestartAt *metav1.Time `json:"restartAt,omitempty"`
	// Analysis limits how many finished AnalysisRuns and Experiments are kept.
	Analysis *AnalysisRunStrategy `json:"analysis,omitempty"`
}

// ObjectRef references the workload that provides the pod template.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	// ScaleDown is one of never, onsuccess, progressively.
	ScaleDown string `json:"scaleDown,omitempty"`
}

// RollbackWindowSpec is the number of recent revisions a rollback to which skips the steps.
type RollbackWindowSpec struct {
	Revisions int32 `json:"revisions,omitempty"`
}

// AnalysisRunStrategy bounds the history of AnalysisRuns and Experiments.
type AnalysisRunStrategy struct {
	SuccessfulRunHistoryLimit   *int32 `json:"successfulRunHistoryLimit,omitempty"`
	UnsuccessfulRunHistoryLimit *int32 `json:"unsuccessfulRunHistoryLimit,omitempty"`
}

// RolloutStrategy holds exactly one update strategy.
type RolloutStrategy struct {
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
	Canary    *CanaryStrategy    `json:"canary,omitempty"`
}

// PodTemplateMetadata is extra pod metadata applied only while pods hold a role (canary, stable,
// active, preview) and removed when they lose it.
type PodTemplateMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// AntiAffinity injects pod anti-affinity against the previous ReplicaSet; exactly one field is set.
type AntiAffinity struct {
	PreferredDuringSchedulingIgnoredDuringExecution *PreferredDuringSchedulingIgnoredDuringExecution `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
	RequiredDuringSchedulingIgnoredDuringExecution  *RequiredDuringSchedulingIgnoredDuringExecution  `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// PreferredDuringSchedulingIgnoredDuringExecution asks for soft anti-affinity with a weight in 1..100.
type PreferredDuringSchedulingIgnoredDuringExecution struct {
	Weight int32 `json:"weight"`
}

// RequiredDuringSchedulingIgnoredDuringExecution asks for hard anti-affinity; it has no parameters.
type RequiredDuringSchedulingIgnoredDuringExecution struct{}
