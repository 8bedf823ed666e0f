package rollout

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/apisix"
	"github.com/rolloutlab/rolloutlab/engine/traffic/istio"
)

// RoutesThrough says whether a rollout's Istio routing names the VirtualService or
// DestinationRule, or its APISIX routing the ApisixRoute.
func RoutesThrough(ro *v1alpha1.Rollout, gvr schema.GroupVersionResource, ns, name string) bool {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return false
	}
	if gvr == ApisixRouteResource {
		if c.TrafficRouting.Apisix == nil || ro.Namespace != ns {
			return false
		}
		spec, err := apisix.NewSpec(ro)
		return err == nil && (spec.Route == name || spec.IsManaged(name))
	}
	if c.TrafficRouting.Istio == nil {
		return false
	}
	spec, err := istio.NewSpec(ro)
	if err != nil {
		return false
	}
	if gvr == DestinationRuleResource {
		return spec.DestinationRule != nil && spec.Namespace == ns && spec.DestinationRule.Name == name
	}
	for _, ref := range spec.VirtualServices {
		if ref.Namespace == ns && ref.Name == name {
			return true
		}
	}
	return false
}

// ReferencesTemplate says whether one of a rollout's analyses names the template directly.
func ReferencesTemplate(ro *v1alpha1.Rollout, name string, cluster bool) bool {
	var all []*v1alpha1.RolloutAnalysis
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		all = append(all, bg.PrePromotionAnalysis, bg.PostPromotionAnalysis)
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		if c.Analysis != nil {
			all = append(all, &c.Analysis.RolloutAnalysis)
		}
		for i := range c.Steps {
			all = append(all, c.Steps[i].Analysis)
		}
	}
	for _, a := range all {
		if a == nil {
			continue
		}
		for _, t := range a.Templates {
			if t.TemplateName == name && t.ClusterScope == cluster {
				return true
			}
		}
	}
	return false
}
