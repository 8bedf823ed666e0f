package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/e2e/cluster"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/scenarios"
)

// startController runs the controller binary with the given flags until the test ends.
func (in *installation) startController(t *testing.T, args ...string) *cluster.Controller {
	t.Helper()
	c, err := cluster.StartController(filepath.Join(in.bin, "rollouts-controller"), in.Kubeconfig, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			t.Logf("controller (pid %d) output:\n%s", c.Pid(), c.Output())
		}
	})
	return c
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// plugin runs `kubectl argo rollouts ARGS` against the cluster.
func (in *installation) plugin(ns string, args ...string) (string, error) {
	full := append([]string{"--kubeconfig", in.Kubeconfig, "-n", ns}, args...)
	out, err := exec.Command(filepath.Join(in.bin, "kubectl-argo-rollouts"), full...).CombinedOutput()
	return string(out), err
}

// namespace creates a namespace for one test, deleted when it ends.
func (in *installation) namespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{e2eLabel: "e2e"}}}
	if _, err := in.Kube.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
	return name
}

func (in *installation) basicGuide(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	for _, f := range []string{"manifests/basic/rollout.yaml", "manifests/basic/service.yaml"} {
		if err := in.applyFS(ctx, scenarios.FS, f, ns); err != nil {
			t.Fatal(err)
		}
	}
}

// phase is the rollout's phase and message as `kubectl argo rollouts status` reads them.
func (in *installation) phase(ns, name string) (string, error) {
	ro, err := in.Rollouts.Rollouts(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	p, msg := rollout.ObservedPhase(ro)
	return strings.TrimSpace(string(p) + " " + msg), nil
}

func (in *installation) waitPhase(t *testing.T, ns, name, want string, within time.Duration) {
	t.Helper()
	if err := waitFor(within, func() error {
		got, err := in.phase(ns, name)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(got, want) {
			return fmt.Errorf("rollout %s/%s is %q, want %s", ns, name, got, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsHealthAndPlugin: the controller's /metrics carries Argo's rollout metrics for a
// rollout it runs, /healthz and /readyz answer, and the plugin's status and get read the
// rollout from the cluster.
func TestMetricsHealthAndPlugin(t *testing.T) {
	in := need(t)
	ns := in.namespace(t, "e2e-metrics")
	c := in.startController(t, "--namespaced", "--namespace", ns)
	in.basicGuide(t, ns)

	out, err := in.plugin(ns, "status", "rollouts-demo", "--timeout", "2m")
	if err != nil {
		t.Fatalf("status --timeout 2m: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Healthy") {
		t.Fatalf("status printed %q, want Healthy", out)
	}
	out, err = in.plugin(ns, "get", "rollout", "rollouts-demo")
	if err != nil {
		t.Fatalf("get rollout: %v\n%s", err, out)
	}
	for _, want := range []string{"Status:", "Healthy", "argoproj/rollouts-demo:blue", "revision:1", "Running"} {
		if !strings.Contains(out, want) {
			t.Errorf("get rollout lacks %q:\n%s", want, out)
		}
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		code, body, err := get(fmt.Sprintf("http://127.0.0.1:%d%s", c.HealthzPort, path))
		if err != nil || code != http.StatusOK {
			t.Errorf("GET %s: %d %q %v", path, code, body, err)
		}
	}
	// Argo's metrics name phases after the Progressing condition: a Healthy rollout is Completed.
	metrics := regexp.MustCompile(`(?m)^rollout_info\{[^}]*name="rollouts-demo"[^}]*phase="Completed"[^}]*\} 1$`)
	var body string
	if err := waitFor(30*time.Second, func() error {
		var code int
		var err error
		code, body, err = get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.MetricsPort))
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET /metrics: %d %v", code, err)
		}
		if !metrics.MatchString(body) {
			return fmt.Errorf("no rollout_info for rollouts-demo in Argo's phase Completed (a Healthy rollout)")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, grepLines(body, "rollout"))
	}
	for _, re := range []string{
		`(?m)^rollout_info_replicas_available\{[^}]*name="rollouts-demo"[^}]*\} 5$`,
		`(?m)^rollout_reconcile_bucket\{[^}]*name="rollouts-demo"`,
		`(?m)^rollout_phase\{[^}]*name="rollouts-demo"[^}]*phase="Completed"[^}]*\} 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics has no line matching %s:\n%s", re, grepLines(body, "rollout"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSecondReplicaTakesTheLease: two replicas run with leader election; the leader is killed
// mid-rollout (SIGKILL, so it never releases its lease), the standby takes the lease once it
// expires and carries the rollout to the end.
func TestSecondReplicaTakesTheLease(t *testing.T) {
	in := need(t)
	ns := in.namespace(t, "e2e-lease")
	ctx := context.Background()
	flags := []string{"--namespaced", "--namespace", ns, "--leader-elect",
		"--leader-election-lease-duration", "6s", "--leader-election-renew-deadline", "4s", "--leader-election-retry-period", "1s"}
	first := in.startController(t, flags...)
	holder := func() string {
		l, err := in.Kube.CoordinationV1().Leases(ns).Get(ctx, "argo-rollouts-controller-lock", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	if err := waitFor(30*time.Second, func() error {
		if holder() == "" {
			return fmt.Errorf("no one holds the lease argo-rollouts-controller-lock in %s", ns)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	leader := holder()
	in.startController(t, flags...) // the standby

	in.basicGuide(t, ns)
	in.waitPhase(t, ns, "rollouts-demo", "Healthy", 2*time.Minute)
	if out, err := in.plugin(ns, "set", "image", "rollouts-demo", "rollouts-demo=argoproj/rollouts-demo:yellow"); err != nil {
		t.Fatalf("set image: %v\n%s", err, out)
	}
	in.waitPhase(t, ns, "rollouts-demo", "Paused", 2*time.Minute)

	first.Kill()
	killed := time.Now()
	if out, err := in.plugin(ns, "promote", "rollouts-demo"); err != nil {
		t.Fatalf("promote: %v\n%s", err, out)
	}
	in.waitPhase(t, ns, "rollouts-demo", "Healthy", 3*time.Minute)
	if h := holder(); h == leader || h == "" {
		t.Fatalf("the lease is held by %q after the leader %q was killed", h, leader)
	}
	t.Logf("the standby took over and finished the rollout %s after the leader was killed", time.Since(killed).Round(100*time.Millisecond))
	ro, err := in.Rollouts.Rollouts(ns).Get(ctx, "rollouts-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Status.CurrentStepIndex == nil || *ro.Status.CurrentStepIndex != 8 {
		t.Fatalf("step index %v after the promotion, want 8", ro.Status.CurrentStepIndex)
	}
}
