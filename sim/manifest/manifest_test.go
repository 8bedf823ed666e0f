package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// newTestDecoder has the kinds of sim.NewScheme (which imports this package).
func newTestDecoder(t testing.TB) *Decoder {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return NewDecoder(s)
}

const multi = `# leading comment

---
# about the service
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
---
---

apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs
  namespace: team
--- # the rollout
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  replicas: 5
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
--- {apiVersion: v1, kind: Pod, metadata: {name: inline}}
---
# only a comment
---
`

func TestDecodeMultiDocument(t *testing.T) {
	d := newTestDecoder(t)
	docs, err := d.Decode("app.yaml", []byte(multi))
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		GVK   schema.GroupVersionKind
		Line  int
		Where string
	}
	var got []view
	for _, doc := range docs {
		if doc.File != "app.yaml" {
			t.Errorf("file %q", doc.File)
		}
		got = append(got, view{doc.Object.GetObjectKind().GroupVersionKind(), doc.Line, doc.Where()})
	}
	want := []view{
		{corev1.SchemeGroupVersion.WithKind("Service"), 5, "app.yaml:5 (Service web)"},
		{appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), 13, "app.yaml:13 (ReplicaSet rs)"},
		{v1alpha1.SchemeGroupVersion.WithKind("Rollout"), 19, "app.yaml:19 (Rollout demo)"},
		{corev1.SchemeGroupVersion.WithKind("Pod"), 30, "app.yaml:30 (Pod inline)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("documents:\n%v\nwant\n%v", got, want)
	}
	svc := docs[0].Object.(*corev1.Service)
	if svc.Spec.Selector["app"] != "web" {
		t.Errorf("service selector %v", svc.Spec.Selector)
	}
	if rs := docs[1].Object.(*appsv1.ReplicaSet); rs.Namespace != "team" {
		t.Errorf("replicaset namespace %q", rs.Namespace)
	}
	ro := docs[2].Object.(*v1alpha1.Rollout)
	if *ro.Spec.Replicas != 5 || len(ro.Spec.Strategy.Canary.Steps) != 2 || *ro.Spec.Strategy.Canary.Steps[0].SetWeight != 20 {
		t.Errorf("rollout spec %+v", ro.Spec)
	}
}

