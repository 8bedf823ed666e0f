package main

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// blueGreen is a blue-green rollout waiting for promotion, in namespace ns.
func blueGreen(name, ns string) fixtures.State {
	ro := fixtures.Rollout(fixtures.Blue, time.Hour)
	ro.Name, ro.Namespace, ro.UID = name, ns, "uid-"+ro.UID
	ro.Spec.Replicas = ptr.To[int32](3)
	ro.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: name + "-active", PreviewService: name + "-preview"}}
	ro.Status = v1alpha1.RolloutStatus{
		ObservedGeneration: "1", Phase: v1alpha1.RolloutPhasePaused, Message: string(v1alpha1.PauseReasonBlueGreenPause),
		PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause}},
		Replicas:        6, UpdatedReplicas: 3, ReadyReplicas: 6, AvailableReplicas: 6,
	}
	return fixtures.State{Rollout: ro}
}

func TestListRollouts(t *testing.T) {
	other := fixtures.Healthy()
	other.Rollout.Namespace, other.Rollout.Name = "team-a", "checkout"
	e := newEnv(t, fixtures.PausedCanary(), blueGreen("bluegreen-demo", fixtures.Namespace), fixtures.State{Rollout: other.Rollout})

	r := e.run("list", "rollouts")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	golden(t, "list-rollouts.txt", r.stdout)

	r = e.run("list", "ro", "--all-namespaces", "--timestamps")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	golden(t, "list-rollouts-all-namespaces.txt", r.stdout)

	r = e.run("list", "rollouts", "--name", "bluegreen-demo")
	if r.code != 0 || strings.Contains(r.stdout, fixtures.Name) || !strings.Contains(r.stdout, "bluegreen-demo  BlueGreen  Paused") {
		t.Errorf("--name: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	r = e.run("list", "rollouts", "-n", "empty")
	if r.code != 0 || r.stdout != "" || r.stderr != "No resources found.\n" {
		t.Errorf("empty namespace: %+v", r)
	}
}

// --watch prints a line for each rollout whose row changes.
func TestListRolloutsWatch(t *testing.T) {
	e := newEnv(t, fixtures.PausedCanary())
	bg := e.start("list", "rollouts", "--watch")
	e.waitForWatches(false)
	if r := e.run("promote", fixtures.Name); r.code != 0 {
		t.Fatalf("promote: %+v", r)
	}
	ro := e.rollout(fixtures.Name)
	ro.Status.ControllerPause, ro.Status.CurrentStepIndex = false, ptr.To[int32](2)
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	if _, err := e.rollouts.Rollouts(fixtures.Namespace).UpdateStatus(context.Background(), ro, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the step 2 line", func() bool { return strings.Contains(bg.out.String(), " 2/8 ") })
	r := bg.stop()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "list-rollouts-watch.txt", r.stdout)
}
