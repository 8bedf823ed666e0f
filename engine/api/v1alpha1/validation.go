package v1alpha1

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Messages worded as Argo Rollouts words them, so users who search for an error find Argo's docs
// and issues.
const (
	MissingFieldMessage                                        = "Rollout has missing field '%s'"
	InvalidSetWeightMessage                                    = "SetWeight needs to be between 0 and %d"
	InvalidCanaryExperimentTemplateWeightWithoutTrafficRouting = "Experiment template weight cannot be set unless TrafficRouting is enabled"
	InvalidSetCanaryScaleTrafficPolicy                         = "SetCanaryScale requires TrafficRouting to be set"
	InvalidSetHeaderRouteTrafficPolicy                         = "SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix"
	InvalidSetMirrorRouteTrafficPolicy                         = "SetMirrorRoute requires TrafficRouting, supports Istio only"
	InvalidStringMatchMultipleValuePolicy                      = "StringMatch match value must have exactly one of the following: exact, regex, prefix"
	InvalidStringMatchMissedValuePolicy                        = "StringMatch value missed, match value must have one of the following: exact, regex, prefix"
	InvalidSetHeaderRouteALBValuePolicy                        = "SetHeaderRoute match value invalid. ALB supports 'exact' value only"
	InvalidDurationMessage                                     = "Duration needs to be greater than 0"
	InvalidMaxSurgeMaxUnavailable                              = "MaxSurge and MaxUnavailable both can not be zero"
	InvalidStepMessage                                         = "Step must have one of the following set: experiment, setWeight, setCanaryScale or pause"
	InvalidStrategyMessage                                     = "Multiple Strategies can not be listed"
	DuplicatedServicesBlueGreenMessage                         = "This rollout uses the same service for the active and preview services, but two different services are required."
	DuplicatedServicesCanaryMessage                            = "This rollout uses the same service for the stable and canary services, but two different services are required."
	InvalidAntiAffinityStrategyMessage                         = "AntiAffinity must have exactly one strategy listed"
	InvalidAntiAffinityWeightMessage                           = "AntiAffinity weight must be between 1-100"
	ScaleDownLimitLargerThanRevisionLimit                      = "This rollout's revision history limit can not be smaller than the rollout's scale down limit"
	InvalidTrafficRoutingMessage                               = "Canary service and Stable service must to be set to use Traffic Routing"
	InvalidCanaryScaleDownDelay                                = "Canary scaleDownDelaySeconds can only be used with traffic routing"
	InvalidCanaryDynamicStableScale                            = "Canary dynamicStableScale can only be used with traffic routing"
	InvalidCanaryDynamicStableScaleWithScaleDownDelay          = "Canary dynamicStableScale cannot be used with scaleDownDelaySeconds"
	InvalidPingPongProvidedMessage                             = "Ping service and Pong service must to be set to use Ping-Pong feature"
	DuplicatedPingPongServicesMessage                          = "This rollout uses the same service for the ping and pong services, but two different services are required."
	MissedAlbRootServiceMessage                                = "Root service field is required for the configuration with ALB and ping-pong feature enabled"
	InvalidStepRouteNameNotFoundInManagedRoutes                = "Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes"
	InvalidVirtualServicesConfigMessage                        = "either VirtualService or VirtualServices must be configured"
	InvalidAlbIngressesBothMessage                             = "Either Ingress or Ingresses must be configured. Both are configured."
	InvalidAlbIngressesNeitherMessage                          = "Either Ingress or Ingresses must be configured. Neither are configured."
)

// Messages for rules Argo does not have, or words differently because rolloutlab supports a
// different set of features.
const (
	SelectorMismatchMessage         = "selector does not match template labels"
	EmptySelectorMessage            = "empty selector is invalid for deployment"
	WorkloadRefUnsupportedMessage   = "workloadRef is not supported yet by rolloutlab; inline the pod template in spec.template"
	UnsupportedRouterMessage        = "traffic router %q is not supported by rolloutlab (supported: istio, alb, apisix)"
	NoTrafficRouterMessage          = "trafficRouting must configure one of istio, alb or apisix"
	StepPluginUnsupportedMessage    = "step plugins are not supported by rolloutlab"
	MultipleStepTypesMessage        = "Step must have only one of the following set: setWeight, pause, experiment, analysis, plugin"
	InvalidSetCanaryScaleMessage    = "SetCanaryScale must have exactly one of the following set: weight, replicas, matchTrafficWeight"
	PingPongTrafficRoutingMessage   = "Ping-pong feature works with the ALB and Istio traffic routing only"
	MaxTrafficWeightALBMessage      = "Canary maxTrafficWeight is not supported with ALB traffic routing"
	ProgressDeadlineMessage         = "must be greater than minReadySeconds"
	IntOrPercentMessage             = "must be a non-negative integer or a percentage such as 25%"
	NonNegativeMessage              = "must be greater than or equal to 0"
	InvalidExperimentDurationFormat = "must be a duration such as 30s, 5m or 1h"
)

