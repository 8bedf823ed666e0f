package apisix

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// The APISIX page: the route has no weights; after the update, `kubectl describe apisixroute`
// shows the stable backend at 80 and the canary at 20, in the order the user wrote them.
func TestGuideWeights(t *testing.T) {
	spec := specFor(t, loadRollout(t, "guide/rollout.yaml"))
	route := loadRoute(t, "guide/route.yaml")
	if spec.Rules[0] != "rollouts-apisix" || spec.Route != "rollouts-apisix-route" {
		t.Fatalf("spec %+v", spec)
	}
	// Unset weights are APISIX's default: an even split until the rollout writes them.
	if got := split(t, route, spec); got != "rollouts-apisix=100/100" {
		t.Fatalf("unweighted route reads %s", got)
	}
	if ok, err := InEffect(route, spec, 0); ok || err != nil {
		t.Fatalf("an unweighted route is not in effect for 0: %v %v", ok, err)
	}
	for _, w := range []int32{0, 20, 40, 60, 80, 100, 0} {
		changed, err := SetWeight(route, spec, w)
		if err != nil || !changed {
			t.Fatalf("SetWeight(%d): changed %v, %v", w, changed, err)
		}
		if got, want := split(t, route, spec), "rollouts-apisix="+itoa(w)+"/"+itoa(100-w); got != want {
			t.Fatalf("after SetWeight(%d): %s, want %s", w, got, want)
		}
		if ok, err := InEffect(route, spec, w); !ok || err != nil {
			t.Fatalf("InEffect(%d) after setting it: %v %v", w, ok, err)
		}
		if changed, err := SetWeight(route, spec, w); changed || err != nil {
			t.Fatalf("SetWeight(%d) again changed %v, %v", w, changed, err)
		}
	}
	if _, err := SetWeight(route, spec, 20); err != nil {
		t.Fatal(err)
	}
	backends := route.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["backends"].([]any)
	want := []string{"rollout-apisix-canary-stable:80", "rollout-apisix-canary-canary:20"}
	var got []string
	for _, b := range backends {
		m := b.(map[string]any)
		got = append(got, m["serviceName"].(string)+":"+itoa(int32(m["weight"].(int64))))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("backends %v, want %v (the page's describe output)", got, want)
	}
}

// Only the weights of the canary and stable backends of the managed rules change: the user's own
// rule, the third backend, plugins, exprs, stream routes and metadata stay byte for byte.
func TestOnlyOwnedFieldsChange(t *testing.T) {
	spec := specFor(t, loadRollout(t, "rich-rollout.yaml"))
	orig := loadRoute(t, "rich-route.yaml")
	ar := orig.DeepCopy()
	changed, err := SetWeight(ar, spec, 30)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	diff := leafDiff("", orig.Object, ar.Object)
	want := []string{
		".spec.http[1].backends[0].weight", // web: stable 100 → 70
		".spec.http[1].backends[1].weight", // web: canary 0 → 30
		".spec.http[2].backends[0].weight", // api: canary (unset) → 30
		".spec.http[2].backends[1].weight", // api: stable (unset) → 70
	}
	if !slices.Equal(diff, want) {
		t.Fatalf("changed %v, want %v", diff, want)
	}
	if got := split(t, ar, spec); got != "web=30/70+shop-legacy:5 api=30/70" {
		t.Fatal(got)
	}
	p, err := mergepatch.Objects(orig, ar)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rich-setweight-30.json", p)
}

