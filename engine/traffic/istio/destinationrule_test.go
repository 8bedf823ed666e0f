package istio

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// The feature page's DestinationRule: the subsets get the ReplicaSets' hashes, the rollout's
// name goes on the managed-by annotation, and a second call is a no-op.
func TestSyncDestinationRuleGuide(t *testing.T) {
	spec := loadSpec(t, "guide/subset-rollout.yaml")
	dr := loadOne(t, "guide/subset-destrule.yaml")
	changed, err := SyncDestinationRule(dr, spec, "7bf84f9696", "789746c88d")
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	want := `[{"labels":{"app":"rollout-example","rollouts-pod-template-hash":"7bf84f9696"},"name":"canary"},` +
		`{"labels":{"app":"rollout-example","rollouts-pod-template-hash":"789746c88d"},"name":"stable"}]`
	if got := mustJSON(t, dr.Object["spec"].(map[string]any)["subsets"]); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := dr.GetAnnotations()[v1alpha1.ManagedByRolloutsKey]; got != "rollout-example" {
		t.Fatalf("annotation %q", got)
	}
	if again, err := SyncDestinationRule(dr, spec, "7bf84f9696", "789746c88d"); again || err != nil {
		t.Fatalf("again: %v %v", again, err)
	}
	if DestinationRuleHost(dr) != "rollout-example" {
		t.Fatal(DestinationRuleHost(dr))
	}
}

// Only the hash labels of the canary/stable (and experiment) subsets and the annotation change;
// other subsets, policies and unknown fields stay. An empty hash removes the label; experiment
// subsets are added with their hash.
func TestSyncDestinationRuleOwnsOnlyHashLabels(t *testing.T) {
	spec := loadSpec(t, "guide/subset-rollout.yaml")
	orig := loadOne(t, "rich-destrule.yaml")
	dr := orig.DeepCopy()
	extra := []v1alpha1.WeightDestination{{ServiceName: "exp-b", PodTemplateHash: "bbb"}, {ServiceName: "exp-a", PodTemplateHash: "aaa"}, {ServiceName: "exp-none"}}
	if _, err := SyncDestinationRule(dr, spec, "222", "", extra...); err != nil {
		t.Fatal(err)
	}
	want := []string{
		".metadata.annotations.argo-rollouts.argoproj.io/managed-by-rollouts",
		".spec.subsets",
	}
	if diff := leafDiff("", orig.Object, dr.Object); !reflect.DeepEqual(diff, want) {
		t.Fatalf("changed %v, want %v", diff, want)
	}
	subsets := dr.Object["spec"].(map[string]any)["subsets"].([]any)
	if diff := leafDiff("", orig.Object["spec"].(map[string]any)["subsets"], subsets[:3]); !reflect.DeepEqual(diff, []string{
		"[0].labels.rollouts-pod-template-hash", "[2].labels",
	}) {
		t.Fatalf("changed subsets fields %v", diff)
	}
	if got := mustJSON(t, subsets[3:]); got != `[{"labels":{"rollouts-pod-template-hash":"aaa"},"name":"exp-a"},{"labels":{"rollouts-pod-template-hash":"bbb"},"name":"exp-b"}]` {
		t.Fatal(got)
	}
	if got := mustJSON(t, subsets[0]); got != `{"labels":{"app":"rollout-example"},"name":"stable","trafficPolicy":{"loadBalancer":{"simple":"ROUND_ROBIN"}}}` {
		t.Fatal(got)
	}
	p, err := mergepatch.Objects(orig, dr)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "destrule-sync.json", p)

	// Released when no rollout references it: hash labels and annotation go, the rest stays.
	if !ReleaseDestinationRule(dr) {
		t.Fatal("nothing released")
	}
	if got := dr.GetAnnotations(); len(got) != 1 || got["team"] != "payments" {
		t.Fatalf("annotations %v", got)
	}
	if got := mustJSON(t, dr.Object["spec"].(map[string]any)["subsets"].([]any)[2]); got != `{"labels":{},"name":"canary"}` {
		t.Fatal(got)
	}
	if ReleaseDestinationRule(dr) {
		t.Fatal("released twice")
	}
}

func TestSyncDestinationRuleErrors(t *testing.T) {
	spec := loadSpec(t, "guide/subset-rollout.yaml")
	for name, c := range map[string]struct {
		spec *Spec
		doc  string
		err  []string
	}{
		"canary subset missing": {spec, `{metadata: {name: rollout-destrule}, spec: {subsets: [{name: stable}]}}`,
			[]string{"DestinationRule default/rollout-destrule", "spec.subsets", "subset 'canary' not found"}},
		"no subsets": {spec, `{metadata: {name: rollout-destrule}, spec: {host: x}}`,
			[]string{"spec.subsets", "subset 'canary' not found"}},
		"labels not a map": {spec, `{metadata: {name: rollout-destrule}, spec: {subsets: [{name: stable, labels: [a]}, {name: canary}]}}`,
			[]string{"spec.subsets[0].labels", "not an object"}},
		"another DestinationRule": {spec, `{metadata: {name: other}, spec: {subsets: []}}`,
			[]string{"DestinationRule default/other", "uses DestinationRule rollout-destrule"}},
		"host-level rollout": {loadSpec(t, "guide/host-rollout.yaml"), `{metadata: {name: rollout-destrule}, spec: {}}`,
			[]string{"does not use a DestinationRule"}},
	} {
		dr := parse(t, "{apiVersion: networking.istio.io/v1, kind: DestinationRule, "+c.doc[1:])
		before := mustJSON(t, dr.Object)
		_, err := SyncDestinationRule(dr, c.spec, "c", "s")
		errContains(t, err, c.err...)
		var e *Error
		if !errors.As(err, &e) || e.Kind != "DestinationRule" {
			t.Errorf("%s: %v is not a DestinationRule error", name, err)
		}
		if mustJSON(t, dr.Object) != before {
			t.Errorf("%s: a failed sync changed the DestinationRule", name)
		}
	}
}