// ValidateRollout checks a Rollout's spec and returns every problem found, each with the path of
// the offending field (e.g. spec.strategy.canary.steps[3].setWeight). It only looks at the
// object itself; checks against referenced Services, Ingresses or VirtualServices belong to the
// controller.
func ValidateRollout(ro *Rollout) field.ErrorList {
	spec := &ro.Spec
	p := field.NewPath("spec")
	var errs field.ErrorList

	errs = append(errs, nonNegative(p.Child("replicas"), spec.Replicas)...)
	errs = append(errs, validatePodSource(spec, p)...)
	if spec.MinReadySeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("minReadySeconds"), spec.MinReadySeconds, NonNegativeMessage))
	}
	errs = append(errs, nonNegative(p.Child("revisionHistoryLimit"), spec.RevisionHistoryLimit)...)
	if pds := ProgressDeadlineSeconds(ro); pds <= spec.MinReadySeconds {
		errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), pds, ProgressDeadlineMessage))
	}
	errs = append(errs, validateStrategy(ro, p.Child("strategy"))...)
	return errs
}

// validatePodSource checks the selector and the template that it must select.
func validatePodSource(spec *RolloutSpec, p *field.Path) field.ErrorList {
	if spec.WorkloadRef != nil {
		// Without the referenced Deployment there is no template or selector to check.
		return field.ErrorList{field.Forbidden(p.Child("workloadRef"), WorkloadRefUnsupportedMessage)}
	}
	var errs field.ErrorList
	switch sel := spec.Selector; {
	case sel == nil:
		errs = append(errs, field.Required(p.Child("selector"), fmt.Sprintf(MissingFieldMessage, ".spec.selector")))
	case len(sel.MatchLabels)+len(sel.MatchExpressions) == 0:
		errs = append(errs, field.Invalid(p.Child("selector"), sel, EmptySelectorMessage))
	default:
		selErrs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))
		errs = append(errs, selErrs...)
		if len(selErrs) == 0 {
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err == nil && !s.Matches(labels.Set(spec.Template.Labels)) {
				errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), spec.Template.Labels, SelectorMismatchMessage))
			}
		}
	}
	if len(spec.Template.Spec.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("template", "spec", "containers"), "at least one container is required"))
	}
	return errs
}

func validateStrategy(ro *Rollout, p *field.Path) field.ErrorList {
	s := ro.Spec.Strategy
	switch {
	case s.BlueGreen == nil && s.Canary == nil:
		return field.ErrorList{field.Required(p, fmt.Sprintf(MissingFieldMessage, ".spec.strategy.canary or .spec.strategy.blueGreen"))}
	case s.BlueGreen != nil && s.Canary != nil:
		return field.ErrorList{field.Invalid(p, "blueGreen and canary", InvalidStrategyMessage)}
	case s.BlueGreen != nil:
		return validateBlueGreen(ro, p.Child("blueGreen"))
	default:
		return validateCanary(ro, p.Child("canary"))
	}
}

