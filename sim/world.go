package sim

import (
	"context"
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/client"
	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/aws"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/fakes/apisix"
	"github.com/rolloutlab/rolloutlab/fakes/istio"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/sim/dist"
	"github.com/rolloutlab/rolloutlab/sim/manifest"
	"github.com/rolloutlab/rolloutlab/sim/promsim"
)

// Config are the knobs of a simulated world.
type Config struct {
	Kubelet kube.KubeletConfig
	Engine  EngineConfig
	// ControllerDelay is how late the cluster's own controllers (ReplicaSets, kubelets,
	// endpoints) hear of a change.
	ControllerDelay dist.Delay
	// AWS, when set, adds the cloud: ELBv2 and the AWS Load Balancer Controller.
	AWS *AWSConfig
	// Istio, when set, adds a service mesh whose proxies route by VirtualServices.
	Istio *IstioConfig
	// Apisix, when set, adds an Apache APISIX gateway that routes by ApisixRoutes.
	Apisix *ApisixConfig
	// Traffic is the client load (none when its Rate is 0).
	Traffic TrafficConfig
	// Apps are the images whose pods misbehave (a bad version).
	Apps map[string]AppFault
}

// DefaultConfig is a small healthy cluster with a healthy controller.
func DefaultConfig() Config {
	return Config{
		Kubelet:         kube.DefaultKubeletConfig(),
		Engine:          DefaultEngineConfig(),
		ControllerDelay: dist.Delay{Min: time.Millisecond, Max: 20 * time.Millisecond},
	}
}

// World is a whole simulated installation: API server, cluster controllers, kubelets and the
// rollout engine, on one virtual clock.
type World struct {
	Kernel   *Kernel
	Scheme   *runtime.Scheme
	Cluster  *kube.Cluster
	Kubelet  *kube.Kubelet
	Engine   *EngineHost
	Recorder *Recorder
	Timeline *Timeline
	Decoder  *manifest.Decoder
	// ELBv2 is the AWS API the engine reads for target-group verification (nil: no AWS).
	ELBv2 aws.ELBv2
	// AWS is the simulated cloud (nil: the world has none).
	AWS *AWS
	// Mesh is the Istio data plane (nil: the world has none).
	Mesh *istio.Mesh
	// Apisix is the APISIX gateway (nil: the world has none).
	Apisix *apisix.Gateway
	// Traffic is the client load (nil until started).
	Traffic *Traffic
	// sources are the named traffic sources running (sources.go); allSources every one started.
	sources    map[string]*Traffic
	allSources []*Traffic
	// Net is the pod network the load balancers and proxies reach pods through.
	Net Network
	// Metrics are the series the traffic produced, as Prometheus scraped them; Prometheus
	// serves PromQL queries over them at virtual time, and PrometheusTransport is how an
	// analysis provider's client reaches it.
	Metrics             *promsim.DB
	Prometheus          *promsim.Server
	PrometheusTransport http.RoundTripper
	metrics             *metrics
	images              map[string]string // pod-template hash → image, for app faults

	// AnalysisProviders measures the AnalysisRuns' metrics; nil: Prometheus through
	// PrometheusTransport, and nothing else (see analysisProviders).
	AnalysisProviders analysis.ProviderFactory

	// Users is how people (scenario actions, features, the CLI) reach the API.
	UserKube     kubernetes.Interface
	UserRollouts client.Interface
	UserDynamic  dynamic.Interface

	engineKube     kubernetes.Interface
	engineRollouts client.Interface
	engineDynamic  dynamic.Interface
	trace          *Trace
	ctx            context.Context
}

