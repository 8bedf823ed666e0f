package fakeaws

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/awslbc"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

const ns = "default"

// testSeed makes the first health checks of new target groups start within 0.4 s (the
// phase is drawn from the ELBv2 model's stream), so that targets are healthy quickly. Any
// seed is correct; others are only slower, by up to the 5 s check interval.
const testSeed = 11549

// env is Run against client-go fakes.
type env struct {
	t    *testing.T
	kube *fake.Clientset
	dyn  *dynamicfake.FakeDynamicClient
	ends Endpoints
	// stop ends Run and waits for it (the test's cleanup does it too).
	stop func()
}

// start runs fakeaws against fake clientsets holding objs (bindings go to the dynamic client)
// until the test ends.
func start(t *testing.T, objs ...runtime.Object) *env {
	t.Helper()
	var typed, bindings []runtime.Object
	for _, o := range objs {
		if b, ok := o.(*tgbv1.TargetGroupBinding); ok {
			b.APIVersion, b.Kind = tgbv1.SchemeGroupVersion.String(), "TargetGroupBinding"
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
			if err != nil {
				t.Fatal(err)
			}
			bindings = append(bindings, &unstructured.Unstructured{Object: u})
			continue
		}
		typed = append(typed, o)
	}
	e := &env{t: t, kube: fake.NewSimpleClientset(typed...),
		dyn: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
			map[schema.GroupVersionResource]string{tgbv1.Resource: "TargetGroupBindingList"}, bindings...)}
	lbc := awslbc.DefaultConfig()
	lbc.ReconcileLag = dist.Fixed(300 * time.Millisecond)
	lbc.RequeueAfter = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan Endpoints, 1), make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Kube: e.kube, Dynamic: e.dyn, Listen: "127.0.0.1:0", WebhookListen: "127.0.0.1:0",
			LBC: lbc, ELBv2: elbv2.DefaultConfig(), Seed: testSeed, Logf: t.Logf, Ready: func(x Endpoints) { ready <- x }})
	}()
	select {
	case e.ends = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("Run did not get ready")
	}
	e.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(e.stop)
	return e
}

// eventually polls cond until it holds, failing the test with its last error after 15 s.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func service(name, version string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "demo", "version": version}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}
}

// pod is a running pod of a version with its containers ready; Ready unless it has gates.
func pod(name, version, ip string, gates ...string) *corev1.Pod {
	ready := corev1.ConditionTrue
	if len(gates) > 0 {
		ready = corev1.ConditionFalse
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "demo", "version": version}},
		Spec: corev1.PodSpec{NodeName: "node-0", Containers: []corev1.Container{{Name: "app", Image: "demo:" + version}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: ready}}}}
	for _, g := range gates {
		p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: corev1.PodConditionType(g)})
	}
	return p
}

// slice is the EndpointSlice of a Service holding pods (ready as their Ready condition says).
func slice(svc string, pods ...*corev1.Pod) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: svc + "-x", Namespace: ns,
		Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}}}
	for _, p := range pods {
		ready := p.Status.Conditions[1].Status == corev1.ConditionTrue
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			NodeName:   ptr.To(p.Spec.NodeName), TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name}})
	}
	return s
}