func validateBlueGreen(ro *Rollout, p *field.Path) field.ErrorList {
	bg := ro.Spec.Strategy.BlueGreen
	var errs field.ErrorList
	if bg.ActiveService == "" {
		errs = append(errs, field.Required(p.Child("activeService"), fmt.Sprintf(MissingFieldMessage, ".spec.strategy.blueGreen.activeService")))
	} else if bg.PreviewService == bg.ActiveService {
		errs = append(errs, field.Invalid(p.Child("previewService"), bg.PreviewService, DuplicatedServicesBlueGreenMessage))
	}
	errs = append(errs, validateIntOrPercent(p.Child("maxUnavailable"), bg.MaxUnavailable)...)
	errs = append(errs, nonNegative(p.Child("previewReplicaCount"), bg.PreviewReplicaCount)...)
	if bg.AutoPromotionSeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("autoPromotionSeconds"), bg.AutoPromotionSeconds, NonNegativeMessage))
	}
	errs = append(errs, nonNegative(p.Child("scaleDownDelaySeconds"), bg.ScaleDownDelaySeconds)...)
	errs = append(errs, nonNegative(p.Child("abortScaleDownDelaySeconds"), bg.AbortScaleDownDelaySeconds)...)
	errs = append(errs, validateScaleDownRevisionLimit(ro, p.Child("scaleDownDelayRevisionLimit"), bg.ScaleDownDelayRevisionLimit)...)
	errs = append(errs, validateAntiAffinity(bg.AntiAffinity, p.Child("antiAffinity"))...)
	if bg.PrePromotionAnalysis != nil {
		errs = append(errs, validateAnalysis(bg.PrePromotionAnalysis, p.Child("prePromotionAnalysis"))...)
	}
	if bg.PostPromotionAnalysis != nil {
		errs = append(errs, validateAnalysis(bg.PostPromotionAnalysis, p.Child("postPromotionAnalysis"))...)
	}
	return errs
}

func validateCanary(ro *Rollout, p *field.Path) field.ErrorList {
	c := ro.Spec.Strategy.Canary
	tr := c.TrafficRouting
	var errs field.ErrorList

	surgeErrs := validateIntOrPercent(p.Child("maxSurge"), c.MaxSurge)
	unavailableErrs := validateIntOrPercent(p.Child("maxUnavailable"), c.MaxUnavailable)
	errs = append(append(errs, surgeErrs...), unavailableErrs...)
	if surge := MaxSurgeValue(ro); len(surgeErrs)+len(unavailableErrs) == 0 && isZero(surge) && isZero(MaxUnavailableValue(ro)) {
		errs = append(errs, field.Invalid(p.Child("maxSurge"), surge.String(), InvalidMaxSurgeMaxUnavailable))
	}

	if c.CanaryService != "" && c.CanaryService == c.StableService {
		errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService, DuplicatedServicesCanaryMessage))
	}
	if c.PingPong != nil {
		errs = append(errs, validatePingPong(c, p)...)
	}

	if tr == nil {
		if c.ScaleDownDelaySeconds != nil {
			errs = append(errs, field.Invalid(p.Child("scaleDownDelaySeconds"), *c.ScaleDownDelaySeconds, InvalidCanaryScaleDownDelay))
		}
		if c.DynamicStableScale {
			errs = append(errs, field.Invalid(p.Child("dynamicStableScale"), c.DynamicStableScale, InvalidCanaryDynamicStableScale))
		}
	} else {
		if c.ScaleDownDelaySeconds != nil && c.DynamicStableScale {
			errs = append(errs, field.Invalid(p.Child("dynamicStableScale"), c.DynamicStableScale, InvalidCanaryDynamicStableScaleWithScaleDownDelay))
		}
		if requiresCanaryStableServices(c) {
			if c.StableService == "" {
				errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService, InvalidTrafficRoutingMessage))
			}
			if c.CanaryService == "" {
				errs = append(errs, field.Invalid(p.Child("canaryService"), c.CanaryService, InvalidTrafficRoutingMessage))
			}
		}
		errs = append(errs, validateTrafficRouting(tr, p.Child("trafficRouting"))...)
	}

	errs = append(errs, nonNegative(p.Child("scaleDownDelaySeconds"), c.ScaleDownDelaySeconds)...)
	errs = append(errs, nonNegative(p.Child("abortScaleDownDelaySeconds"), c.AbortScaleDownDelaySeconds)...)
	errs = append(errs, validateScaleDownRevisionLimit(ro, p.Child("scaleDownDelayRevisionLimit"), c.ScaleDownDelayRevisionLimit)...)
	errs = append(errs, nonNegative(p.Child("minPodsPerReplicaSet"), c.MinPodsPerReplicaSet)...)
	if c.ReplicaProgressThreshold != nil {
		errs = append(errs, validateReplicaProgressThreshold(c.ReplicaProgressThreshold, p.Child("replicaProgressThreshold"))...)
	}
	if c.Analysis != nil {
		errs = append(errs, validateAnalysis(&c.Analysis.RolloutAnalysis, p.Child("analysis"))...)
		errs = append(errs, nonNegative(p.Child("analysis", "startingStep"), c.Analysis.StartingStep)...)
	}
	errs = append(errs, validateAntiAffinity(c.AntiAffinity, p.Child("antiAffinity"))...)

	for i := range c.Steps {
		errs = append(errs, validateStep(ro, &c.Steps[i], p.Child("steps").Index(i))...)
	}
	return errs
}

