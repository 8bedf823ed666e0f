package controller

import (
	"encoding/json"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// An ALB Ingress is handed back from a rollout that is gone: its action returns to 100% on the
// Service it is named after. The entry of a rollout of another controller instance, which this
// controller does not cache, stays.
func TestIngressHandedBackFromGoneRollouts(t *testing.T) {
	c := newCluster(t)
	other := guideRollout("default", "other", map[string]string{InstanceIDLabel: "green"})
	other.Spec.Strategy.Canary.CanaryService, other.Spec.Strategy.Canary.StableService = "other-canary", "other-stable"
	other.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}}
	c.create(other)

	split := func(canary, stable string) string {
		return `{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"` + canary + `","servicePort":"80","weight":20},` +
			`{"serviceName":"` + stable + `","servicePort":"80","weight":80}]}}`
	}
	gone, others := "alb.ingress.kubernetes.io/actions.gone-stable", "alb.ingress.kubernetes.io/actions.other-stable"
	managed, _ := json.Marshal(map[string][]string{"gone": {gone}, "other": {others}})
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: map[string]string{
		"kubernetes.io/ingress.class": "alb", alb.ManagedAnnotations: string(managed),
		gone: split("gone-canary", "gone-stable"), others: split("other-canary", "other-stable"),
	}}}
	if err := c.kube.Tracker().Add(ing); err != nil {
		t.Fatal(err)
	}
	opts := c.options(&eventLog{})
	opts.InstanceID = "blue"
	c.start(opts)

	ingresses := networkingv1.SchemeGroupVersion.WithResource("ingresses")
	var got *networkingv1.Ingress
	c.eventually("the gone rollout's action is reset", func() bool {
		o, err := c.kube.Tracker().Get(ingresses, "default", "web")
		if err != nil {
			return false
		}
		got = o.(*networkingv1.Ingress)
		return got.Annotations[gone] != split("gone-canary", "gone-stable")
	})
	a, err := alb.ParseAction(got.Annotations[gone])
	if err != nil || len(a.ForwardConfig.TargetGroups) != 1 || a.ForwardConfig.TargetGroups[0].ServiceName != "gone-stable" ||
		*a.ForwardConfig.TargetGroups[0].Weight != 100 {
		t.Errorf("released action %s (%v), want 100%% gone-stable", got.Annotations[gone], err)
	}
	if got.Annotations[others] != split("other-canary", "other-stable") {
		t.Errorf("the other instance's action changed: %s", got.Annotations[others])
	}
	m, _ := alb.Managed(got)
	if _, ok := m["gone"]; ok || len(m["other"]) != 1 {
		t.Errorf("bookkeeping %v, want only the other instance's rollout", m)
	}
	c.checkRBAC(5)
}
