package rollout

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func TestApproximateCanaryStable(t *testing.T) {
	cases := []struct {
		n, weight, surge int32
		canary, stable   int32
		why              string
	}{
		{5, 20, 2, 1, 4, "the getting-started guide: 1 of 5 pods new"},
		{5, 40, 2, 2, 3, "exact split"},
		{5, 60, 2, 3, 2, "exact split"},
		{5, 80, 2, 4, 1, "exact split"},
		{5, 100, 2, 5, 0, "fully promoted"},
		{5, 0, 2, 0, 5, "aborted"},
		{3, 50, 0, 2, 1, "1.5 pods: a tie rounds the canary up"},
		{10, 14, 0, 1, 9, "10% is closer to 14% than 20%"},
		{10, 15, 0, 2, 8, "a tie between 10% and 20% takes the larger canary"},
		{10, 15, 3, 2, 9, "with surge, 2 of 11 (18%) is closest to 15%"},
		{1, 5, 0, 0, 1, "one pod without surge may leave the canary empty"},
		{1, 5, 1, 1, 1, "one pod with surge runs both"},
		{1, 95, 1, 1, 1, "one pod with surge runs both"},
		{4, 1, 0, 1, 3, "a weight of 1% still gets a pod"},
		{4, 99, 0, 3, 1, "a weight of 99% still leaves a stable pod"},
		{4, 1, 1, 1, 4, "with surge, 1 of 5 (20%) is closer to 1% than 1 of 4"},
		{4, 99, 1, 4, 1, "with surge, 4 of 5 (80%) is closer to 99% than 3 of 4"},
		{0, 50, 1, 0, 0, "nothing to split"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_w%d_s%d", c.n, c.weight, c.surge), func(t *testing.T) {
			canary, stable := ApproximateCanaryStable(c.n, c.weight, c.surge)
			if canary != c.canary || stable != c.stable {
				t.Errorf("got (%d,%d), want (%d,%d): %s", canary, stable, c.canary, c.stable, c.why)
			}
		})
	}
}

func rs(name string, spec, avail int32, rev int) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(rev)},
			Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: name}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &spec},
		Status: appsv1.ReplicaSetStatus{Replicas: spec, ReadyReplicas: avail, AvailableReplicas: avail},
	}
}

func canaryRollout(replicas int32, stepIndex int32, weights ...int32) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Replicas: &replicas,
		Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}}}}
	for _, w := range weights {
		w := w
		ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, v1alpha1.CanaryStep{SetWeight: &w})
	}
	ro.Status.CurrentStepIndex = &stepIndex
	ro.Status.StableRS, ro.Status.CurrentPodHash = "stable", "new"
	return ro
}

