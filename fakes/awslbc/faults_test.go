package awslbc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

func (w *world) scale(version string, n int32) {
	w.t.Helper()
	o, _ := w.store.Peek(kube.ReplicaSets, ns, "demo-"+version)
	rs := o.(*appsv1.ReplicaSet).DeepCopy()
	rs.Spec.Replicas = &n
	if _, err := w.store.Update(kube.ReplicaSets, ns, rs, ""); err != nil {
		w.t.Fatal(err)
	}
}

// While the controller is down nothing reaches AWS and new pods get no gates; when it comes
// back it lists the world and catches up.
func TestOutageHoldsEverythingUntilBack(t *testing.T) {
	w := settledGuide(t, testConfig(), 2)
	canary, stable := w.binding("canary"), w.binding("stable")
	lb := w.loadBalancers()[0]
	calls := w.lbc.Stats().Calls

	w.lbc.Outage(2 * time.Minute)
	w.setAnnotation("alb.ingress.kubernetes.io/actions.root", action("canary", "stable", 20))
	w.scale("v1", 4)
	w.run(time.Minute)
	if got := w.lbc.Stats().Calls; fmt.Sprint(got) != fmt.Sprint(calls) {
		t.Errorf("AWS calls while down: %v, before %v", got, calls)
	}
	if got := w.forwardRule(lb); got[canary.Spec.TargetGroupARN] != 5 {
		t.Errorf("weights changed while down: %v", got)
	}
	if got := w.targets(stable.Spec.TargetGroupARN); len(got) != 2 {
		t.Errorf("stable targets while down: %v", got)
	}
	gated := 0
	for _, p := range w.pods("v1") {
		if len(p.Spec.ReadinessGates) > 0 {
			gated++
		}
	}
	if gated != 2 {
		t.Errorf("%d pods gated, want the 2 created before the outage (the webhook fails open)", gated)
	}

	w.run(time.Minute + 3*time.Second) // back at 2m, reconciled 1 s later
	if got := w.forwardRule(lb); got[canary.Spec.TargetGroupARN] != 20 || got[stable.Spec.TargetGroupARN] != 80 {
		t.Errorf("weights after the outage: %v", got)
	}
	want := podTargets(w.pods("v1"))
	got := w.targets(stable.Spec.TargetGroupARN)
	if len(got) != 4 {
		t.Errorf("stable targets after the outage: %v, want %v", got, want)
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s not registered after the outage", k)
		}
	}
	if len(w.eventsOf(EventDown)) != 1 || len(w.eventsOf(EventUp)) != 1 {
		t.Errorf("down/up events: %v %v", w.eventsOf(EventDown), w.eventsOf(EventUp))
	}
}

// Fifty bindings registering at once get 20 calls through (the burst), then 4 per second.
func TestClientThrottleSpreadsRegistrations(t *testing.T) {
	cfg := testConfig()
	cfg.Throttles = []Throttle{{Ops: "RegisterTargets|DeregisterTargets", Rate: 4, Burst: 20}}
	cfg.ReadinessGateInjection = false
	w := newWorld(t, cfg)
	w.create(kube.Services, service("stable", map[string]string{"app": "demo", "version": "v1"}))
	for i := range 50 {
		out, err := w.fake.CreateTargetGroup(context.Background(), &elbv2sdk.CreateTargetGroupInput{
			Name: aws.String(fmt.Sprintf("tg-%02d", i)), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), TargetType: types.TargetTypeEnumIp})
		if err != nil {
			t.Fatal(err)
		}
		ip := tgbv1.TargetTypeIP
		w.create(tgbv1.Resource, &tgbv1.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("tgb-%02d", i), Namespace: ns},
			Spec: tgbv1.TargetGroupBindingSpec{TargetGroupARN: *out.TargetGroups[0].TargetGroupArn, TargetType: &ip,
				ServiceRef: tgbv1.ServiceReference{Name: "stable", Port: intstr.FromInt32(80)}}})
	}
	w.create(kube.ReplicaSets, replicaSet("v1", 2))
	w.run(time.Minute)

	reg := w.eventsOf(EventRegistered)
	if len(reg) != 50 {
		t.Fatalf("registrations: %d, want 50", len(reg))
	}
	first := reg[0].At
	for i, e := range reg {
		want := first
		if i >= 20 {
			want = first.Add(time.Duration(i-19) * 250 * time.Millisecond)
		}
		if !e.At.Equal(want) {
			t.Errorf("registration %d at +%s, want +%s", i, e.At.Sub(first), want.Sub(first))
		}
	}
	if st := w.lbc.Stats(); st.ThrottledWaits < 30 || st.Calls["RegisterTargets"] != 50 {
		t.Errorf("stats %+v", st)
	}
}

