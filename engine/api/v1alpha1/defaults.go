package v1alpha1

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Argo Rollouts' defaults. The accessors below apply them without mutating the object, so a
// Rollout read from the API server can be written back unchanged.
const (
	DefaultReplicas                            int32 = 1
	DefaultRevisionHistoryLimit                int32 = 10
	DefaultProgressDeadlineSeconds             int32 = 600
	DefaultScaleDownDelaySeconds               int32 = 30
	DefaultAbortScaleDownDelaySeconds          int32 = 30
	DefaultAutoPromotionEnabled                      = true
	DefaultAnalysisRunSuccessfulHistoryLimit   int32 = 5
	DefaultAnalysisRunUnsuccessfulHistoryLimit int32 = 5
	DefaultMaxTrafficWeight                    int32 = 100
	// DefaultMaxSurge and DefaultMaxUnavailable are 25%. (Argo stores them as the string "25",
	// which its int-or-percent parser reads as a percentage; we spell the percent sign out.)
	DefaultMaxSurge       = "25%"
	DefaultMaxUnavailable = "25%"
)

// Replicas returns spec.replicas, defaulting to 1.
func Replicas(ro *Rollout) int32 {
	if ro.Spec.Replicas == nil {
		return DefaultReplicas
	}
	return *ro.Spec.Replicas
}

// RevisionHistoryLimit returns spec.revisionHistoryLimit, defaulting to 10.
func RevisionHistoryLimit(ro *Rollout) int32 {
	if ro.Spec.RevisionHistoryLimit == nil {
		return DefaultRevisionHistoryLimit
	}
	return *ro.Spec.RevisionHistoryLimit
}

// ProgressDeadlineSeconds returns spec.progressDeadlineSeconds, defaulting to 600.
func ProgressDeadlineSeconds(ro *Rollout) int32 {
	if ro.Spec.ProgressDeadlineSeconds == nil {
		return DefaultProgressDeadlineSeconds
	}
	return *ro.Spec.ProgressDeadlineSeconds
}

// SuccessfulRunHistoryLimit returns spec.analysis.successfulRunHistoryLimit, defaulting to 5.
func SuccessfulRunHistoryLimit(ro *Rollout) int32 {
	if ro.Spec.Analysis == nil || ro.Spec.Analysis.SuccessfulRunHistoryLimit == nil {
		return DefaultAnalysisRunSuccessfulHistoryLimit
	}
	return *ro.Spec.Analysis.SuccessfulRunHistoryLimit
}

// UnsuccessfulRunHistoryLimit returns spec.analysis.unsuccessfulRunHistoryLimit, defaulting to 5.
func UnsuccessfulRunHistoryLimit(ro *Rollout) int32 {
	if ro.Spec.Analysis == nil || ro.Spec.Analysis.UnsuccessfulRunHistoryLimit == nil {
		return DefaultAnalysisRunUnsuccessfulHistoryLimit
	}
	return *ro.Spec.Analysis.UnsuccessfulRunHistoryLimit
}

// usesTrafficRouting reports a canary with trafficRouting: the only canary kind for which the
// scale-down delays apply (a basic canary scales the old ReplicaSet down as it goes).
func usesTrafficRouting(ro *Rollout) bool {
	c := ro.Spec.Strategy.Canary
	return c != nil && c.TrafficRouting != nil
}

// ScaleDownDelaySeconds is how long the previous ReplicaSet is kept up after the switch: the
// field's value, else 30 for blue-green and traffic-routed canaries, else 0 (basic canary).
func ScaleDownDelaySeconds(ro *Rollout) int32 {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		if v := ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds; v != nil {
			return *v
		}
		return DefaultScaleDownDelaySeconds
	case usesTrafficRouting(ro):
		if v := ro.Spec.Strategy.Canary.ScaleDownDelaySeconds; v != nil {
			return *v
		}
		return DefaultScaleDownDelaySeconds
	}
	return 0
}

// AbortScaleDownDelaySeconds is how long the canary/preview ReplicaSet is kept up after an abort:
// the field's value, else 30 for blue-green and traffic-routed canaries, else 0 (basic canary,
// scaled down at once). An explicit 0 on blue-green or a traffic-routed canary means "never scale
// down"; use AbortScaleDownNever to tell it apart from the basic-canary 0.
func AbortScaleDownDelaySeconds(ro *Rollout) int32 {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		if v := ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds; v != nil {
			return *v
		}
		return DefaultAbortScaleDownDelaySeconds
	case usesTrafficRouting(ro):
		if v := ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds; v != nil {
			return *v
		}
		return DefaultAbortScaleDownDelaySeconds
	}
	return 0
}

