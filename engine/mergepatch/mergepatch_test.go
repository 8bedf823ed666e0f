package mergepatch

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

var docs = []string{
	`{}`,
	`{"a":1}`,
	`{"a":2,"b":{"c":[1,2],"d":"x"}}`,
	`{"b":{"c":[1,2,3]},"e":"f"}`,
	`{"status":{"pauseConditions":[{"reason":"CanaryPauseStep","startTime":"2026-01-01T00:00:08Z"}],"controllerPause":true,"currentStepIndex":1}}`,
	`{"status":{"currentStepIndex":2,"conditions":[{"type":"Paused","status":"False"}]}}`,
	`{"status":{}}`,
}

func same(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
}

// Every pair of documents: our patch equals the library's, applying it (with our Apply and the
// library's) turns the first document into the second.
func TestAgreesWithJSONPatchLibrary(t *testing.T) {
	for _, from := range docs {
		for _, to := range docs {
			ours, err := Create([]byte(from), []byte(to))
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := jsonpatch.CreateMergePatch([]byte(from), []byte(to))
			if err != nil {
				t.Fatal(err)
			}
			same(t, "patch "+from+" → "+to, ours, theirs)
			applied, err := Apply([]byte(from), ours)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "apply "+from+" + patch", applied, []byte(to))
			lib, err := jsonpatch.MergePatch([]byte(from), ours)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "library apply", applied, lib)
		}
	}
}

func TestEqualDocumentsGiveAnEmptyPatch(t *testing.T) {
	p, err := Create([]byte(docs[2]), []byte(docs[2]))
	if err != nil || string(p) != "{}" {
		t.Fatalf("got %s, %v", p, err)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Create([]byte(`{`), []byte(`{}`)); err == nil {
		t.Fatal("a broken document was accepted")
	}
	if _, err := Apply([]byte(`{}`), []byte(`[`)); err == nil {
		t.Fatal("a broken patch was accepted")
	}
}

func FuzzApplyMatchesLibrary(f *testing.F) {
	for _, d := range docs {
		f.Add(d, `{"a":null,"b":{"c":7}}`)
	}
	f.Fuzz(func(t *testing.T, doc, patch string) {
		var d map[string]any
		var p map[string]any
		if json.Unmarshal([]byte(doc), &d) != nil || json.Unmarshal([]byte(patch), &p) != nil {
			return
		}
		ours, err := Apply([]byte(doc), []byte(patch))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := jsonpatch.MergePatch([]byte(doc), []byte(patch))
		if err != nil {
			return
		}
		same(t, "apply", ours, theirs)
	})
}