// NewScheme holds every kind the simulation stores.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := tgbv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// NewWorld builds a world and starts its engine. trace may be nil.
func NewWorld(seed uint64, cfg Config, trace *Trace) (*World, error) {
	k := NewKernel(seed)
	scheme := NewScheme()
	w := &World{Kernel: k, Scheme: scheme, Cluster: kube.NewCluster(scheme, k), Decoder: manifest.NewDecoder(scheme),
		trace: trace, ctx: context.Background()}
	w.Recorder = newRecorder(w)
	w.UserKube, w.UserRollouts, w.UserDynamic = w.clients(nil)

	sched := scheduler{k}
	var err error
	if w.Kubelet, err = kube.NewKubelet(cfg.Kubelet, w.Cluster.Store, sched, k.Stream("kubelet")); err != nil {
		return nil, err
	}
	rsc := kube.NewReplicaSetController(w.Cluster.Store, sched, k.Stream("replicaset-controller"))
	eps := kube.NewEndpointsController(w.Cluster.Store, sched)
	w.watchWithDelay("cluster-controllers", cfg.ControllerDelay, func(ch kube.Change) {
		rsc.OnChange(ch)
		w.Kubelet.OnChange(ch)
		eps.OnChange(ch)
	})
	w.Cluster.Store.Watch(w.traceWrite)
	w.Net = Network{Store: w.Cluster.Store, IPAM: w.Kubelet.IPAM(), Faults: cfg.Apps, Rand: k.Stream("apps")}
	w.Metrics = promsim.NewDB()
	w.metrics = newMetrics(w.Metrics)
	w.Prometheus = promsim.NewServer(w.Metrics, k.Now)
	w.PrometheusTransport = w.Prometheus
	w.images = map[string]string{}
	if cfg.AWS != nil {
		w.startAWS(*cfg.AWS)
	}
	if cfg.Istio != nil {
		w.startIstio(*cfg.Istio)
	}
	if cfg.Apisix != nil {
		w.startApisix(*cfg.Apisix)
	}
	w.Engine = newEngineHost(w, cfg.Engine)
	w.engineKube, w.engineRollouts, w.engineDynamic = w.clients(w.Engine.gate)
	w.Timeline = newTimeline(w)
	k.OnRun(w.afterEvent)
	addInvariants(w)
	w.Engine.Start()
	if cfg.Traffic.Rate > 0 {
		if err := w.StartTraffic(cfg.Traffic); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// StartTraffic starts client load through the world's load balancer (replacing any running).
func (w *World) StartTraffic(cfg TrafficConfig) error {
	if cfg.Host != "" && (cfg.Via == ViaApisix || cfg.Via == "" && w.Mesh == nil && w.Apisix != nil) {
		if w.Apisix == nil {
			return fmt.Errorf("traffic to host %s goes through APISIX: the world needs it (world.apisix)", cfg.Host)
		}
		old := w.Traffic
		w.Traffic = newTraffic(w, cfg, apisixFrontend{gw: w.Apisix, headers: cfg.Headers})
		if old != nil {
			old.Stop()
			w.Traffic.Stats = old.Stats
		}
		return nil
	}
	if cfg.Host != "" {
		if w.Mesh == nil {
			return fmt.Errorf("traffic to host %s goes through a mesh or gateway: the world needs Istio (world.istio) or APISIX (world.apisix)", cfg.Host)
		}
		old := w.Traffic
		w.Traffic = newTraffic(w, cfg, meshFrontend{mesh: w.Mesh, headers: cfg.Headers})
		if old != nil {
			old.Stop()
			w.Traffic.Stats = old.Stats
		}
		return nil
	}
	if w.AWS == nil {
		return fmt.Errorf("traffic goes through an ALB Ingress: the world needs AWS (world.aws)")
	}
	if cfg.Ingress == "" {
		return fmt.Errorf("traffic needs the Ingress whose load balancer clients call")
	}
	old := w.Traffic
	w.Traffic = newTraffic(w, cfg, w.AWS)
	if old != nil { // the counts go on
		old.Stop()
		w.Traffic.Stats = old.Stats
	}
	return nil
}

// clients returns a kube and a Rollouts clientset served by the world's API server; gate, if
// set, sees each call first and may answer it.
func (w *World) clients(gate k8stesting.ReactionFunc) (kubernetes.Interface, client.Interface, dynamic.Interface) {
	kc := fake.NewSimpleClientset()
	w.Cluster.Serve(&kc.Fake)
	rf := &k8stesting.Fake{}
	w.Cluster.Serve(rf)
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		rollout.VirtualServiceResource: "VirtualServiceList", rollout.DestinationRuleResource: "DestinationRuleList",
		rollout.ApisixRouteResource: "ApisixRouteList"})
	w.Cluster.Serve(&dc.Fake)
	w.serveAnalysisTyped(&dc.Fake)
	if gate != nil {
		kc.PrependReactor("*", "*", gate)
		rf.PrependReactor("*", "*", gate)
		dc.PrependReactor("*", "*", gate)
	}
	return kc, client.NewFake(rf), dc
}

func (w *World) clearActions() { w.Cluster.ClearActions() }

