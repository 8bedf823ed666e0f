package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Each command leaves the rollout exactly as the engine/actions function it wraps does, run on
// an identical cluster; and the change is the one the command is for.
func TestCommandsWriteWhatEngineActionsWrite(t *testing.T) {
	ctx := context.Background()
	name := fixtures.Name
	for _, tc := range []struct {
		name   string
		state  func() fixtures.State
		args   []string
		stdout string
		direct func(e *env) error
		check  func(ro *v1alpha1.Rollout) bool
	}{
		{
			"promote", fixtures.PausedCanary, []string{"promote", name}, "rollout 'rollouts-demo' promoted\n",
			func(e *env) error { _, err := actions.Promote(ctx, e.rollouts, fixtures.Namespace, name); return err },
			func(ro *v1alpha1.Rollout) bool { return len(ro.Status.PauseConditions) == 0 },
		},
		{
			"promote --full", fixtures.PausedCanary, []string{"promote", name, "--full"}, "rollout 'rollouts-demo' fully promoted\n",
			func(e *env) error {
				_, err := actions.PromoteFull(ctx, e.rollouts, fixtures.Namespace, name)
				return err
			},
			func(ro *v1alpha1.Rollout) bool { return ro.Status.PromoteFull },
		},
		{
			"abort", fixtures.PausedCanary, []string{"abort", name}, "rollout 'rollouts-demo' aborted\n",
			func(e *env) error { _, err := actions.Abort(ctx, e.rollouts, fixtures.Namespace, name); return err },
			func(ro *v1alpha1.Rollout) bool { return ro.Status.Abort },
		},
		{
			"retry rollout", fixtures.Aborted, []string{"retry", "rollout", name}, "rollout 'rollouts-demo' retried\n",
			func(e *env) error { _, err := actions.Retry(ctx, e.rollouts, fixtures.Namespace, name); return err },
			func(ro *v1alpha1.Rollout) bool { return !ro.Status.Abort },
		},
		{
			"pause", fixtures.Healthy, []string{"pause", name}, "rollout 'rollouts-demo' paused\n",
			func(e *env) error { _, err := actions.Pause(ctx, e.rollouts, fixtures.Namespace, name); return err },
			func(ro *v1alpha1.Rollout) bool { return ro.Spec.Paused },
		},
		{
			"set image", fixtures.Healthy, []string{"set", "image", name, "rollouts-demo=" + fixtures.Yellow}, "rollout \"rollouts-demo\" image updated\n",
			func(e *env) error {
				_, err := actions.SetImage(ctx, e.rollouts, fixtures.Namespace, name, "rollouts-demo", fixtures.Yellow)
				return err
			},
			func(ro *v1alpha1.Rollout) bool { return ro.Spec.Template.Spec.Containers[0].Image == fixtures.Yellow },
		},
		{
			"set image *", fixtures.Healthy, []string{"set", "image", name, "*=" + fixtures.Red}, "rollout \"rollouts-demo\" image updated\n",
			func(e *env) error {
				_, err := actions.SetImage(ctx, e.rollouts, fixtures.Namespace, name, "*", fixtures.Red)
				return err
			},
			func(ro *v1alpha1.Rollout) bool { return ro.Spec.Template.Spec.Containers[0].Image == fixtures.Red },
		},
		{
			"undo", fixtures.PausedCanary, []string{"undo", name}, "rollout 'rollouts-demo' undo\n",
			func(e *env) error {
				_, err := actions.Undo(ctx, e.rollouts, e.kube, fixtures.Namespace, name, 0)
				return err
			},
			func(ro *v1alpha1.Rollout) bool { return ro.Spec.Template.Spec.Containers[0].Image == fixtures.Blue },
		},
		{
			"undo --to-revision", fixtures.Aborted, []string{"undo", name, "--to-revision=1"}, "rollout 'rollouts-demo' undo\n",
			func(e *env) error {
				_, err := actions.Undo(ctx, e.rollouts, e.kube, fixtures.Namespace, name, 1)
				return err
			},
			func(ro *v1alpha1.Rollout) bool { return ro.Spec.Template.Spec.Containers[0].Image == fixtures.Blue },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			viaCommand, direct := newEnv(t, tc.state()), newEnv(t, tc.state())
			r := viaCommand.run(tc.args...)
			if r.code != 0 || r.stdout != tc.stdout || r.stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want stdout %q", r.code, r.stdout, r.stderr, tc.stdout)
			}
			if err := tc.direct(direct); err != nil {
				t.Fatal(err)
			}
			got, want := viaCommand.rollout(name), direct.rollout(name)
			if !tc.check(got) {
				t.Errorf("the command did not make its change: %+v", got)
			}
			got.ResourceVersion, want.ResourceVersion = "", ""
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("the command wrote\n%+v\nengine/actions wrote\n%+v", got, want)
			}
		})
	}
}

