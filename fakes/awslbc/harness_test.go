package awslbc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// epoch is a whole second, so that the store's second precision does not shift test times.
var epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

const ns = "default"

// testSched is a deterministic Scheduler (and clock): timers run in (time, sequence) order.
type testSched struct {
	t     testing.TB
	now   time.Time
	seq   int
	queue []*testTimer
	ran   int
}

type testTimer struct {
	at       time.Time
	seq      int
	fn       func()
	canceled bool
}

func (t *testTimer) Cancel() { t.canceled = true }

func (s *testSched) Now() time.Time                  { return s.now }
func (s *testSched) Since(t time.Time) time.Duration { return s.now.Sub(t) }

func (s *testSched) After(d time.Duration, _, _ string, fn func()) sched.Timer {
	s.seq++
	t := &testTimer{at: s.now.Add(d), seq: s.seq, fn: fn}
	s.queue = append(s.queue, t)
	return t
}

func (s *testSched) next(deadline time.Time) *testTimer {
	sort.Slice(s.queue, func(i, j int) bool {
		if !s.queue[i].at.Equal(s.queue[j].at) {
			return s.queue[i].at.Before(s.queue[j].at)
		}
		return s.queue[i].seq < s.queue[j].seq
	})
	for len(s.queue) > 0 && s.queue[0].canceled {
		s.queue = s.queue[1:]
	}
	if len(s.queue) == 0 || s.queue[0].at.After(deadline) {
		return nil
	}
	t := s.queue[0]
	s.queue = s.queue[1:]
	return t
}

// runFor runs every timer due within d (inclusive) and moves the clock to now+d.
func (s *testSched) runFor(d time.Duration) {
	s.t.Helper()
	deadline := s.now.Add(d)
	for t := s.next(deadline); t != nil; t = s.next(deadline) {
		s.now = t.at
		if s.ran++; s.ran > 2_000_000 {
			s.t.Fatal("the world does not settle")
		}
		t.fn()
	}
	s.now = deadline
}

// podNet is the pod network as the load balancer sees it: an IP leads to the pod holding it,
// which answers (and passes health checks) once its containers are ready.
type podNet struct {
	store *kube.Store
	ipam  *kube.IPAM
}

func (n podNet) pod(ip string) *corev1.Pod {
	key, ok := n.ipam.Owner(ip)
	if !ok {
		return nil
	}
	o, ok := n.store.Peek(kube.Pods, key.Namespace, key.Name)
	if !ok {
		return nil
	}
	return o.(*corev1.Pod)
}

func (n podNet) HealthCheck(ip string, _ int32) bool {
	p := n.pod(ip)
	return p != nil && p.Status.Phase == corev1.PodRunning && podCondition(p, corev1.ContainersReady)
}

func (n podNet) Serve(ip string, port int32) (int, string) {
	if !n.HealthCheck(ip, port) {
		return 502, ""
	}
	return 200, n.pod(ip).Labels["version"]
}

// logAPI records the order of the controller's mutating AWS calls.
type logAPI struct {
	elbv2.API
	log []string
}

func (l *logAPI) CreateTargetGroup(ctx context.Context, in *elbv2sdk.CreateTargetGroupInput, o ...func(*elbv2sdk.Options)) (*elbv2sdk.CreateTargetGroupOutput, error) {
	l.log = append(l.log, "CreateTargetGroup "+aws.ToString(in.Name))
	return l.API.CreateTargetGroup(ctx, in, o...)
}

func (l *logAPI) CreateRule(ctx context.Context, in *elbv2sdk.CreateRuleInput, o ...func(*elbv2sdk.Options)) (*elbv2sdk.CreateRuleOutput, error) {
	l.log = append(l.log, "CreateRule")
	return l.API.CreateRule(ctx, in, o...)
}

func (l *logAPI) ModifyRule(ctx context.Context, in *elbv2sdk.ModifyRuleInput, o ...func(*elbv2sdk.Options)) (*elbv2sdk.ModifyRuleOutput, error) {
	l.log = append(l.log, "ModifyRule")
	return l.API.ModifyRule(ctx, in, o...)
}

