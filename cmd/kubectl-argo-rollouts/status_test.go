package main

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

const abortedMessage = "RolloutAborted: Rollout aborted update to revision 3"

// status exits 0 when the rollout is Healthy, 1 when it is Degraded (aborted, invalid, past its
// progress deadline) or, watching, when the timeout runs out first. --watch=false reports the
// phase as it is: only Degraded fails.
func TestStatusExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name           string
		state          func() fixtures.State
		args           []string
		code           int
		stdout, stderr string
	}{
		{"healthy", fixtures.Healthy, []string{"status", fixtures.Name}, 0, "Healthy\n", ""},
		{"degraded", fixtures.Aborted, []string{"status", fixtures.Name}, 1,
			"Degraded - " + abortedMessage + "\n", "Error: The rollout is in a degraded state with message: " + abortedMessage + "\n"},
		{"paused, timeout", fixtures.PausedCanary, []string{"status", fixtures.Name, "--timeout", "200ms"}, 1,
			"Paused - CanaryPauseStep\n", "Error: Rollout status watch exceeded timeout\n"},
		{"paused, -t", fixtures.PausedCanary, []string{"status", "-t", "50ms", fixtures.Name}, 1,
			"Paused - CanaryPauseStep\n", "Error: Rollout status watch exceeded timeout\n"},
		{"no watch, healthy", fixtures.Healthy, []string{"status", fixtures.Name, "--watch=false"}, 0, "Healthy\n", ""},
		{"no watch, paused", fixtures.PausedCanary, []string{"status", fixtures.Name, "-w=false"}, 0, "Paused - CanaryPauseStep\n", ""},
		{"no watch, degraded", fixtures.Aborted, []string{"status", fixtures.Name, "--watch=false"}, 1,
			"Degraded\n", "Error: The rollout is in a degraded state with message: " + abortedMessage + "\n"},
		{"missing", fixtures.Healthy, []string{"status", "nope"}, 1, "", "Error: rollout \"nope\" not found in namespace \"default\"\n"},
		{"missing, no watch", fixtures.Healthy, []string{"status", "nope", "--watch=false"}, 1, "", "Error: rollout \"nope\" not found in namespace \"default\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newEnv(t, tc.state()).run(tc.args...)
			if r.code != tc.code || r.stdout != tc.stdout || r.stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

// Watching, status prints each new phase/message and exits as soon as the rollout is Healthy.
func TestStatusWatchUntilHealthy(t *testing.T) {
	e := newEnv(t, fixtures.PausedCanary())
	bg := e.start("status", fixtures.Name)
	e.waitForWatches(false)
	eventually(t, "the first line", func() bool { return bg.out.String() != "" })

	ctx := context.Background()
	ros := e.rollouts.Rollouts(fixtures.Namespace)
	if _, err := ros.Patch(ctx, fixtures.Name, "application/merge-patch+json",
		[]byte(`{"status":{"pauseConditions":null,"controllerPause":false,"phase":"Progressing","message":"more replicas need to be updated"}}`),
		metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Progressing line", func() bool { return strings.Contains(bg.out.String(), "Progressing - ") })
	ro := e.rollout(fixtures.Name)
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseHealthy, ""
	ro.Status.CurrentStepIndex = ptr.To[int32](8)
	ro.Status.StableRS = fixtures.YellowHash
	ro.Status.UpdatedReplicas = 5
	if _, err := ros.UpdateStatus(ctx, ro, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := bg.wait()
	want := "Paused - CanaryPauseStep\nProgressing - more replicas need to be updated\nHealthy\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0, stdout %q", r.code, r.stdout, r.stderr, want)
	}
}
