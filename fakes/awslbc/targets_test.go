package awslbc

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// settledGuide is the guide's stack with n stable (v1) pods created after the bindings, so
// that they carry the stable group's readiness gate, run until they serve.
func settledGuide(t *testing.T, cfg Config, n int32) *world {
	w := newWorld(t, cfg)
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(5 * time.Second)
	w.create(kube.ReplicaSets, replicaSet("v1", n))
	w.run(time.Minute)
	return w
}

// Pods behind the stable Service are registered and turn healthy, and a gated pod becomes
// Ready only once its target is healthy, not when its containers are.
func TestGatedPodsReadyOnlyAfterTargetHealthy(t *testing.T) {
	w := newWorld(t, testConfig())
	containersReady, ready, healthy := map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	w.store.Watch(func(ch kube.Change) {
		if p, ok := ch.Object.(*corev1.Pod); ok && p.Status.PodIP != "" {
			key := p.Status.PodIP + ":8080"
			if _, seen := containersReady[key]; !seen && podCondition(p, corev1.ContainersReady) {
				containersReady[key] = w.s.now
			}
			if _, seen := ready[key]; !seen && podCondition(p, corev1.PodReady) {
				ready[key] = w.s.now
			}
		}
	})
	w.fake.OnChange(func(e elbv2.Event) {
		if _, seen := healthy[e.Target]; !seen && e.To == types.TargetHealthStateEnumHealthy {
			healthy[e.Target] = e.At
		}
	})
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(5 * time.Second)
	w.create(kube.ReplicaSets, replicaSet("v1", 2))
	w.run(time.Minute)

	stable := w.binding("stable")
	pods := w.pods("v1")
	gate := corev1.PodConditionType("target-health.elbv2.k8s.aws/" + stable.Name)
	want := map[string]types.TargetHealthStateEnum{}
	for _, p := range pods {
		want[p.Status.PodIP+":8080"] = types.TargetHealthStateEnumHealthy
		if !reflect.DeepEqual(p.Spec.ReadinessGates, []corev1.PodReadinessGate{{ConditionType: gate}}) {
			t.Errorf("pod %s gates %v, want only %s", p.Name, p.Spec.ReadinessGates, gate)
		}
		if !podCondition(p, gate) || !podCondition(p, corev1.PodReady) {
			t.Errorf("pod %s: gate or Ready not True: %v", p.Name, p.Status.Conditions)
		}
	}
	if got := w.targets(stable.Spec.TargetGroupARN); !reflect.DeepEqual(got, want) {
		t.Errorf("stable targets %v, want %v", got, want)
	}
	if got := w.targets(w.binding("canary").Spec.TargetGroupARN); len(got) != 0 {
		t.Errorf("canary targets %v, want none", got)
	}
	for key := range want {
		c, h, r := containersReady[key], healthy[key], ready[key]
		if c.IsZero() || h.IsZero() || r.IsZero() || !c.Before(h) || r.Before(h) {
			t.Errorf("%s: containers ready %s, target healthy %s, pod ready %s: want ready only after healthy",
				key, c.Sub(epoch), h.Sub(epoch), r.Sub(epoch))
		}
		if r.Sub(h) > 15*time.Second {
			t.Errorf("%s: ready %s after healthy, more than the 15 s requeue", key, r.Sub(h))
		}
	}
}

// Deleting a pod deregisters its IP: it drains, the others stay.
func TestPodDeletionDeregisters(t *testing.T) {
	w := settledGuide(t, testConfig(), 2)
	arn := w.binding("stable").Spec.TargetGroupARN
	pods := w.pods("v1")
	if err := w.store.Delete(kube.Pods, ns, pods[0].Name, ptr.To[int64](30)); err != nil {
		t.Fatal(err)
	}
	w.run(2 * time.Second)
	got := w.targets(arn)
	gone, kept := pods[0].Status.PodIP+":8080", pods[1].Status.PodIP+":8080"
	if got[gone] != types.TargetHealthStateEnumDraining || got[kept] != types.TargetHealthStateEnumHealthy {
		t.Errorf("targets %v: want %s draining and %s healthy", got, gone, kept)
	}
	if dereg := w.eventsOf(EventDeregistered); len(dereg) != 1 || !reflect.DeepEqual(dereg[0].Targets, []string{gone}) {
		t.Errorf("deregistrations %v", dereg)
	}
}

