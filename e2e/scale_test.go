package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// TestControllerMemoryAtScale measures the controller's memory with many rollouts on KWOK
// (ROLLOUTLAB_E2E_ROLLOUTS=1000; skipped when unset): N one-pod canary rollouts, all Healthy,
// then the resident set size of the controller that runs them. It reports; it asserts only that
// every rollout became Healthy.
func TestControllerMemoryAtScale(t *testing.T) {
	in := need(t)
	n, _ := strconv.Atoi(os.Getenv("ROLLOUTLAB_E2E_ROLLOUTS"))
	if n <= 0 {
		t.Skip("set ROLLOUTLAB_E2E_ROLLOUTS=1000 to measure the controller's memory with that many rollouts")
	}
	ctx := context.Background()
	ns := in.namespace(t, "e2e-scale")
	c := in.startController(t, "--namespaced", "--namespace", ns, "--rollout-threads", "10")
	time.Sleep(3 * time.Second)
	idle, err := c.RSSMiB()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		doc := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: scale-%d}
spec:
  replicas: 1
  selector: {matchLabels: {app: scale-%d}}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
  template:
    metadata: {labels: {app: scale-%d}}
    spec:
      containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
`, i, i, i)
		if err := in.ApplyManifest(ctx, "scale", []byte(doc), ns, "e2e"); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Since(start)
	var healthy int
	if err := waitFor(15*time.Minute, func() error {
		list, err := in.Rollouts.Rollouts(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		healthy = 0
		for i := range list.Items {
			if p, _ := rollout.ObservedPhase(&list.Items[i]); p == "Healthy" {
				healthy++
			}
		}
		if healthy < n {
			return fmt.Errorf("%d of %d rollouts Healthy", healthy, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	all := time.Since(start)
	time.Sleep(10 * time.Second) // a resync's worth of settling
	rss, err := c.RSSMiB()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rollouts: created in %s, all Healthy after %s; controller RSS %.0f MiB (%.0f MiB before any rollout)",
		n, created.Round(time.Second), all.Round(time.Second), rss, idle)
}
