package v1alpha1

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Valid starting points; each validation case breaks exactly one rule of one of them.

func basicCanary() *Rollout {
	return &Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns"},
		Spec: RolloutSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "demo"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo", "tier": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "demo", Image: "demo:1"}}},
			},
			Strategy: RolloutStrategy{Canary: &CanaryStrategy{
				Steps: []CanaryStep{{SetWeight: ptr.To[int32](20)}, {Pause: &RolloutPause{}}},
			}},
		},
	}
}

func istioCanary() *Rollout {
	ro := basicCanary()
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "demo-canary", "demo-stable"
	c.TrafficRouting = &RolloutTrafficRouting{
		Istio:         &IstioTrafficRouting{VirtualService: &IstioVirtualService{Name: "demo-vsvc", Routes: []string{"primary"}}},
		ManagedRoutes: []ManagedRoute{{Name: "header"}, {Name: "mirror"}},
	}
	return ro
}

func albCanary() *Rollout {
	ro := basicCanary()
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "demo-canary", "demo-stable"
	c.TrafficRouting = &RolloutTrafficRouting{
		ALB:           &ALBTrafficRouting{Ingress: "demo-ingress", ServicePort: 80},
		ManagedRoutes: []ManagedRoute{{Name: "header"}},
	}
	return ro
}

func apisixCanary() *Rollout {
	ro := basicCanary()
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "demo-canary", "demo-stable"
	c.TrafficRouting = &RolloutTrafficRouting{Apisix: &ApisixTrafficRouting{Route: &ApisixRoute{Name: "demo-route"}}}
	return ro
}

func blueGreen() *Rollout {
	ro := basicCanary()
	ro.Spec.Strategy = RolloutStrategy{BlueGreen: &BlueGreenStrategy{ActiveService: "demo-active", PreviewService: "demo-preview"}}
	return ro
}

func canaryOf(ro *Rollout) *CanaryStrategy { return ro.Spec.Strategy.Canary }

func addStep(ro *Rollout, s CanaryStep) {
	canaryOf(ro).Steps = append(canaryOf(ro).Steps, s)
}

