package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/tree"
)

func newGetCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get <rollout> RESOURCE_NAME",
		Short: "Get details about rollouts",
		Example: `
  # Get a rollout
  kubectl argo rollouts get rollout ROLLOUT`,
		Args: noArgs,
		RunE: usage,
	}
	cmd.AddCommand(newGetRolloutCmd(o))
	return cmd
}

// clearScreen moves the cursor home and clears the terminal before each redraw of --watch.
const clearScreen = "\033[H\033[2J\033[0;0H"

func newGetRolloutCmd(o *options) *cobra.Command {
	var (
		watch          bool
		noColor        bool
		timeoutSeconds int
	)
	cmd := &cobra.Command{
		Use:     "rollout ROLLOUT_NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Get details about a rollout",
		Long: `Get details about and visual representation of a rollout. It returns a bunch of metadata on a resource and a tree view of the child resources created by the parent.

Tree view icons

| Icon | Kind |
|:----:|:-----------:|
| ⟳ | Rollout |
| # | Revision |
| ⧉ | ReplicaSet |
| □ | Pod |`,
		Example: `
  # Get a rollout
  kubectl argo rollouts get rollout guestbook

  # Watch progress of a rollout
  kubectl argo rollouts get rollout guestbook -w`,
		RunE: exactArgs(1, func(c *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			name := args[0]
			opts := tree.Options{NoColor: noColor || o.getenv("TERM") == "dumb"}
			render := func(s *snapshot) string {
				opts.Now = o.now()
				return tree.Render(tree.NewRolloutInfo(s.rollout, s.replicaSets, s.pods), opts)
			}
			out := c.OutOrStdout()
			if !watch {
				s, err := getSnapshot(c.Context(), cl, name, true)
				if err != nil {
					return err
				}
				_, err = io.WriteString(out, render(s))
				return err
			}
			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			v, err := startView(ctx, cl, name, true)
			if err != nil {
				if ctx.Err() != nil {
					return nil // interrupted before the first draw
				}
				return err
			}
			// The timeout runs from the first draw.
			if timeoutSeconds > 0 {
				ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutSeconds)*time.Second)
				defer cancel()
			}
			var last string
			return v.run(ctx, func(s *snapshot) bool {
				if text := render(s); text != last {
					fmt.Fprint(out, clearScreen+text)
					last = text
				}
				return false
			})
		}),
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "Watch live updates to the rollout")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "Do not colorize output")
	cmd.Flags().IntVar(&timeoutSeconds, "timeout-seconds", 0, "Timeout after specified seconds")
	return cmd
}