// requiresCanaryStableServices reports routers that split traffic between two Services. Istio
// subset-level routing (destinationRule) uses one Service; ping-pong brings its own two.
func requiresCanaryStableServices(c *CanaryStrategy) bool {
	tr := c.TrafficRouting
	switch {
	case tr.ALB != nil && c.PingPong == nil:
		return true
	case tr.Istio != nil && tr.Istio.DestinationRule == nil && c.PingPong == nil:
		return true
	case tr.Apisix != nil:
		return true
	}
	return false
}

func validatePingPong(c *CanaryStrategy, p *field.Path) field.ErrorList {
	pp, tr := c.PingPong, c.TrafficRouting
	pingPath := p.Child("pingPong")
	var errs field.ErrorList
	if tr == nil || (tr.ALB == nil && tr.Istio == nil) {
		errs = append(errs, field.Invalid(pingPath, "", PingPongTrafficRoutingMessage))
	}
	if pp.PingService == "" {
		errs = append(errs, field.Invalid(pingPath.Child("pingService"), pp.PingService, InvalidPingPongProvidedMessage))
	}
	if pp.PongService == "" {
		errs = append(errs, field.Invalid(pingPath.Child("pongService"), pp.PongService, InvalidPingPongProvidedMessage))
	}
	if pp.PingService != "" && pp.PingService == pp.PongService {
		errs = append(errs, field.Invalid(pingPath.Child("pingService"), pp.PingService, DuplicatedPingPongServicesMessage))
	}
	if tr != nil && tr.ALB != nil && tr.ALB.RootService == "" {
		errs = append(errs, field.Invalid(p.Child("trafficRouting", "alb", "rootService"), "", MissedAlbRootServiceMessage))
	}
	return errs
}

func validateTrafficRouting(tr *RolloutTrafficRouting, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	unsupported := []struct {
		name string
		set  bool
	}{
		{"nginx", tr.Nginx != nil},
		{"smi", tr.SMI != nil},
		{"ambassador", tr.Ambassador != nil},
		{"appMesh", tr.AppMesh != nil},
		{"traefik", tr.Traefik != nil},
		{"plugins", tr.Plugins != nil},
	}
	anyUnsupported := false
	for _, r := range unsupported {
		if r.set {
			anyUnsupported = true
			errs = append(errs, field.Forbidden(p.Child(r.name), fmt.Sprintf(UnsupportedRouterMessage, r.name)))
		}
	}
	if tr.Istio == nil && tr.ALB == nil && tr.Apisix == nil && !anyUnsupported {
		errs = append(errs, field.Required(p, NoTrafficRouterMessage))
	}

	if tr.Istio != nil {
		errs = append(errs, validateIstio(tr.Istio, p.Child("istio"))...)
	}
	if alb := tr.ALB; alb != nil {
		ap := p.Child("alb")
		switch {
		case alb.Ingress != "" && len(alb.Ingresses) > 0:
			errs = append(errs, field.Invalid(ap, alb.Ingress, InvalidAlbIngressesBothMessage))
		case alb.Ingress == "" && len(alb.Ingresses) == 0:
			errs = append(errs, field.Invalid(ap, "", InvalidAlbIngressesNeitherMessage))
		}
		if alb.ServicePort < 1 || alb.ServicePort > 65535 {
			errs = append(errs, field.Invalid(ap.Child("servicePort"), alb.ServicePort, "must be between 1 and 65535"))
		}
		if tr.MaxTrafficWeight != nil {
			errs = append(errs, field.Invalid(p.Child("maxTrafficWeight"), *tr.MaxTrafficWeight, MaxTrafficWeightALBMessage))
		}
	}
	if ax := tr.Apisix; ax != nil {
		switch {
		case ax.Route == nil:
			errs = append(errs, field.Required(p.Child("apisix", "route"), "an ApisixRoute is required"))
		case ax.Route.Name == "":
			errs = append(errs, field.Required(p.Child("apisix", "route", "name"), "the ApisixRoute name is required"))
		}
	}

	if w := tr.MaxTrafficWeight; w != nil && *w <= 0 {
		errs = append(errs, field.Invalid(p.Child("maxTrafficWeight"), *w, "must be greater than 0"))
	}
	seen := map[string]bool{}
	for i, r := range tr.ManagedRoutes {
		np := p.Child("managedRoutes").Index(i).Child("name")
		switch {
		case r.Name == "":
			errs = append(errs, field.Required(np, "route name is required"))
		case seen[r.Name]:
			errs = append(errs, field.Duplicate(np, r.Name))
		}
		seen[r.Name] = true
	}
	return errs
}

