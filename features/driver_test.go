package features

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// driver is everything the steps may do to, or ask of, an installation. The steps speak only
// through it, so the same feature files can later run against a real API server (a cluster
// driver reading a kubeconfig) as well as inside the simulation (simDriver). Rollouts are named
// "namespace/name", or "name" in the default namespace.
//
// Its types are plain data: sim.State is the shape every world reports (what `kubectl argo
// rollouts get rollout` shows) and scenario.Expectation is the set of facts a scenario file can
// state, compared by scenario.Mismatch.
type driver interface {
	// What the installation is, said before anything happens in it: the simulation builds its
	// world so; a cluster driver checks that the cluster is so and fails, saying what is missing,
	// when it is not.
	//
	// UseAWS: the cluster runs in an AWS account, with the AWS Load Balancer Controller turning
	// alb-class Ingresses into application load balancers.
	UseAWS() error
	// VerifyTargetGroups: the rollout controller runs with --aws-verify-target-group (on) or
	// without it (off, Argo's default).
	VerifyTargetGroups(on bool) error
	// UseIstio: the cluster runs Istio, a service mesh whose proxies route by VirtualServices
	// and DestinationRules.
	UseIstio() error
	// UseAPISIX: Apache APISIX and its ingress controller run in the cluster, routing requests by
	// ApisixRoutes.
	UseAPISIX() error

	// Apply creates or updates every object of a YAML manifest (one or more documents), like
	// `kubectl apply -f file`, and returns the Rollouts it held.
	Apply(file string, yaml []byte) (rollouts []string, err error)

	// The user's actions, as `kubectl argo rollouts` performs them (engine/actions).
	SetImage(rollout, container, image string) error
	Promote(rollout string, full bool) error
	Abort(rollout string) error
	Retry(rollout string) error
	Pause(rollout string) error
	Resume(rollout string) error
	Undo(rollout string, toRevision int64) error

	// WaitFor lets time pass until the rollout matches x. After within, it fails with what still
	// differs. Check compares now, without letting time pass.
	WaitFor(rollout string, x scenario.Expectation, within time.Duration) error
	Check(rollout string, x scenario.Expectation) error
	// Advance lets d pass.
	Advance(d time.Duration) error

	// Await lets time pass until cond holds (returns nil), for at most within, and then fails
	// with cond's last error. Within 0 checks cond now, without letting time pass. cond may only
	// read (through the driver's queries), never act.
	Await(within time.Duration, cond func() error) error

	// CrashController kills the rollout controller at once (it loses everything it held in
	// memory) and starts it again after down; the writes it already made stay.
	CrashController(down time.Duration) error

	// StopLoadBalancerController stops the AWS Load Balancer Controller: nothing is reconciled and
	// no target registered until it starts again, after down, or at StartLoadBalancerController
	// when down is 0.
	StopLoadBalancerController(down time.Duration) error
	StartLoadBalancerController() error

	// StartTraffic has clients send perSecond requests a second to the load balancer of an Ingress
	// ("namespace/name"), from now on; they start once its DNS name is known.
	StartTraffic(ingress string, perSecond int) error
	// StartGatewayTraffic has a group of clients (source, a name) send perSecond requests a
	// second for host to the APISIX gateway with headers on each one, from now on, alongside the
	// other groups (as StartMeshTraffic does into the mesh).
	StartGatewayTraffic(source, host string, headers map[string]string, perSecond int) error
	// StartMeshTraffic has a group of clients (source, a name) send perSecond requests a second
	// into the Istio mesh for host (the ingress gateway, as Host header) with headers on each
	// one, from now on, alongside the other groups; a group started again replaces its clients
	// and counts its requests from then on.
	StartMeshTraffic(source, host string, headers map[string]string, perSecond int) error
	// Requests counts every client's requests so far (every group's) by outcome (zero when none
	// were sent). Failed counts the 5xx answers; PerSecond is the series per status code.
	Requests() (sim.TrafficStats, error)
	// SourceRequests counts the requests of one group of clients since it (re)started.
	SourceRequests(source string) (sim.TrafficStats, error)

	// StopPrometheus makes the Prometheus that the analysis templates query unavailable (every
	// query fails) for down, as an outage of the metrics provider.
	StopPrometheus(down time.Duration) error
	// AnalysisRuns are the AnalysisRuns the rollout owns (its controller reference), oldest first.
	AnalysisRuns(rollout string) ([]v1alpha1.AnalysisRun, error)

	// ALB is what the application load balancers do now: the rules in effect at the data plane,
	// which lag the ones the API accepted.
	ALB() (ALB, error)
	// IngressAnnotations are an Ingress's annotations ("namespace/name").
	IngressAnnotations(ingress string) (map[string]string, error)
	// ApisixRoute is an ApisixRoute ("namespace/name") as the API server holds it, or (pushed) as
	// the APISIX gateway routes by it now; nil when there is none.
	ApisixRoute(name string, pushed bool) (*unstructured.Unstructured, error)
	// VirtualService is a VirtualService ("namespace/name") as the API server stores it, or
	// (proxies) as the mesh's proxies route by it now, which lags: a cluster driver rebuilds
	// its routes from the ingress gateway's Envoy configuration (istioctl proxy-config routes).
	// nil when the proxies have none.
	VirtualService(name string, proxies bool) (*unstructured.Unstructured, error)

	// Rollout is the Rollout object as the API server holds it, status included.
	Rollout(rollout string) (*v1alpha1.Rollout, error)
	// State is the rollout's observable state now.
	State(rollout string) (sim.State, error)
	// NewRevision is the revision of the ReplicaSet that runs the rollout's current pod template,
	// 0 while there is none.
	NewRevision(rollout string) (int64, error)
	// ReplicaSets names the ReplicaSets the rollout owns, history included.
	ReplicaSets(rollout string) ([]string, error)
	// Events lists the events recorded for the rollout, oldest first, as "Reason: message".
	Events(rollout string) ([]string, error)

	// Replay says how to run the same thing again, for failure messages (the seed in sim).
	Replay() string
}

// ALB is what the load balancers in front of the installation's Ingresses do at one time.
type ALB struct {
	// Shares is the percentage of a forward rule's requests each target group gets from the
	// rules in effect, keyed by the Service it serves ("namespace/name"). A Service in several
	// rules keeps its largest share; a Service no rule forwards to is absent.
	Shares map[string]int32
	// NotReady says why the load balancers cannot serve every request ("" when they can): none
	// exists yet, or a target group that a rule in effect sends traffic to has no healthy target.
	NotReady string
}
