package alb

import (
	"encoding/json"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func ingress(backend string, annotations map[string]string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "ing", Namespace: "ns", Annotations: annotations},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/",
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: backend,
					Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}}}}}}}}},
	}
}

// The annotation is written byte for byte as Argo Rollouts writes it (Go field names, canary
// first, stable last), so tools that read Argo's annotations keep working.
func TestForwardActionBytes(t *testing.T) {
	spec := &v1alpha1.ALBTrafficRouting{Ingress: "ing", ServicePort: 80}
	got, err := ForwardAction(spec, "canary-svc", "stable-svc", 5)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":5},{"ServiceName":"stable-svc","ServicePort":"80","Weight":95}]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	spec.StickinessConfig = &v1alpha1.StickinessConfig{Enabled: true, DurationSeconds: 3600}
	got, err = ForwardAction(spec, "canary-svc", "stable-svc", 10, Destination{ServiceName: "exp-svc", Weight: 20})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":10},{"ServiceName":"exp-svc","ServicePort":"80","Weight":20},{"ServiceName":"stable-svc","ServicePort":"80","Weight":70}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":3600}}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A zero weight is written, not omitted.
	got, _ = ForwardAction(&v1alpha1.ALBTrafficRouting{ServicePort: 443}, "c", "s", 0)
	if !strings.Contains(got, `{"ServiceName":"c","ServicePort":"443","Weight":0}`) {
		t.Fatalf("zero weight dropped: %s", got)
	}
	spec.StickinessConfig.DurationSeconds = 604801
	if _, err := ForwardAction(spec, "c", "s", 1); err == nil {
		t.Fatal("a stickiness duration over 7 days was accepted")
	}
}

func TestSetWeightWritesActionAndBookkeeping(t *testing.T) {
	spec := &v1alpha1.ALBTrafficRouting{Ingress: "ing", ServicePort: 80, RootService: "root"}
	ing := ingress("root", map[string]string{"rollouts.argoproj.io/managed-alb-actions": "ro:alb.ingress.kubernetes.io/actions.root"})
	changes, err := SetWeight(ing, "ro", spec, "canary", "stable", 20)
	if err != nil {
		t.Fatal(err)
	}
	if v := changes["alb.ingress.kubernetes.io/actions.root"]; v == nil || !strings.Contains(*v, `"Weight":20`) {
		t.Fatalf("action %v", changes)
	}
	if v := changes[ManagedAnnotations]; v == nil || *v != `{"ro":["alb.ingress.kubernetes.io/actions.root"]}` {
		t.Fatalf("bookkeeping %v", v)
	}
	if v, ok := changes["rollouts.argoproj.io/managed-alb-actions"]; !ok || v != nil {
		t.Fatal("the deprecated bookkeeping annotation is not removed")
	}
	// Applying the changes makes the next call a no-op.
	for k, v := range changes {
		if v == nil {
			delete(ing.Annotations, k)
		} else {
			ing.Annotations[k] = *v
		}
	}
	if again, err := SetWeight(ing, "ro", spec, "canary", "stable", 20); err != nil || len(again) != 0 {
		t.Fatalf("second call changed %v (%v)", again, err)
	}
	// Another rollout sharing the Ingress gets its own entry.
	spec2 := &v1alpha1.ALBTrafficRouting{Ingress: "ing", ServicePort: 80, AnnotationPrefix: "custom.alb"}
	ing.Spec.Rules[0].HTTP.Paths = append(ing.Spec.Rules[0].HTTP.Paths, networkingv1.HTTPIngressPath{Path: "/b",
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "stable2"}}})
	c2, err := SetWeight(ing, "ro2", spec2, "canary2", "stable2", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c2["custom.alb/actions.stable2"] == nil || *c2[ManagedAnnotations] != `{"ro":["alb.ingress.kubernetes.io/actions.root"],"ro2":["custom.alb/actions.stable2"]}` {
		t.Fatalf("second rollout: %v %v", c2, *c2[ManagedAnnotations])
	}
}