func TestWeightErrorsNameRouteAndField(t *testing.T) {
	spec := specFor(t, loadRollout(t, "guide/rollout.yaml"))
	route := func(body string) *unstructured.Unstructured {
		return parseRoute(t, "apiVersion: apisix.apache.org/v2\nkind: ApisixRoute\nmetadata: {name: rollouts-apisix-route}\n"+body)
	}
	const stable, canary = "{serviceName: rollout-apisix-canary-stable, servicePort: 80}", "{serviceName: rollout-apisix-canary-canary, servicePort: 80}"
	for _, c := range []struct {
		name, body string
		want       []string
	}{
		{"no http", "spec: {}", []string{"ApisixRoute default/rollouts-apisix-route", "spec.http", "spec.http was not found in Apisix Route manifest"}},
		{"rule missing", "spec: {http: [{name: other, backends: [" + stable + "]}]}", []string{"spec.http:", "Apisix http route rule rollouts-apisix not found"}},
		{"no backends", "spec: {http: [{name: other}, {name: rollouts-apisix}]}", []string{"spec.http[1].backends", "Apisix http route backends not found"}},
		{"no canary", "spec: {http: [{name: rollouts-apisix, backends: [" + stable + "]}]}", []string{"spec.http[0].backends", "apisix route rollout-apisix-canary-canary backend was not found"}},
		{"no stable", "spec: {http: [{name: rollouts-apisix, backends: [" + canary + "]}]}", []string{"spec.http[0].backends", "apisix route rollout-apisix-canary-stable backend was not found"}},
		{"two canaries", "spec: {http: [{name: rollouts-apisix, backends: [" + canary + ", " + stable + ", " + canary + "]}]}", []string{"spec.http[0].backends", "2 backends route to Service 'rollout-apisix-canary-canary' (backends[0] and backends[2])"}},
		{"no serviceName", "spec: {http: [{name: rollouts-apisix, backends: [{servicePort: 80}]}]}", []string{"spec.http[0].backends[0].serviceName", "serviceName field was not found in backend"}},
		{"bad weight", "spec: {http: [{name: rollouts-apisix, backends: [" + stable + ", {serviceName: rollout-apisix-canary-canary, weight: 2.5}]}]}", []string{"spec.http[0].backends[1].weight", "is not an integer: 2.5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ar := route(c.body)
			before := string(mustJSON(t, ar.Object))
			_, err := SetWeight(ar, spec, 20)
			errContains(t, err, c.want...)
			if string(mustJSON(t, ar.Object)) != before {
				t.Fatal("a failed SetWeight changed the route")
			}
			_, err = Weights(ar, spec)
			errContains(t, err, c.want...)
		})
	}
	ar := loadRoute(t, "guide/route.yaml")
	_, err := SetWeight(ar, spec, 101)
	errContains(t, err, "canary weight 101 is not a percentage")
}

// An edit by hand of a weight the rollout owns is seen by the read-back; one of a weight it does
// not own is not.
func TestReadBackDetectsOutOfBandEdit(t *testing.T) {
	spec := specFor(t, loadRollout(t, "rich-rollout.yaml"))
	ar := loadRoute(t, "rich-route.yaml")
	if _, err := SetWeight(ar, spec, 30); err != nil {
		t.Fatal(err)
	}
	web := ar.Object["spec"].(map[string]any)["http"].([]any)[1].(map[string]any)
	web["backends"].([]any)[2].(map[string]any)["weight"] = int64(50) // the legacy backend: not the rollout's
	if ok, err := InEffect(ar, spec, 30); !ok || err != nil {
		t.Fatalf("an edit of a backend the rollout does not own: in effect %v, %v", ok, err)
	}
	web["backends"].([]any)[1].(map[string]any)["weight"] = float64(50) // the canary, as JSON would decode it
	if ok, err := InEffect(ar, spec, 30); ok || err != nil {
		t.Fatalf("an edit of the canary weight: in effect %v, %v", ok, err)
	}
}

func TestManagedRouteWeights(t *testing.T) {
	ro := loadRollout(t, "guide/rollout.yaml")
	spec := specFor(t, ro)
	main := loadRoute(t, "guide/route.yaml")
	hr, err := HeaderRoute(main, nil, spec, ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ManagedRouteWeights(hr, spec)
	if err != nil || len(ws) != 1 || ws[0].Canary != 100 || ws[0].HasStable || ws[0].CanaryPercent() != 100 {
		t.Fatalf("%+v %v", ws, err)
	}
	if _, err := Weights(hr, spec); err == nil || !strings.Contains(err.Error(), "rollout-apisix-canary-stable backend was not found") {
		t.Fatalf("Weights of a header route: %v", err)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