// Switching the stable Service's selector re-registers: the old IPs drain, the new register.
func TestSelectorSwitchReregisters(t *testing.T) {
	w := settledGuide(t, testConfig(), 2)
	w.create(kube.ReplicaSets, replicaSet("v2", 2))
	w.run(time.Minute)
	arn := w.binding("stable").Spec.TargetGroupARN
	oldIPs, newIPs := podTargets(w.pods("v1")), podTargets(w.pods("v2"))

	svc := w.lbc.service(ns, "stable").DeepCopy()
	svc.Spec.Selector["version"] = "v2"
	if _, err := w.store.Update(kube.Services, ns, svc, ""); err != nil {
		t.Fatal(err)
	}
	w.run(2 * time.Second)
	got := w.targets(arn)
	for _, k := range oldIPs {
		if got[k] != types.TargetHealthStateEnumDraining {
			t.Errorf("old target %s: %s, want draining", k, got[k])
		}
	}
	for _, k := range newIPs {
		if s := got[k]; s != types.TargetHealthStateEnumInitial && s != types.TargetHealthStateEnumHealthy {
			t.Errorf("new target %s: %q, want registered", k, s)
		}
	}
	// The v2 pods were created before the selector chose them: they carry the canary gate only
	// (#1283), so nothing holds them back from the stable group.
	for _, p := range w.pods("v2") {
		if len(p.Spec.ReadinessGates) != 1 || p.Spec.ReadinessGates[0].ConditionType != corev1.PodConditionType(gateType(w.binding("canary").Name)) {
			t.Errorf("pod %s gates %v", p.Name, p.Spec.ReadinessGates)
		}
	}
}

// The reconcile lag is exactly the time from an endpoint turning ready to its registration.
func TestReconcileLagDelaysRegistration(t *testing.T) {
	for _, lag := range []time.Duration{0, 7 * time.Second} {
		t.Run(lag.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.ReconcileLag = dist.Fixed(lag)
			cfg.ReadinessGateInjection = false
			kcfg := fixedKubelet()
			kcfg.ReadyDelay = dist.Fixed(30 * time.Second) // longer than the lag: no coalescing with the IP's change
			w := newWorldWith(t, cfg, kcfg)
			var readyAt time.Time
			w.store.Watch(func(ch kube.Change) {
				if p, ok := ch.Object.(*corev1.Pod); ok && readyAt.IsZero() && podCondition(p, corev1.PodReady) {
					readyAt = w.s.now
				}
			})
			w.guideServices()
			w.create(kube.Ingresses, guideIngress(5))
			w.run(20 * time.Second)
			w.create(kube.ReplicaSets, replicaSet("v1", 1))
			w.run(time.Minute)
			reg := w.eventsOf(EventRegistered)
			if len(reg) != 1 || readyAt.IsZero() {
				t.Fatalf("registrations %v, ready at %s", reg, readyAt)
			}
			if got := reg[0].At.Sub(readyAt); got != lag {
				t.Errorf("registered %s after the pod was ready, want the lag %s", got, lag)
			}
		})
	}
}

// The same seed gives the same run, event for event, with the default heavy-tailed lag.
func TestSameSeedSameRun(t *testing.T) {
	run := func() []string {
		w := settledGuide(t, DefaultConfig(), 3)
		w.setAnnotation("alb.ingress.kubernetes.io/actions.root", action("canary", "stable", 50))
		w.run(time.Minute)
		var out []string
		for _, e := range w.events {
			out = append(out, e.String())
		}
		return out
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs differ:\n%v\n%v", a, b)
	}
	if len(a) < 10 {
		t.Errorf("too few events to compare: %v", a)
	}
}

// A gated pod's containers turning ready changes no EndpointSlice (the gate keeps the endpoint
// not ready): the binding finds it by its 15 s requeue, and without it the pod would never serve.
func TestGatedPodFoundByRequeue(t *testing.T) {
	kcfg := fixedKubelet()
	kcfg.ReadyDelay = dist.Fixed(5 * time.Second)
	w := newWorldWith(t, testConfig(), kcfg)
	w.guideServices()
	w.create(kube.Ingresses, guideIngress(5))
	w.run(5 * time.Second)
	w.create(kube.ReplicaSets, replicaSet("v1", 1)) // IP at 7 s, seen at 8 s, containers ready at 12 s
	w.run(time.Minute)
	reg := w.eventsOf(EventRegistered)
	if len(reg) != 1 || reg[0].At.Sub(epoch) != 23*time.Second {
		t.Fatalf("registrations %v, want one at 23s (8 s + the 15 s requeue)", reg)
	}
	if p := w.pods("v1")[0]; !podCondition(p, corev1.PodReady) {
		t.Errorf("pod not ready: %v", p.Status.Conditions)
	}
}
