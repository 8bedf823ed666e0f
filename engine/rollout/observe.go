package rollout

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Observed is everything one reconcile reads, gathered before anything is decided.
type Observed struct {
	Rollout *v1alpha1.Rollout
	// Config is the controller's configuration.
	Config Config
	// ReplicaSets are the ReplicaSets the rollout controls.
	ReplicaSets []*appsv1.ReplicaSet
	// TakenNames are names of ReplicaSets in the namespace the rollout does not control.
	TakenNames map[string]bool
	// Services holds the Services the rollout references that exist, by name.
	Services map[string]*corev1.Service
	// Ingresses holds the ALB Ingresses the rollout routes through that exist, by name.
	Ingresses map[string]*networkingv1.Ingress
	// AWS is what AWS says about those load balancers and target groups; nil when the controller
	// does not verify target groups or nothing needed verifying.
	AWS *AWSState
	// VirtualServices ("namespace/name") and the DestinationRule the rollout routes through with
	// Istio, as stored; missing ones are absent.
	VirtualServices map[string]*unstructured.Unstructured
	DestinationRule *unstructured.Unstructured
	// ApisixRoutes are the rollout's ApisixRoute and the header routes named in managedRoutes,
	// by name (all in the rollout's namespace), as stored; missing ones are absent.
	ApisixRoutes map[string]*unstructured.Unstructured
	Now          time.Time
	// Pods are the pods of the rollout's ReplicaSets, listed from the API server only while a
	// restart is pending (RestartPending): the controller keeps no cache of pods.
	Pods []*corev1.Pod

	// AnalysisRuns are the AnalysisRuns the rollout controls; TakenAnalysisRunNames the names of
	// the namespace's other runs.
	AnalysisRuns          []*v1alpha1.AnalysisRun
	TakenAnalysisRunNames map[string]bool
	// AnalysisTemplates and ClusterAnalysisTemplates are the templates the rollout's analyses
	// reference (and those they reference), by name, those that exist.
	AnalysisTemplates        map[string]*v1alpha1.AnalysisTemplate
	ClusterAnalysisTemplates map[string]*v1alpha1.ClusterAnalysisTemplate
}

// revision reads the rollout.argoproj.io/revision annotation (0 when absent or malformed).
func revision(annotations map[string]string) int64 {
	v, err := strconv.ParseInt(annotations[v1alpha1.RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func maxRevision(rss []*appsv1.ReplicaSet) (m int64) {
	for _, rs := range rss {
		m = max(m, revision(rs.Annotations))
	}
	return m
}

func podHash(rs *appsv1.ReplicaSet) string {
	if rs == nil {
		return ""
	}
	return rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// byCreation sorts ReplicaSets oldest first, by name on ties.
func byCreation(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		a, b := rss[i].CreationTimestamp, rss[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return rss[i].Name < rss[j].Name
	})
}

// findNewRS returns the ReplicaSet running the rollout's current template: by hash first, then
// (for ReplicaSets hashed by another implementation) by comparing templates without the hash label.
func findNewRS(ro *v1alpha1.Rollout, hash string, rss []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	for _, rs := range rss {
		if podHash(rs) == hash {
			return rs
		}
	}
	for _, rs := range rss {
		live := rs.Spec.Template.DeepCopy()
		delete(live.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		want := ro.Spec.Template.DeepCopy()
		if want.Labels == nil {
			want.Labels = map[string]string{}
		}
		if len(live.Labels) == 0 {
			live.Labels = map[string]string{}
		}
		stripEphemeral(live, rs)
		if apiequality.Semantic.DeepEqual(live, want) {
			return rs
		}
	}
	return nil
}

// stripEphemeral removes the canary/stable metadata the controller injected into a ReplicaSet's
// template (recorded in its ephemeral-metadata annotation) before templates are compared.
func stripEphemeral(tmpl *corev1.PodTemplateSpec, rs *appsv1.ReplicaSet) {
	raw, ok := rs.Annotations[v1alpha1.EphemeralMetadataAnnotation]
	if !ok {
		return
	}
	var md v1alpha1.PodTemplateMetadata
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return
	}
	for k := range md.Labels {
		delete(tmpl.Labels, k)
	}
	for k := range md.Annotations {
		delete(tmpl.Annotations, k)
	}
	if len(tmpl.Annotations) == 0 {
		tmpl.Annotations = nil
	}
}
