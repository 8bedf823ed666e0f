package rollout

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// apisixGuide turns the guide's rollout into one routed by an ApisixRoute, as on the APISIX page.
func apisixGuide(ro *v1alpha1.Rollout) {
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "demo-canary", "demo-stable"
	c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Apisix: &v1alpha1.ApisixTrafficRouting{
		Route: &v1alpha1.ApisixRoute{Name: "demo-route", Rules: []string{"demo"}}}}
}

func apisixRoute(name string, canary, stable int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apisix.apache.org/v2", "kind": "ApisixRoute",
		"metadata": map[string]any{"name": name, "namespace": "ns", "resourceVersion": "3", "uid": "route-uid"},
		"spec": map[string]any{"http": []any{map[string]any{
			"name":  "demo",
			"match": map[string]any{"paths": []any{"/*"}, "hosts": []any{"demo.local"}},
			"backends": []any{
				map[string]any{"serviceName": "demo-stable", "servicePort": int64(80), "weight": stable},
				map[string]any{"serviceName": "demo-canary", "servicePort": int64(80), "weight": canary},
			}}}},
	}}
	return u
}

func apisixWorld(ro *v1alpha1.Rollout, stable, canary *appsv1.ReplicaSet, routes ...*unstructured.Unstructured) Observed {
	svc := func(name, hash string) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: "demo"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo"}}}
		if hash != "" {
			s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
		}
		return s
	}
	in := Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, Now: t0, Config: DefaultConfig(),
		Services:     map[string]*corev1.Service{"demo-canary": svc("demo-canary", podHash(canary)), "demo-stable": svc("demo-stable", podHash(stable))},
		ApisixRoutes: map[string]*unstructured.Unstructured{}}
	for _, r := range routes {
		in.ApisixRoutes[r.GetName()] = r
	}
	return in
}

func actionOf(p *Plan, kind ActionKind) *Action {
	for i := range p.Actions {
		if p.Actions[i].Kind == kind {
			return &p.Actions[i]
		}
	}
	return nil
}

// The step completes only once the stored ApisixRoute carries the weight (read-back).
func TestApisixWeightIsVerifiedByReadBack(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	apisixGuide(ro)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	plan := Decide(apisixWorld(ro, stable, canary, apisixRoute("demo-route", 0, 100)))
	a := actionOf(plan, PatchApisixRoute)
	if a == nil || a.Name != "demo-route" || a.Namespace != "ns" ||
		!strings.Contains(string(a.Patch), `{"serviceName":"demo-stable","servicePort":80,"weight":80},{"serviceName":"demo-canary","servicePort":80,"weight":20}`) ||
		!strings.Contains(string(a.Patch), `"resourceVersion":"3"`) {
		t.Fatalf("actions %s", actionStrings(plan))
	}
	w := plan.Status.Canary.Weights
	if w == nil || w.Canary.Weight != 20 || w.Verified == nil || *w.Verified || *plan.Status.CurrentStepIndex != 0 {
		t.Fatalf("weights %+v, step %v: not verified, step 0", w, *plan.Status.CurrentStepIndex)
	}
	if plan.RequeueAfter == 0 {
		t.Fatal("no requeue while the weight is not in effect")
	}
	// The stored route has it now: verified, and the step completes.
	ro.Status = *plan.Status
	plan = Decide(apisixWorld(ro, stable, canary, apisixRoute("demo-route", 20, 80)))
	if a := actionOf(plan, PatchApisixRoute); a != nil {
		t.Fatalf("patched a route that is up to date: %s", a)
	}
	if w := plan.Status.Canary.Weights; w == nil || w.Verified == nil || !*w.Verified || *plan.Status.CurrentStepIndex != 1 {
		t.Fatalf("weights %+v, step %d", w, *plan.Status.CurrentStepIndex)
	}
	// Someone sets 50% by hand: the rollout says so and sets 20% again.
	ro.Status = *plan.Status
	plan = Decide(apisixWorld(ro, stable, canary, apisixRoute("demo-route", 50, 50)))
	if actionOf(plan, PatchApisixRoute) == nil || !strings.Contains(eventReasons(plan), reasonApisixWeightNotInEffect) {
		t.Fatalf("actions %s, events %s", actionStrings(plan), eventReasons(plan))
	}
}