func validateIstio(istio *IstioTrafficRouting, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if (istio.VirtualService == nil) == (len(istio.VirtualServices) == 0) {
		errs = append(errs, field.Invalid(p, "", InvalidVirtualServicesConfigMessage))
	}
	if vs := istio.VirtualService; vs != nil && vs.Name == "" {
		errs = append(errs, field.Required(p.Child("virtualService", "name"), "VirtualService name is required"))
	}
	for i, vs := range istio.VirtualServices {
		if vs.Name == "" {
			errs = append(errs, field.Required(p.Child("virtualServices").Index(i).Child("name"), "VirtualService name is required"))
		}
	}
	if dr := istio.DestinationRule; dr != nil {
		dp := p.Child("destinationRule")
		if dr.Name == "" {
			errs = append(errs, field.Required(dp.Child("name"), "DestinationRule name is required"))
		}
		if dr.CanarySubsetName == "" {
			errs = append(errs, field.Required(dp.Child("canarySubsetName"), "canary subset name is required"))
		}
		if dr.StableSubsetName == "" {
			errs = append(errs, field.Required(dp.Child("stableSubsetName"), "stable subset name is required"))
		}
		if dr.CanarySubsetName != "" && dr.CanarySubsetName == dr.StableSubsetName {
			errs = append(errs, field.Invalid(dp.Child("stableSubsetName"), dr.StableSubsetName, "canary and stable subsets must differ"))
		}
	}
	return errs
}

func validateStep(ro *Rollout, s *CanaryStep, p *field.Path) field.ErrorList {
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	var errs field.ErrorList

	primary := countSet(s.SetWeight != nil, s.Pause != nil, s.Experiment != nil, s.Analysis != nil, s.Plugin != nil)
	modifiers := countSet(s.SetCanaryScale != nil, s.SetHeaderRoute != nil, s.SetMirrorRoute != nil)
	if primary+modifiers == 0 {
		errs = append(errs, field.Invalid(p, "{}", InvalidStepMessage))
	}
	if primary > 1 {
		errs = append(errs, field.Invalid(p, fmt.Sprintf("setWeight: %t, pause: %t, experiment: %t, analysis: %t, plugin: %t",
			s.SetWeight != nil, s.Pause != nil, s.Experiment != nil, s.Analysis != nil, s.Plugin != nil), MultipleStepTypesMessage))
	}

	if s.SetWeight != nil {
		if maxWeight := MaxTrafficWeight(ro); *s.SetWeight < 0 || *s.SetWeight > maxWeight {
			errs = append(errs, field.Invalid(p.Child("setWeight"), *s.SetWeight, fmt.Sprintf(InvalidSetWeightMessage, maxWeight)))
		}
	}
	if s.Pause != nil && s.Pause.DurationSeconds() < 0 {
		errs = append(errs, field.Invalid(p.Child("pause", "duration"), s.Pause.Duration.String(), InvalidDurationMessage))
	}
	if s.Experiment != nil {
		errs = append(errs, validateExperimentStep(s.Experiment, tr, p.Child("experiment"))...)
	}
	if s.Analysis != nil {
		errs = append(errs, validateAnalysis(s.Analysis, p.Child("analysis"))...)
	}
	if s.Plugin != nil {
		errs = append(errs, field.Forbidden(p.Child("plugin"), StepPluginUnsupportedMessage))
	}
	if s.SetCanaryScale != nil {
		errs = append(errs, validateSetCanaryScale(s.SetCanaryScale, tr, p.Child("setCanaryScale"))...)
	}
	if s.SetHeaderRoute != nil {
		errs = append(errs, validateSetHeaderRoute(s.SetHeaderRoute, tr, p.Child("setHeaderRoute"))...)
	}
	if s.SetMirrorRoute != nil {
		errs = append(errs, validateSetMirrorRoute(s.SetMirrorRoute, tr, p.Child("setMirrorRoute"))...)
	}
	return errs
}

