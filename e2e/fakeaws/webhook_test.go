package fakeaws

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
)

// TestWebhook checks the readiness-gate webhook as the API server uses it: registered with a
// CA bundle that verifies its certificate, it gives a pod being created the gate of each
// binding whose Service selects it, fails open while the LBC is down, and is unregistered at
// shutdown.
func TestWebhook(t *testing.T) {
	tgb := &tgbv1.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Name: "tgb-stable", Namespace: ns},
		Spec: tgbv1.TargetGroupBindingSpec{TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tgb-stable/1",
			TargetType: ptr.To(tgbv1.TargetTypeIP), ServiceRef: tgbv1.ServiceReference{Name: "stable", Port: intstr.FromInt32(80)}}}
	e := start(t, service("stable", "v1"), tgb)
	ctx := context.Background()

	cfg, err := e.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, WebhookConfigName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("webhooks: %+v", cfg.Webhooks)
	}
	wh := cfg.Webhooks[0]
	wantRules := []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create},
		Rule: admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}
	if ptr.Deref(wh.ClientConfig.URL, "") != e.ends.Webhook || !reflect.DeepEqual(wh.Rules, wantRules) ||
		ptr.Deref(wh.FailurePolicy, "") != admissionregv1.Ignore || ptr.Deref(wh.SideEffects, "") != admissionregv1.SideEffectClassNone ||
		!reflect.DeepEqual(wh.AdmissionReviewVersions, []string{"v1"}) || ptr.Deref(wh.TimeoutSeconds, 0) != 5 {
		t.Errorf("registered webhook %+v, want URL %s, pods CREATE, Ignore, None, v1, 5 s", wh, e.ends.Webhook)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(wh.ClientConfig.CABundle) {
		t.Fatal("the caBundle holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	// admit sends a pod's creation (without namespace, as the API server does for a
	// generated name) and returns the pod as the webhook's answer makes it.
	admit := func(p *corev1.Pod) *corev1.Pod {
		t.Helper()
		p = p.DeepCopy()
		p.Namespace, p.Name, p.GenerateName = "", "", "demo-"
		raw, _ := json.Marshal(p)
		in, _ := json.Marshal(admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request: &admissionv1.AdmissionRequest{UID: "req-1", Namespace: ns, Operation: admissionv1.Create,
				Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Object: runtime.RawExtension{Raw: raw}},
		})
		resp, err := client.Post(e.ends.Webhook, "application/json", bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		if r := out.Response; r == nil || r.UID != "req-1" || !r.Allowed || out.Kind != "AdmissionReview" {
			t.Fatalf("answer %+v, want the request's UID, allowed", out)
		}
		if out.Response.Patch == nil {
			return p
		}
		if ptr.Deref(out.Response.PatchType, "") != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("patch type %v", out.Response.PatchType)
		}
		patch, err := jsonpatch.DecodePatch(out.Response.Patch)
		if err != nil {
			t.Fatal(err)
		}
		patched, err := patch.Apply(raw)
		if err != nil {
			t.Fatal(err)
		}
		var got corev1.Pod
		if err := json.Unmarshal(patched, &got); err != nil {
			t.Fatal(err)
		}
		return &got
	}
	gates := func(p *corev1.Pod) []corev1.PodReadinessGate { return p.Spec.ReadinessGates }

	want := []corev1.PodReadinessGate{{ConditionType: "target-health.elbv2.k8s.aws/tgb-stable"}}
	if got := gates(admit(pod("x", "v1", ""))); !reflect.DeepEqual(got, want) {
		t.Errorf("gates of a stable pod: %v, want %v", got, want)
	}
	other := pod("x", "v1", "")
	other.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
	if got := gates(admit(other)); !reflect.DeepEqual(got, append(other.Spec.ReadinessGates, want...)) {
		t.Errorf("gates of a stable pod with a gate already: %v, want both", got)
	}
	if got := gates(admit(pod("x", "v2", ""))); len(got) != 0 {
		t.Errorf("gates of a pod no binding's Service selects: %v, want none", got)
	}

	if lbc, err := (Client{URL: e.ends.API}).SetLBCDown(true); err != nil || !lbc.Down {
		t.Fatalf("stopping the LBC: %+v %v", lbc, err)
	}
	if got := gates(admit(pod("x", "v1", ""))); len(got) != 0 {
		t.Errorf("gates while the LBC is down: %v, want none (fail open)", got)
	}

	e.stop()
	_, err = e.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, WebhookConfigName, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("after shutdown the webhook configuration is still there (%v)", err)
	}
}
