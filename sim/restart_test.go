package sim

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/scenarios"
)

// rolloutPods are the pods of the rollout's ReplicaSets as stored now, by name.
func rolloutPods(w *World, ro *v1alpha1.Rollout) map[string]*corev1.Pod {
	owned := map[types.UID]bool{}
	for _, rs := range OwnedReplicaSets(w.Cluster.Store, ro) {
		owned[rs.UID] = true
	}
	out := map[string]*corev1.Pod{}
	for _, o := range w.Cluster.Store.PeekList(kube.Pods, ro.Namespace) {
		pod := o.(*corev1.Pod)
		if ref := metav1.GetControllerOf(pod); ref != nil && owned[ref.UID] {
			out[pod.Name] = pod
		}
	}
	return out
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// `kubectl argo rollouts restart` on the getting-started guide's rollout: every one of the five
// pods is replaced, one at a time (never fewer than 4 available), and the rollout ends Healthy
// with the restart recorded.
func TestRestartReplacesEveryPodOneAtATime(t *testing.T) {
	w, err := NewWorld(1, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifests/basic/rollout.yaml", "manifests/basic/service.yaml"} {
		src, err := scenarios.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := w.Decoder.Decode(f, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Apply(docs); err != nil {
			t.Fatal(err)
		}
	}
	get := func() *v1alpha1.Rollout {
		t.Helper()
		ro, err := w.UserRollouts.Rollouts("default").Get(w.Context(), "rollouts-demo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ro
	}
	healthy := func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation)
	}
	if ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(2*time.Minute), func() bool { return healthy(get()) }); !ok || err != nil {
		t.Fatalf("not Healthy after the deploy (%v): %s", err, get().Status.Phase)
	}
	// Let a few seconds pass so that the pods are older than the restart (the API's times are
	// whole seconds), then restart as the plugin does: a merge patch of spec.restartAt.
	if _, err := w.Kernel.RunUntil(w.Kernel.Now().Add(5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	ro := get()
	before := rolloutPods(w, ro)
	if len(before) != 5 {
		t.Fatalf("%d pods before the restart", len(before))
	}
	at := metav1.NewTime(w.Kernel.Now().UTC().Truncate(time.Second))
	patch := fmt.Sprintf(`{"spec":{"restartAt":%q}}`, at.Format(time.RFC3339))
	if _, err := w.UserRollouts.Rollouts("default").Patch(w.Context(), "rollouts-demo", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	minAvailable, sawRestarting := 5, false
	done := func() bool {
		available := 0
		for _, pod := range rolloutPods(w, ro) {
			if pod.DeletionTimestamp == nil && podReady(pod) {
				available++
			}
		}
		minAvailable = min(minAvailable, available)
		cur := get()
		sawRestarting = sawRestarting || cur.Status.Message == "rollout is restarting"
		return healthy(cur) && cur.Status.RestartedAt != nil
	}
	if ok, err := w.Kernel.RunUntil(w.Kernel.Now().Add(5*time.Minute), done); !ok || err != nil {
		t.Fatalf("restart not finished (%v): %s %q", err, get().Status.Phase, get().Status.Message)
	}
	ro = get()
	if !ro.Status.RestartedAt.Equal(ro.Spec.RestartAt) {
		t.Errorf("status.restartedAt %v, spec.restartAt %v", ro.Status.RestartedAt, ro.Spec.RestartAt)
	}
	if !sawRestarting {
		t.Error("the phase never said the rollout was restarting")
	}
	if minAvailable < 4 {
		t.Errorf("only %d pods were available at one point, want at least 4", minAvailable)
	}
	after := rolloutPods(w, ro)
	if len(after) != 5 {
		t.Errorf("%d pods after the restart", len(after))
	}
	for name, pod := range after {
		if _, ok := before[name]; ok {
			t.Errorf("pod %s was not replaced", name)
		}
		if pod.CreationTimestamp.Before(&at) || !podReady(pod) || pod.DeletionTimestamp != nil {
			t.Errorf("pod %s created %v (restart at %v), ready %v, terminating %v", name, pod.CreationTimestamp, at, podReady(pod), pod.DeletionTimestamp != nil)
		}
	}
	if st := ro.Status; st.StableRS != st.CurrentPodHash || len(OwnedReplicaSets(w.Cluster.Store, ro)) != 1 {
		t.Errorf("the restart changed the revisions: stable %s current %s", st.StableRS, st.CurrentPodHash)
	}
	restarted := 0
	for _, e := range w.Recorder.Events {
		if e.Reason == "RolloutRestarted" {
			restarted++
		}
	}
	if restarted != 1 {
		t.Errorf("%d RolloutRestarted events, want 1", restarted)
	}
	took := w.Kernel.Now().Sub(at.Time)
	t.Logf("restart of 5 pods took %s of virtual time", took)
}
