package rollout

import (
	"context"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/aws"
)

// Reader is how the engine reads: informer listers in a real controller, the simulation's
// delayed caches in sim. Returned objects are shared and must not be modified.
type Reader interface {
	// Rollout returns the rollout or a NotFound error.
	Rollout(namespace, name string) (*v1alpha1.Rollout, error)
	// ReplicaSets lists the ReplicaSets of a namespace.
	ReplicaSets(namespace string) ([]*appsv1.ReplicaSet, error)
	// Service returns a Service or a NotFound error.
	Service(namespace, name string) (*corev1.Service, error)
	// Ingress returns an Ingress or a NotFound error.
	Ingress(namespace, name string) (*networkingv1.Ingress, error)
	// Endpoints returns a Service's Endpoints or a NotFound error.
	Endpoints(namespace, name string) (*corev1.Endpoints, error)
	// TargetGroupBindings lists the AWS Load Balancer Controller's bindings of a namespace.
	TargetGroupBindings(namespace string) ([]*tgbv1.TargetGroupBinding, error)
	// VirtualService and DestinationRule return Istio objects, as stored, or a NotFound error.
	VirtualService(namespace, name string) (*unstructured.Unstructured, error)
	DestinationRule(namespace, name string) (*unstructured.Unstructured, error)
	// ApisixRoute returns an APISIX ApisixRoute, as stored, or a NotFound error.
	ApisixRoute(namespace, name string) (*unstructured.Unstructured, error)
	// AnalysisRuns lists the AnalysisRuns of a namespace.
	AnalysisRuns(namespace string) ([]*v1alpha1.AnalysisRun, error)
	// AnalysisTemplate and ClusterAnalysisTemplate return a template or a NotFound error.
	AnalysisTemplate(namespace, name string) (*v1alpha1.AnalysisTemplate, error)
	ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error)
}

// Deps is everything the engine is handed; it owns no clients, clocks or caches of its own.
type Deps struct {
	Kube     kubernetes.Interface
	Rollouts client.Interface
	Reader   Reader
	Clock    clock.PassiveClock
	Events   record.EventRecorder
	// ELBv2 reads AWS for target-group verification; nil when the controller has no AWS access.
	ELBv2 aws.ELBv2
	// Dynamic writes the router objects that have no typed client here (Istio's, APISIX's).
	Dynamic dynamic.Interface
}

// Config is the controller's configuration (its flags), the same for every rollout.
type Config struct {
	// VerifyTargetGroup (--aws-verify-target-group) checks with AWS that ALB listener weights
	// and target registrations took effect before a step completes or an old ReplicaSet goes.
	VerifyTargetGroup bool
	// VerifyTargetHealth (--aws-verify-target-health, a rolloutlab extension) additionally
	// requires verified targets to be healthy, not just registered.
	VerifyTargetHealth bool
	// ALBIngressClasses (--alb-ingress-classes) are the Ingress classes whose annotations the
	// controller hands back when a rollout stops using them; "" matches Ingresses without a class.
	ALBIngressClasses []string
	// ALBTagKeyResourceID is the target-group tag naming the Service port it serves.
	ALBTagKeyResourceID string
}

// DefaultConfig is Argo Rollouts' defaults.
func DefaultConfig() Config {
	return Config{ALBIngressClasses: []string{"alb"}, ALBTagKeyResourceID: aws.DefaultResourceTagKey}
}

// Result tells the caller when to reconcile the key again (zero: only on the next change).
type Result struct {
	RequeueAfter time.Duration
}

// staleRequeue is how soon a reconcile that found its cache older than its own last write retries.
const staleRequeue = 100 * time.Millisecond