// AWS throttling fails the reconcile; it is retried with a doubling back-off and recovers once
// AWS answers again, what was done before staying done.
func TestAWSThrottlingBacksOffAndRecovers(t *testing.T) {
	w := settledGuide(t, testConfig(), 2)
	stable := w.binding("stable")
	registered := len(w.eventsOf(EventRegistered))
	w.fake.SetThrottled(true)
	w.scale("v1", 3)
	w.run(20 * time.Second)
	var delays []time.Duration
	for _, e := range w.eventsOf(EventBackoff) {
		if e.Object == ns+"/"+stable.Name {
			delays = append(delays, e.Delay)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	if fmt.Sprint(delays) != fmt.Sprint(want) {
		t.Errorf("back-offs %v, want %v", delays, want)
	}
	if w.lbc.Stats().AWSThrottled < 4 {
		t.Errorf("stats %+v", w.lbc.Stats())
	}
	if n := len(w.eventsOf(EventRegistered)); n != registered {
		t.Fatalf("registered while throttled")
	}

	w.fake.SetThrottled(false)
	w.run(time.Minute)
	got := w.targets(stable.Spec.TargetGroupARN)
	if len(got) != 3 {
		t.Errorf("targets after throttling: %v, want 3", got)
	}
	for _, p := range w.pods("v1") {
		if !podCondition(p, "Ready") {
			t.Errorf("pod %s not ready after recovery", p.Name)
		}
	}
}

// The LBC changes the rule before a new target group has targets: for a reconcile lag, the
// group gets traffic and nothing to send it to (503). With TargetsBeforeRules the targets are
// registered first and the same switch serves.
func TestRulesBeforeTargetsOrder(t *testing.T) {
	for _, first := range []bool{false, true} {
		t.Run(fmt.Sprintf("TargetsBeforeRules=%v", first), func(t *testing.T) {
			cfg := testConfig()
			cfg.TargetsBeforeRules = first
			w := newWorld(t, cfg)
			w.create(kube.Services, service("blue", map[string]string{"app": "demo", "version": "v1"}))
			w.create(kube.Services, service("green", map[string]string{"app": "demo", "version": "v2"}))
			ing := guideIngress(0)
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "blue"
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "http"
			w.create(kube.Ingresses, ing)
			w.run(5 * time.Second)
			w.create(kube.ReplicaSets, replicaSet("v1", 2))
			w.create(kube.ReplicaSets, replicaSet("v2", 2))
			w.run(time.Minute)

			next := w.ingress().DeepCopy()
			next.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "green"
			if _, err := w.store.Update(kube.Ingresses, ns, next, ""); err != nil {
				t.Fatal(err)
			}
			mark := len(w.api.log)
			w.run(time.Second) // the Ingress reconcile, not yet the new binding's
			log := w.api.log[mark:]
			green := w.binding("green")
			if green == nil {
				t.Fatalf("no green binding; calls %v", log)
			}
			reg, mod := index(log, "RegisterTargets "+green.Spec.TargetGroupARN), index(log, "ModifyRule")
			if mod < 0 || index(log, "CreateTargetGroup "+green.Name) != 0 {
				t.Fatalf("calls %v", log)
			}
			if first != (reg >= 0 && reg < mod) {
				t.Errorf("calls %v: RegisterTargets before ModifyRule = %v, want %v", log, reg >= 0 && reg < mod, first)
			}
			code := w.fake.Request(*w.loadBalancers()[0].DNSName, rand.New(rand.NewPCG(1, 1))).Code
			if want := map[bool]int{false: 503, true: 200}[first]; code != want {
				t.Errorf("request right after the switch: %d, want %d", code, want)
			}
			w.run(time.Minute)
			if code := w.fake.Request(*w.loadBalancers()[0].DNSName, rand.New(rand.NewPCG(1, 1))).Code; code != 200 {
				t.Errorf("request after settling: %d", code)
			}
		})
	}
}

func index(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// Gates go only into pods created after the binding exists, not while the controller is
// down, and not with injection off.
func TestGateInjectionOnlyForPodsCreatedAfterBinding(t *testing.T) {
	for _, inject := range []bool{true, false} {
		t.Run(fmt.Sprintf("injection=%v", inject), func(t *testing.T) {
			cfg := testConfig()
			cfg.ReadinessGateInjection = inject
			w := newWorld(t, cfg)
			w.guideServices()
			w.create(kube.ReplicaSets, replicaSet("v1", 1))
			w.run(time.Second)
			before := w.pods("v1")[0].Name
			w.create(kube.Ingresses, guideIngress(5))
			w.run(5 * time.Second)
			w.scale("v1", 2)
			w.run(time.Second)
			var after string
			for _, p := range w.pods("v1") {
				if p.Name != before {
					after = p.Name
				}
			}
			w.lbc.SetDown(true)
			w.scale("v1", 3)
			w.run(time.Second)
			w.lbc.SetDown(false)
			w.run(time.Minute)

			for _, p := range w.pods("v1") {
				wantGate := inject && p.Name == after
				if got := len(p.Spec.ReadinessGates) == 1; got != wantGate {
					t.Errorf("pod %s (created before binding: %v, after: %v): gates %v", p.Name, p.Name == before, p.Name == after, p.Spec.ReadinessGates)
				}
				if !podCondition(p, "Ready") {
					t.Errorf("pod %s not ready", p.Name)
				}
			}
			if n := w.lbc.Stats().GatesInjected; n != map[bool]int{true: 1, false: 0}[inject] {
				t.Errorf("gates injected: %d", n)
			}
		})
	}
}

// A missed change waits for the 10 h resync.
func TestMissedReconcileWaitsForResync(t *testing.T) {
	cfg := testConfig()
	cfg.MissedReconcile = 1000
	w := newWorld(t, cfg)
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(10*time.Hour - time.Second)
	if len(w.loadBalancers()) != 0 || w.lbc.Stats().Missed == 0 {
		t.Fatalf("reconciled before the resync: %+v", w.lbc.Stats())
	}
	w.run(2 * time.Second)
	if len(w.loadBalancers()) != 1 {
		t.Errorf("not reconciled by the resync: %+v", w.lbc.Stats())
	}
}
