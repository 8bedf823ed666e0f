// Package fakeaws plays AWS for ALB rollouts on a real (local) Kubernetes API server: it serves
// the in-memory ELBv2 of fakes/elbv2 over HTTP, for the rollout controller's --aws-endpoint, and
// runs the fake AWS Load Balancer Controller of fakes/awslbc against the cluster, in wall-clock
// time.
//
// The models are single-threaded, so they share one mutex: informer events, timers, ELBv2 API
// calls, webhook admissions and the debug endpoints each take it in turn. The models read a
// kube.Store that mirrors the cluster (Ingresses, Services, EndpointSlices, Pods, Nodes and
// TargetGroupBindings); what the LBC writes to that store (bindings, Ingress status, pod
// readiness-gate conditions) is written back to the cluster by a goroutine, outside the lock.
// The load balancer's "network" is the mirrored pods: a target IP leads to the pod with that IP,
// which answers once its containers are ready (pods are fake; nothing listens).
//
// Unlike engine/, fakes/ and sim/, this package runs on the wall clock: it is the glue between
// the deterministic models and a real cluster, and is only used by end-to-end tests.
package fakeaws

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/awslbc"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
)

// Options configure Run.
type Options struct {
	// Config is the cluster to play against.
	Config *rest.Config
	// Kube and Dynamic, when set, are used instead of clients built from Config (tests pass
	// client-go fakes; Dynamic must serve elbv2.k8s.aws/v1beta1 targetgroupbindings).
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface

	// Listen is the address of the ELBv2 Query API and of the /debug/ endpoints.
	Listen string
	// WebhookListen is the address of the readiness-gate webhook (HTTPS); "" runs none.
	WebhookListen string

	// LBC and ELBv2 configure the models; start from awslbc.DefaultConfig and
	// elbv2.DefaultConfig (their zero values mean no reconcile lag, no readiness gates).
	LBC   awslbc.Config
	ELBv2 elbv2.Config
	// Seed seeds the models' random draws and the traffic generator.
	Seed uint64

	// Logf receives what the LBC does and the errors of mirroring and writing back (nil: none).
	Logf func(format string, args ...any)
	// Ready is called once everything serves and the mirror holds the cluster's objects.
	Ready func(Endpoints)
}

// Endpoints are the URLs Run serves.
type Endpoints struct {
	API     string // http://host:port: the ELBv2 Query API, and /debug/ under it
	Webhook string // https://host:port/mutate-v1-pod, "" without a webhook
}

// WebhookConfigName is the MutatingWebhookConfiguration Run registers and removes.
const WebhookConfigName = "rolloutlab-fake-aws-load-balancer-controller"

// Run plays AWS against the cluster until ctx is done, then removes its webhook configuration.
func Run(ctx context.Context, o Options) error {
	kc, dyn, err := o.clients()
	if err != nil {
		return err
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	// Fail early, and say why, rather than have an informer retry forever.
	if _, err := dyn.Resource(tgbv1.Resource).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return fmt.Errorf("listing targetgroupbindings (is e2e/crds/targetgroupbinding-crd.yaml applied?): %w", err)
	}

	b := newBridge(kc, dyn, o)
	apiLn, err := net.Listen("tcp", o.Listen)
	if err != nil {
		b.close()
		return err
	}
	api := &http.Server{Handler: b.apiHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(apiLn) }()
	servers := []*http.Server{api}
	ends := Endpoints{API: "http://" + apiLn.Addr().String()}

	if o.WebhookListen != "" {
		hook, url, err := b.startWebhook(ctx, o.WebhookListen)
		if err != nil {
			_ = api.Close()
			b.close()
			return err
		}
		servers, ends.Webhook = append(servers, hook), url
	}

	runCtx, stop := context.WithCancel(ctx)
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		b.writes.run(runCtx, o.Logf)
	}()
	waitMirror, err := b.startMirror(runCtx)
	if err == nil && ctx.Err() == nil {
		if o.Ready != nil {
			o.Ready(ends)
		}
		<-ctx.Done()
	}

	// Stop serving first, so that no request waits for a lock that is being given up, then
	// wait for every goroutine that could still log.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	b.close()
	stop()
	<-writer
	waitMirror()
	if ends.Webhook != "" {
		err = errors.Join(err, b.unregisterWebhook(shutdown))
	}
	return err
}

func (o Options) clients() (kubernetes.Interface, dynamic.Interface, error) {
	kc, dyn := o.Kube, o.Dynamic
	if (kc == nil || dyn == nil) && o.Config == nil {
		return nil, nil, errors.New("fakeaws: no cluster: set Options.Config")
	}
	var err error
	if kc == nil {
		if kc, err = kubernetes.NewForConfig(o.Config); err != nil {
			return nil, nil, err
		}
	}
	if dyn == nil {
		if dyn, err = dynamic.NewForConfig(o.Config); err != nil {
			return nil, nil, err
		}
	}
	return kc, dyn, nil
}

// rng returns the random stream number n of the seed.
func (o Options) rng(n uint64) *rand.Rand { return rand.New(rand.NewPCG(o.Seed, n)) }