// watchWithDelay delivers store changes to fn in order, each after a delay drawn from d.
func (w *World) watchWithDelay(name string, d dist.Delay, fn func(kube.Change)) {
	r := w.Kernel.Stream(name + "/watch")
	last := w.Kernel.Now()
	w.Cluster.Store.Watch(func(ch kube.Change) {
		at := w.Kernel.Now().Add(d.Draw(r))
		if at.Before(last) {
			at = last
		}
		last = at
		w.Kernel.At(at, name+"/watch", ch.GVR.Resource+" "+ch.Key().String(), func() { fn(ch) })
	})
}

func (w *World) afterEvent(e *Event) {
	w.clearActions()
	if w.trace != nil {
		w.trace.event(w.Kernel, e)
	}
	if next, ok := w.Kernel.NextAt(); !ok || next.After(w.Kernel.Now()) {
		w.Timeline.observe()
	}
}

func (w *World) traceWrite(ch kube.Change) {
	if w.trace == nil || ch.GVR == kube.Events {
		return
	}
	m, _ := meta.Accessor(ch.Object)
	w.trace.write(w.Kernel, string(ch.Type), ch.GVR.Resource, ch.Key().String(), m.GetResourceVersion())
}

func (w *World) tracef(who, obj, format string, args ...any) {
	if w.trace != nil {
		w.trace.note(w.Kernel, who, obj, fmt.Sprintf(format, args...))
	}
}

// Context is the context user actions run with.
func (w *World) Context() context.Context { return w.ctx }

// Apply creates each object, or updates it if it exists (spec and metadata; the stored status is
// kept), like `kubectl apply`.
func (w *World) Apply(docs []manifest.Document) error {
	for _, d := range docs {
		if err := w.applyOne(d.Object); err != nil {
			return fmt.Errorf("%s: %w", d.Where(), err)
		}
	}
	return nil
}

func (w *World) applyOne(obj runtime.Object) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	gvr, err := resourceFor(gvk)
	if err != nil {
		return err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	ns := m.GetNamespace()
	if ns == "" && namespaced(gvr) {
		ns = "default"
	}
	store := w.Cluster.Store
	cur, err := store.Get(gvr, ns, m.GetName())
	if apierrors.IsNotFound(err) {
		_, err = store.Create(gvr, ns, obj)
		return err
	}
	if err != nil {
		return err
	}
	cm, _ := meta.Accessor(cur)
	next := obj.DeepCopyObject()
	nm, _ := meta.Accessor(next)
	nm.SetNamespace(ns)
	nm.SetResourceVersion(cm.GetResourceVersion())
	_, err = store.Update(gvr, ns, next, "")
	return err
}

// resourceFor maps the kinds a manifest may hold to their resources.
func resourceFor(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
	switch gvk.GroupKind() {
	case schema.GroupKind{Group: v1alpha1.GroupName, Kind: "Rollout"}:
		return Rollouts, nil
	case schema.GroupKind{Kind: "Service"}:
		return kube.Services, nil
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return kube.ReplicaSets, nil
	case schema.GroupKind{Kind: "Pod"}:
		return kube.Pods, nil
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}:
		return kube.Ingresses, nil
	case schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}:
		return rollout.VirtualServiceResource, nil
	case schema.GroupKind{Group: "networking.istio.io", Kind: "DestinationRule"}:
		return rollout.DestinationRuleResource, nil
	case schema.GroupKind{Group: "networking.istio.io", Kind: "Gateway"}:
		return Gateways, nil
	case schema.GroupKind{Group: "apisix.apache.org", Kind: "ApisixRoute"}:
		return rollout.ApisixRouteResource, nil
	case v1alpha1.AnalysisTemplateGVK.GroupKind():
		return v1alpha1.AnalysisTemplateGVR, nil
	case v1alpha1.ClusterAnalysisTemplateGVK.GroupKind():
		return v1alpha1.ClusterAnalysisTemplateGVR, nil
	case v1alpha1.AnalysisRunGVK.GroupKind():
		return v1alpha1.AnalysisRunGVR, nil
	}
	return schema.GroupVersionResource{}, fmt.Errorf("the simulation does not run %s objects", gvk.Kind)
}

func namespaced(gvr schema.GroupVersionResource) bool {
	return gvr != kube.Nodes && gvr != v1alpha1.ClusterAnalysisTemplateGVR
}

// scheduler adapts the kernel to the fakes' Scheduler interface.
type scheduler struct{ k *Kernel }

func (s scheduler) Now() time.Time { return s.k.Now() }
func (s scheduler) After(d time.Duration, name, obj string, fn func()) kube.Timer {
	return s.k.After(d, name, obj, fn)
}
