package controller

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// Changes wake the rollouts sim/engine.go wakes.
func TestChangesMapToRolloutKeys(t *testing.T) {
	c := newCluster(t)
	ctrl, err := New(c.clients(), c.options(&eventLog{}))
	if err != nil {
		t.Fatal(err)
	}
	canary := guideRollout("ns", "canary", nil)
	canary.Spec.Strategy.Canary.StableService = "stable"
	canary.Spec.Strategy.Canary.CanaryService = "canary-svc"
	canary.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{
		ALB:   &v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80},
		Istio: &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "vs.mesh"}},
	}
	canary.Spec.Strategy.Canary.Steps = append(canary.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{
		Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "success-rate"}}}})
	bg := guideRollout("ns", "bg", nil)
	bg.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "active",
		PrePromotionAnalysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "smoke", ClusterScope: true}}}}}
	other := guideRollout("other", "canary", nil)
	for _, ro := range []*v1alpha1.Rollout{canary, bg, other} {
		if err := ctrl.informers.rollouts.GetIndexer().Add(ro); err != nil {
			t.Fatal(err)
		}
	}
	owned := func(kind, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "ns", Name: name + "-x", OwnerReferences: []metav1.OwnerReference{
			{Kind: kind, Name: name, Controller: ptr.To(true)}}}
	}
	route := func(kind, ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	for _, tc := range []struct {
		what    string
		fn      func(any, bool)
		obj     any
		deleted bool
		want    []string
	}{
		{"rollout", ctrl.onRollout, canary, false, []string{"ns/canary"}},
		{"deleted ALB rollout", ctrl.onRollout, cache.DeletedFinalStateUnknown{Key: "ns/canary", Obj: canary}, true,
			[]string{"ingress:ns/web", "ns/canary"}},
		{"owned ReplicaSet", ctrl.onReplicaSet, &appsv1.ReplicaSet{ObjectMeta: owned("Rollout", "bg")}, false, []string{"ns/bg"}},
		{"Deployment's ReplicaSet", ctrl.onReplicaSet, &appsv1.ReplicaSet{ObjectMeta: owned("Deployment", "bg")}, false, nil},
		{"stable Service", ctrl.onService, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "stable"}}, false,
			[]string{"ns/canary"}},
		{"deleted managed Service", ctrl.onService, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "old",
			Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: "bg"}}}, true, []string{"ns/bg"}},
		{"unrelated Service", ctrl.onService, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"}}, false, nil},
		{"Ingress", ctrl.onIngress, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}, false,
			[]string{"ingress:ns/web", "ns/canary"}},
		{"VirtualService in another namespace", ctrl.onRoute(rollout.VirtualServiceResource), route("VirtualService", "mesh", "vs"), false,
			[]string{"ns/canary"}},
		{"unrelated VirtualService", ctrl.onRoute(rollout.VirtualServiceResource), route("VirtualService", "ns", "vs"), false, nil},
		{"AnalysisRun", ctrl.onAnalysisRun, &v1alpha1.AnalysisRun{ObjectMeta: owned("Rollout", "canary")}, false, []string{"ns/canary"}},
		{"AnalysisTemplate", ctrl.onTemplate(false), &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "success-rate"}}, false,
			[]string{"ns/canary"}},
		{"ClusterAnalysisTemplate", ctrl.onTemplate(true), &v1alpha1.ClusterAnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: "smoke"}}, false,
			[]string{"ns/bg"}},
	} {
		if h := handler(tc.fn); tc.deleted {
			h.OnDelete(tc.obj)
		} else {
			h.OnUpdate(nil, tc.obj)
		}
		var got []string
		for ctrl.queue.Len() > 0 {
			k, _ := ctrl.queue.Get()
			got = append(got, k)
			ctrl.queue.Done(k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: queued %v, want %v", tc.what, got, tc.want)
		}
	}
	if n := ctrl.analysis.queue.Len(); n != 1 {
		t.Errorf("analysis queue holds %d runs, want the one that changed", n)
	}
}
