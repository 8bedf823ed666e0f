package fakeaws

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// TestNetwork checks what the load balancer reaches at a pod IP: a running pod whose
// containers are ready (even while a readiness gate keeps it not Ready) answers 200 with its
// image; a pod not running, with containers not ready, or terminating fails health checks and
// answers 502, as does an IP no pod holds.
func TestNetwork(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	store := kube.NewStore(scheme, clocktesting.NewFakePassiveClock(time.Unix(0, 0)))
	pending := pod("pending", "v1", "10.244.0.2")
	pending.Status.Phase = corev1.PodPending
	notReady := pod("not-ready", "v1", "10.244.0.3")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	for _, p := range []*corev1.Pod{pod("gated", "v2", "10.244.0.1", "target-health.elbv2.k8s.aws/x"), pending, notReady, pod("leaving", "v1", "10.244.0.4")} {
		if _, err := store.Create(kube.Pods, ns, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Delete(kube.Pods, ns, "leaving", new(int64(30))); err != nil {
		t.Fatal(err)
	}
	net := podNetwork{store}
	for _, c := range []struct {
		ip      string
		code    int
		version string
		reason  types.TargetHealthReasonEnum
	}{
		{"10.244.0.1", 200, "demo:v2", ""},
		{"10.244.0.2", 502, "", types.TargetHealthReasonEnumFailedHealthChecks},
		{"10.244.0.3", 502, "", types.TargetHealthReasonEnumFailedHealthChecks},
		{"10.244.0.4", 502, "", types.TargetHealthReasonEnumFailedHealthChecks},
		{"10.244.0.5", 502, "", types.TargetHealthReasonEnumTimeout},
	} {
		code, version := net.Serve(c.ip, 8080)
		ok, reason := net.Probe(c.ip, 8080)
		if code != c.code || version != c.version || net.HealthCheck(c.ip, 8080) != (c.code == 200) || ok != (c.code == 200) || reason != c.reason {
			t.Errorf("%s: Serve %d %q, Probe %v %q; want %d %q, %q", c.ip, code, version, ok, reason, c.code, c.version, c.reason)
		}
	}
}
