// Command kubectl-argo-rollouts is a kubectl plugin with the verbs, names and flags of Argo
// Rollouts' own: `kubectl argo rollouts get rollout NAME --watch`, `promote`, `abort`, `set image`,
// `undo`, ... It talks to any cluster through the kubeconfig (KUBECONFIG, --kubeconfig, --context,
// -n), and makes the writes of engine/actions, the same code the simulation runs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec, OIDC, ... credentials of kubeconfigs
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, newOptions(os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit status: 0, or 1 after printing the error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, o *options) int {
	cmd := newRootCmd(o)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		if err != errUsage {
			fmt.Fprintln(stderr, "Error:", err)
		}
		return 1
	}
	return 0
}

// newOptions returns the options of a real run: the kubeconfig, the wall clock, the environment.
func newOptions(stdout, stderr io.Writer) *options {
	o := &options{
		out:    stdout,
		errOut: stderr,
		now:    time.Now,
		getenv: os.Getenv,
	}
	o.connect = o.kubeconfigClients
	return o
}
