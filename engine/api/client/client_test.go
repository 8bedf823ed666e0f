package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func newRollout(name string, lbls map[string]string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: lbls},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: name + ":1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}, {Pause: &v1alpha1.RolloutPause{}}},
			}},
		},
	}
}

func TestFakeClientAgainstObjectTracker(t *testing.T) {
	ctx := context.Background()
	tracker := k8stesting.NewObjectTracker(client.Scheme, client.Codecs.UniversalDecoder())
	fake := &k8stesting.Fake{}
	fake.AddReactor("*", "*", k8stesting.ObjectReaction(tracker))
	rollouts := client.NewFake(fake).Rollouts("ns")

	if _, err := rollouts.Create(ctx, newRollout("demo", map[string]string{"team": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := rollouts.Create(ctx, newRollout("other", nil), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}

	got, err := rollouts.Get(ctx, "demo", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if *got.Spec.Strategy.Canary.Steps[0].SetWeight != 20 || got.Spec.Template.Spec.Containers[0].Image != "demo:1" {
		t.Errorf("get returned %+v", got.Spec)
	}

	all, err := rollouts.List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 2 {
		t.Fatalf("list all: %d items, %v", len(all.Items), err)
	}
	web, err := rollouts.List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"team": "web"}.String()})
	if err != nil || len(web.Items) != 1 || web.Items[0].Name != "demo" {
		t.Fatalf("list by label: %+v, %v", web.Items, err)
	}

	got.Status.Phase = v1alpha1.RolloutPhasePaused
	got.Status.ObservedGeneration = "1"
	got.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	if _, err := rollouts.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status: %v", err)
	}

	patched, err := rollouts.Patch(ctx, "demo", types.MergePatchType,
		[]byte(`{"status":{"pauseConditions":null,"currentStepIndex":2,"HPAReplicas":3}}`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patch status: %v", err)
	}
	if patched.Status.Phase != v1alpha1.RolloutPhasePaused || len(patched.Status.PauseConditions) != 0 ||
		patched.Status.CurrentStepIndex == nil || *patched.Status.CurrentStepIndex != 2 || patched.Status.HPAReplicas != 3 {
		t.Errorf("patched status = %+v", patched.Status)
	}
	if stored, _ := rollouts.Get(ctx, "demo", metav1.GetOptions{}); stored.Status.ObservedGeneration != "1" || *stored.Status.CurrentStepIndex != 2 {
		t.Errorf("stored status = %+v", stored.Status)
	}

	if err := rollouts.Delete(ctx, "other", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := rollouts.Get(ctx, "other", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v", err)
	}

	// The Fake recorded what was asked, with the Rollout resource and subresources.
	var statusWrites int
	for _, a := range fake.Actions() {
		if a.GetResource() != v1alpha1.RolloutGVR || a.GetNamespace() != "ns" {
			t.Errorf("action %s on %v in %q", a.GetVerb(), a.GetResource(), a.GetNamespace())
		}
		if a.GetSubresource() == "status" && (a.GetVerb() == "update" || a.GetVerb() == "patch") {
			statusWrites++
		}
	}
	if statusWrites != 2 {
		t.Errorf("status writes recorded = %d, want 2", statusWrites)
	}
}

const rolloutJSON = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Rollout",
  "metadata": {"name": "x", "namespace": "ns", "resourceVersion": "42"},
  "spec": {
    "replicas": 4,
    "selector": {"matchLabels": {"app": "x"}},
    "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x:2"}]}},
    "strategy": {"canary": {"canaryService": "x-canary", "stableService": "x-stable",
      "trafficRouting": {"istio": {"virtualService": {"name": "x-vsvc", "routes": ["primary"]}}},
      "steps": [{"setWeight": 10}, {"pause": {"duration": "1h"}}]}}
  },
  "status": {"HPAReplicas": 4, "observedGeneration": "3", "currentStepIndex": 1, "phase": "Paused",
    "canary": {"stablePingPong": "ping", "weights": {"canary": {"weight": 10}, "stable": {"weight": 90}}}, "blueGreen": {}}
}`

func TestNewForConfigTalksToTheRolloutEndpoint(t *testing.T) {
	type request struct{ method, path, contentType, body string }
	var seen []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(body)})
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/x",
			r.Method == http.MethodPatch && r.URL.Path == "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/x/status":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, rolloutJSON)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cfg := &rest.Config{Host: srv.URL}
	c, err := client.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIPath != "" || cfg.GroupVersion != nil {
		t.Error("NewForConfig modified the caller's config")
	}

	ro, err := c.Rollouts("ns").Get(context.Background(), "x", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if ro.Name != "x" || ro.ResourceVersion != "42" || *ro.Spec.Replicas != 4 {
		t.Errorf("metadata/spec decoded wrong: %+v", ro.ObjectMeta)
	}
	canary := ro.Spec.Strategy.Canary
	if canary.TrafficRouting.Istio.VirtualService.Name != "x-vsvc" || canary.Steps[1].Pause.DurationSeconds() != 3600 {
		t.Errorf("canary decoded wrong: %+v", canary)
	}
	if ro.Status.HPAReplicas != 4 || ro.Status.ObservedGeneration != "3" || *ro.Status.CurrentStepIndex != 1 ||
		ro.Status.Canary.StablePingPong != v1alpha1.PPPing || ro.Status.Canary.Weights.Stable.Weight != 90 {
		t.Errorf("status decoded wrong: %+v", ro.Status)
	}

	if _, err := c.Rollouts("ns").Patch(context.Background(), "x", types.MergePatchType,
		[]byte(`{"status":{"abort":true}}`), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("patch: %v", err)
	}
	last := seen[len(seen)-1]
	if last.contentType != string(types.MergePatchType) || last.body != `{"status":{"abort":true}}` {
		t.Errorf("patch sent %+v", last)
	}

	_, err = c.Rollouts("ns").Get(context.Background(), "missing", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("missing rollout: %v", err)
	}
}