func validateSetCanaryScale(sc *SetCanaryScale, tr *RolloutTrafficRouting, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if tr == nil {
		errs = append(errs, field.Invalid(p, "", InvalidSetCanaryScaleTrafficPolicy))
	}
	if countSet(sc.Weight != nil, sc.Replicas != nil, sc.MatchTrafficWeight) != 1 {
		errs = append(errs, field.Invalid(p, fmt.Sprintf("weight: %t, replicas: %t, matchTrafficWeight: %t",
			sc.Weight != nil, sc.Replicas != nil, sc.MatchTrafficWeight), InvalidSetCanaryScaleMessage))
	}
	if sc.Weight != nil && (*sc.Weight < 0 || *sc.Weight > 100) {
		errs = append(errs, field.Invalid(p.Child("weight"), *sc.Weight, "must be between 0 and 100"))
	}
	errs = append(errs, nonNegative(p.Child("replicas"), sc.Replicas)...)
	return errs
}

func validateSetHeaderRoute(hr *SetHeaderRoute, tr *RolloutTrafficRouting, p *field.Path) field.ErrorList {
	if tr == nil || (tr.Istio == nil && tr.ALB == nil && tr.Apisix == nil) {
		return field.ErrorList{field.Invalid(p, hr.Name, InvalidSetHeaderRouteTrafficPolicy)}
	}
	errs := validateManagedRouteName(hr.Name, tr, p.Child("name"))
	for j, m := range hr.Match {
		mp := p.Child("match").Index(j)
		if m.HeaderName == "" {
			errs = append(errs, field.Required(mp.Child("headerName"), "header name is required"))
		}
		if tr.ALB != nil {
			errs = append(errs, validateALBHeaderValue(m.HeaderValue, mp.Child("headerValue"))...)
		} else {
			errs = append(errs, validateStringMatch(m.HeaderValue, mp.Child("headerValue"))...)
		}
	}
	return errs
}

func validateSetMirrorRoute(mr *SetMirrorRoute, tr *RolloutTrafficRouting, p *field.Path) field.ErrorList {
	if tr == nil || tr.Istio == nil {
		return field.ErrorList{field.Invalid(p, mr.Name, InvalidSetMirrorRouteTrafficPolicy)}
	}
	errs := validateManagedRouteName(mr.Name, tr, p.Child("name"))
	for j, m := range mr.Match {
		mp := p.Child("match").Index(j)
		if m.Method != nil {
			errs = append(errs, validateStringMatch(m.Method, mp.Child("method"))...)
		}
		if m.Path != nil {
			errs = append(errs, validateStringMatch(m.Path, mp.Child("path"))...)
		}
		for name, v := range m.Headers {
			errs = append(errs, validateStringMatch(&v, mp.Child("headers").Key(name))...)
		}
	}
	if pc := mr.Percentage; pc != nil && (*pc < 0 || *pc > 100) {
		errs = append(errs, field.Invalid(p.Child("percentage"), *pc, "must be between 0 and 100"))
	}
	return errs
}

// validateManagedRouteName checks that a header/mirror step names a route listed in
// trafficRouting.managedRoutes: only those routes are created and later cleaned up.
func validateManagedRouteName(name string, tr *RolloutTrafficRouting, p *field.Path) field.ErrorList {
	for _, r := range tr.ManagedRoutes {
		if r.Name == name && name != "" {
			return nil
		}
	}
	return field.ErrorList{field.Invalid(p, name, InvalidStepRouteNameNotFoundInManagedRoutes)}
}

func validateStringMatch(m *StringMatch, p *field.Path) field.ErrorList {
	if m == nil {
		return field.ErrorList{field.Invalid(p, nil, InvalidStringMatchMissedValuePolicy)}
	}
	switch countSet(m.Exact != "", m.Regex != "", m.Prefix != "") {
	case 0:
		return field.ErrorList{field.Invalid(p, *m, InvalidStringMatchMissedValuePolicy)}
	case 1:
		return nil
	default:
		return field.ErrorList{field.Invalid(p, *m, InvalidStringMatchMultipleValuePolicy)}
	}
}

