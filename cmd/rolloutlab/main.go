// Command rolloutlab runs rollouts in the deterministic simulation: `rolloutlab sim run` plays a
// scenario (by default the Argo Rollouts getting-started guide) and prints the rollout's story;
// `rolloutlab sim replay` re-runs a recorded trace and checks it is reproduced byte for byte;
// `rolloutlab sim serve` runs a simulated cluster in real time and serves its Kubernetes API, so
// that kubectl argo rollouts works against it through a kubeconfig.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is the build's version, recorded in traces.
var version = "0.1.0-dev"

// exitError carries a process exit code (1: expectations failed, 2: could not run).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rolloutlab:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(2)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "rolloutlab",
		Short:         "Progressive delivery for Kubernetes, with a deterministic simulation of the cluster and the cloud",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newSimCmd(), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
	})
	return root
}