func (l *logAPI) RegisterTargets(ctx context.Context, in *elbv2sdk.RegisterTargetsInput, o ...func(*elbv2sdk.Options)) (*elbv2sdk.RegisterTargetsOutput, error) {
	l.log = append(l.log, "RegisterTargets "+aws.ToString(in.TargetGroupArn))
	return l.API.RegisterTargets(ctx, in, o...)
}

// world is a store with the cluster's controllers, the ELBv2 fake and the LBC, wired as the
// simulation wires them: every change reaches each controller as a separate event.
type world struct {
	t       *testing.T
	s       *testSched
	store   *kube.Store
	kubelet *kube.Kubelet
	fake    *elbv2.Fake
	api     *logAPI
	lbc     *Controller
	events  []Event
}

// testConfig is the default controller with a fixed 1 s lag, so that times are exact.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.ReconcileLag = dist.Fixed(time.Second)
	return cfg
}

// fixedKubelet starts a pod in 2 s and makes its containers ready 1 s later.
func fixedKubelet() kube.KubeletConfig {
	return kube.KubeletConfig{Nodes: 3, StartDelay: dist.Fixed(2 * time.Second),
		ReadyDelay: dist.Fixed(time.Second), ExitDelay: dist.Fixed(3 * time.Second)}
}

func newWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	return newWorldWith(t, cfg, fixedKubelet())
}

func newWorldWith(t *testing.T, cfg Config, kcfg kube.KubeletConfig) *world {
	t.Helper()
	s := &testSched{t: t, now: epoch}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := tgbv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	store := kube.NewStore(scheme, s)
	kubelet, err := kube.NewKubelet(kcfg, store, s, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	rsc := kube.NewReplicaSetController(store, s, rand.New(rand.NewPCG(1, 2)))
	eps := kube.NewEndpointsController(store, s)
	fake := elbv2.New(elbv2.DefaultConfig(), s, podNet{store: store, ipam: kubelet.IPAM()}, rand.New(rand.NewPCG(5, 6)))
	api := &logAPI{API: fake.WithCaller("aws-load-balancer-controller")}
	w := &world{t: t, s: s, store: store, kubelet: kubelet, fake: fake, api: api}
	w.lbc = New(cfg, store, api, s, rand.New(rand.NewPCG(7, 8)))
	w.lbc.OnEvent(func(e Event) { w.events = append(w.events, e) })
	store.AddAdmission(w.lbc.Admission())
	store.Watch(func(ch kube.Change) {
		s.After(0, "watch", "", func() {
			rsc.OnChange(ch)
			kubelet.OnChange(ch)
			eps.OnChange(ch)
			w.lbc.OnChange(ch)
		})
	})
	return w
}

func (w *world) run(d time.Duration) { w.t.Helper(); w.s.runFor(d) }

// elapsed is the virtual time since the start.
func (w *world) elapsed() time.Duration { return w.s.now.Sub(epoch) }

func (w *world) create(gvr schema.GroupVersionResource, obj runtime.Object) {
	w.t.Helper()
	if _, err := w.store.Create(gvr, ns, obj); err != nil {
		w.t.Fatal(err)
	}
}

func service(name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}
}

// action is the annotation Argo writes for a canary weight, canary first.
func action(canary, stable string, weight int) string {
	return fmt.Sprintf(`{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":%q,"ServicePort":"80","Weight":%d},{"ServiceName":%q,"ServicePort":"80","Weight":%d}]}}`,
		canary, weight, stable, 100-weight)
}