func TestActionOutcomes(t *testing.T) {
	for _, tc := range []struct {
		state          func() fixtures.State
		args           []string
		code           int
		stdout, stderr string
	}{
		{fixtures.PausedCanary, []string{"undo", fixtures.Name, "--to-revision", "2"}, 0,
			"skipped rollback (current template already matches revision 2)\n", ""},
		{fixtures.Healthy, []string{"undo", fixtures.Name}, 1,
			"", "Error: rollout \"rollouts-demo\" in namespace \"default\": no rollout history found\n"},
		{fixtures.Healthy, []string{"undo", fixtures.Name, "--to-revision", "7"}, 1,
			"", "Error: rollout \"rollouts-demo\" in namespace \"default\": unable to find specified revision 7 in history\n"},
		{fixtures.Healthy, []string{"promote", "nope"}, 1, "", "Error: rollout \"nope\" not found in namespace \"default\"\n"},
		{fixtures.Healthy, []string{"-n", "team-a", "abort", fixtures.Name}, 1, "", "Error: rollout \"rollouts-demo\" not found in namespace \"team-a\"\n"},
		{fixtures.Healthy, []string{"pause", fixtures.Name, "nope"}, 1,
			"rollout 'rollouts-demo' paused\n", "Error: rollout \"nope\" not found in namespace \"default\"\n"},
		{fixtures.Healthy, []string{"set", "image", fixtures.Name, "web=nginx"}, 1,
			"", "Error: rollout \"rollouts-demo\" in namespace \"default\": unable to find container named \"web\" in rollout rollouts-demo\n"},
		{fixtures.Healthy, []string{"set", "image", fixtures.Name, "nginx"}, 1,
			"", "Error: invalid argument \"nginx\": want CONTAINER=IMAGE\n"},
		{fixtures.Healthy, []string{"restart", fixtures.Name, "--in", "soon"}, 1,
			"", "Error: invalid --in \"soon\": time: invalid duration \"soon\"\n"},
		{fixtures.Healthy, []string{"resume", fixtures.Name}, 1,
			"", "Error: unknown command \"resume\" for \"kubectl-argo-rollouts\"\n"},
		{fixtures.Healthy, []string{"promote", fixtures.Name, "--bogus"}, 1, "", "Error: unknown flag: --bogus\n"},
	} {
		e := newEnv(t, tc.state())
		r := e.run(tc.args...)
		if r.code != tc.code || r.stdout != tc.stdout || r.stderr != tc.stderr {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
				tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
}

// Missing arguments print the usage on stderr and exit 1, as Argo's plugin does.
func TestUsage(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{}, {"promote"}, {"abort"}, {"retry"}, {"retry", "rollout"}, {"set"}, {"set", "image", "x"},
		{"undo"}, {"status"}, {"get"}, {"list"}, {"restart"},
	} {
		r := e.run(args...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "Usage:") || strings.Contains(r.stderr, "Error:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	r := e.run("--help")
	mustContain(t, "--help", r.stdout, "Available Commands:", "promote", "abort", "retry", "set", "undo", "restart",
		"status", "list", "get", "version", "--kubeconfig", "--context", "-n, --namespace")
}

func TestRestart(t *testing.T) {
	e := newEnv(t, fixtures.Healthy())
	if r := e.run("restart", fixtures.Name); r.code != 0 || r.stdout != "rollout 'rollouts-demo' restarts in 0s\n" {
		t.Fatalf("%+v", r)
	}
	if at := e.rollout(fixtures.Name).Spec.RestartAt; at == nil || !at.Time.Equal(fixtures.Now) {
		t.Errorf("spec.restartAt = %v, want %v", at, fixtures.Now)
	}
	if r := e.run("restart", fixtures.Name, "-i", "90s"); r.code != 0 || r.stdout != "rollout 'rollouts-demo' restarts in 90s\n" {
		t.Fatalf("%+v", r)
	}
	if at := e.rollout(fixtures.Name).Spec.RestartAt; at == nil || !at.Time.Equal(fixtures.Now.Add(90*time.Second)) {
		t.Errorf("spec.restartAt = %v, want now+90s", at)
	}
}

func TestVersion(t *testing.T) {
	e := newEnv(t)
	r := e.run("version", "--short")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "kubectl-argo-rollouts: v") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("version --short: %+v", r)
	}
	r = e.run("version")
	mustContain(t, "version", r.stdout, "  BuildDate: ", "  GitCommit: ", "  GoVersion: go", "  Platform: ")
}
