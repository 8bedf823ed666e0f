package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// errTimeout and degradedError are status' failures; both exit 1.
var errTimeout = errors.New("Rollout status watch exceeded timeout") //nolint:staticcheck // Argo's exact message

func degradedError(message string) error {
	return fmt.Errorf("The rollout is in a degraded state with message: %s", message) //nolint:staticcheck // Argo's exact message
}

func newStatusCmd(o *options) *cobra.Command {
	var (
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status ROLLOUT_NAME",
		Short: "Show the status of a rollout",
		Long: `Watch rollout until it finishes or the timeout is exceeded. Returns success if
the rollout is healthy upon completion and an error otherwise.`,
		Example: `
  # Watch the rollout until it succeeds
  kubectl argo rollouts status guestbook

  # Show the rollout status
  kubectl argo rollouts status guestbook --watch=false

  # Watch the rollout until it succeeds, fail if it takes more than 60 seconds
  kubectl argo rollouts status --timeout 60s guestbook`,
		RunE: exactArgs(1, func(c *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			name := args[0]
			out := c.OutOrStdout()
			if !watch {
				s, err := getSnapshot(c.Context(), cl, name, false)
				if err != nil {
					return err
				}
				phase, msg := rollout.ObservedPhase(s.rollout)
				if phase == v1alpha1.RolloutPhaseHealthy || phase == v1alpha1.RolloutPhaseDegraded {
					fmt.Fprintln(out, phase)
				} else {
					fmt.Fprintf(out, "%s - %s\n", phase, msg)
				}
				if phase == v1alpha1.RolloutPhaseDegraded {
					return degradedError(msg)
				}
				return nil
			}

			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			v, err := startView(ctx, cl, name, false)
			if err != nil {
				if ctx.Err() != nil {
					return errTimeout // interrupted
				}
				return err
			}
			// The timeout runs from the first report of the status.
			if timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			var (
				printed    string
				final      v1alpha1.RolloutPhase
				finalMsg   string
				terminated bool
			)
			err = v.run(ctx, func(s *snapshot) bool {
				phase, msg := rollout.ObservedPhase(s.rollout)
				line := string(phase)
				if msg != "" {
					line += " - " + msg
				}
				if line != printed {
					fmt.Fprintln(out, line)
					printed = line
				}
				final, finalMsg = phase, msg
				terminated = phase == v1alpha1.RolloutPhaseHealthy || phase == v1alpha1.RolloutPhaseDegraded
				return terminated
			})
			switch {
			case err != nil:
				return err
			case final == v1alpha1.RolloutPhaseDegraded:
				return degradedError(finalMsg)
			case !terminated:
				return errTimeout
			}
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "Watch the status of the rollout until it's done")
	cmd.Flags().DurationVarP(&timeout, "timeout", "t", 0, "The length of time to watch before giving up. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). Zero means wait forever")
	return cmd
}
