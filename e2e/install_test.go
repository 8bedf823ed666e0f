package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestInstallRunsWithLeastPrivilege installs manifests/ as `kubectl apply -k manifests` does
// (its kustomization only lists files and sets the namespace), then runs the controller
// cluster-wide as the ServiceAccount it installs (impersonated, so with exactly the ClusterRole
// and the leader-election Role): a rollout deploys, updates, promotes and restarts without a
// single forbidden call. The fake nodes run the Deployment's two pods too.
func TestInstallRunsWithLeastPrivilege(t *testing.T) {
	in := need(t)
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join("..", "manifests", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("manifests/kustomization.yaml: %v", err)
	}
	if k.Namespace != installNamespace {
		t.Fatalf("manifests/kustomization.yaml installs into %q; the e2e set-up clears %q", k.Namespace, installNamespace)
	}
	for _, r := range k.Resources {
		if err := in.applyFile(ctx, filepath.Join("..", "manifests", r), k.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = in.Kube.CoreV1().Namespaces().Delete(ctx, k.Namespace, metav1.DeleteOptions{}) })
	if err := waitFor(60*time.Second, func() error {
		d, err := in.Kube.AppsV1().Deployments(k.Namespace).Get(ctx, "argo-rollouts", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.ReadyReplicas != 2 {
			return fmt.Errorf("the controller Deployment has %d of 2 pods ready", d.Status.ReadyReplicas)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The Deployment's pods are KWOK's (they run nothing): scale it away so that only the
	// process below holds the lease.
	if _, err := in.Kube.AppsV1().Deployments(k.Namespace).Patch(ctx, "argo-rollouts", "application/merge-patch+json",
		[]byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	ns := in.namespace(t, "e2e-install")
	c := in.startController(t, "--as", "system:serviceaccount:"+k.Namespace+":argo-rollouts")
	in.basicGuide(t, ns)
	in.waitPhase(t, ns, "rollouts-demo", "Healthy", 2*time.Minute)
	for _, args := range [][]string{
		{"set", "image", "rollouts-demo", "rollouts-demo=argoproj/rollouts-demo:yellow"},
		{"promote", "--full", "rollouts-demo"},
	} {
		if out, err := in.plugin(ns, args...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	in.waitPhase(t, ns, "rollouts-demo", "Healthy", 2*time.Minute)
	before, err := in.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// restartAt has a resolution of a second and restarts pods created strictly before it: let
	// the pods of the promotion age past it.
	time.Sleep(1100 * time.Millisecond)
	if out, err := in.plugin(ns, "restart", "rollouts-demo"); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	if err := waitFor(3*time.Minute, func() error {
		ro, err := in.Rollouts.Rollouts(ns).Get(ctx, "rollouts-demo", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ro.Spec.RestartAt == nil || ro.Status.RestartedAt == nil || !ro.Status.RestartedAt.Equal(ro.Spec.RestartAt) {
			return fmt.Errorf("restart not done: spec.restartAt %v, status.restartedAt %v", ro.Spec.RestartAt, ro.Status.RestartedAt)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	in.waitPhase(t, ns, "rollouts-demo", "Healthy", time.Minute)
	after, err := in.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[string(p.UID)] = true
	}
	for _, p := range after.Items {
		if old[string(p.UID)] && p.DeletionTimestamp == nil {
			t.Errorf("pod %s outlived the restart", p.Name)
		}
	}
	if out := c.Output(); strings.Contains(strings.ToLower(out), "forbidden") {
		t.Fatalf("the controller was refused something its ClusterRole should grant:\n%s", grepLines(out, "orbidden"))
	}
}
