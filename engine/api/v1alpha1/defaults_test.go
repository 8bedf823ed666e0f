package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func canaryRollout(replicas *int32, mutate func(*CanaryStrategy)) *Rollout {
	ro := &Rollout{Spec: RolloutSpec{Replicas: replicas, Strategy: RolloutStrategy{Canary: &CanaryStrategy{}}}}
	if mutate != nil {
		mutate(ro.Spec.Strategy.Canary)
	}
	return ro
}

func blueGreenRollout(replicas *int32, mutate func(*BlueGreenStrategy)) *Rollout {
	ro := &Rollout{Spec: RolloutSpec{Replicas: replicas, Strategy: RolloutStrategy{BlueGreen: &BlueGreenStrategy{ActiveService: "a"}}}}
	if mutate != nil {
		mutate(ro.Spec.Strategy.BlueGreen)
	}
	return ro
}

func withTrafficRouting(c *CanaryStrategy) {
	c.TrafficRouting = &RolloutTrafficRouting{Istio: &IstioTrafficRouting{VirtualService: &IstioVirtualService{Name: "vs"}}}
}

func TestScalarDefaults(t *testing.T) {
	empty := canaryRollout(nil, nil)
	set := &Rollout{Spec: RolloutSpec{
		Replicas: ptr.To[int32](0), RevisionHistoryLimit: ptr.To[int32](3), ProgressDeadlineSeconds: ptr.To[int32](60),
		Analysis: &AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](1), UnsuccessfulRunHistoryLimit: ptr.To[int32](2)},
		Strategy: RolloutStrategy{Canary: &CanaryStrategy{TrafficRouting: &RolloutTrafficRouting{MaxTrafficWeight: ptr.To[int32](1000)}}},
	}}
	tests := []struct {
		name      string
		got, want int32
	}{
		{"replicas default", Replicas(empty), 1},
		{"replicas explicit zero", Replicas(set), 0},
		{"revisionHistoryLimit default", RevisionHistoryLimit(empty), 10},
		{"revisionHistoryLimit set", RevisionHistoryLimit(set), 3},
		{"progressDeadlineSeconds default", ProgressDeadlineSeconds(empty), 600},
		{"progressDeadlineSeconds set", ProgressDeadlineSeconds(set), 60},
		{"successfulRunHistoryLimit default", SuccessfulRunHistoryLimit(empty), 5},
		{"successfulRunHistoryLimit set", SuccessfulRunHistoryLimit(set), 1},
		{"unsuccessfulRunHistoryLimit default", UnsuccessfulRunHistoryLimit(empty), 5},
		{"unsuccessfulRunHistoryLimit set", UnsuccessfulRunHistoryLimit(set), 2},
		{"maxTrafficWeight default", MaxTrafficWeight(empty), 100},
		{"maxTrafficWeight set", MaxTrafficWeight(set), 1000},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestScaleDownDelays(t *testing.T) {
	tests := []struct {
		name              string
		ro                *Rollout
		delay, abortDelay int32
		abortNever        bool
	}{
		{"basic canary ignores the delays", canaryRollout(nil, func(c *CanaryStrategy) {
			c.ScaleDownDelaySeconds, c.AbortScaleDownDelaySeconds = ptr.To[int32](10), ptr.To[int32](0)
		}), 0, 0, false},
		{"traffic-routed canary defaults to 30", canaryRollout(nil, withTrafficRouting), 30, 30, false},
		{"traffic-routed canary explicit", canaryRollout(nil, func(c *CanaryStrategy) {
			withTrafficRouting(c)
			c.ScaleDownDelaySeconds, c.AbortScaleDownDelaySeconds = ptr.To[int32](5), ptr.To[int32](7)
		}), 5, 7, false},
		{"traffic-routed canary abort 0 means never", canaryRollout(nil, func(c *CanaryStrategy) {
			withTrafficRouting(c)
			c.AbortScaleDownDelaySeconds = ptr.To[int32](0)
		}), 30, 0, true},
		{"blue-green defaults to 30", blueGreenRollout(nil, nil), 30, 30, false},
		{"blue-green explicit", blueGreenRollout(nil, func(bg *BlueGreenStrategy) {
			bg.ScaleDownDelaySeconds, bg.AbortScaleDownDelaySeconds = ptr.To[int32](0), ptr.To[int32](0)
		}), 0, 0, true},
	}
	for _, tt := range tests {
		if got := ScaleDownDelaySeconds(tt.ro); got != tt.delay {
			t.Errorf("%s: ScaleDownDelaySeconds = %d, want %d", tt.name, got, tt.delay)
		}
		if got := AbortScaleDownDelaySeconds(tt.ro); got != tt.abortDelay {
			t.Errorf("%s: AbortScaleDownDelaySeconds = %d, want %d", tt.name, got, tt.abortDelay)
		}
		if got := AbortScaleDownNever(tt.ro); got != tt.abortNever {
			t.Errorf("%s: AbortScaleDownNever = %t, want %t", tt.name, got, tt.abortNever)
		}
	}
}

func TestAutoPromotionEnabled(t *testing.T) {
	if !AutoPromotionEnabled(blueGreenRollout(nil, nil)) {
		t.Error("unset autoPromotionEnabled should default to true")
	}
	if AutoPromotionEnabled(blueGreenRollout(nil, func(bg *BlueGreenStrategy) { bg.AutoPromotionEnabled = ptr.To(false) })) {
		t.Error("explicit false ignored")
	}
	if !AutoPromotionEnabled(canaryRollout(nil, nil)) {
		t.Error("canary should report the default")
	}
}

func TestMaxSurgeAndMaxUnavailable(t *testing.T) {
	is := func(v intstr.IntOrString) *intstr.IntOrString { return &v }
	canary := func(replicas *int32, surge, unavailable *intstr.IntOrString) *Rollout {
		return canaryRollout(replicas, func(c *CanaryStrategy) { c.MaxSurge, c.MaxUnavailable = surge, unavailable })
	}
	blueGreen := func(replicas *int32, unavailable *intstr.IntOrString) *Rollout {
		return blueGreenRollout(replicas, func(bg *BlueGreenStrategy) { bg.MaxUnavailable = unavailable })
	}
	tests := []struct {
		name               string
		ro                 *Rollout
		surge, unavailable int32
	}{
		{"canary defaults, 10 replicas: 25% up and down", canary(ptr.To[int32](10), nil, nil), 3, 2},
		{"canary defaults, replicas unset (1)", canary(nil, nil, nil), 1, 0},
		{"canary zero replicas", canary(ptr.To[int32](0), nil, nil), 0, 0},
		{"canary both zero gets one unavailable", canary(ptr.To[int32](5), is(intstr.FromInt32(0)), is(intstr.FromInt32(0))), 0, 1},
		{"canary percentages rounding to zero", canary(ptr.To[int32](5), is(intstr.FromString("0%")), is(intstr.FromString("10%"))), 0, 1},
		{"canary percent surge, absolute unavailable", canary(ptr.To[int32](5), is(intstr.FromString("20%")), is(intstr.FromInt32(1))), 1, 1},
		{"canary rounds surge up and unavailable down", canary(ptr.To[int32](10), is(intstr.FromString("33%")), is(intstr.FromString("33%"))), 4, 3},
		{"canary unavailable capped at replicas", canary(ptr.To[int32](5), nil, is(intstr.FromInt32(10))), 2, 5},
		{"canary bare numeric string is a percentage", canary(ptr.To[int32](4), is(intstr.FromString("50")), is(intstr.FromString("50"))), 2, 2},
		{"canary invalid surge resolves to 0", canary(ptr.To[int32](4), is(intstr.FromString("x")), nil), 0, 1},
		{"blue-green never surges", blueGreen(ptr.To[int32](4), nil), 0, 1},
		{"blue-green one replica, default", blueGreen(nil, nil), 0, 0},
		{"blue-green zero unavailable stays zero", blueGreen(ptr.To[int32](3), is(intstr.FromInt32(0))), 0, 0},
		{"blue-green percentage rounds down", blueGreen(ptr.To[int32](3), is(intstr.FromString("50%"))), 0, 1},
	}
	for _, tt := range tests {
		if got := MaxSurge(tt.ro); got != tt.surge {
			t.Errorf("%s: MaxSurge = %d, want %d", tt.name, got, tt.surge)
		}
		if got := MaxUnavailable(tt.ro); got != tt.unavailable {
			t.Errorf("%s: MaxUnavailable = %d, want %d", tt.name, got, tt.unavailable)
		}
	}
}

func TestResolveIntOrPercentErrors(t *testing.T) {
	for _, v := range []intstr.IntOrString{intstr.FromInt32(-1), intstr.FromString("-5%"), intstr.FromString("abc"), intstr.FromString("%"), intstr.FromString("")} {
		if _, err := ResolveIntOrPercent(v, 10, true); err == nil {
			t.Errorf("%s: no error", v.String())
		}
	}
	if got, _ := ResolveIntOrPercent(intstr.FromString("100%"), 1<<30, true); got != 1<<30 {
		t.Errorf("100%% of 2^30 = %d", got)
	}
}

func TestDefaultsDoNotMutate(t *testing.T) {
	for _, ro := range []*Rollout{canaryRollout(nil, withTrafficRouting), blueGreenRollout(nil, nil)} {
		before := ro.DeepCopy()
		_ = []any{Replicas(ro), RevisionHistoryLimit(ro), ProgressDeadlineSeconds(ro), SuccessfulRunHistoryLimit(ro),
			UnsuccessfulRunHistoryLimit(ro), ScaleDownDelaySeconds(ro), AbortScaleDownDelaySeconds(ro), AbortScaleDownNever(ro),
			AutoPromotionEnabled(ro), MaxTrafficWeight(ro), MaxSurge(ro), MaxUnavailable(ro), MaxSurgeValue(ro), MaxUnavailableValue(ro)}
		if !equality.Semantic.DeepEqual(before, ro) {
			t.Errorf("accessors mutated the rollout: %+v", ro.Spec)
		}
	}
}

func TestPauseDurationSeconds(t *testing.T) {
	i := func(v int32) *intstr.IntOrString { d := intstr.FromInt32(v); return &d }
	s := func(v string) *intstr.IntOrString { d := intstr.FromString(v); return &d }
	tests := []struct {
		duration *intstr.IntOrString
		want     int32
	}{
		{nil, 0},
		{i(10), 10},
		{i(-3), -3},
		{s("10"), 10},
		{s("30s"), 30},
		{s("1h"), 3600},
		{s("1m30s"), 90},
		{s("10m"), 600},
		{s("500ms"), 0},
		{s("-5s"), -5},
		{s("abc"), -1},
		{s(""), -1},
		{s("10x"), -1},
		{s("99999999999"), -1},
		{s("1000000h"), -1},
	}
	for _, tt := range tests {
		if got := (RolloutPause{Duration: tt.duration}).DurationSeconds(); got != tt.want {
			t.Errorf("DurationSeconds(%v) = %d, want %d", tt.duration, got, tt.want)
		}
	}
}
