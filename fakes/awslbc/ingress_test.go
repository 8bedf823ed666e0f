package awslbc

import (
	"context"
	"strings"
	"testing"
	"time"

	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// The Argo ALB guide's Ingress (use-annotation backend, canary 5 / stable 95) gives a load
// balancer, an HTTP:80 listener, one rule with exactly those weights on target groups tagged as
// Argo looks them up, a binding per group, and the hostname in the Ingress status.
func TestGuideIngressDeploysStack(t *testing.T) {
	w := newWorld(t, testConfig())
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(5 * time.Second)

	lbs := w.loadBalancers()
	if len(lbs) != 1 {
		t.Fatalf("load balancers: %d, want 1", len(lbs))
	}
	lb := lbs[0]
	if name := *lb.LoadBalancerName; !strings.HasPrefix(name, "k8s-default-demo-") || len(name) > 32 || name != loadBalancerName("rolloutlab", k8stypes.NamespacedName{Namespace: ns, Name: "demo"}) {
		t.Errorf("load balancer name %q", name)
	}
	if lb.Scheme != types.LoadBalancerSchemeEnumInternetFacing {
		t.Errorf("scheme %s", lb.Scheme)
	}
	canary, stable := w.binding("canary"), w.binding("stable")
	if canary == nil || stable == nil || w.binding("root") != nil {
		t.Fatalf("bindings: canary %v stable %v root %v (the root is an action, not a target group)", canary, stable, w.binding("root"))
	}
	weights := w.forwardRule(lb)
	want := map[string]int32{canary.Spec.TargetGroupARN: 5, stable.Spec.TargetGroupARN: 95}
	if len(weights) != 2 || weights[canary.Spec.TargetGroupARN] != 5 || weights[stable.Spec.TargetGroupARN] != 95 {
		t.Errorf("rule weights %v, want %v", weights, want)
	}
	for svc, b := range map[string]*tgbv1.TargetGroupBinding{"canary": canary, "stable": stable} {
		checkTargetGroup(t, w, b, "default/demo-"+svc+":80")
		if b.Spec.ServiceRef.Name != svc || b.Spec.ServiceRef.Port != intstr.FromInt32(80) || *b.Spec.TargetType != "ip" {
			t.Errorf("binding %s spec %+v", b.Name, b.Spec)
		}
	}
	if st := w.ingress().Status.LoadBalancer.Ingress; len(st) != 1 || st[0].Hostname != *lb.DNSName {
		t.Errorf("ingress status %+v, want hostname %s", st, *lb.DNSName)
	}
}

// checkTargetGroup checks a binding's target group: named like the binding, tagged, with the
// LBC's health checks and the annotation's deregistration delay.
func checkTargetGroup(t *testing.T, w *world, b *tgbv1.TargetGroupBinding, resID string) {
	t.Helper()
	ctx := context.Background()
	out, err := w.fake.DescribeTargetGroups(ctx, &elbv2sdk.DescribeTargetGroupsInput{TargetGroupArns: []string{b.Spec.TargetGroupARN}})
	if err != nil {
		t.Fatal(err)
	}
	tg := out.TargetGroups[0]
	if *tg.TargetGroupName != b.Name || !strings.HasPrefix(b.Name, "k8s-default-") || len(b.Name) > 32 {
		t.Errorf("target group %s, binding %s", *tg.TargetGroupName, b.Name)
	}
	if tg.TargetType != types.TargetTypeEnumIp || *tg.Port != 8080 || *tg.HealthCheckPath != "/" || *tg.HealthCheckPort != "traffic-port" ||
		*tg.HealthCheckIntervalSeconds != 15 || *tg.HealthCheckTimeoutSeconds != 5 || *tg.HealthyThresholdCount != 2 || *tg.UnhealthyThresholdCount != 2 {
		t.Errorf("target group %s settings: %+v", resID, tg)
	}
	tags, err := w.fake.DescribeTags(ctx, &elbv2sdk.DescribeTagsInput{ResourceArns: []string{b.Spec.TargetGroupARN}})
	if err != nil {
		t.Fatal(err)
	}
	got := tags.TagDescriptions[0].Tags
	if tag(got, tagResource) != resID || tag(got, tagStack) != "default/demo" || tag(got, tagCluster) != "rolloutlab" {
		t.Errorf("tags of %s: %v", resID, got)
	}
	attrs, err := w.fake.DescribeTargetGroupAttributes(ctx, &elbv2sdk.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	if d := attribute(attrs.Attributes, "deregistration_delay.timeout_seconds"); d != "20" {
		t.Errorf("deregistration delay of %s: %s, want 20", resID, d)
	}
}

// A new weight in the annotation is a ModifyRule of the same rule, one reconcile lag later.
func TestWeightChangeModifiesRule(t *testing.T) {
	w := newWorld(t, testConfig())
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(5 * time.Second)
	canary, stable := w.binding("canary"), w.binding("stable")
	lb := w.loadBalancers()[0]

	w.setAnnotation("alb.ingress.kubernetes.io/actions.root", action("canary", "stable", 20))
	w.run(999 * time.Millisecond)
	if got := w.forwardRule(lb); got[canary.Spec.TargetGroupARN] != 5 {
		t.Fatalf("weights changed before the reconcile lag: %v", got)
	}
	w.run(time.Millisecond)
	got := w.forwardRule(lb)
	if got[canary.Spec.TargetGroupARN] != 20 || got[stable.Spec.TargetGroupARN] != 80 {
		t.Errorf("weights %v, want canary 20 stable 80", got)
	}
	if n := strings.Count(strings.Join(w.api.log, "\n"), "CreateRule"); n != 1 {
		t.Errorf("CreateRule calls: %d, want 1 (%v)", n, w.api.log)
	}
	if last := w.api.log[len(w.api.log)-1]; last != "ModifyRule" {
		t.Errorf("last call %s, want ModifyRule", last)
	}
	changed := w.eventsOf(EventRulesChanged)
	if msg := changed[len(changed)-1].Message; msg != "rule 1: forward default/demo-canary:80=20 default/demo-stable:80=80" {
		t.Errorf("event %q", msg)
	}
	if w.lbc.Stats().Calls["CreateTargetGroup"] != 2 {
		t.Errorf("target groups created again: %v", w.lbc.Stats().Calls)
	}
}

// Deleting the Ingress deletes its bindings, load balancer and target groups.
func TestIngressDeletionDeletesStack(t *testing.T) {
	w := newWorld(t, testConfig())
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(5 * time.Second)
	w.create(kube.ReplicaSets, replicaSet("v1", 2))
	w.run(time.Minute)
	if len(w.targets(w.binding("stable").Spec.TargetGroupARN)) != 2 {
		t.Fatal("stable targets not registered")
	}

	if err := w.store.Delete(kube.Ingresses, ns, "demo", nil); err != nil {
		t.Fatal(err)
	}
	w.run(10 * time.Second)
	if lbs := w.loadBalancers(); len(lbs) != 0 {
		t.Errorf("load balancers left: %d", len(lbs))
	}
	tgs, err := w.fake.DescribeTargetGroups(context.Background(), &elbv2sdk.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 0 {
		t.Errorf("target groups left: %v %v", tgs, err)
	}
	if bs := w.store.PeekList(tgbv1.Resource, ns); len(bs) != 0 {
		t.Errorf("bindings left: %d", len(bs))
	}
	if len(w.lbc.stacks) != 0 || len(w.eventsOf(EventBackoff)) != 0 {
		t.Errorf("stacks %v, back-offs %v", w.lbc.stacks, w.eventsOf(EventBackoff))
	}
	for _, p := range w.pods("v1") {
		if !podCondition(p, corev1.PodReady) {
			t.Errorf("pod %s not ready after its binding went", p.Name)
		}
	}
}

// An Ingress of another class is left alone.
func TestOtherClassIgnored(t *testing.T) {
	w := newWorld(t, testConfig())
	w.guideServices()
	ing := guideIngress(5)
	ing.Annotations["kubernetes.io/ingress.class"] = "nginx"
	w.create(kube.Ingresses, ing)
	w.run(5 * time.Second)
	if len(w.loadBalancers()) != 0 || w.lbc.Stats().IngressReconciles != 0 {
		t.Errorf("nginx ingress reconciled: %v", w.lbc.Stats())
	}
}
