package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/scenarios"
)

// controller is one rollout-controller process.
type controller struct {
	cmd         *exec.Cmd
	done        chan struct{}
	metricsPort int
	healthzPort int
	out         *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startController runs the controller binary with the given flags (plus --kubeconfig and free
// metrics/healthz ports) until the test ends.
func (in *installation) startController(t *testing.T, args ...string) *controller {
	t.Helper()
	c := &controller{done: make(chan struct{}), out: &syncBuffer{}}
	for _, p := range []*int{&c.metricsPort, &c.healthzPort} {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := strings.Cut(addr, ":")
		*p, _ = strconv.Atoi(port)
	}
	args = append([]string{"--kubeconfig", in.kubeconfig,
		"--metricsPort", strconv.Itoa(c.metricsPort), "--healthzPort", strconv.Itoa(c.healthzPort)}, args...)
	c.cmd = exec.Command(filepath.Join(in.bin, "rollouts-controller"), args...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			t.Logf("controller (pid %d) output:\n%s", c.cmd.Process.Pid, c.out.String())
		}
	})
	return c
}

func (c *controller) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// rssMiB is the process's resident memory.
func (c *controller) rssMiB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no VmRSS in /proc/%d/status", c.cmd.Process.Pid)
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024, nil
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
	full := append([]string{"--kubeconfig", in.kubeconfig, "-n", ns}, args...)
	out, err := exec.Command(filepath.Join(in.bin, "kubectl-argo-rollouts"), full...).CombinedOutput()
	return string(out), err
}

// namespace creates a namespace for one test, deleted when it ends.
func (in *installation) namespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := in.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
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
	ro, err := in.rollouts.Rollouts(ns).Get(context.Background(), name, metav1.GetOptions{})
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
		code, body, err := get(fmt.Sprintf("http://127.0.0.1:%d%s", c.healthzPort, path))
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
		code, body, err = get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.metricsPort))
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
		l, err := in.kube.CoordinationV1().Leases(ns).Get(ctx, "argo-rollouts-controller-lock", metav1.GetOptions{})
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

	first.kill()
	killed := time.Now()
	if out, err := in.plugin(ns, "promote", "rollouts-demo"); err != nil {
		t.Fatalf("promote: %v\n%s", err, out)
	}
	in.waitPhase(t, ns, "rollouts-demo", "Healthy", 3*time.Minute)
	if h := holder(); h == leader || h == "" {
		t.Fatalf("the lease is held by %q after the leader %q was killed", h, leader)
	}
	t.Logf("the standby took over and finished the rollout %s after the leader was killed", time.Since(killed).Round(100*time.Millisecond))
	ro, err := in.rollouts.Rollouts(ns).Get(ctx, "rollouts-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Status.CurrentStepIndex == nil || *ro.Status.CurrentStepIndex != 8 {
		t.Fatalf("step index %v after the promotion, want 8", ro.Status.CurrentStepIndex)
	}
}