func TestSetWeightRefusesAnIngressWithoutTheAction(t *testing.T) {
	_, err := SetWeight(ingress("other", nil), "ro", &v1alpha1.ALBTrafficRouting{Ingress: "ing", ServicePort: 80}, "c", "s", 10)
	if err == nil || err.Error() != "ingress `ing` has no rules using service s backend" {
		t.Fatalf("error %v", err)
	}
	bad := ingress("s", map[string]string{ManagedAnnotations: "{not json"})
	if _, err := SetWeight(bad, "ro", &v1alpha1.ALBTrafficRouting{Ingress: "ing", ServicePort: 80}, "c", "s", 10); err == nil {
		t.Fatal("a corrupt bookkeeping annotation was accepted")
	}
}

func TestReleaseHandsTheActionBack(t *testing.T) {
	action := `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":30},{"ServiceName":"root","ServicePort":"80","Weight":70}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":60}}}`
	ing := ingress("root", map[string]string{
		"alb.ingress.kubernetes.io/actions.root": action,
		ManagedAnnotations:                       `{"gone":["alb.ingress.kubernetes.io/actions.root"],"kept":["alb.ingress.kubernetes.io/actions.x"]}`,
	})
	changes, err := Release(ing, "gone")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"root","ServicePort":"80","Weight":100}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":60}}}`
	if v := changes["alb.ingress.kubernetes.io/actions.root"]; v == nil || *v != want {
		t.Fatalf("released action %v", changes)
	}
	if v := changes[ManagedAnnotations]; v == nil || *v != `{"kept":["alb.ingress.kubernetes.io/actions.x"]}` {
		t.Fatalf("bookkeeping %v", v)
	}
	if c, _ := Release(ing, "never-managed"); c != nil {
		t.Fatalf("released a rollout that managed nothing: %v", c)
	}
	// The last rollout's release removes the bookkeeping annotation altogether.
	single := ingress("root", map[string]string{"alb.ingress.kubernetes.io/actions.root": action, ManagedAnnotations: `{"gone":["alb.ingress.kubernetes.io/actions.root"]}`})
	changes, _ = Release(single, "gone")
	if v, ok := changes[ManagedAnnotations]; !ok || v != nil {
		t.Fatalf("bookkeeping not removed: %v", changes)
	}
}

func TestPatchOfAndClasses(t *testing.T) {
	v := "x"
	var patch map[string]map[string]map[string]any
	if err := json.Unmarshal(PatchOf(map[string]*string{"a": &v, "b": nil}), &patch); err != nil {
		t.Fatal(err)
	}
	if ann := patch["metadata"]["annotations"]; ann["a"] != "x" || ann["b"] != nil {
		t.Fatalf("patch %v", patch)
	}
	if _, ok := patch["metadata"]["annotations"]["b"]; !ok {
		t.Fatal("a removal must be an explicit null")
	}
	alb := ingress("s", map[string]string{ClassAnnotation: "alb"})
	none := ingress("s", nil)
	className := "alb"
	byField := ingress("s", nil)
	byField.Spec.IngressClassName = &className
	for _, c := range []struct {
		classes []string
		ing     *networkingv1.Ingress
		want    bool
	}{
		{[]string{"alb"}, alb, true}, {[]string{"alb"}, byField, true}, {[]string{"alb"}, none, false},
		{[]string{""}, none, true}, {[]string{""}, alb, false}, {[]string{"nginx"}, alb, false},
	} {
		if got := HandlesClass(c.classes, c.ing); got != c.want {
			t.Errorf("HandlesClass(%q, class %q) = %v", c.classes, Class(c.ing), got)
		}
	}
	if got := ResourceID("ns", "ing", "svc", 80); got != "ns/ing-svc:80" {
		t.Errorf("resource id %s", got)
	}
}
