package apisix

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// loadRoute reads one ApisixRoute from testdata the way the API machinery decodes it (integers
// become int64).
func loadRoute(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return parseRoute(t, string(raw))
}

func parseRoute(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if u.GetNamespace() == "" {
		u.SetNamespace("default")
	}
	return u
}

// loadRollout reads a Rollout from testdata (namespace "default").
func loadRollout(t testing.TB, name string) *v1alpha1.Rollout {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return rolloutOf(t, string(raw))
}

func rolloutOf(t testing.TB, doc string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := yaml.Unmarshal([]byte(doc), &ro); err != nil {
		t.Fatal(err)
	}
	if ro.Namespace == "" {
		ro.Namespace = "default"
	}
	return &ro
}

func specFor(t testing.TB, ro *v1alpha1.Rollout) *Spec {
	t.Helper()
	s, err := NewSpec(ro)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// split renders the weights of the managed rules as "name=canary/stable[+others]".
func split(t testing.TB, ar *unstructured.Unstructured, spec *Spec) string {
	t.Helper()
	ws, err := Weights(ar, spec)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, w := range ws {
		s := fmt.Sprintf("%s=%d/%d", w.Name, w.Canary, w.Stable)
		var others []string
		for k, v := range w.Others {
			others = append(others, fmt.Sprintf("%s:%d", k, v))
		}
		sort.Strings(others)
		if len(others) > 0 {
			s += "+" + strings.Join(others, ",")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// leafDiff lists the paths of the JSON leaves that differ between a and b.
func leafDiff(path string, a, b any) []string {
	am, aMap := a.(map[string]any)
	bm, bMap := b.(map[string]any)
	if aMap && bMap {
		var out []string
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			out = append(out, leafDiff(path+"."+k, am[k], bm[k])...)
		}
		sort.Strings(out)
		return out
	}
	al, aList := a.([]any)
	bl, bList := b.([]any)
	if aList && bList && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, leafDiff(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i])...)
		}
		return out
	}
	if mergepatch.JSONEqual(a, b) || reflect.DeepEqual(a, b) {
		return nil
	}
	return []string{path}
}

func errContains(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares JSON with testdata/golden/name (go test -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	var pretty any
	if err := json.Unmarshal(got, &pretty); err != nil {
		t.Fatal(err)
	}
	got, _ = json.MarshalIndent(pretty, "", "  ")
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
