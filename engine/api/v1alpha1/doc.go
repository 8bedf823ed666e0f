// Package v1alpha1 holds the argoproj.io/v1alpha1 API that rolloutlab serves: the Rollout and the
// analysis kinds (AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun), with JSON identical to
// Argo Rollouts, so existing manifests run unchanged.
//
// zz_generated.deepcopy.go is generated; after changing a type, regenerate it from the module root with:
//
//	go tool deepcopy-gen --go-header-file /dev/null --output-file zz_generated.deepcopy.go ./engine/api/v1alpha1
//
// +k8s:deepcopy-gen=package
// +groupName=argoproj.io
package v1alpha1