func opaque(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

func hasError(errs field.ErrorList, path, substr string) bool {
	for _, e := range errs {
		if e.Field == path && strings.Contains(e.Error(), substr) {
			return true
		}
	}
	return false
}

func TestBaseRolloutsAreValid(t *testing.T) {
	for name, ro := range map[string]*Rollout{
		"basic": basicCanary(), "istio": istioCanary(), "alb": albCanary(), "apisix": apisixCanary(), "blueGreen": blueGreen(),
	} {
		if errs := ValidateRollout(ro); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

// TestValidationRules has one case per rule: removing the rule makes its case fail.
func TestValidationRules(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Rollout
		mutate func(*Rollout)
		path   string
		msg    string
	}{
		// Top level.
		{"negative replicas", basicCanary, func(ro *Rollout) { ro.Spec.Replicas = ptr.To[int32](-1) },
			"spec.replicas", NonNegativeMessage},
		{"workloadRef unsupported", basicCanary, func(ro *Rollout) {
			ro.Spec.WorkloadRef = &ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "d"}
		}, "spec.workloadRef", "workloadRef is not supported yet"},
		{"selector required", basicCanary, func(ro *Rollout) { ro.Spec.Selector = nil },
			"spec.selector", "Rollout has missing field '.spec.selector'"},
		{"empty selector", basicCanary, func(ro *Rollout) { ro.Spec.Selector = &metav1.LabelSelector{} },
			"spec.selector", EmptySelectorMessage},
		{"malformed selector", basicCanary, func(ro *Rollout) {
			ro.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}
		}, "spec.selector.matchExpressions[0].operator", "not a valid selector operator"},
		{"selector does not match template", basicCanary, func(ro *Rollout) { ro.Spec.Template.Labels["app"] = "other" },
			"spec.template.metadata.labels", SelectorMismatchMessage},
		{"containers required", basicCanary, func(ro *Rollout) { ro.Spec.Template.Spec.Containers = nil },
			"spec.template.spec.containers", "at least one container"},
		{"negative minReadySeconds", basicCanary, func(ro *Rollout) { ro.Spec.MinReadySeconds = -1 },
			"spec.minReadySeconds", NonNegativeMessage},
		{"negative revisionHistoryLimit", basicCanary, func(ro *Rollout) { ro.Spec.RevisionHistoryLimit = ptr.To[int32](-1) },
			"spec.revisionHistoryLimit", NonNegativeMessage},
		{"progress deadline not above minReadySeconds", basicCanary, func(ro *Rollout) { ro.Spec.MinReadySeconds = 600 },
			"spec.progressDeadlineSeconds", ProgressDeadlineMessage},
		{"strategy required", basicCanary, func(ro *Rollout) { ro.Spec.Strategy = RolloutStrategy{} },
			"spec.strategy", "Rollout has missing field"},
		{"two strategies", basicCanary, func(ro *Rollout) { ro.Spec.Strategy.BlueGreen = blueGreen().Spec.Strategy.BlueGreen },
			"spec.strategy", InvalidStrategyMessage},

		// Blue-green.
		{"activeService required", blueGreen, func(ro *Rollout) { ro.Spec.Strategy.BlueGreen.ActiveService = "" },
			"spec.strategy.blueGreen.activeService", "Rollout has missing field"},
		{"preview equals active", blueGreen, func(ro *Rollout) { ro.Spec.Strategy.BlueGreen.PreviewService = "demo-active" },
			"spec.strategy.blueGreen.previewService", DuplicatedServicesBlueGreenMessage},
		{"blue-green maxUnavailable malformed", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.MaxUnavailable = ptr.To(intstr.FromString("a lot"))
		}, "spec.strategy.blueGreen.maxUnavailable", IntOrPercentMessage},
		{"negative previewReplicaCount", blueGreen, func(ro *Rollout) { ro.Spec.Strategy.BlueGreen.PreviewReplicaCount = ptr.To[int32](-1) },
			"spec.strategy.blueGreen.previewReplicaCount", NonNegativeMessage},
		{"negative autoPromotionSeconds", blueGreen, func(ro *Rollout) { ro.Spec.Strategy.BlueGreen.AutoPromotionSeconds = -1 },
			"spec.strategy.blueGreen.autoPromotionSeconds", NonNegativeMessage},
		{"negative blue-green scaleDownDelaySeconds", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](-1)
		}, "spec.strategy.blueGreen.scaleDownDelaySeconds", NonNegativeMessage},
		{"negative blue-green abortScaleDownDelaySeconds", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds = ptr.To[int32](-1)
		}, "spec.strategy.blueGreen.abortScaleDownDelaySeconds", NonNegativeMessage},
		{"blue-green scale-down limit above history limit", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](11)
		}, "spec.strategy.blueGreen.scaleDownDelayRevisionLimit", ScaleDownLimitLargerThanRevisionLimit},
		{"negative blue-green scale-down limit", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](-1)
		}, "spec.strategy.blueGreen.scaleDownDelayRevisionLimit", NonNegativeMessage},
		{"anti-affinity with both rules", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.AntiAffinity = &AntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: &PreferredDuringSchedulingIgnoredDuringExecution{Weight: 1},
				RequiredDuringSchedulingIgnoredDuringExecution:  &RequiredDuringSchedulingIgnoredDuringExecution{},
			}
		}, "spec.strategy.blueGreen.antiAffinity", InvalidAntiAffinityStrategyMessage},
		{"anti-affinity weight out of range", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.AntiAffinity = &AntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: &PreferredDuringSchedulingIgnoredDuringExecution{Weight: 101},
			}
		}, "spec.strategy.blueGreen.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight", InvalidAntiAffinityWeightMessage},
		{"pre-promotion analysis without templates", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = &RolloutAnalysis{}
		}, "spec.strategy.blueGreen.prePromotionAnalysis.templates", "at least one analysis template"},
		{"post-promotion analysis template without name", blueGreen, func(ro *Rollout) {
			ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis = &RolloutAnalysis{Templates: []RolloutAnalysisTemplate{{}}}
		}, "spec.strategy.blueGreen.postPromotionAnalysis.templates[0].templateName", "template name is required"},

		// Canary strategy fields.
		{"maxSurge malformed", basicCanary, func(ro *Rollout) { canaryOf(ro).MaxSurge = ptr.To(intstr.FromString("x%")) },
			"spec.strategy.canary.maxSurge", IntOrPercentMessage},
		{"maxUnavailable negative", basicCanary, func(ro *Rollout) { canaryOf(ro).MaxUnavailable = ptr.To(intstr.FromInt32(-1)) },
			"spec.strategy.canary.maxUnavailable", IntOrPercentMessage},
		{"maxSurge and maxUnavailable both zero", basicCanary, func(ro *Rollout) {
			canaryOf(ro).MaxSurge, canaryOf(ro).MaxUnavailable = ptr.To(intstr.FromInt32(0)), ptr.To(intstr.FromString("0%"))
		}, "spec.strategy.canary.maxSurge", InvalidMaxSurgeMaxUnavailable},
		{"canary equals stable service", istioCanary, func(ro *Rollout) { canaryOf(ro).CanaryService = "demo-stable" },
			"spec.strategy.canary.stableService", DuplicatedServicesCanaryMessage},
		{"ping-pong without traffic routing", basicCanary, func(ro *Rollout) {
			canaryOf(ro).PingPong = &PingPongSpec{PingService: "ping", PongService: "pong"}
		}, "spec.strategy.canary.pingPong", PingPongTrafficRoutingMessage},
		{"ping-pong with APISIX", apisixCanary, func(ro *Rollout) {
			canaryOf(ro).PingPong = &PingPongSpec{PingService: "ping", PongService: "pong"}
		}, "spec.strategy.canary.pingPong", PingPongTrafficRoutingMessage},
		{"ping service missing", istioCanary, func(ro *Rollout) { canaryOf(ro).PingPong = &PingPongSpec{PongService: "pong"} },
			"spec.strategy.canary.pingPong.pingService", InvalidPingPongProvidedMessage},
		{"pong service missing", istioCanary, func(ro *Rollout) { canaryOf(ro).PingPong = &PingPongSpec{PingService: "ping"} },
			"spec.strategy.canary.pingPong.pongService", InvalidPingPongProvidedMessage},
		{"ping equals pong", istioCanary, func(ro *Rollout) {
			canaryOf(ro).PingPong = &PingPongSpec{PingService: "svc", PongService: "svc"}
		}, "spec.strategy.canary.pingPong.pingService", DuplicatedPingPongServicesMessage},
		{"ALB ping-pong without rootService", albCanary, func(ro *Rollout) {
			canaryOf(ro).PingPong = &PingPongSpec{PingService: "ping", PongService: "pong"}
		}, "spec.strategy.canary.trafficRouting.alb.rootService", MissedAlbRootServiceMessage},
		{"scaleDownDelaySeconds without traffic routing", basicCanary, func(ro *Rollout) {
			canaryOf(ro).ScaleDownDelaySeconds = ptr.To[int32](30)
		}, "spec.strategy.canary.scaleDownDelaySeconds", InvalidCanaryScaleDownDelay},
		{"dynamicStableScale without traffic routing", basicCanary, func(ro *Rollout) { canaryOf(ro).DynamicStableScale = true },
			"spec.strategy.canary.dynamicStableScale", InvalidCanaryDynamicStableScale},
		{"dynamicStableScale with scaleDownDelaySeconds", istioCanary, func(ro *Rollout) {
			canaryOf(ro).DynamicStableScale, canaryOf(ro).ScaleDownDelaySeconds = true, ptr.To[int32](30)
		}, "spec.strategy.canary.dynamicStableScale", InvalidCanaryDynamicStableScaleWithScaleDownDelay},
		{"Istio needs stableService", istioCanary, func(ro *Rollout) { canaryOf(ro).StableService = "" },
			"spec.strategy.canary.stableService", InvalidTrafficRoutingMessage},
		{"Istio needs canaryService", istioCanary, func(ro *Rollout) { canaryOf(ro).CanaryService = "" },
			"spec.strategy.canary.canaryService", InvalidTrafficRoutingMessage},
		{"ALB needs services", albCanary, func(ro *Rollout) { canaryOf(ro).StableService = "" },
			"spec.strategy.canary.stableService", InvalidTrafficRoutingMessage},
		{"APISIX needs services", apisixCanary, func(ro *Rollout) { canaryOf(ro).CanaryService = "" },
			"spec.strategy.canary.canaryService", InvalidTrafficRoutingMessage},
		{"negative canary scaleDownDelaySeconds", istioCanary, func(ro *Rollout) { canaryOf(ro).ScaleDownDelaySeconds = ptr.To[int32](-1) },
			"spec.strategy.canary.scaleDownDelaySeconds", NonNegativeMessage},
		{"negative canary abortScaleDownDelaySeconds", istioCanary, func(ro *Rollout) {
			canaryOf(ro).AbortScaleDownDelaySeconds = ptr.To[int32](-1)
		}, "spec.strategy.canary.abortScaleDownDelaySeconds", NonNegativeMessage},
		{"canary scale-down limit above history limit", istioCanary, func(ro *Rollout) {
			ro.Spec.RevisionHistoryLimit = ptr.To[int32](2)
			canaryOf(ro).ScaleDownDelayRevisionLimit = ptr.To[int32](3)
		}, "spec.strategy.canary.scaleDownDelayRevisionLimit", ScaleDownLimitLargerThanRevisionLimit},
		{"negative minPodsPerReplicaSet", istioCanary, func(ro *Rollout) { canaryOf(ro).MinPodsPerReplicaSet = ptr.To[int32](-1) },
			"spec.strategy.canary.minPodsPerReplicaSet", NonNegativeMessage},
		{"replicaProgressThreshold unknown type", basicCanary, func(ro *Rollout) {
			canaryOf(ro).ReplicaProgressThreshold = &ReplicaProgressThreshold{Type: "Ratio", Value: 1}
		}, "spec.strategy.canary.replicaProgressThreshold.type", "Unsupported value"},
		{"replicaProgressThreshold percent above 100", basicCanary, func(ro *Rollout) {
			canaryOf(ro).ReplicaProgressThreshold = &ReplicaProgressThreshold{Type: ProgressTypePercent, Value: 101}
		}, "spec.strategy.canary.replicaProgressThreshold.value", "between 0 and 100"},
		{"replicaProgressThreshold negative", basicCanary, func(ro *Rollout) {
			canaryOf(ro).ReplicaProgressThreshold = &ReplicaProgressThreshold{Type: ProgressTypePod, Value: -1}
		}, "spec.strategy.canary.replicaProgressThreshold.value", NonNegativeMessage},
		{"background analysis without templates", basicCanary, func(ro *Rollout) {
			canaryOf(ro).Analysis = &RolloutAnalysisBackground{}
		}, "spec.strategy.canary.analysis.templates", "at least one analysis template"},
		{"background analysis argument without name", basicCanary, func(ro *Rollout) {
			canaryOf(ro).Analysis = &RolloutAnalysisBackground{RolloutAnalysis: RolloutAnalysis{
				Templates: []RolloutAnalysisTemplate{{TemplateName: "t"}}, Args: []AnalysisRunArgument{{Value: "v"}},
			}}
		}, "spec.strategy.canary.analysis.args[0].name", "argument name is required"},
		{"background analysis negative startingStep", basicCanary, func(ro *Rollout) {
			canaryOf(ro).Analysis = &RolloutAnalysisBackground{
				RolloutAnalysis: RolloutAnalysis{Templates: []RolloutAnalysisTemplate{{TemplateName: "t"}}},
				StartingStep:    ptr.To[int32](-1),
			}
		}, "spec.strategy.canary.analysis.startingStep", NonNegativeMessage},
		{"canary anti-affinity without rule", basicCanary, func(ro *Rollout) { canaryOf(ro).AntiAffinity = &AntiAffinity{} },
			"spec.strategy.canary.antiAffinity", InvalidAntiAffinityStrategyMessage},

		// Traffic routing.
		{"nginx unsupported", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Nginx = opaque(`{"stableIngress":"i"}`) },
			"spec.strategy.canary.trafficRouting.nginx", `traffic router "nginx" is not supported by rolloutlab`},
		{"smi unsupported", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.SMI = opaque(`{}`) },
			"spec.strategy.canary.trafficRouting.smi", `traffic router "smi" is not supported by rolloutlab`},
		{"ambassador unsupported", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Ambassador = opaque(`{"mappings":["m"]}`) },
			"spec.strategy.canary.trafficRouting.ambassador", `traffic router "ambassador" is not supported by rolloutlab`},
		{"appMesh unsupported", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.AppMesh = opaque(`{}`) },
			"spec.strategy.canary.trafficRouting.appMesh", `traffic router "appMesh" is not supported by rolloutlab`},
		{"traefik unsupported", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Traefik = opaque(`{}`) },
			"spec.strategy.canary.trafficRouting.traefik", `traffic router "traefik" is not supported by rolloutlab`},
		{"router plugins unsupported", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Plugins = opaque(`{"p":{}}`) },
			"spec.strategy.canary.trafficRouting.plugins", `traffic router "plugins" is not supported by rolloutlab`},
		{"traffic routing without a router", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Istio = nil },
			"spec.strategy.canary.trafficRouting", NoTrafficRouterMessage},
		{"Istio with virtualService and virtualServices", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.Istio.VirtualServices = []IstioVirtualService{{Name: "other"}}
		}, "spec.strategy.canary.trafficRouting.istio", InvalidVirtualServicesConfigMessage},
		{"Istio without virtual service", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Istio.VirtualService = nil },
			"spec.strategy.canary.trafficRouting.istio", InvalidVirtualServicesConfigMessage},
		{"Istio virtualService name required", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Istio.VirtualService.Name = "" },
			"spec.strategy.canary.trafficRouting.istio.virtualService.name", "VirtualService name is required"},
		{"Istio virtualServices name required", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.Istio.VirtualService = nil
			canaryOf(ro).TrafficRouting.Istio.VirtualServices = []IstioVirtualService{{Name: "a"}, {}}
		}, "spec.strategy.canary.trafficRouting.istio.virtualServices[1].name", "VirtualService name is required"},
		{"destinationRule name required", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.Istio.DestinationRule = &IstioDestinationRule{CanarySubsetName: "c", StableSubsetName: "s"}
		}, "spec.strategy.canary.trafficRouting.istio.destinationRule.name", "DestinationRule name is required"},
		{"destinationRule canary subset required", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.Istio.DestinationRule = &IstioDestinationRule{Name: "dr", StableSubsetName: "s"}
		}, "spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName", "canary subset name is required"},
		{"destinationRule stable subset required", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.Istio.DestinationRule = &IstioDestinationRule{Name: "dr", CanarySubsetName: "c"}
		}, "spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName", "stable subset name is required"},
		{"destinationRule subsets must differ", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.Istio.DestinationRule = &IstioDestinationRule{Name: "dr", CanarySubsetName: "x", StableSubsetName: "x"}
		}, "spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName", "must differ"},
		{"ALB with ingress and ingresses", albCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.ALB.Ingresses = []string{"a", "b"} },
			"spec.strategy.canary.trafficRouting.alb", InvalidAlbIngressesBothMessage},
		{"ALB without ingress", albCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.ALB.Ingress = "" },
			"spec.strategy.canary.trafficRouting.alb", InvalidAlbIngressesNeitherMessage},
		{"ALB servicePort required", albCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.ALB.ServicePort = 0 },
			"spec.strategy.canary.trafficRouting.alb.servicePort", "between 1 and 65535"},
		{"maxTrafficWeight with ALB", albCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000) },
			"spec.strategy.canary.trafficRouting.maxTrafficWeight", MaxTrafficWeightALBMessage},
		{"maxTrafficWeight not positive", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.MaxTrafficWeight = ptr.To[int32](0) },
			"spec.strategy.canary.trafficRouting.maxTrafficWeight", "must be greater than 0"},
		{"APISIX route required", apisixCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Apisix.Route = nil },
			"spec.strategy.canary.trafficRouting.apisix.route", "ApisixRoute is required"},
		{"APISIX route name required", apisixCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.Apisix.Route.Name = "" },
			"spec.strategy.canary.trafficRouting.apisix.route.name", "ApisixRoute name is required"},
		{"managed route name required", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.ManagedRoutes[0].Name = "" },
			"spec.strategy.canary.trafficRouting.managedRoutes[0].name", "route name is required"},
		{"managed route names unique", istioCanary, func(ro *Rollout) { canaryOf(ro).TrafficRouting.ManagedRoutes[1].Name = "header" },
			"spec.strategy.canary.trafficRouting.managedRoutes[1].name", "Duplicate value"},

		// Steps.
		{"empty step", basicCanary, func(ro *Rollout) { addStep(ro, CanaryStep{}) },
			"spec.strategy.canary.steps[2]", InvalidStepMessage},
		{"step with two actions", basicCanary, func(ro *Rollout) { canaryOf(ro).Steps[0].Pause = &RolloutPause{} },
			"spec.strategy.canary.steps[0]", MultipleStepTypesMessage},
		{"setWeight negative", basicCanary, func(ro *Rollout) { canaryOf(ro).Steps[0].SetWeight = ptr.To[int32](-1) },
			"spec.strategy.canary.steps[0].setWeight", "SetWeight needs to be between 0 and 100"},
		{"setWeight above 100", basicCanary, func(ro *Rollout) { canaryOf(ro).Steps[0].SetWeight = ptr.To[int32](101) },
			"spec.strategy.canary.steps[0].setWeight", "SetWeight needs to be between 0 and 100"},
		{"setWeight above maxTrafficWeight", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
			addStep(ro, CanaryStep{SetWeight: ptr.To[int32](1001)})
		}, "spec.strategy.canary.steps[2].setWeight", "SetWeight needs to be between 0 and 1000"},
		{"pause duration unparseable", basicCanary, func(ro *Rollout) {
			canaryOf(ro).Steps[1].Pause.Duration = ptr.To(intstr.FromString("soon"))
		}, "spec.strategy.canary.steps[1].pause.duration", InvalidDurationMessage},
		{"pause duration negative", basicCanary, func(ro *Rollout) {
			canaryOf(ro).Steps[1].Pause.Duration = ptr.To(intstr.FromInt32(-5))
		}, "spec.strategy.canary.steps[1].pause.duration", InvalidDurationMessage},
		{"setCanaryScale without traffic routing", basicCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetCanaryScale: &SetCanaryScale{Replicas: ptr.To[int32](1)}})
		}, "spec.strategy.canary.steps[2].setCanaryScale", InvalidSetCanaryScaleTrafficPolicy},
		{"setCanaryScale with nothing set", istioCanary, func(ro *Rollout) { addStep(ro, CanaryStep{SetCanaryScale: &SetCanaryScale{}}) },
			"spec.strategy.canary.steps[2].setCanaryScale", InvalidSetCanaryScaleMessage},
		{"setCanaryScale with two set", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetCanaryScale: &SetCanaryScale{Weight: ptr.To[int32](10), MatchTrafficWeight: true}})
		}, "spec.strategy.canary.steps[2].setCanaryScale", InvalidSetCanaryScaleMessage},
		{"setCanaryScale weight above 100", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetCanaryScale: &SetCanaryScale{Weight: ptr.To[int32](150)}})
		}, "spec.strategy.canary.steps[2].setCanaryScale.weight", "between 0 and 100"},
		{"setCanaryScale negative replicas", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetCanaryScale: &SetCanaryScale{Replicas: ptr.To[int32](-1)}})
		}, "spec.strategy.canary.steps[2].setCanaryScale.replicas", NonNegativeMessage},
		{"setHeaderRoute without traffic routing", basicCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header"}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute", InvalidSetHeaderRouteTrafficPolicy},
		{"setHeaderRoute route not managed", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "unlisted"}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.name", InvalidStepRouteNameNotFoundInManagedRoutes},
		{"setHeaderRoute without managedRoutes", apisixCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header"}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.name", InvalidStepRouteNameNotFoundInManagedRoutes},
		{"setHeaderRoute header name required", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header", Match: []HeaderRoutingMatch{{HeaderValue: &StringMatch{Exact: "1"}}}}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerName", "header name is required"},
		{"ALB header match must be exact", albCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header", Match: []HeaderRoutingMatch{{HeaderName: "v", HeaderValue: &StringMatch{Prefix: "1"}}}}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerValue", InvalidSetHeaderRouteALBValuePolicy},
		{"ALB header match without value", albCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header", Match: []HeaderRoutingMatch{{HeaderName: "v"}}}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerValue", InvalidStringMatchMissedValuePolicy},
		{"header match with two values", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header", Match: []HeaderRoutingMatch{{HeaderName: "v", HeaderValue: &StringMatch{Exact: "1", Regex: "1.*"}}}}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerValue", InvalidStringMatchMultipleValuePolicy},
		{"header match without value", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header", Match: []HeaderRoutingMatch{{HeaderName: "v"}}}})
		}, "spec.strategy.canary.steps[2].setHeaderRoute.match[0].headerValue", InvalidStringMatchMissedValuePolicy},
		{"setMirrorRoute needs Istio", albCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetMirrorRoute: &SetMirrorRoute{Name: "header"}})
		}, "spec.strategy.canary.steps[2].setMirrorRoute", InvalidSetMirrorRouteTrafficPolicy},
		{"setMirrorRoute route not managed", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetMirrorRoute: &SetMirrorRoute{Name: "unlisted"}})
		}, "spec.strategy.canary.steps[2].setMirrorRoute.name", InvalidStepRouteNameNotFoundInManagedRoutes},
		{"mirror method with two values", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetMirrorRoute: &SetMirrorRoute{Name: "mirror", Match: []RouteMatch{{Method: &StringMatch{Exact: "GET", Prefix: "P"}}}}})
		}, "spec.strategy.canary.steps[2].setMirrorRoute.match[0].method", InvalidStringMatchMultipleValuePolicy},
		{"mirror path without value", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetMirrorRoute: &SetMirrorRoute{Name: "mirror", Match: []RouteMatch{{Path: &StringMatch{}}}}})
		}, "spec.strategy.canary.steps[2].setMirrorRoute.match[0].path", InvalidStringMatchMissedValuePolicy},
		{"mirror header with two values", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetMirrorRoute: &SetMirrorRoute{Name: "mirror", Match: []RouteMatch{{
				Headers: map[string]StringMatch{"agent": {Exact: "a", Regex: "b"}},
			}}}})
		}, "spec.strategy.canary.steps[2].setMirrorRoute.match[0].headers[agent]", InvalidStringMatchMultipleValuePolicy},
		{"mirror percentage above 100", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetMirrorRoute: &SetMirrorRoute{Name: "mirror", Percentage: ptr.To[int32](101)}})
		}, "spec.strategy.canary.steps[2].setMirrorRoute.percentage", "between 0 and 100"},
		{"experiment without templates", istioCanary, func(ro *Rollout) { addStep(ro, CanaryStep{Experiment: &RolloutExperimentStep{}}) },
			"spec.strategy.canary.steps[2].experiment.templates", "at least one template"},
		{"experiment weight without traffic routing", basicCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{Experiment: &RolloutExperimentStep{Templates: []RolloutExperimentTemplate{
				{Name: "canary", SpecRef: CanarySpecRef, Weight: ptr.To[int32](10)},
			}}})
		}, "spec.strategy.canary.steps[2].experiment.templates[0].weight", InvalidCanaryExperimentTemplateWeightWithoutTrafficRouting},
		{"experiment duration unparseable", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{Experiment: &RolloutExperimentStep{
				Duration: "an hour", Templates: []RolloutExperimentTemplate{{Name: "canary", SpecRef: CanarySpecRef}},
			}})
		}, "spec.strategy.canary.steps[2].experiment.duration", InvalidExperimentDurationFormat},
		{"analysis step without templates", basicCanary, func(ro *Rollout) { addStep(ro, CanaryStep{Analysis: &RolloutAnalysis{}}) },
			"spec.strategy.canary.steps[2].analysis.templates", "at least one analysis template"},
		{"step plugin unsupported", basicCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{Plugin: &PluginStep{Name: "p", Config: json.RawMessage(`{}`)}})
		}, "spec.strategy.canary.steps[2].plugin", StepPluginUnsupportedMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro := tt.base()
			tt.mutate(ro)
			errs := ValidateRollout(ro)
			if !hasError(errs, tt.path, tt.msg) {
				t.Errorf("want an error at %s containing %q, got %v", tt.path, tt.msg, errs)
			}
		})
	}
}

