package awslbc

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Names fit ELBv2's 32 characters whatever the namespace and names, and are stable.
func TestNamesFitAndAreStable(t *testing.T) {
	stack := types.NamespacedName{Namespace: "a-very-long-namespace-name", Name: "an-even-longer-ingress.name"}
	lb := loadBalancerName("cluster", stack)
	tg := targetGroupName("cluster", stack, stack.Namespace, "service.with.dots", intstr.FromString("http"), 8080)
	if lb != "k8s-averylon-anevenlo-"+lb[len(lb)-10:] || len(lb) != 32 || len(tg) != 32 || !strings.HasPrefix(tg, "k8s-averylon-servicew-") {
		t.Errorf("names %q (%d), %q (%d)", lb, len(lb), tg, len(tg))
	}
	if lb != loadBalancerName("cluster", stack) || lb == loadBalancerName("other", stack) {
		t.Error("load balancer names are not a function of cluster and stack")
	}
	if tg == targetGroupName("cluster", stack, stack.Namespace, "service.with.dots", intstr.FromString("http"), 1) {
		t.Error("the target group port does not change the name")
	}
	if id := resourceID(stack, "svc", intstr.FromInt32(80)); id != "a-very-long-namespace-name/an-even-longer-ingress.name-svc:80" {
		t.Errorf("resource id %s", id)
	}
}

func TestPathPatterns(t *testing.T) {
	pt := func(p networkingv1.PathType) *networkingv1.PathType { return &p }
	for _, c := range []struct {
		path string
		typ  *networkingv1.PathType
		want []string
	}{
		{"/*", pt(networkingv1.PathTypeImplementationSpecific), []string{"/*"}},
		{"/api", pt(networkingv1.PathTypePrefix), []string{"/api", "/api/*"}},
		{"/", pt(networkingv1.PathTypePrefix), []string{"/*"}},
		{"/exact", pt(networkingv1.PathTypeExact), []string{"/exact"}},
		{"", nil, []string{"/*"}},
	} {
		if got := pathPatterns(networkingv1.HTTPIngressPath{Path: c.path, PathType: c.typ}); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v, want %v", c.path, got, c.want)
		}
	}
}

// A plain backend forwards to its Service port's group with weight 1; a use-annotation backend
// without its annotation, or naming a missing Service, is an error.
func TestBuildStack(t *testing.T) {
	svcs := map[string]*corev1.Service{"web": service("web", map[string]string{"app": "web"})}
	lookup := func(_, name string) *corev1.Service { return svcs[name] }
	ing := guideIngress(0)
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service = &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}
	ing.Spec.Rules[0].Host = "example.com"
	spec, err := buildStack(DefaultConfig(), ing, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.tgs) != 1 || spec.tgs[0].resID != "default/demo-web:80" || spec.tgs[0].tgPort != 8080 || len(spec.rules) != 1 ||
		!reflect.DeepEqual(spec.rules[0].action.forward, []weighted{{tg: spec.tgs[0].name, weight: 1}}) || spec.rules[0].host != "example.com" ||
		spec.defaultAction.fixed != "404" || spec.tgs[0].attrs["deregistration_delay.timeout_seconds"] != "20" {
		t.Errorf("stack %+v", spec)
	}

	svcs["web"].Spec.Ports[0].TargetPort = intstr.FromString("http")
	if spec, _ := buildStack(DefaultConfig(), ing, lookup); spec.tgs[0].tgPort != 1 {
		t.Errorf("named target port: group port %d, want 1 (resolved per target)", spec.tgs[0].tgPort)
	}

	ing = guideIngress(10)
	delete(ing.Annotations, "alb.ingress.kubernetes.io/actions.root")
	if _, err := buildStack(DefaultConfig(), ing, lookup); err == nil || !strings.Contains(err.Error(), "actions.root") {
		t.Errorf("missing action annotation: %v", err)
	}
	if _, err := buildStack(DefaultConfig(), guideIngress(10), lookup); err == nil || !strings.Contains(err.Error(), "service default/canary not found") {
		t.Errorf("missing service: %v", err)
	}
	ing = guideIngress(10)
	ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Name: "bucket", APIGroup: ptr.To("x")}}
	if _, err := buildStack(DefaultConfig(), ing, lookup); err == nil {
		t.Error("resource backend accepted")
	}
}

// A bucket gives its burst at once, then a token every 1/rate; a call needs every matching
// bucket and takes nothing while one is empty.
func TestThrottleBuckets(t *testing.T) {
	th := newThrottle([]Throttle{{Ops: "RegisterTargets|DeregisterTargets", Rate: 4, Burst: 2}, {Ops: "Describe*", Rate: 1, Burst: 1}})
	now := epoch
	for i := 0; i < 2; i++ {
		if d := th.take("RegisterTargets", now); d != 0 {
			t.Fatalf("call %d waits %s within the burst", i, d)
		}
	}
	if d := th.take("DeregisterTargets", now); d != 250*time.Millisecond {
		t.Errorf("third call waits %s, want 250ms", d)
	}
	if d := th.take("RegisterTargets", now.Add(250*time.Millisecond)); d != 0 {
		t.Errorf("after 250ms: waits %s", d)
	}
	if d := th.take("DescribeTargetHealth", now); d != 0 {
		t.Errorf("describe: waits %s", d)
	}
	if d := th.take("DescribeRules", now.Add(500*time.Millisecond)); d != 500*time.Millisecond {
		t.Errorf("second describe waits %s, want 500ms", d)
	}
	if d := th.take("ModifyRule", now); d != 0 {
		t.Errorf("an operation no bucket matches waits %s", d)
	}
	th.reset()
	if d := th.take("DescribeRules", now.Add(500*time.Millisecond)); d != 0 {
		t.Errorf("after reset: waits %s", d)
	}
}
