package apisix

import (
	"encoding/json"
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

func TestPatch(t *testing.T) {
	spec := specFor(t, loadRollout(t, "guide/rollout.yaml"))
	orig := loadRoute(t, "guide/route.yaml")
	if _, err := SetWeight(orig, spec, 0); err != nil {
		t.Fatal(err)
	}
	// Nothing changed: no patch.
	same := orig.DeepCopy()
	if changed, err := SetWeight(same, spec, 0); changed || err != nil {
		t.Fatalf("%v %v", changed, err)
	}
	if p, err := mergepatch.Objects(orig, same); p != nil || err != nil {
		t.Fatalf("patch %s, %v", p, err)
	}
	// With a resourceVersion the patch carries it as a precondition, and applying it gives the
	// new object.
	orig.SetResourceVersion("12")
	ar := orig.DeepCopy()
	if _, err := SetWeight(ar, spec, 20); err != nil {
		t.Fatal(err)
	}
	p, err := mergepatch.Objects(orig, ar)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	if rv := m["metadata"].(map[string]any)["resourceVersion"]; rv != "12" || len(m) != 2 {
		t.Fatalf("patch %s", p)
	}
	applied, err := mergepatch.Apply(mustJSON(t, orig.Object), p)
	if err != nil {
		t.Fatal(err)
	}
	if string(applied) != string(mustJSON(t, ar.Object)) {
		t.Fatalf("applied %s\nwant    %s", applied, mustJSON(t, ar.Object))
	}
	// The same as engine/mergepatch computes from the JSON.
	plain := orig.DeepCopy()
	plain.SetResourceVersion("")
	ar.SetResourceVersion("")
	p, _ = mergepatch.Objects(plain, ar)
	want, err := mergepatch.Create(mustJSON(t, plain.Object), mustJSON(t, ar.Object))
	if err != nil || string(p) != string(want) {
		t.Fatalf("patch %s\nmergepatch %s (%v)", p, want, err)
	}
}
