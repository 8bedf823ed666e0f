package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group shared with Argo Rollouts, so kubectl, Argo CD and the Argo kubectl
// plugin see rolloutlab objects as ordinary Rollouts.
const GroupName = "argoproj.io"

// SchemeGroupVersion is the group/version every type in this package is registered under.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

var (
	// RolloutGVR addresses Rollouts through dynamic clients, informers and REST paths.
	RolloutGVR = SchemeGroupVersion.WithResource("rollouts")
	// RolloutGVK identifies a Rollout in manifests and owner references.
	RolloutGVK = SchemeGroupVersion.WithKind("Rollout")

	// AnalysisRunGVR addresses AnalysisRuns.
	AnalysisRunGVR = SchemeGroupVersion.WithResource("analysisruns")
	// AnalysisRunGVK identifies an AnalysisRun.
	AnalysisRunGVK = SchemeGroupVersion.WithKind("AnalysisRun")
	// AnalysisTemplateGVR addresses AnalysisTemplates.
	AnalysisTemplateGVR = SchemeGroupVersion.WithResource("analysistemplates")
	// AnalysisTemplateGVK identifies an AnalysisTemplate.
	AnalysisTemplateGVK = SchemeGroupVersion.WithKind("AnalysisTemplate")
	// ClusterAnalysisTemplateGVR addresses ClusterAnalysisTemplates (cluster-scoped).
	ClusterAnalysisTemplateGVR = SchemeGroupVersion.WithResource("clusteranalysistemplates")
	// ClusterAnalysisTemplateGVK identifies a ClusterAnalysisTemplate.
	ClusterAnalysisTemplateGVK = SchemeGroupVersion.WithKind("ClusterAnalysisTemplate")
)

var (
	// SchemeBuilder collects the functions that register this package's types.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers Rollout, AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun
	// (each with its List, and the meta types they need) in a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource qualifies a resource name with this package's group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// Kind qualifies a kind with this package's group.
func Kind(kind string) schema.GroupKind {
	return SchemeGroupVersion.WithKind(kind).GroupKind()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Rollout{}, &RolloutList{},
		&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{},
		&AnalysisRun{}, &AnalysisRunList{},
	)
	// Registers ListOptions, DeleteOptions, WatchEvent... for this version so clients can encode
	// query parameters and decode watch streams.
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
