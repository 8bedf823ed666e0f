package kube

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

// Resources the simulated control plane serves.
var (
	Pods           = corev1.SchemeGroupVersion.WithResource("pods")
	Services       = corev1.SchemeGroupVersion.WithResource("services")
	Endpoints      = corev1.SchemeGroupVersion.WithResource("endpoints")
	Nodes          = corev1.SchemeGroupVersion.WithResource("nodes")
	Events         = corev1.SchemeGroupVersion.WithResource("events")
	ReplicaSets    = appsv1.SchemeGroupVersion.WithResource("replicasets")
	EndpointSlices = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")
	Ingresses      = networkingv1.SchemeGroupVersion.WithResource("ingresses")
)

// Scheduler and Timer are the kernel's scheduling, as the fakes see it.
type (
	Scheduler = sched.Scheduler
	Timer     = sched.Timer
)

// Cluster is a simulated API server: the store, the reactor that serves it, and a client-go fake
// clientset wired to them. Other fake clientsets (Rollouts, Istio, dynamic) are attached with Serve.
type Cluster struct {
	Store   *Store
	Reactor *Reactor
	Kube    *fake.Clientset
	fakes   []*k8stesting.Fake
}

// NewCluster builds an empty cluster. The scheme must hold every kind the clientsets will use.
func NewCluster(scheme *runtime.Scheme, clk clock.PassiveClock) *Cluster {
	store := NewStore(scheme, clk)
	c := &Cluster{Store: store, Reactor: NewReactor(store), Kube: fake.NewSimpleClientset()}
	c.Serve(&c.Kube.Fake)
	return c
}

// Serve answers a fake clientset's actions from this cluster's store.
func (c *Cluster) Serve(f *k8stesting.Fake) {
	c.Reactor.Install(f)
	c.fakes = append(c.fakes, f)
}

// ClearActions empties the action logs the fakes keep of every call (they grow without bound).
func (c *Cluster) ClearActions() {
	for _, f := range c.fakes {
		f.ClearActions()
	}
}
