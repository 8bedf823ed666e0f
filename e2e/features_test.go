package e2e

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestClusterFeatures runs the godog features tagged @cluster (the basic and ALB guides,
// promote/abort, blue-green, ping-pong, a controller crash) unchanged against the local
// cluster, through the cluster driver: each scenario in its own namespace with its own rollout
// controller process, the user's actions through the kubectl plugin binary.
func TestClusterFeatures(t *testing.T) {
	in := need(t)
	args := []string{"test", "../features/", "-count=1", "-timeout=60m", "-run", "^TestFeatures$"}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(),
		"FEATURES_KUBECONFIG="+in.Kubeconfig,
		"FEATURES_BIN="+in.bin,
		"FEATURES_FAKE_AWS="+in.fakeAWS,
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("the @cluster features took %s on the local cluster", time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		t.Fatalf("the @cluster features failed: %v", err)
	}
}
