package v1alpha1

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// CanaryStrategy shifts traffic to the new version step by step, either by replica ratio or, with
// trafficRouting, by router weights.
type CanaryStrategy struct {
	// CanaryService is switched to select only canary pods. Required with most traffic routers.
	CanaryService string `json:"canaryService,omitempty"`
	// StableService is switched to select only stable pods. Required with most traffic routers.
	StableService string `json:"stableService,omitempty"`
	// Steps run in order during an update; none means promote at once.
	Steps []CanaryStep `json:"steps,omitempty"`
	// TrafficRouting splits traffic with a mesh or ingress instead of replica counts.
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`
	// MaxUnavailable pods during the update; absolute or percentage, rounded down (default 25%).
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge pods above spec.replicas; absolute or percentage, rounded up (default 25%).
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// Analysis runs in the background across the steps.
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
	// AntiAffinity between the canary and the stable ReplicaSet.
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// CanaryMetadata is put on pods while they are the canary.
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	// StableMetadata is put on pods while they are stable.
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds before the old stable is scaled down; traffic routing only (default 30).
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old ReplicaSets wait for their delay.
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// AbortScaleDownDelaySeconds before the canary is scaled down after an abort; traffic routing
	// only (default 30, 0 means never).
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	// DynamicStableScale scales the stable down as traffic moves to the canary.
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// PingPong alternates two services as stable instead of swapping selectors.
	PingPong *PingPongSpec `json:"pingPong,omitempty"`
	// MinPodsPerReplicaSet keeps at least this many pods in a non-empty ReplicaSet (traffic routing).
	MinPodsPerReplicaSet *int32 `json:"minPodsPerReplicaSet,omitempty"`
	// ReplicaProgressThreshold lets a step complete before every desired pod is available.
	ReplicaProgressThreshold *ReplicaProgressThreshold `json:"replicaProgressThreshold,omitempty"`
}

// PingPongSpec names the two services that take turns being stable.
type PingPongSpec struct {
	PingService string `json:"pingService"`
	PongService string `json:"pongService"`
}

// ProgressType is the unit of ReplicaProgressThreshold.Value.
type ProgressType string

const (
	// ProgressTypePercent: Value is a percentage of the step's desired pods.
	ProgressTypePercent ProgressType = "Percent"
	// ProgressTypePod: Value is a number of pods (spelling of Argo's spec page).
	ProgressTypePod ProgressType = "Pod"
	// ProgressTypePods is accepted as a synonym of ProgressTypePod.
	ProgressTypePods ProgressType = "Pods"
)

// ReplicaProgressThreshold is how many pods of a step must be available for it to complete.
type ReplicaProgressThreshold struct {
	Type  ProgressType `json:"type"`
	Value int32        `json:"value"`
}

// CanaryStep is one step of a canary update. A step does one main thing (setWeight, pause,
// experiment, analysis or plugin); setCanaryScale, setHeaderRoute and setMirrorRoute may ride along.
type CanaryStep struct {
	// SetWeight is the percentage (of maxTrafficWeight) of traffic the canary should get.
	SetWeight *int32 `json:"setWeight,omitempty"`
	// Pause waits for a duration, or until resumed when no duration is given.
	Pause *RolloutPause `json:"pause,omitempty"`
	// Experiment runs ReplicaSets side by side for the step.
	Experiment *RolloutExperimentStep `json:"experiment,omitempty"`
	// Analysis runs an AnalysisRun and waits for its result.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// SetCanaryScale sizes the canary independently of its traffic weight.
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	// SetHeaderRoute sends requests matching headers to the canary.
	SetHeaderRoute *SetHeaderRoute `json:"setHeaderRoute,omitempty"`
	// SetMirrorRoute mirrors matching requests to the canary.
	SetMirrorRoute *SetMirrorRoute `json:"setMirrorRoute,omitempty"`
	// Plugin runs a step plugin. Decoded for compatibility; rolloutlab rejects it in validation.
	Plugin *PluginStep `json:"plugin,omitempty"`
}

// RolloutPause pauses the rollout. Duration is seconds as an int, or a string holding seconds or
// a Go duration ("30s", "1h"); nil means until resumed.
type RolloutPause struct {
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// SetCanaryScale sets the canary size: exactly one of Weight, Replicas or MatchTrafficWeight.
type SetCanaryScale struct {
	// Weight is a percentage of spec.replicas.
	Weight *int32 `json:"weight,omitempty"`
	// Replicas is an absolute pod count.
	Replicas *int32 `json:"replicas,omitempty"`
	// MatchTrafficWeight returns to sizing the canary by its traffic weight.
	MatchTrafficWeight bool `json:"matchTrafficWeight,omitempty"`
}

// SetHeaderRoute manages a route (listed in trafficRouting.managedRoutes) that sends requests
// whose headers match to the canary. No match removes the route.
type SetHeaderRoute struct {
	Name  string               `json:"name,omitempty"`
	Match []HeaderRoutingMatch `json:"match,omitempty"`
}

// HeaderRoutingMatch matches one request header.
type HeaderRoutingMatch struct {
	HeaderName  string       `json:"headerName"`
	HeaderValue *StringMatch `json:"headerValue"`
}

// SetMirrorRoute manages a route (listed in trafficRouting.managedRoutes) that mirrors matching
// requests to the canary. No match removes the route.
type SetMirrorRoute struct {
	Name string `json:"name"`
	// Match entries are ORed; the conditions inside one entry are ANDed.
	Match []RouteMatch `json:"match,omitempty"`
	// Percentage of matching requests to mirror.
	Percentage *int32 `json:"percentage,omitempty"`
}

// RouteMatch matches a request by method, path and headers.
type RouteMatch struct {
	Method  *StringMatch           `json:"method,omitempty"`
	Path    *StringMatch           `json:"path,omitempty"`
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

// StringMatch matches a string; exactly one field should be set.
type StringMatch struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Regex  string `json:"regex,omitempty"`
}

// PluginStep runs a named step plugin with free-form configuration.
type PluginStep struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config,omitempty"`
}