// validateALBHeaderValue: ALB listener conditions only compare header values for equality.
func validateALBHeaderValue(m *StringMatch, p *field.Path) field.ErrorList {
	if m == nil {
		return field.ErrorList{field.Invalid(p, nil, InvalidStringMatchMissedValuePolicy)}
	}
	if m.Exact == "" || m.Regex != "" || m.Prefix != "" {
		return field.ErrorList{field.Invalid(p, *m, InvalidSetHeaderRouteALBValuePolicy)}
	}
	return nil
}

func validateExperimentStep(e *RolloutExperimentStep, tr *RolloutTrafficRouting, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(e.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("templates"), "at least one template is required"))
	}
	for i, t := range e.Templates {
		if t.Weight != nil && tr == nil {
			errs = append(errs, field.Invalid(p.Child("templates").Index(i).Child("weight"), *t.Weight, InvalidCanaryExperimentTemplateWeightWithoutTrafficRouting))
		}
	}
	if e.Duration != "" {
		if _, err := time.ParseDuration(string(e.Duration)); err != nil {
			errs = append(errs, field.Invalid(p.Child("duration"), e.Duration, InvalidExperimentDurationFormat))
		}
	}
	return errs
}

func validateAnalysis(a *RolloutAnalysis, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(a.Templates) == 0 {
		errs = append(errs, field.Required(p.Child("templates"), "at least one analysis template is required"))
	}
	for i, t := range a.Templates {
		if t.TemplateName == "" {
			errs = append(errs, field.Required(p.Child("templates").Index(i).Child("templateName"), "template name is required"))
		}
	}
	for i, arg := range a.Args {
		if arg.Name == "" {
			errs = append(errs, field.Required(p.Child("args").Index(i).Child("name"), "argument name is required"))
		}
	}
	return errs
}

func validateAntiAffinity(aa *AntiAffinity, p *field.Path) field.ErrorList {
	if aa == nil {
		return nil
	}
	var errs field.ErrorList
	preferred, required := aa.PreferredDuringSchedulingIgnoredDuringExecution, aa.RequiredDuringSchedulingIgnoredDuringExecution
	if (preferred == nil) == (required == nil) {
		errs = append(errs, field.Invalid(p, fmt.Sprintf("preferred: %t, required: %t", preferred != nil, required != nil), InvalidAntiAffinityStrategyMessage))
	}
	if preferred != nil && (preferred.Weight < 1 || preferred.Weight > 100) {
		errs = append(errs, field.Invalid(p.Child("preferredDuringSchedulingIgnoredDuringExecution", "weight"), preferred.Weight, InvalidAntiAffinityWeightMessage))
	}
	return errs
}

func validateReplicaProgressThreshold(t *ReplicaProgressThreshold, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch t.Type {
	case ProgressTypePercent:
		if t.Value > 100 {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, "a percentage must be between 0 and 100"))
		}
	case ProgressTypePod, ProgressTypePods:
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), t.Type, []ProgressType{ProgressTypePercent, ProgressTypePod}))
	}
	if t.Value < 0 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value, NonNegativeMessage))
	}
	return errs
}

func validateScaleDownRevisionLimit(ro *Rollout, p *field.Path, limit *int32) field.ErrorList {
	if limit == nil {
		return nil
	}
	if *limit < 0 {
		return field.ErrorList{field.Invalid(p, *limit, NonNegativeMessage)}
	}
	if *limit > RevisionHistoryLimit(ro) {
		return field.ErrorList{field.Invalid(p, *limit, ScaleDownLimitLargerThanRevisionLimit)}
	}
	return nil
}

func validateIntOrPercent(p *field.Path, v *intstr.IntOrString) field.ErrorList {
	if v == nil {
		return nil
	}
	if _, err := ResolveIntOrPercent(*v, 100, false); err != nil {
		return field.ErrorList{field.Invalid(p, v.String(), IntOrPercentMessage)}
	}
	return nil
}

func nonNegative(p *field.Path, v *int32) field.ErrorList {
	if v != nil && *v < 0 {
		return field.ErrorList{field.Invalid(p, *v, NonNegativeMessage)}
	}
	return nil
}

// isZero reports an int-or-percent that resolves to nothing whatever the replica count.
func isZero(v intstr.IntOrString) bool {
	n, err := ResolveIntOrPercent(v, 100, true)
	return err == nil && n == 0
}

func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}
