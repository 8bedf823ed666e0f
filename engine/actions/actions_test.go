package actions_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

var ctx = context.Background()

type world struct {
	cluster  *kube.Cluster
	rollouts client.Interface
}

func newWorld(t *testing.T, ro *v1alpha1.Rollout, rss ...*appsv1.ReplicaSet) *world {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := kube.NewCluster(scheme, clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	rf := &k8stesting.Fake{}
	c.Serve(rf)
	w := &world{cluster: c, rollouts: client.NewFake(rf)}
	created, err := c.Store.Create(v1alpha1.RolloutGVR, "ns", ro)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store.Update(v1alpha1.RolloutGVR, "ns", created, "status"); err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss {
		rs.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(created.(*v1alpha1.Rollout), v1alpha1.SchemeGroupVersion.WithKind("Rollout"))}
		if _, err := c.Store.Create(kube.ReplicaSets, "ns", rs); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) get(t *testing.T) *v1alpha1.Rollout {
	t.Helper()
	ro, err := w.rollouts.Rollouts("ns").Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

func demo(image string) *v1alpha1.Rollout {
	w := int32(20)
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns"},
		Spec: v1alpha1.RolloutSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "init", Image: "init:1"}},
				Containers:     []corev1.Container{{Name: "app", Image: image}, {Name: "sidecar", Image: "proxy:1"}},
			}},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: &w}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: &w}}}},
		},
	}
}

func TestPromoteClearsThePause(t *testing.T) {
	ro := demo("app:2")
	one := int32(1)
	ro.Status.CurrentStepIndex = &one
	ro.Status.ControllerPause = true
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	w := newWorld(t, ro)
	if _, err := actions.Promote(ctx, w.rollouts, "ns", "demo"); err != nil {
		t.Fatal(err)
	}
	got := w.get(t)
	if len(got.Status.PauseConditions) != 0 || *got.Status.CurrentStepIndex != 1 || !got.Status.ControllerPause {
		t.Fatalf("status %+v: want the conditions cleared and the step left to the controller", got.Status)
	}
}

func TestPromoteWithoutAPauseSkipsTheStep(t *testing.T) {
	ro := demo("app:2")
	zero := int32(0)
	ro.Status.CurrentStepIndex = &zero
	ro.Spec.Paused = true
	w := newWorld(t, ro)
	if _, err := actions.Promote(ctx, w.rollouts, "ns", "demo"); err != nil {
		t.Fatal(err)
	}
	got := w.get(t)
	if *got.Status.CurrentStepIndex != 1 || got.Spec.Paused {
		t.Fatalf("step %d paused %v: want step 1 and spec.paused cleared", *got.Status.CurrentStepIndex, got.Spec.Paused)
	}
}

func TestPromoteFullOnlyMidUpdate(t *testing.T) {
	ro := demo("app:2")
	ro.Status.CurrentPodHash, ro.Status.StableRS = "b", "a"
	w := newWorld(t, ro)
	if _, err := actions.PromoteFull(ctx, w.rollouts, "ns", "demo"); err != nil {
		t.Fatal(err)
	}
	if !w.get(t).Status.PromoteFull {
		t.Fatal("promoteFull not set mid-update")
	}
	done := demo("app:2")
	done.Status.CurrentPodHash, done.Status.StableRS = "a", "a"
	w = newWorld(t, done)
	if _, err := actions.PromoteFull(ctx, w.rollouts, "ns", "demo"); err != nil {
		t.Fatal(err)
	}
	if w.get(t).Status.PromoteFull {
		t.Fatal("promoteFull set on a finished update")
	}
}

