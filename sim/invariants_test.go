package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

const guideRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  replicas: 5
  selector: {matchLabels: {app: demo}}
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}]
  template:
    metadata: {labels: {app: demo}}
    spec: {containers: [{name: demo, image: demo:1}]}
`

// healthyWorld is a world with the rollout deployed and Healthy.
func healthyWorld(t *testing.T) *World {
	t.Helper()
	w, err := NewWorld(1, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := w.Decoder.Decode("demo.yaml", []byte(guideRollout))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(docs); err != nil {
		t.Fatal(err)
	}
	ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), func() bool {
		ro, _ := w.UserRollouts.Rollouts("default").Get(context.Background(), "demo", metav1.GetOptions{})
		return ro != nil && ro.Status.Phase == v1alpha1.RolloutPhaseHealthy
	})
	if err != nil || !ok {
		t.Fatalf("not Healthy: %v", err)
	}
	return w
}

func violation(t *testing.T, w *World, check string) {
	t.Helper()
	_, err := w.Kernel.RunUntil(w.Kernel.Now().Add(time.Minute), nil)
	var ie *InvariantError
	if !errors.As(err, &ie) || ie.Check != check {
		t.Fatalf("want a violation of %q, got %v", check, err)
	}
	if ie.Seed != 1 || ie.Event == 0 {
		t.Fatalf("the violation does not say how to replay it: %+v", ie)
	}
}

// Checks that cannot fail are worth nothing: each invariant is shown to catch a broken world.
func TestSurgeInvariantCatchesTooManyPods(t *testing.T) {
	w := healthyWorld(t)
	rss, err := w.UserKube.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(rss.Items) != 1 {
		t.Fatal(err, len(rss.Items))
	}
	rs := rss.Items[0]
	n := int32(9) // 5 replicas + 25% surge allows 7
	rs.Spec.Replicas = &n
	if _, err := w.UserKube.AppsV1().ReplicaSets("default").Update(context.Background(), &rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	violation(t, w, "pods within maxSurge")
}

func TestStatusInvariantCatchesAStepOutOfRange(t *testing.T) {
	w := healthyWorld(t)
	patch := []byte(`{"status":{"currentStepIndex":7}}`)
	if _, err := w.UserRollouts.Rollouts("default").Patch(context.Background(), "demo", types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	violation(t, w, "rollout status is consistent")
}

func TestMinAvailableCheck(t *testing.T) {
	five, four := int32(5), int32(4)
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Replicas: &five, Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}}}}
	rs := func(name string, spec, avail int32) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.ReplicaSetSpec{Replicas: &spec},
			Status: appsv1.ReplicaSetStatus{AvailableReplicas: avail}}
	}
	in := rollout.Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{rs("stable", 5, 5), rs("new", 0, 0)}}
	scale := func(name string, to int32) *rollout.Plan {
		r := rs(name, to, 0)
		return &rollout.Plan{Actions: []rollout.Action{{Kind: rollout.UpdateReplicaSet, ReplicaSet: r}}}
	}
	if err := checkMinAvailable(in, scale("stable", four)); err != nil {
		t.Fatalf("5→4 with maxUnavailable 1 is allowed: %v", err)
	}
	err := checkMinAvailable(in, scale("stable", 3))
	if err == nil || !strings.Contains(err.Error(), "scales down to 3 available pods (had 5, minimum 4)") {
		t.Fatalf("5→3 must be caught: %v", err)
	}
	// A ReplicaSet already scaled below its available pods only counts what it keeps.
	in.ReplicaSets = []*appsv1.ReplicaSet{rs("stable", 4, 5), rs("new", 0, 0)}
	if err := checkMinAvailable(in, scale("stable", 3)); err == nil {
		t.Fatal("4→3 of a ReplicaSet with 5 available pods leaves 3 < 4: must be caught")
	}
}