// guideIngress is the Argo ALB guide's Ingress: one path to the root action.
func guideIngress(weight int) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: ns, Annotations: map[string]string{
			"kubernetes.io/ingress.class":                       "alb",
			"alb.ingress.kubernetes.io/actions.root":            action("canary", "stable", weight),
			"alb.ingress.kubernetes.io/target-group-attributes": "deregistration_delay.timeout_seconds=20",
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

// guideServices are root (every version), stable (v1) and canary (v2).
func (w *world) guideServices() {
	w.t.Helper()
	w.create(kube.Services, service("root", map[string]string{"app": "demo"}))
	w.create(kube.Services, service("stable", map[string]string{"app": "demo", "version": "v1"}))
	w.create(kube.Services, service("canary", map[string]string{"app": "demo", "version": "v2"}))
}

func replicaSet(version string, n int32) *appsv1.ReplicaSet {
	lbls := map[string]string{"app": "demo", "version": version}
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "demo-" + version, Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "demo:" + version}}}}}}
}

// pods lists the pods of a version, by name.
func (w *world) pods(version string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range w.store.PeekList(kube.Pods, ns) {
		if p := o.(*corev1.Pod); p.Labels["version"] == version {
			out = append(out, p)
		}
	}
	return out
}

func (w *world) ingress() *networkingv1.Ingress {
	o, ok := w.store.Peek(kube.Ingresses, ns, "demo")
	if !ok {
		w.t.Fatal("no ingress")
	}
	return o.(*networkingv1.Ingress)
}

func (w *world) setAnnotation(key, value string) {
	w.t.Helper()
	ing := w.ingress().DeepCopy()
	ing.Annotations[key] = value
	if _, err := w.store.Update(kube.Ingresses, ns, ing, ""); err != nil {
		w.t.Fatal(err)
	}
}

// binding returns the binding of a Service, or nil.
func (w *world) binding(svc string) *tgbv1.TargetGroupBinding {
	for _, o := range w.store.PeekList(tgbv1.Resource, ns) {
		if b := o.(*tgbv1.TargetGroupBinding); b.Spec.ServiceRef.Name == svc {
			return b
		}
	}
	return nil
}

// targets reads a target group's targets: "ip:port" → state.
func (w *world) targets(arn string) map[string]types.TargetHealthStateEnum {
	w.t.Helper()
	out, err := w.fake.DescribeTargetHealth(context.Background(), &elbv2sdk.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		w.t.Fatal(err)
	}
	m := map[string]types.TargetHealthStateEnum{}
	for _, d := range out.TargetHealthDescriptions {
		m[fmt.Sprintf("%s:%d", *d.Target.Id, *d.Target.Port)] = d.TargetHealth.State
	}
	return m
}

// podTargets are the "ip:8080" of pods.
func podTargets(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Status.PodIP+":8080")
	}
	sort.Strings(out)
	return out
}

// loadBalancers lists the fake's load balancers.
func (w *world) loadBalancers() []types.LoadBalancer {
	w.t.Helper()
	out, err := w.fake.DescribeLoadBalancers(context.Background(), &elbv2sdk.DescribeLoadBalancersInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.LoadBalancers
}

// forwardRule checks the load balancer has one HTTP:80 listener with one rule besides the
// default, and returns that rule's forward: target group ARN → weight.
func (w *world) forwardRule(lb types.LoadBalancer) map[string]int32 {
	w.t.Helper()
	ls, err := w.fake.DescribeListeners(context.Background(), &elbv2sdk.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 || *ls.Listeners[0].Port != 80 || ls.Listeners[0].Protocol != types.ProtocolEnumHttp {
		w.t.Fatalf("listeners: %v %v, want one HTTP:80", ls, err)
	}
	rs, err := w.fake.DescribeRules(context.Background(), &elbv2sdk.DescribeRulesInput{ListenerArn: ls.Listeners[0].ListenerArn})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]int32{}
	n := 0
	for _, r := range rs.Rules {
		if aws.ToBool(r.IsDefault) {
			continue
		}
		n++
		for _, t := range r.Actions[0].ForwardConfig.TargetGroups {
			out[*t.TargetGroupArn] = *t.Weight
		}
	}
	if n != 1 {
		w.t.Fatalf("want 1 rule besides the default, got %d", n)
	}
	return out
}

// eventsOf lists the events of a kind.
func (w *world) eventsOf(kind EventKind) []Event {
	var out []Event
	for _, e := range w.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (w *world) dumpEvents() {
	for _, e := range w.events {
		w.t.Log(e.String())
	}
}
