package rollout

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/aws"
)

// albGuide turns the guide's rollout into the ALB guide's: canary/stable/root Services and an Ingress.
func albGuide(ro *v1alpha1.Rollout) {
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "demo-canary", "demo-stable"
	c.TrafficRouting = &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "demo", ServicePort: 80, RootService: "demo-root"}}
}

func albWorld(ro *v1alpha1.Rollout, stable, canary *appsv1.ReplicaSet) Observed {
	svc := func(name, hash string) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: "demo"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo"}}}
		if hash != "" {
			s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
		}
		return s
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "demo-root",
				Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}}}}}}}}}}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: "lb.example"}}
	return Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, Now: t0, Config: DefaultConfig(),
		Services: map[string]*corev1.Service{"demo-canary": svc("demo-canary", podHash(canary)), "demo-stable": svc("demo-stable", podHash(stable)),
			"demo-root": svc("demo-root", "")},
		Ingresses: map[string]*networkingv1.Ingress{"demo": ing}}
}

func ingressPatch(p *Plan) string {
	for _, a := range p.Actions {
		if a.Kind == PatchIngress {
			return string(a.Patch)
		}
	}
	return ""
}

func TestALBWeightFollowsCanaryAvailability(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	albGuide(ro)
	// The canary pod is not available yet: the annotation keeps 0% for it.
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 0
	plan := Decide(albWorld(ro, stable, canary))
	if p := ingressPatch(plan); !strings.Contains(p, `\"ServiceName\":\"demo-canary\",\"ServicePort\":\"80\",\"Weight\":0`) {
		t.Fatalf("ingress patch %s", p)
	}
	// Once it is available, 20% goes to it and the weights are recorded.
	canary.Status.AvailableReplicas = 1
	plan = Decide(albWorld(ro, stable, canary))
	if p := ingressPatch(plan); !strings.Contains(p, `\"Weight\":20},{\"ServiceName\":\"demo-stable\",\"ServicePort\":\"80\",\"Weight\":80`) {
		t.Fatalf("ingress patch %s", p)
	}
	w := plan.Status.Canary.Weights
	if w == nil || w.Canary.Weight != 20 || w.Stable.Weight != 80 || w.Canary.ServiceName != "demo-canary" || w.Verified != nil {
		t.Fatalf("weights %+v", w)
	}
	if !strings.Contains(eventReasons(plan), reasonTrafficWeightUpdated) {
		t.Errorf("events %s", eventReasons(plan))
	}
	// With a router the stable stays at full size and the canary is sized by weight: ceil(20% of 5).
	if got := actionStrings(plan); strings.Contains(got, "update ReplicaSet "+stable.Name) {
		t.Fatalf("the stable was resized with a router: %s", got)
	}
}

func TestWeightVerificationHoldsTheStep(t *testing.T) {
	ro, stable, canary := midUpdate(0)
	albGuide(ro)
	ro.Status.ALB = &v1alpha1.ALBStatus{}
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	in := albWorld(ro, stable, canary)
	in.Config.VerifyTargetGroup = true
	weight := func(w int32) *int32 { return &w }
	in.AWS = &AWSState{LoadBalancers: map[string]*aws.LoadBalancer{"demo": {Name: "lb", ARN: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/lb/1", FullName: "app/lb/1",
		TargetGroups: map[string]aws.TargetGroup{
			"ns/demo-demo-canary:80": {Name: "tg-c", ARN: "arn:c", Weight: weight(0)},
			"ns/demo-demo-stable:80": {Name: "tg-s", ARN: "arn:s", Weight: weight(100)},
		}}}}
	plan := Decide(in)
	if plan.Status == nil || plan.Status.Canary.Weights.Verified == nil || *plan.Status.Canary.Weights.Verified {
		t.Fatalf("AWS still has 0%%: the weight must be unverified: %+v", plan.Status)
	}
	if *plan.Status.CurrentStepIndex != 0 || plan.RequeueAfter != verifyRetry {
		t.Fatalf("the step completed or no retry: step %d requeue %s", *plan.Status.CurrentStepIndex, plan.RequeueAfter)
	}
	if a := plan.Status.ALB; a == nil || a.LoadBalancer.FullName != "app/lb/1" || a.CanaryTargetGroup.Name != "tg-c" || a.StableTargetGroup.ARN != "arn:s" {
		t.Fatalf("status.alb %+v", a)
	}
	// AWS catches up: the step completes.
	in.AWS.LoadBalancers["demo"].TargetGroups["ns/demo-demo-canary:80"] = aws.TargetGroup{Name: "tg-c", ARN: "arn:c", Weight: weight(20)}
	plan = Decide(in)
	if *plan.Status.CurrentStepIndex != 1 || !*plan.Status.Canary.Weights.Verified {
		t.Fatalf("verified weight did not complete the step: %+v", plan.Status)
	}
}

func TestOldStableWaitsForRegistrationThenDelay(t *testing.T) {
	// Fully promoted: yellow is stable now, blue is the old stable with 5 pods.
	ro, blue, yellow := midUpdate(8)
	albGuide(ro)
	ro.Status.StableRS = ro.Status.CurrentPodHash
	yellow.Spec.Replicas, yellow.Status.Replicas, yellow.Status.AvailableReplicas = ptr(5), 5, 5
	in := albWorld(ro, yellow, blue)
	in.Services["demo-stable"].Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] = podHash(yellow)
	in.Config.VerifyTargetGroup = true
	in.AWS = &AWSState{TargetsService: "demo-stable", Registrations: []aws.Registration{{Binding: "b", TargetGroupARN: "arn:s",
		Want: []string{"10.0.0.1:8080", "10.0.0.2:8080"}, Targets: map[string]string{"10.0.0.1:8080": "healthy"}}}}
	plan := Decide(in)
	for _, a := range plan.Actions {
		if a.Kind == UpdateReplicaSet && a.ReplicaSet.Name == blue.Name {
			t.Fatalf("the old stable was touched before its replacement was registered: %s", actionStrings(plan))
		}
	}
	if !strings.Contains(eventReasons(plan), reasonTGUnverified) {
		t.Fatalf("events %s", eventReasons(plan))
	}
	// Registered (initial is enough by default): the old stable gets its scale-down deadline, keeps its pods.
	in.AWS.Registrations[0].Targets["10.0.0.2:8080"] = "initial"
	plan = Decide(in)
	var marked *appsv1.ReplicaSet
	for _, a := range plan.Actions {
		if a.Kind == UpdateReplicaSet && a.ReplicaSet.Name == blue.Name {
			marked = a.ReplicaSet
		}
	}
	if marked == nil || specReplicas(marked) != 5 || marked.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] != t0.Add(30*time.Second).Format(time.RFC3339) {
		t.Fatalf("the old stable should keep 5 pods with a deadline 30 s away: %s", actionStrings(plan))
	}
	// With health verification, an initial target does not count.
	in.Config.VerifyTargetHealth = true
	plan = Decide(in)
	for _, a := range plan.Actions {
		if a.Kind == UpdateReplicaSet && a.ReplicaSet.Name == blue.Name {
			t.Fatalf("an initial target passed health verification: %s", actionStrings(plan))
		}
	}
	// Past the deadline it goes.
	blue.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = t0.Add(-time.Second).Format(time.RFC3339)
	in.Config.VerifyTargetHealth = false
	in.Now = t0
	plan = Decide(in)
	if got := actionStrings(plan); !strings.Contains(got, "update ReplicaSet "+blue.Name+" (replicas 0)") {
		t.Fatalf("the old stable did not go after its deadline: %s", got)
	}
}