// Argo accepts these; so must we.
func TestValidationAccepts(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Rollout
		mutate func(*Rollout)
	}{
		{"modifier-only step", apisixCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetCanaryScale: &SetCanaryScale{Replicas: ptr.To[int32](1)}})
		}},
		{"setWeight with setCanaryScale", istioCanary, func(ro *Rollout) {
			canaryOf(ro).Steps[0].SetCanaryScale = &SetCanaryScale{Weight: ptr.To[int32](50)}
		}},
		{"ALB ping-pong needs no canary/stable services", albCanary, func(ro *Rollout) {
			c := canaryOf(ro)
			c.CanaryService, c.StableService = "", ""
			c.PingPong = &PingPongSpec{PingService: "ping", PongService: "pong"}
			c.TrafficRouting.ALB.RootService = "root"
		}},
		{"Istio ping-pong needs no canary/stable services", istioCanary, func(ro *Rollout) {
			c := canaryOf(ro)
			c.CanaryService, c.StableService = "", ""
			c.PingPong = &PingPongSpec{PingService: "ping", PongService: "pong"}
		}},
		{"Istio subset-level needs no canary/stable services", istioCanary, func(ro *Rollout) {
			c := canaryOf(ro)
			c.CanaryService, c.StableService = "", ""
			c.TrafficRouting.Istio.DestinationRule = &IstioDestinationRule{Name: "dr", CanarySubsetName: "canary", StableSubsetName: "stable"}
		}},
		{"ALB with several ingresses", albCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.ALB.Ingress = ""
			canaryOf(ro).TrafficRouting.ALB.Ingresses = []string{"a", "b"}
		}},
		{"ALB exact header route", albCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header", Match: []HeaderRoutingMatch{{HeaderName: "v", HeaderValue: &StringMatch{Exact: "2"}}}}})
		}},
		{"header route removal (no match)", istioCanary, func(ro *Rollout) {
			addStep(ro, CanaryStep{SetHeaderRoute: &SetHeaderRoute{Name: "header"}})
		}},
		{"setWeight within maxTrafficWeight", istioCanary, func(ro *Rollout) {
			canaryOf(ro).TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
			canaryOf(ro).Steps[0].SetWeight = ptr.To[int32](500)
		}},
		{"pause durations in every form", basicCanary, func(ro *Rollout) {
			for _, d := range []intstr.IntOrString{intstr.FromInt32(10), intstr.FromString("10"), intstr.FromString("30s"), intstr.FromString("1h")} {
				addStep(ro, CanaryStep{Pause: &RolloutPause{Duration: &d}})
			}
		}},
		{"zero surge with some unavailability", basicCanary, func(ro *Rollout) {
			canaryOf(ro).MaxSurge, canaryOf(ro).MaxUnavailable = ptr.To(intstr.FromString("0%")), ptr.To(intstr.FromInt32(1))
		}},
		{"bare numeric string surge", basicCanary, func(ro *Rollout) { canaryOf(ro).MaxSurge = ptr.To(intstr.FromString("25")) }},
		{"pod-count progress threshold", basicCanary, func(ro *Rollout) {
			canaryOf(ro).ReplicaProgressThreshold = &ReplicaProgressThreshold{Type: ProgressTypePod, Value: 3}
		}},
		{"blue-green without preview", blueGreen, func(ro *Rollout) { ro.Spec.Strategy.BlueGreen.PreviewService = "" }},
		{"selector by expression", basicCanary, func(ro *Rollout) {
			ro.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}},
			}}
		}},
	}
	for _, tt := range tests {
		ro := tt.base()
		tt.mutate(ro)
		if errs := ValidateRollout(ro); len(errs) > 0 {
			t.Errorf("%s: %v", tt.name, errs)
		}
	}
}
