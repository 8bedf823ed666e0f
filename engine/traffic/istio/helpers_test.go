package istio

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
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// load reads the objects of a (multi-document) YAML file in testdata.
func load(t testing.TB, name string) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		out = append(out, parse(t, doc))
	}
	return out
}

func stripComments(doc string) string {
	var keep []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// parse decodes one YAML object the way the API machinery does (integers become int64).
func parse(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return u
}

func loadOne(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	objs := load(t, name)
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects", name, len(objs))
	}
	return objs[0]
}

// loadSpec reads a Rollout from testdata (partial manifests from the docs are fine) and
// builds its Spec in namespace "default".
func loadSpec(t testing.TB, name string) *Spec {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return specOf(t, string(raw))
}

func specOf(t testing.TB, rolloutYAML string) *Spec {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := yaml.Unmarshal([]byte(rolloutYAML), &ro); err != nil {
		t.Fatal(err)
	}
	if ro.Namespace == "" {
		ro.Namespace = "default"
	}
	s, err := NewSpec(&ro)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// split renders the weights of a VirtualService as "field=canary/stable[+others]" lines.
func split(t testing.TB, vs *unstructured.Unstructured, spec *Spec) string {
	t.Helper()
	ws, err := Weights(vs, spec)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, w := range ws {
		s := fmt.Sprintf("%s=%d/%d", w.Field, w.Canary, w.Stable)
		var others []string
		for k, v := range w.Others {
			others = append(others, fmt.Sprintf("%s:%d", k, v))
		}
		sort.Strings(others)
		if len(others) > 0 {
			s += "+" + strings.Join(others, ",")
		}
		if w.Total() != 100 {
			t.Errorf("%s: weights sum to %d", w.Field, w.Total())
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// leafDiff lists the paths of the JSON leaves that differ between a and b (added, removed or
// changed), for "only these fields changed" checks.
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
	if reflect.DeepEqual(normalize(a), normalize(b)) {
		return nil
	}
	return []string{path}
}

// normalize makes int64 and float64 numbers comparable.
func normalize(v any) any {
	if n, ok := asInt(v); ok {
		return n
	}
	return v
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
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
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

func yamlUnmarshal(doc string, v any) error { return yaml.Unmarshal([]byte(doc), v) }