func TestDecodeLines(t *testing.T) {
	d := newTestDecoder(t)
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
	tests := []struct {
		name  string
		in    string
		lines []int
	}{
		{"single", svc, []int{1}},
		{"no trailing newline", strings.TrimSuffix(svc, "\n"), []int{1}},
		{"leading separator", "---\n" + svc, []int{2}},
		{"leading blank documents", "---\n\n---\n# x\n---\n" + svc, []int{6}},
		{"comments and blanks before the content", "\n  \n# a\n  # b\n" + svc, []int{5}},
		{"trailing separator", svc + "---\n", []int{1}},
		{"two", svc + "---\n" + svc, []int{1, 5}},
		{"CRLF", strings.ReplaceAll(svc+"---\n"+svc, "\n", "\r\n"), []int{1, 5}},
		{"separator with trailing spaces", svc + "---   \n" + svc, []int{1, 5}},
		{"separator with a comment", svc + "--- # next\n" + svc, []int{1, 5}},
		{"indented --- is not a separator", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: |\n    ---\n    y\n", []int{1}},
		{"empty", "", nil},
		{"only comments", "# nothing\n\n# here\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := d.Decode("f.yaml", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, doc := range docs {
				lines = append(lines, doc.Line)
			}
			if !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("documents start on lines %v, want %v", lines, tt.lines)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	d := newTestDecoder(t)
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n---\n"
	tests := []struct {
		name string
		in   string
		want []string // substrings of the message
	}{
		{"unknown field", svc + "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: demo}\nspec:\n  strategy:\n    canary:\n      stepz: []\n",
			[]string{"f.yaml:5:", "Rollout", `"spec.strategy.canary.stepz"`}},
		{"unknown fields in a list", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  selectr: {a: b}\n  ports: [{port: 80, nme: x}]\n",
			[]string{"f.yaml:1:", `"spec.selectr"`, `"spec.ports[0].nme"`}},
		{"missing apiVersion", svc + "\n# c\nkind: Service\nmetadata: {name: a}\n", []string{"f.yaml:7:", "apiVersion and kind are required"}},
		{"missing kind", "apiVersion: v1\nmetadata: {name: a}\n", []string{"f.yaml:1:", "apiVersion and kind are required"}},
		{"unknown kind", svc + "apiVersion: v1\nkind: Widget\nmetadata: {name: a}\n", []string{"f.yaml:5:", "kind Widget in v1 is not known"}},
		{"unknown group", "apiVersion: example.com/v1\nkind: Widget\n", []string{"f.yaml:1:", "kind Widget in example.com/v1 is not known"}},
		{"unknown version", "apiVersion: apps/v9\nkind: ReplicaSet\n", []string{"f.yaml:1:", "kind ReplicaSet in apps/v9 is not known"}},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: x}]\n", []string{"f.yaml:1:", "port"}},
		// YAML errors name the line in the file, not in the document.
		{"invalid YAML", svc + "# c\n\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n   bad: x\n", []string{"f.yaml:7:", "not valid YAML", "line 11"}},
		{"unclosed flow", svc + "apiVersion: v1\nkind: Service\nmetadata: {name: [\n", []string{"f.yaml:5:", "not valid YAML", "line 7"}},
		{"tab indentation", svc + "apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n", []string{"f.yaml:5:", "not valid YAML", "line 8"}},
		{"duplicate key", svc + "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nkind: Pod\n", []string{"f.yaml:5:", "line 8", `"kind" already set`}},
		{"not a mapping", svc + "- a\n- b\n", []string{"f.yaml:5:", "apiVersion and kind"}},
		{"a scalar", "hello\n", []string{"f.yaml:1:", "apiVersion and kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := d.Decode("f.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error; documents %v", docs)
			}
			if docs != nil {
				t.Errorf("documents returned with an error: %v", docs)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "strict decoding error") {
				t.Errorf("error %q keeps the serializer's prefix", err)
			}
		})
	}
	// A valid mapping is not called invalid YAML.
	_, err := d.Decode("f.yaml", []byte("- a\n"))
	if err != nil && strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("a YAML list is called invalid YAML: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		multi,
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
		"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n  strategy:\n    canary:\n      stepz: []\n",
		"---\n---\n",
		"--- {apiVersion: v1, kind: Pod}\n",
		"a: &a [*a]\n",
		"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod}]\n",
		"- a\n",
		"\xff\xfe",
		"apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n",
	} {
		f.Add([]byte(s))
	}
	d := newTestDecoder(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := d.Decode("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, doc := range docs {
			if doc.Object == nil || doc.Line < 1 || doc.Line > lines {
				t.Errorf("document %+v (input has %d lines)", doc, lines)
			}
			_ = doc.Where()
		}
	})
}

// The ALB guide's Ingress is networking.k8s.io/v1beta1 (serviceName/servicePort); it loads as v1.
func TestV1beta1IngressIsConverted(t *testing.T) {
	for _, apiVersion := range []string{"networking.k8s.io/v1beta1", "extensions/v1beta1"} {
		src := "apiVersion: " + apiVersion + `
kind: Ingress
metadata:
  name: ingress
  annotations:
    kubernetes.io/ingress.class: alb
spec:
  rules:
  - http:
      paths:
      - path: /*
        backend:
          serviceName: root-service
          servicePort: use-annotation
      - path: /api
        backend:
          serviceName: api
          servicePort: 8080
`
		docs, err := newTestDecoder(t).Decode("ingress.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", apiVersion, err)
		}
		ing, ok := docs[0].Object.(*networkingv1.Ingress)
		if !ok {
			t.Fatalf("%s decoded as %T, want a networking/v1 Ingress", apiVersion, docs[0].Object)
		}
		paths := ing.Spec.Rules[0].HTTP.Paths
		if ing.Name != "ingress" || ing.Annotations["kubernetes.io/ingress.class"] != "alb" ||
			paths[0].Backend.Service.Name != "root-service" || paths[0].Backend.Service.Port.Name != "use-annotation" ||
			paths[1].Backend.Service.Port.Number != 8080 || *paths[0].PathType != networkingv1.PathTypeImplementationSpecific ||
			ing.GroupVersionKind().Version != "v1" {
			t.Fatalf("%s converted wrongly: %+v", apiVersion, ing)
		}
	}
}
