package fakeaws

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
)

// demoIngress is the Argo ALB guide's Ingress at 20% canary, with the fastest health checks
// ELBv2 accepts.
func demoIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: ns, Annotations: map[string]string{
			"kubernetes.io/ingress.class": "alb",
			"alb.ingress.kubernetes.io/actions.root": `{"Type":"forward","ForwardConfig":{"TargetGroups":[` +
				`{"ServiceName":"canary","ServicePort":"80","Weight":20},{"ServiceName":"stable","ServicePort":"80","Weight":80}]}}`,
			"alb.ingress.kubernetes.io/healthcheck-interval-seconds": "5",
			"alb.ingress.kubernetes.io/healthcheck-timeout-seconds":  "2",
		}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/*", PathType: ptr.To(networkingv1.PathTypeImplementationSpecific),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "root", Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}},
			}}},
		}}}},
	}
}

// TestALB plays the LBC against a (fake) cluster: an alb Ingress gets a load balancer reachable
// over the Query API, its bindings and status hostname are written to the cluster, the pods
// become healthy targets, a gated pod gets its readiness-gate condition, and the debug
// endpoints report the shares and serve traffic.
func TestALB(t *testing.T) {
	v1, v2 := pod("demo-v1-a", "v1", "10.244.0.10"), pod("demo-v2-a", "v2", "10.244.0.11")
	e := start(t, node("node-0"), service("stable", "v1"), service("canary", "v2"), v1, v2,
		slice("stable", v1), slice("canary", v2), demoIngress())
	ctx := context.Background()

	// As soon as the stable binding exists, a pod held back by its readiness gate joins the
	// Service, in time for the binding's first reconcile.
	var stable, canary *tgbv1.TargetGroupBinding
	eventually(t, "the LBC's bindings are written to the cluster", func() error {
		stable, canary = e.binding("stable"), e.binding("canary")
		if stable == nil || canary == nil {
			return errors.New("no binding for stable and canary yet")
		}
		return nil
	})
	gate := "target-health.elbv2.k8s.aws/" + stable.Name
	gated := pod("demo-v1-gated", "v1", "10.244.0.12", gate)
	if _, err := e.kube.CoreV1().Pods(ns).Create(ctx, gated, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.DiscoveryV1().EndpointSlices(ns).Update(ctx, slice("stable", v1, gated), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	client := elbv2sdk.New(elbv2sdk.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.ends.API), Credentials: aws.AnonymousCredentials{}})
	out, err := client.DescribeLoadBalancers(ctx, &elbv2sdk.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LoadBalancers) != 1 {
		t.Fatalf("load balancers over the Query API: %d, want 1", len(out.LoadBalancers))
	}
	dns := aws.ToString(out.LoadBalancers[0].DNSName)

	eventually(t, "the Ingress status names the load balancer", func() error {
		ing, err := e.kube.NetworkingV1().Ingresses(ns).Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if lbs := ing.Status.LoadBalancer.Ingress; len(lbs) != 1 || lbs[0].Hostname != dns {
			return fmt.Errorf("status %+v, want hostname %s", ing.Status.LoadBalancer, dns)
		}
		return nil
	})
	eventually(t, "the pods are healthy targets", func() error {
		for arn, want := range map[string][]string{
			stable.Spec.TargetGroupARN: {"10.244.0.10:8080", "10.244.0.12:8080"},
			canary.Spec.TargetGroupARN: {"10.244.0.11:8080"},
		} {
			th, err := client.DescribeTargetHealth(ctx, &elbv2sdk.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
			if err != nil {
				return err
			}
			var healthy []string
			for _, d := range th.TargetHealthDescriptions {
				if d.TargetHealth.State == types.TargetHealthStateEnumHealthy {
					healthy = append(healthy, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
				}
			}
			if !reflect.DeepEqual(healthy, want) {
				return fmt.Errorf("healthy in %s: %v, want %v", arn, healthy, want)
			}
		}
		return nil
	})
	eventually(t, "the gated pod's condition is True in the cluster", func() error {
		p, err := e.kube.CoreV1().Pods(ns).Get(ctx, gated.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range p.Status.Conditions {
			if string(c.Type) == gate && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", p.Status.Conditions)
	})

	debug := Client{URL: e.ends.API}
	alb, err := debug.ALB(ns)
	if err != nil {
		t.Fatal(err)
	}
	want := ALBState{Shares: map[string]int32{"default/stable": 80, "default/canary": 20}, LoadBalancers: []string{dns}}
	if !reflect.DeepEqual(alb, want) {
		t.Errorf("/debug/alb: %+v, want %+v", alb, want)
	}
	other, err := debug.ALB("other")
	if err != nil {
		t.Fatal(err)
	}
	if want := (ALBState{Shares: map[string]int32{}, NotReady: "no load balancer yet", LoadBalancers: []string{}}); !reflect.DeepEqual(other, want) {
		t.Errorf("/debug/alb of another namespace: %+v, want %+v", other, want)
	}

	if err := debug.StartTraffic("default/demo", 1000); err != nil {
		t.Fatal(err)
	}
	var st TrafficStats
	eventually(t, "traffic flows", func() error {
		var err error
		if st, err = debug.Traffic(); err != nil {
			return err
		}
		if st.Total < 200 {
			return fmt.Errorf("%d requests so far", st.Total)
		}
		return nil
	})
	if err := debug.StopTraffic(); err != nil {
		t.Fatal(err)
	}
	if st, err = debug.Traffic(); err != nil {
		t.Fatal(err)
	}
	if st.Failed != 0 || st.Codes["200"] != st.Total || st.Versions["demo:v1"]+st.Versions["demo:v2"] != st.Total ||
		st.Versions["demo:v1"] == 0 || st.Versions["demo:v2"] == 0 {
		t.Errorf("/debug/traffic: %+v, want every request answered 200 by demo:v1 or demo:v2, both", st)
	}
}

// binding returns the binding of a Service from the (fake) cluster, or nil.
func (e *env) binding(svc string) *tgbv1.TargetGroupBinding {
	list, err := e.dyn.Resource(tgbv1.Resource).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range list.Items {
		var b tgbv1.TargetGroupBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b); err != nil {
			e.t.Fatal(err)
		}
		if b.Spec.ServiceRef.Name == svc {
			return &b
		}
	}
	return nil
}
