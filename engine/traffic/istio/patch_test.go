package istio

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

func TestPatch(t *testing.T) {
	spec := loadSpec(t, "guide/host-rollout.yaml")
	orig := loadOne(t, "guide/host-vsvc.yaml")

	// Nothing changed: no patch.
	same := orig.DeepCopy()
	if changed, err := SetWeight(same, spec, 0); changed || err != nil {
		t.Fatalf("%v %v", changed, err)
	}
	if p, err := mergepatch.Objects(orig, same); p != nil || err != nil {
		t.Fatalf("patch %s, %v", p, err)
	}

	// Without a resourceVersion (an object not read from a server) the patch is the plain diff.
	vs := orig.DeepCopy()
	if _, err := SetWeight(vs, spec, 5); err != nil {
		t.Fatal(err)
	}
	p, err := mergepatch.Objects(orig, vs)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"http":[{"name":"primary","route":[{"destination":{"host":"stable-svc"},"weight":95},{"destination":{"host":"canary-svc"},"weight":5}]}]}}`
	if string(p) != want {
		t.Fatalf("got  %s\nwant %s", p, want)
	}

	// With one, the patch carries it as a precondition, and applying it gives the new object.
	orig.SetResourceVersion("12")
	vs.SetResourceVersion("12")
	if p, err = mergepatch.Objects(orig, vs); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	if rv := m["metadata"].(map[string]any)["resourceVersion"]; rv != "12" {
		t.Fatalf("resourceVersion %v in %s", rv, p)
	}
	applied, err := mergepatch.Apply(mustBytes(t, orig), p)
	if err != nil {
		t.Fatal(err)
	}
	if string(applied) != string(mustBytes(t, vs)) {
		t.Fatalf("applied %s\nwant    %s", applied, mustBytes(t, vs))
	}
}

// Patch computes on the decoded maps what engine/mergepatch computes from JSON: the same patch
// for every pair of objects the router produces, and for removed keys, type changes and equal
// numbers decoded differently (int64 vs float64).
func TestPatchAgreesWithMergepatch(t *testing.T) {
	richSpec := loadSpec(t, "rich-rollout.yaml")
	subsetSpec := loadSpec(t, "guide/subset-rollout.yaml")
	type pair struct{ name, old, new string }
	var pairs []pair
	add := func(name string, old any, edit func(u map[string]any)) {
		o := parse(t, mustJSON(t, old))
		o.SetResourceVersion("")
		n := o.DeepCopy()
		edit(n.Object)
		pairs = append(pairs, pair{name, mustJSON(t, o.Object), mustJSON(t, n.Object)})
	}
	rich := loadOne(t, "rich-vsvc.yaml").Object
	add("equal", rich, func(map[string]any) {})
	add("set weight", rich, func(u map[string]any) {
		if _, err := SetWeight(&unstructured.Unstructured{Object: u}, richSpec, 40); err != nil {
			t.Fatal(err)
		}
	})
	add("header route", rich, func(u map[string]any) {
		hr := header("qa", v1alpha1.HeaderRoutingMatch{HeaderName: "x", HeaderValue: &v1alpha1.StringMatch{Prefix: "p"}})
		if _, err := SetHeaderRoute(&unstructured.Unstructured{Object: u}, richSpec, hr); err != nil {
			t.Fatal(err)
		}
	})
	add("destination rule", loadOne(t, "rich-destrule.yaml").Object, func(u map[string]any) {
		if _, err := SyncDestinationRule(&unstructured.Unstructured{Object: u}, subsetSpec, "c", ""); err != nil {
			t.Fatal(err)
		}
	})
	add("removed, added, retyped", rich, func(u map[string]any) {
		delete(u, "status")
		s := u["spec"].(map[string]any)
		s["hosts"] = "one"
		s["exportTo"] = nil
		s["new"] = map[string]any{"a": int64(1)}
		delete(s["x-future-field"].(map[string]any), "level")
		s["x-future-field"].(map[string]any)["enabled"] = false
	})
	add("int64 vs float64", rich, func(u map[string]any) {
		u["metadata"].(map[string]any)["generation"] = float64(7)
	})
	for _, p := range pairs {
		var old, new unstructured.Unstructured
		if err := old.UnmarshalJSON([]byte(p.old)); err != nil {
			t.Fatal(err)
		}
		if err := new.UnmarshalJSON([]byte(p.new)); err != nil {
			t.Fatal(err)
		}
		ours, err := mergepatch.Objects(&old, &new)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := mergepatch.Create([]byte(p.old), []byte(p.new))
		if err != nil {
			t.Fatal(err)
		}
		if ours == nil {
			ours = []byte("{}")
		}
		var a, b any
		if err := json.Unmarshal(ours, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(theirs, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: ours %s\nmergepatch %s", p.name, ours, theirs)
		}
	}
}