// AbortScaleDownNever reports abortScaleDownDelaySeconds explicitly set to 0 where it applies:
// Argo then leaves the aborted ReplicaSet running.
func AbortScaleDownNever(ro *Rollout) bool {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		v := ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds
		return v != nil && *v == 0
	case usesTrafficRouting(ro):
		v := ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds
		return v != nil && *v == 0
	}
	return false
}

// AutoPromotionEnabled returns blueGreen.autoPromotionEnabled, defaulting to true.
func AutoPromotionEnabled(ro *Rollout) bool {
	bg := ro.Spec.Strategy.BlueGreen
	if bg == nil || bg.AutoPromotionEnabled == nil {
		return DefaultAutoPromotionEnabled
	}
	return *bg.AutoPromotionEnabled
}

// MaxTrafficWeight returns trafficRouting.maxTrafficWeight, defaulting to 100: the total that
// setWeight values are a share of.
func MaxTrafficWeight(ro *Rollout) int32 {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.MaxTrafficWeight == nil {
		return DefaultMaxTrafficWeight
	}
	return *c.TrafficRouting.MaxTrafficWeight
}

// MaxSurgeValue returns canary.maxSurge as written, or the 25% default.
func MaxSurgeValue(ro *Rollout) intstr.IntOrString {
	if c := ro.Spec.Strategy.Canary; c != nil && c.MaxSurge != nil {
		return *c.MaxSurge
	}
	return intstr.FromString(DefaultMaxSurge)
}

// MaxUnavailableValue returns blueGreen.maxUnavailable or canary.maxUnavailable as written, or
// the 25% default.
func MaxUnavailableValue(ro *Rollout) intstr.IntOrString {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.MaxUnavailable != nil {
		return *bg.MaxUnavailable
	}
	if c := ro.Spec.Strategy.Canary; c != nil && c.MaxUnavailable != nil {
		return *c.MaxUnavailable
	}
	return intstr.FromString(DefaultMaxUnavailable)
}

// MaxSurge is the number of pods a canary may run above spec.replicas, a percentage being
// resolved against spec.replicas and rounded up. Blue-green never surges: 0. An invalid value
// (rejected by ValidateRollout) resolves to 0.
func MaxSurge(ro *Rollout) int32 {
	if ro.Spec.Strategy.Canary == nil {
		return 0
	}
	surge, err := ResolveIntOrPercent(MaxSurgeValue(ro), Replicas(ro), true)
	if err != nil {
		return 0
	}
	return surge
}

// MaxUnavailable is the number of pods that may be unavailable during an update, a percentage
// being resolved against spec.replicas and rounded down, capped at spec.replicas. A canary whose
// surge and unavailability both resolve to 0 could never progress, so it gets 1 (as Deployments
// do). An invalid value (rejected by ValidateRollout) resolves to 0 before that rule.
func MaxUnavailable(ro *Rollout) int32 {
	replicas := Replicas(ro)
	if replicas <= 0 {
		return 0
	}
	unavailable, err := ResolveIntOrPercent(MaxUnavailableValue(ro), replicas, false)
	if err != nil {
		unavailable = 0
	}
	if ro.Spec.Strategy.Canary != nil && unavailable == 0 && MaxSurge(ro) == 0 {
		unavailable = 1
	}
	return min(unavailable, replicas)
}

// ResolveIntOrPercent turns an int-or-percent into a count: an int is taken as is; "N%" - or a
// bare numeric string "N", which Argo's parser also reads as a percentage - is N percent of
// total, rounded up or down. Negative or malformed values are errors.
func ResolveIntOrPercent(v intstr.IntOrString, total int32, roundUp bool) (int32, error) {
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return 0, fmt.Errorf("must be non-negative, got %d", v.IntVal)
		}
		return v.IntVal, nil
	}
	pct, err := parsePercent(v.StrVal)
	if err != nil {
		return 0, err
	}
	scaled := int64(pct) * int64(total)
	if roundUp {
		scaled += 99
	}
	return int32(min(scaled/100, math.MaxInt32)), nil
}

// parsePercent parses "N%" or "N" with N a non-negative integer.
func parsePercent(s string) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "%"), 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer or percentage", s)
	}
	return int32(n), nil
}
