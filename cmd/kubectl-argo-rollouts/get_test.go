package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func TestGetRolloutGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		state  fixtures.State
	}{
		{"get-rollout-healthy.txt", fixtures.Healthy()},
		{"get-rollout-paused-canary.txt", fixtures.PausedCanary()},
		{"get-rollout-aborted.txt", fixtures.Aborted()},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			e := newEnv(t, tc.state)
			r := e.run("get", "rollout", fixtures.Name, "--no-color")
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			golden(t, tc.golden, r.stdout)
		})
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// Colours change no alignment: without the escape codes the output is the --no-color one.
func TestGetRolloutColors(t *testing.T) {
	e := newEnv(t, fixtures.PausedCanary())
	colored := e.run("get", "ro", fixtures.Name) // Argo's alias
	plain := e.run("get", "rollout", fixtures.Name, "--no-color")
	if colored.code != 0 || plain.code != 0 {
		t.Fatalf("exit %d / %d: %s %s", colored.code, plain.code, colored.stderr, plain.stderr)
	}
	mustContain(t, "coloured output", colored.stdout,
		"\x1b[32m✔\x1b[0m Healthy", "(\x1b[33mcanary\x1b[0m)", "(\x1b[32mstable\x1b[0m)", "\x1b[0m॥\x1b[0m Paused")
	if got := ansi.ReplaceAllString(colored.stdout, ""); got != plain.stdout {
		t.Errorf("coloured output, uncoloured:\n%s\nwant:\n%s", got, plain.stdout)
	}
}

func TestGetRolloutErrors(t *testing.T) {
	e := newEnv(t, fixtures.PausedCanary())
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"get", "rollout", "nope"}, "Error: rollout \"nope\" not found in namespace \"default\"\n"},
		{[]string{"get", "rollout", fixtures.Name, "-n", "team-a"}, "Error: rollout \"rollouts-demo\" not found in namespace \"team-a\"\n"},
		{[]string{"get", "rollout", "nope", "--watch"}, "Error: rollout \"nope\" not found in namespace \"default\"\n"},
		{[]string{"get", "nope"}, "Error: unknown command \"nope\" for \"kubectl-argo-rollouts get\"\n"},
	} {
		r := e.run(tc.args...)
		if r.code != 1 || r.stdout != "" || r.stderr != tc.stderr {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, r.code, r.stdout, r.stderr, tc.stderr)
		}
	}
	// Without a name: the usage, on stderr.
	r := e.run("get", "rollout")
	if r.code != 1 || !strings.Contains(r.stderr, "Usage:\n  kubectl-argo-rollouts get rollout ROLLOUT_NAME") || strings.Contains(r.stderr, "Error:") {
		t.Errorf("get rollout without a name: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --watch redraws when the rollout or its ReplicaSets and pods change: here the user promotes and
// the controller moves on to step 2/8, scaling the canary to 2 pods.
func TestGetRolloutWatch(t *testing.T) {
	e := newEnv(t, fixtures.PausedCanary())
	bg := e.start("get", "rollout", fixtures.Name, "--watch", "--no-color")
	out := &bg.out
	eventually(t, "the first draw", func() bool { return strings.Contains(out.String(), "revision:1") })
	e.waitForWatches(true)

	if r := e.run("promote", fixtures.Name); r.code != 0 {
		t.Fatalf("promote: %+v", r)
	}
	eventually(t, "the promotion to show", func() bool {
		return strings.Contains(out.String(), "Message:         waiting for rollout to unpause")
	})

	// The controller: step 2 (setWeight 40), a second yellow pod on its way.
	ctx := context.Background()
	ro := e.rollout(fixtures.Name)
	ro.Status.ControllerPause = false
	ro.Status.CurrentStepIndex = ptr.To[int32](2)
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	ro.Status.Replicas, ro.Status.UpdatedReplicas = 6, 2
	if _, err := e.rollouts.Rollouts(fixtures.Namespace).UpdateStatus(ctx, ro, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	yellow, err := e.kube.AppsV1().ReplicaSets(fixtures.Namespace).Get(ctx, fixtures.Name+"-"+fixtures.YellowHash, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yellow.Spec.Replicas = ptr.To[int32](2)
	yellow.Status.Replicas = 2
	if _, err := e.kube.AppsV1().ReplicaSets(fixtures.Namespace).Update(ctx, yellow, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: yellow.Name + "-zz9kq", Namespace: fixtures.Namespace, UID: types.UID("uid-pod-new"),
			CreationTimestamp: metav1.NewTime(fixtures.Now.Add(-2 * time.Second)),
			Labels:            yellow.Spec.Template.Labels,
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: yellow.Name, UID: yellow.UID, Controller: ptr.To(true)}},
		},
		Spec: yellow.Spec.Template.Spec,
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: fixtures.Name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		}}},
	}
	if _, err := e.kube.CoreV1().Pods(fixtures.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "step 2 and the new pod to show", func() bool {
		s := out.String()
		return strings.Contains(s, "Step:          2/8") && strings.Contains(s, "◌ ContainerCreating")
	})

	r := bg.stop()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	frames := strings.Split(r.stdout, clearScreen)
	if frames[0] != "" || len(frames) < 3 {
		t.Fatalf("want each draw after a clear-screen, got %d frames:\n%s", len(frames), r.stdout)
	}
	golden(t, "get-rollout-paused-canary.txt", frames[1])
	golden(t, "get-rollout-watch-step2.txt", frames[len(frames)-1])
	for i := 2; i < len(frames); i++ {
		if frames[i] == frames[i-1] {
			t.Errorf("frame %d repeats the previous one", i)
		}
	}
}

// A deleted rollout ends the watch with an error; --timeout-seconds ends it without one.
func TestGetRolloutWatchEnds(t *testing.T) {
	e := newEnv(t, fixtures.Healthy())
	bg := e.start("get", "rollout", fixtures.Name, "-w", "--no-color")
	eventually(t, "the first draw", func() bool { return strings.Contains(bg.out.String(), "revision:1") })
	e.waitForWatches(true)
	if err := e.rollouts.Rollouts(fixtures.Namespace).Delete(context.Background(), fixtures.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r := bg.wait()
	if r.code != 1 || r.stderr != "Error: rollout \"rollouts-demo\" not found in namespace \"default\"\n" {
		t.Errorf("after delete: exit %d, stderr %q", r.code, r.stderr)
	}

	e = newEnv(t, fixtures.Healthy())
	start := time.Now()
	r = e.run("get", "rollout", fixtures.Name, "-w", "--timeout-seconds", "1", "--no-color")
	if r.code != 0 || !strings.Contains(r.stdout, "✔ Healthy") || time.Since(start) > 5*time.Second {
		t.Errorf("--timeout-seconds 1: exit %d after %v, stdout %q, stderr %q", r.code, time.Since(start), r.stdout, r.stderr)
	}
}

// A list the user may not make fails at once, naming the rollout and namespace, instead of an
// informer retrying forever.
func TestGetRolloutForbidden(t *testing.T) {
	e := newEnv(t, fixtures.PausedCanary())
	e.kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC says no"))
	})
	for _, args := range [][]string{{"get", "rollout", fixtures.Name}, {"get", "rollout", fixtures.Name, "-w"}} {
		r := e.run(args...)
		want := "Error: listing the pods of rollout \"rollouts-demo\" in namespace \"default\": pods is forbidden: RBAC says no\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, r.code, r.stderr, want)
		}
	}
}