// The APISIX example's first steps: one canary pod and the set-header route, created with an
// owner reference, then a pause; nothing to do once it is stored; deleted at the abort.
func TestApisixHeaderRouteLifecycle(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	apisixGuide(ro)
	c := ro.Spec.Strategy.Canary
	c.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "set-header"}}
	c.Steps = append([]v1alpha1.CanaryStep{{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr(1)},
		SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "set-header", Match: []v1alpha1.HeaderRoutingMatch{
			{HeaderName: "trace", HeaderValue: &v1alpha1.StringMatch{Exact: "debug"}}}}}, {Pause: &v1alpha1.RolloutPause{}}}, c.Steps...)
	ro.Status.CurrentStepHash = StepsHash(ro)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	main := apisixRoute("demo-route", 0, 100)
	plan := Decide(apisixWorld(ro, stable, canary, main))
	a := actionOf(plan, CreateApisixRoute)
	if a == nil || a.Object == nil || a.Name != "set-header" {
		t.Fatalf("actions %s", actionStrings(plan))
	}
	if ref := metav1.GetControllerOf(a.Object); ref == nil || ref.UID != ro.UID || ref.Kind != "Rollout" {
		t.Fatalf("owner %+v", ref)
	}
	if *plan.Status.CurrentStepIndex != 1 {
		t.Fatalf("step %d: the step completes with its canary scale", *plan.Status.CurrentStepIndex)
	}
	stored := a.Object.DeepCopy()
	stored.SetResourceVersion("9")
	stored.SetUID("managed-uid")
	ro.Status = *plan.Status
	plan = Decide(apisixWorld(ro, stable, canary, main, stored))
	if len(plan.Actions) != 0 {
		t.Fatalf("actions with everything in place: %s", actionStrings(plan))
	}
	// Abort: the header route goes.
	ro.Status.Abort = true
	plan = Decide(apisixWorld(ro, stable, canary, main, stored))
	if d := actionOf(plan, DeleteApisixRoute); d == nil || d.Name != "set-header" || d.Object.GetUID() != "managed-uid" {
		t.Fatalf("actions %s", actionStrings(plan))
	}
	// A route of that name the rollout does not control is never touched, and is reported.
	theirs := stored.DeepCopy()
	theirs.SetOwnerReferences(nil)
	plan = Decide(apisixWorld(ro, stable, canary, main, theirs))
	if actionOf(plan, DeleteApisixRoute) != nil {
		t.Fatalf("deleted a route it does not own: %s", actionStrings(plan))
	}
	ro.Status.Abort = false
	plan = Decide(apisixWorld(ro, stable, canary, main, theirs))
	if actionOf(plan, PatchApisixRoute) != nil || actionOf(plan, CreateApisixRoute) != nil ||
		plan.Err == nil || !strings.Contains(plan.Err.Error(), "duplicate ApisixRoute [set-header] already exists") {
		t.Fatalf("actions %s, err %v", actionStrings(plan), plan.Err)
	}
}

func TestApisixInvalidSpec(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	apisixGuide(ro)
	plan := Decide(apisixWorld(ro, stable, canary))
	cond := getCondition(*plan.Status, v1alpha1.InvalidSpec)
	if cond == nil || !strings.Contains(cond.Message, "spec.strategy.canary.trafficRouting.apisix") || !strings.Contains(cond.Message, "ApisixRoute ns/demo-route not found") {
		t.Fatalf("condition %+v", cond)
	}
	route := apisixRoute("demo-route", 0, 100)
	route.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["name"] = "other"
	plan = Decide(apisixWorld(ro, stable, canary, route))
	if cond := getCondition(*plan.Status, v1alpha1.InvalidSpec); cond == nil || !strings.Contains(cond.Message, "Apisix http route rule demo not found") {
		t.Fatalf("condition %+v", cond)
	}
	// A mirror route stays Istio's.
	c := ro.Spec.Strategy.Canary
	c.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "m"}}
	c.Steps = append(c.Steps, v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}})
	plan = Decide(apisixWorld(ro, stable, canary, apisixRoute("demo-route", 0, 100)))
	if cond := getCondition(*plan.Status, v1alpha1.InvalidSpec); cond == nil || !strings.Contains(cond.Message, "SetMirrorRoute requires TrafficRouting, supports Istio only") {
		t.Fatalf("condition %+v", cond)
	}
}
