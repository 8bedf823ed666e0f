// Command rollouts-controller is the rolloutlab rollout engine as a Kubernetes controller, a
// drop-in replacement for Argo Rollouts' controller: the same flags, the same CRDs and objects,
// the same status, conditions, events and metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Build information; a release sets it with -ldflags "-X main.version=v1.2.3".
var version = "v0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := newCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "rollouts-controller",
		Short: "rollouts-controller is a controller to operate on rollout CRD",
		Long: `rollouts-controller reconciles Argo Rollouts objects (argoproj.io/v1alpha1 Rollouts and
AnalysisRuns) with the rolloutlab engine. It reads the same flags, CRDs and objects as Argo's
controller and writes the same status fields, conditions, pause reasons, events and metrics.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.printVersion {
				fmt.Fprintln(cmd.OutOrStdout(), version)
				return nil
			}
			err := run(cmd.Context(), f)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f.register(cmd)
	return cmd
}