// Reconciler runs one rollout reconcile at a time per key: observe, decide, apply.
type Reconciler struct {
	deps Deps
	cfg  Config
	// written remembers the resourceVersion of each rollout's last status write, so that a
	// reconcile never acts on a cached rollout from before that write. Losing it (a restart) is
	// safe: it only saves wasted work.
	written map[string]uint64
	// LastObserved and LastPlan are the input and plan of the latest reconcile, for traces,
	// invariants and tests.
	LastObserved Observed
	LastPlan     *Plan
}

// NewReconciler returns a reconciler over deps with the controller's configuration.
func NewReconciler(deps Deps, cfg Config) *Reconciler {
	if cfg.ALBTagKeyResourceID == "" {
		cfg.ALBTagKeyResourceID = aws.DefaultResourceTagKey
	}
	return &Reconciler{deps: deps, cfg: cfg, written: map[string]uint64{}}
}

// Reconcile brings one rollout ("namespace/name") a step closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, key string) (Result, error) {
	r.LastPlan = nil
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return Result{}, err
	}
	in, err := r.observe(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		delete(r.written, key)
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if rv, err := strconv.ParseUint(in.Rollout.ResourceVersion, 10, 64); err == nil && rv < r.written[key] {
		return Result{RequeueAfter: staleRequeue}, nil
	}
	plan := Decide(in)
	r.LastObserved, r.LastPlan = in, plan
	if err := r.apply(ctx, in.Rollout, plan); err != nil {
		return Result{}, err
	}
	return Result{RequeueAfter: plan.RequeueAfter}, nil
}

func (r *Reconciler) observe(ctx context.Context, ns, name string) (Observed, error) {
	ro, err := r.deps.Reader.Rollout(ns, name)
	if err != nil {
		return Observed{}, err
	}
	rss, err := r.deps.Reader.ReplicaSets(ns)
	if err != nil {
		return Observed{}, err
	}
	in := Observed{Rollout: ro, Config: r.cfg, TakenNames: map[string]bool{}, Services: map[string]*corev1.Service{},
		Ingresses: map[string]*networkingv1.Ingress{}, Now: r.deps.Clock.Now()}
	for _, rs := range rss {
		if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == ro.UID {
			in.ReplicaSets = append(in.ReplicaSets, rs)
		} else {
			in.TakenNames[rs.Name] = true
		}
	}
	if RestartPending(ro, in.Now) {
		if in.Pods, err = r.observePods(ctx, ro, in.ReplicaSets); err != nil {
			return Observed{}, err
		}
	}
	for _, svc := range referencedServices(ro) {
		s, err := r.deps.Reader.Service(ns, svc)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return Observed{}, err
		}
		in.Services[svc] = s
	}
	if alb := albSpec(ro); alb != nil {
		for _, name := range albIngresses(alb) {
			ing, err := r.deps.Reader.Ingress(ns, name)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return Observed{}, err
			}
			in.Ingresses[name] = ing
		}
	}
	if err := r.observeIstio(&in); err != nil {
		return Observed{}, err
	}
	if err := r.observeApisix(&in); err != nil {
		return Observed{}, err
	}
	if err := r.observeAnalysis(ctx, &in); err != nil {
		return Observed{}, err
	}
	if r.cfg.VerifyTargetGroup && r.deps.ELBv2 != nil {
		if err := r.observeAWS(ctx, &in); err != nil {
			return Observed{}, err
		}
	}
	return in, nil
}

// observePods lists the pods of the rollout's ReplicaSets straight from the API server, as Argo's
// restarter does (a pod informer would hold every pod of the cluster in memory for a rare verb).
func (r *Reconciler) observePods(ctx context.Context, ro *v1alpha1.Rollout, rss []*appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	opts := metav1.ListOptions{}
	if ro.Spec.Selector != nil {
		opts.LabelSelector = metav1.FormatLabelSelector(ro.Spec.Selector)
	}
	list, err := r.deps.Kube.CoreV1().Pods(ro.Namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list pods of rollout %s: %w", ro.Name, err)
	}
	owned := make(map[types.UID]bool, len(rss))
	for _, rs := range rss {
		owned[rs.UID] = true
	}
	var pods []*corev1.Pod
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && owned[ref.UID] {
			pods = append(pods, &list.Items[i])
		}
	}
	return pods, nil
}