func TestAbortRetryPauseResume(t *testing.T) {
	w := newWorld(t, demo("app:2"))
	steps := []struct {
		name  string
		do    func() (*v1alpha1.Rollout, error)
		check func(*v1alpha1.Rollout) bool
	}{
		{"abort", func() (*v1alpha1.Rollout, error) { return actions.Abort(ctx, w.rollouts, "ns", "demo") }, func(r *v1alpha1.Rollout) bool { return r.Status.Abort }},
		{"retry", func() (*v1alpha1.Rollout, error) { return actions.Retry(ctx, w.rollouts, "ns", "demo") }, func(r *v1alpha1.Rollout) bool { return !r.Status.Abort }},
		{"pause", func() (*v1alpha1.Rollout, error) { return actions.Pause(ctx, w.rollouts, "ns", "demo") }, func(r *v1alpha1.Rollout) bool { return r.Spec.Paused }},
		{"resume", func() (*v1alpha1.Rollout, error) { return actions.Resume(ctx, w.rollouts, "ns", "demo") }, func(r *v1alpha1.Rollout) bool { return !r.Spec.Paused }},
	}
	for _, s := range steps {
		if _, err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !s.check(w.get(t)) {
			t.Fatalf("%s did not take effect", s.name)
		}
	}
}

func TestSetImage(t *testing.T) {
	w := newWorld(t, demo("app:1"))
	if _, err := actions.SetImage(ctx, w.rollouts, "ns", "demo", "app", "app:2"); err != nil {
		t.Fatal(err)
	}
	spec := w.get(t).Spec.Template.Spec
	if spec.Containers[0].Image != "app:2" || spec.Containers[1].Image != "proxy:1" || spec.InitContainers[0].Image != "init:1" {
		t.Fatalf("only the app container should change: %+v", spec)
	}
	if _, err := actions.SetImage(ctx, w.rollouts, "ns", "demo", "*", "all:3"); err != nil {
		t.Fatal(err)
	}
	spec = w.get(t).Spec.Template.Spec
	if spec.Containers[0].Image != "all:3" || spec.Containers[1].Image != "all:3" || spec.InitContainers[0].Image != "all:3" {
		t.Fatalf("* should set every container: %+v", spec)
	}
	_, err := actions.SetImage(ctx, w.rollouts, "ns", "demo", "nope", "x:1")
	if err == nil || !strings.Contains(err.Error(), `unable to find container named "nope"`) {
		t.Fatalf("error %v", err)
	}
	if _, _, err := actions.ParseImageArg("app"); err == nil {
		t.Fatal("an argument without = was accepted")
	}
	if c, i, err := actions.ParseImageArg("app=repo/app:2"); err != nil || c != "app" || i != "repo/app:2" {
		t.Fatalf("got %s %s %v", c, i, err)
	}
}

func rsWithTemplate(name string, rev string, tmpl corev1.PodTemplateSpec) *appsv1.ReplicaSet {
	tmpl = *tmpl.DeepCopy()
	tmpl.Labels = map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: name}
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
		Annotations: map[string]string{v1alpha1.RevisionAnnotation: rev}}, Spec: appsv1.ReplicaSetSpec{Template: tmpl}}
}

func TestUndo(t *testing.T) {
	cur := demo("app:3")
	w := newWorld(t, cur,
		rsWithTemplate("r1", "1", demo("app:1").Spec.Template),
		rsWithTemplate("r2", "2", demo("app:2").Spec.Template),
		rsWithTemplate("r3", "3", cur.Spec.Template))
	changed, err := actions.Undo(ctx, w.rollouts, w.cluster.Kube, "ns", "demo", 0)
	if err != nil || !changed || w.get(t).Spec.Template.Spec.Containers[0].Image != "app:2" {
		t.Fatalf("undo to the previous revision: changed %v err %v", changed, err)
	}
	if _, has := w.get(t).Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; has {
		t.Fatal("the hash label was copied into the rollout's template")
	}
	if changed, err := actions.Undo(ctx, w.rollouts, w.cluster.Kube, "ns", "demo", 1); err != nil || !changed || w.get(t).Spec.Template.Spec.Containers[0].Image != "app:1" {
		t.Fatalf("undo to revision 1: changed %v err %v", changed, err)
	}
	if changed, err := actions.Undo(ctx, w.rollouts, w.cluster.Kube, "ns", "demo", 1); err != nil || changed {
		t.Fatalf("undo to the template it already has: changed %v err %v", changed, err)
	}
	if _, err := actions.Undo(ctx, w.rollouts, w.cluster.Kube, "ns", "demo", 9); err == nil || !strings.Contains(err.Error(), "revision 9") {
		t.Fatalf("undo to a missing revision: %v", err)
	}
}