func TestBasicCanaryCounts(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int) *intstr.IntOrString { v := intstr.FromInt(n); return &v }
	cases := []struct {
		name                string
		ro                  *v1alpha1.Rollout
		newRS, stable       *appsv1.ReplicaSet
		others              []*appsv1.ReplicaSet
		wantNew, wantStable int32
	}{
		{name: "guide step 20%: stable gives a pod first (surge 2, unavailable 1)",
			ro: canaryRollout(5, 0, 20), newRS: rs("new", 0, 0, 2), stable: rs("stable", 5, 5, 1), wantNew: 1, wantStable: 4},
		{name: "guide step 20% after the stable shrank: the canary grows",
			ro: canaryRollout(5, 0, 20), newRS: rs("new", 0, 0, 2), stable: rs("stable", 4, 4, 1), wantNew: 1, wantStable: 4},
		{name: "20% → 40% moves one pod each way",
			ro: canaryRollout(5, 1, 20, 40), newRS: rs("new", 1, 1, 2), stable: rs("stable", 4, 4, 1), wantNew: 2, wantStable: 3},
		{name: "a stable pod goes as long as availability stays at minAvailable",
			ro: canaryRollout(5, 1, 20, 40), newRS: rs("new", 2, 1, 2), stable: rs("stable", 4, 4, 1), wantNew: 2, wantStable: 3},
		{name: "no stable pod goes while that would take availability below minAvailable",
			ro: canaryRollout(5, 1, 20, 40), newRS: rs("new", 2, 0, 2), stable: rs("stable", 4, 4, 1), wantNew: 2, wantStable: 4},
		{name: "past the last step the canary takes everything",
			ro: canaryRollout(5, 1, 80), newRS: rs("new", 4, 4, 2), stable: rs("stable", 1, 1, 1), wantNew: 5, wantStable: 0},
		{name: "initial deploy: no stable, all pods new at once",
			ro:    func() *v1alpha1.Rollout { r := canaryRollout(5, 0, 20); r.Status.StableRS = ""; return r }(),
			newRS: rs("new", 0, 0, 1), wantNew: 5},
		{name: "abort: the stable grows back first",
			ro:    func() *v1alpha1.Rollout { r := canaryRollout(5, 1, 20); r.Status.Abort = true; return r }(),
			newRS: rs("new", 1, 1, 2), stable: rs("stable", 4, 4, 1), wantNew: 0, wantStable: 5},
		{name: "abort: the canary goes once the stable can cover minAvailable",
			ro:    func() *v1alpha1.Rollout { r := canaryRollout(5, 1, 20); r.Status.Abort = true; return r }(),
			newRS: rs("new", 1, 1, 2), stable: rs("stable", 5, 4, 1), wantNew: 0, wantStable: 5},
		{name: "other ReplicaSets drain before new or stable shrink",
			ro: canaryRollout(5, 0, 40), newRS: rs("new", 0, 0, 3), stable: rs("stable", 4, 4, 1),
			others: []*appsv1.ReplicaSet{rs("mid", 1, 1, 2)}, wantNew: 2, wantStable: 4},
		{name: "maxSurge 0 and maxUnavailable 1: shrink, then grow",
			ro: func() *v1alpha1.Rollout {
				r := canaryRollout(4, 0, 50)
				r.Spec.Strategy.Canary.MaxSurge, r.Spec.Strategy.Canary.MaxUnavailable = num(0), num(1)
				return r
			}(),
			newRS: rs("new", 0, 0, 2), stable: rs("stable", 4, 4, 1), wantNew: 0, wantStable: 3},
		{name: "maxUnavailable 0 and maxSurge 100%: grow the canary fully first",
			ro: func() *v1alpha1.Rollout {
				r := canaryRollout(4, 0, 50)
				r.Spec.Strategy.Canary.MaxSurge, r.Spec.Strategy.Canary.MaxUnavailable = pct("100%"), num(0)
				return r
			}(),
			newRS: rs("new", 0, 0, 2), stable: rs("stable", 4, 4, 1), wantNew: 2, wantStable: 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gotNew, gotStable := BasicCanaryCounts(c.ro, c.newRS, c.stable, c.others)
			if gotNew != c.wantNew || gotStable != c.wantStable {
				t.Errorf("got new %d stable %d, want new %d stable %d", gotNew, gotStable, c.wantNew, c.wantStable)
			}
		})
	}
}

func TestTrafficRoutedCounts(t *testing.T) {
	ro := canaryRollout(10, 0, 15)
	ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
	if c, s := TrafficRoutedCounts(ro); c != 2 || s != 10 {
		t.Fatalf("15%% of 10 with a router: got (%d,%d), want (2,10): the canary rounds up, the stable stays full", c, s)
	}
	three := int32(3)
	ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = &three
	if c, _ := TrafficRoutedCounts(ro); c != 3 {
		t.Fatalf("minPodsPerReplicaSet 3: got canary %d", c)
	}
	five := int32(5)
	ro.Spec.Strategy.Canary.Steps = append([]v1alpha1.CanaryStep{{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: &five}}}, ro.Spec.Strategy.Canary.Steps...)
	ro.Status.CurrentStepIndex = new(int32)
	if c, _ := TrafficRoutedCounts(ro); c != 5 {
		t.Fatalf("setCanaryScale replicas 5: got canary %d", c)
	}
}