// referencedServices are the Services a rollout's strategy names.
func referencedServices(ro *v1alpha1.Rollout) []string {
	var out []string
	if c := ro.Spec.Strategy.Canary; c != nil {
		out = append(out, c.CanaryService, c.StableService)
		if c.PingPong != nil {
			out = append(out, c.PingPong.PingService, c.PingPong.PongService)
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		out = append(out, bg.ActiveService, bg.PreviewService)
	}
	names := out[:0]
	for _, n := range out {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// apply carries out a plan in order, stopping at the first failed write (the next reconcile
// decides again from what was written).
func (r *Reconciler) apply(ctx context.Context, ro *v1alpha1.Rollout, plan *Plan) error {
	for _, a := range plan.Actions {
		if err := r.write(ctx, ro.Namespace, a); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		r.emit(ro, a.Events)
	}
	if plan.StatusPatch != nil {
		out, err := r.deps.Rollouts.Rollouts(ro.Namespace).Patch(ctx, ro.Name, types.MergePatchType, plan.StatusPatch, metav1.PatchOptions{}, "status")
		if err != nil {
			return fmt.Errorf("patch status of rollout %s: %w", ro.Name, err)
		}
		if rv, err := strconv.ParseUint(out.ResourceVersion, 10, 64); err == nil {
			r.written[ro.Namespace+"/"+ro.Name] = rv
		}
	}
	r.emit(ro, plan.Events)
	return nil
}

func (r *Reconciler) write(ctx context.Context, ns string, a Action) error {
	rss := r.deps.Kube.AppsV1().ReplicaSets(ns)
	switch a.Kind {
	case CreateReplicaSet:
		_, err := rss.Create(ctx, a.ReplicaSet, metav1.CreateOptions{})
		return err
	case UpdateReplicaSet:
		_, err := rss.Update(ctx, a.ReplicaSet, metav1.UpdateOptions{})
		return err
	case DeleteReplicaSet:
		err := rss.Delete(ctx, a.Name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	case PatchService:
		_, err := r.deps.Kube.CoreV1().Services(ns).Patch(ctx, a.Name, a.PatchType, a.Patch, metav1.PatchOptions{})
		return err
	case UpdateRollout:
		_, err := r.deps.Rollouts.Rollouts(ns).Update(ctx, a.Rollout, metav1.UpdateOptions{})
		return err
	case PatchIngress:
		_, err := r.deps.Kube.NetworkingV1().Ingresses(ns).Patch(ctx, a.Name, a.PatchType, a.Patch, metav1.PatchOptions{})
		return err
	case PatchVirtualService:
		return r.patchIstio(ctx, VirtualServiceResource, a)
	case PatchDestinationRule:
		return r.patchIstio(ctx, DestinationRuleResource, a)
	case PatchApisixRoute, CreateApisixRoute, DeleteApisixRoute:
		return r.writeApisix(ctx, a)
	case CreateAnalysisRun, PatchAnalysisRun, DeleteAnalysisRun:
		return r.writeAnalysisRun(ctx, ns, a)
	case DeletePod:
		// A delete where Argo evicts: the simulated API server serves no subresource creates
		// (pods/eviction). Unlike an eviction, a delete does not consult PodDisruptionBudgets.
		err := r.deps.Kube.CoreV1().Pods(ns).Delete(ctx, a.Name, restartDeleteOptions(a.Pod))
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone already, or replaced by a namesake: the next reconcile looks again
		}
		return err
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

func (r *Reconciler) emit(ro *v1alpha1.Rollout, events []Event) {
	if r.deps.Events == nil {
		return
	}
	for _, e := range events {
		r.deps.Events.Event(ro, e.Type, e.Reason, e.Message)
	}
}
