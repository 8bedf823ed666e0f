package rollout

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// fakeReader reads straight from the fake clientsets (a controller without informers).
type fakeReader struct {
	kube     kubernetes.Interface
	rollouts client.Interface
}

func (r fakeReader) Rollout(ns, name string) (*v1alpha1.Rollout, error) {
	return r.rollouts.Rollouts(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (r fakeReader) ReplicaSets(ns string) ([]*appsv1.ReplicaSet, error) {
	l, err := r.kube.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out, nil
}

func (r fakeReader) Service(ns, name string) (*corev1.Service, error) {
	return r.kube.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (r fakeReader) Ingress(ns, name string) (*networkingv1.Ingress, error) {
	return r.kube.NetworkingV1().Ingresses(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (r fakeReader) Endpoints(ns, name string) (*corev1.Endpoints, error) {
	return r.kube.CoreV1().Endpoints(ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (r fakeReader) TargetGroupBindings(string) ([]*tgbv1.TargetGroupBinding, error) { return nil, nil }
func (r fakeReader) VirtualService(ns, name string) (*unstructured.Unstructured, error) {
	return nil, apierrors.NewNotFound(VirtualServiceResource.GroupResource(), name)
}
func (r fakeReader) DestinationRule(ns, name string) (*unstructured.Unstructured, error) {
	return nil, apierrors.NewNotFound(DestinationRuleResource.GroupResource(), name)
}
func (r fakeReader) ApisixRoute(ns, name string) (*unstructured.Unstructured, error) {
	return nil, apierrors.NewNotFound(ApisixRouteResource.GroupResource(), name)
}
func (r fakeReader) AnalysisRuns(string) ([]*v1alpha1.AnalysisRun, error) { return nil, nil }
func (r fakeReader) AnalysisTemplate(ns, name string) (*v1alpha1.AnalysisTemplate, error) {
	return nil, apierrors.NewNotFound(v1alpha1.Resource("analysistemplates"), name)
}
func (r fakeReader) ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	return nil, apierrors.NewNotFound(v1alpha1.Resource("clusteranalysistemplates"), name)
}

// pausedGuide sets up the guide paused at step 1 on client-go's plain fake clientsets.
func pausedGuide(b *testing.B) (*Reconciler, *k8stesting.Fake, *v1alpha1.Rollout) {
	ro, stable, canary := midUpdate(1)
	stable = replicaSetFor(guideRollout("blue"), 1, 4, 4, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(t0)}}
	ro.Status.ControllerPause = true
	ro.Status.Conditions = pausedConditions()
	kube := fake.NewSimpleClientset(stable, canary)
	rf := &k8stesting.Fake{}
	tracker := k8stesting.NewObjectTracker(client.Scheme, client.Codecs.UniversalDecoder())
	if err := tracker.Add(ro); err != nil {
		b.Fatal(err)
	}
	rf.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	rollouts := client.NewFake(rf)
	r := NewReconciler(Deps{Kube: kube, Rollouts: rollouts, Reader: fakeReader{kube, rollouts}, Clock: clocktesting.NewFakePassiveClock(t0)}, DefaultConfig())
	// Settle: the first reconciles write the status the controller would have written.
	for i := 0; i < 3; i++ {
		if _, err := r.Reconcile(context.Background(), "ns/demo"); err != nil {
			b.Fatal(err)
		}
	}
	return r, rf, ro
}

// BenchmarkReconcileSteady is one reconcile of a paused rollout on client-go's fake clientset:
// reads (get rollout, list ReplicaSets), decide, nothing to write.
func BenchmarkReconcileSteady(b *testing.B) {
	r, rf, _ := pausedGuide(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Reconcile(context.Background(), "ns/demo"); err != nil {
			b.Fatal(err)
		}
		if r.LastPlan.StatusPatch != nil || len(r.LastPlan.Actions) > 0 {
			b.Fatal("a steady reconcile wrote something")
		}
		rf.ClearActions()
	}
}

// BenchmarkReconcilePromote is the reconcile after a user's promote: it moves to the next step
// and writes the status (a merge patch to the status subresource).
func BenchmarkReconcilePromote(b *testing.B) {
	r, rf, _ := pausedGuide(b)
	ctx := context.Background()
	paused, err := r.deps.Rollouts.Rollouts("ns").Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		promoted := paused.DeepCopy()
		promoted.Status.PauseConditions = nil
		promoted.Status.Conditions = []v1alpha1.RolloutCondition{
			newCondition(v1alpha1.RolloutPaused, corev1.ConditionFalse, ReasonRolloutPaused, msgPaused, t0),
			newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutResumed, msgResumed, t0)}
		if _, err := r.deps.Rollouts.Rollouts("ns").UpdateStatus(ctx, promoted, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		r.written = map[string]uint64{}
		b.StartTimer()
		if _, err := r.Reconcile(ctx, "ns/demo"); err != nil {
			b.Fatal(err)
		}
		if r.LastPlan.Status == nil || *r.LastPlan.Status.CurrentStepIndex != 2 {
			b.Fatal("the reconcile did not move to step 2")
		}
		rf.ClearActions()
	}
}

// BenchmarkDecide is the pure decision alone, for the same promote.
func BenchmarkDecide(b *testing.B) {
	ro, stable, canary := midUpdate(1)
	stable = replicaSetFor(guideRollout("blue"), 1, 4, 4, t0)
	canary.Spec.Replicas, canary.Status.Replicas, canary.Status.AvailableReplicas = ptr(1), 1, 1
	ro.Status.ControllerPause = true
	ro.Status.Conditions = []v1alpha1.RolloutCondition{
		newCondition(v1alpha1.RolloutPaused, corev1.ConditionFalse, ReasonRolloutPaused, msgPaused, t0),
		newCondition(v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonRolloutResumed, msgResumed, t0)}
	in := Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stable, canary}, Now: t0}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if p := Decide(in); p.Status == nil {
			b.Fatal("no status change")
		}
	}
}
