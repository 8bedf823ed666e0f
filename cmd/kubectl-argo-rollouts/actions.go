package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/actions"
)

// The user actions are engine/actions' — the writes the simulation and the godog steps make —
// with Argo's command names, flags and messages around them.

func newPromoteCmd(o *options) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "promote ROLLOUT_NAME",
		Short: "Promote a rollout",
		Long: `Promote a rollout

Promotes a rollout paused at a canary step, or a paused blue-green pre-promotion.
To skip analysis, pauses and steps entirely, use '--full' to fully promote the rollout`,
		Example: `
  # Promote a paused rollout
  kubectl argo rollouts promote guestbook

  # Fully promote a rollout to desired version, skipping analysis, pauses, and steps
  kubectl argo rollouts promote guestbook --full`,
		RunE: exactArgs(1, func(c *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			name := args[0]
			promote, done := actions.Promote, "promoted"
			if full {
				promote, done = actions.PromoteFull, "fully promoted"
			}
			if _, err := promote(c.Context(), cl.rollouts, cl.namespace, name); err != nil {
				return rolloutError(err, cl.namespace, name)
			}
			fmt.Fprintf(c.OutOrStdout(), "rollout '%s' %s\n", name, done)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&full, "full", false, "Perform a full promotion, skipping analysis, pauses, and steps")
	return cmd
}

// forEachRollout runs a status or spec change on every rollout named, as Argo's abort, retry and
// pause do, stopping at the first error.
func forEachRollout(o *options, done string, act func(c *cobra.Command, cl *clients, name string) error) func(*cobra.Command, []string) error {
	return minArgs(1, func(c *cobra.Command, args []string) error {
		cl, err := o.connect()
		if err != nil {
			return err
		}
		for _, name := range args {
			if err := act(c, cl, name); err != nil {
				return rolloutError(err, cl.namespace, name)
			}
			fmt.Fprintf(c.OutOrStdout(), "rollout '%s' %s\n", name, done)
		}
		return nil
	})
}

func newAbortCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "abort ROLLOUT_NAME",
		Short: "Abort a rollout",
		Long: `This command stops progressing the current rollout and reverts all steps. The previous ReplicaSet will be active.

Note the 'spec.template' still represents the new rollout version. If the Rollout leaves the aborted state, it will try to go to the new version.
Updating the 'spec.template' back to the previous version will fully revert the rollout.`,
		Example: `
  # Abort a rollout
  kubectl argo rollouts abort guestbook`,
		RunE: forEachRollout(o, "aborted", func(c *cobra.Command, cl *clients, name string) error {
			_, err := actions.Abort(c.Context(), cl.rollouts, cl.namespace, name)
			return err
		}),
	}
}

func newRetryCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retry <rollout> RESOURCE_NAME",
		Short: "Retry a rollout",
		Long:  "This command consists of subcommands which can be used to restart an aborted rollout.",
		Example: `
  # Retry an aborted rollout
  kubectl argo rollouts retry rollout guestbook`,
		Args: noArgs,
		RunE: usage,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "rollout ROLLOUT_NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Retry an aborted rollout",
		Example: `
  # Retry an aborted rollout
  kubectl argo rollouts retry rollout guestbook`,
		RunE: forEachRollout(o, "retried", func(c *cobra.Command, cl *clients, name string) error {
			_, err := actions.Retry(c.Context(), cl.rollouts, cl.namespace, name)
			return err
		}),
	})
	return cmd
}

func newPauseCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "pause ROLLOUT_NAME",
		Short: "Pause a rollout",
		Long:  "Set the rollout paused state to 'true'",
		Example: `
  # Pause a rollout
  kubectl argo rollouts pause guestbook`,
		RunE: forEachRollout(o, "paused", func(c *cobra.Command, cl *clients, name string) error {
			_, err := actions.Pause(c.Context(), cl.rollouts, cl.namespace, name)
			return err
		}),
	}
}

func newSetCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set <image> ROLLOUT_NAME",
		Short: "Update various values on resources",
		Example: `
  # Set rollout image
  kubectl argo rollouts set image my-rollout demo=argoproj/rollouts-demo:yellow`,
		Args: noArgs,
		RunE: usage,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "image ROLLOUT_NAME CONTAINER=IMAGE",
		Short: "Update the image of a rollout",
		Long:  `Update the image of the named container ("*" for all containers, init containers included).`,
		Example: `
  # Set rollout image
  kubectl argo rollouts set image my-rollout www=image:v2`,
		RunE: exactArgs(2, func(c *cobra.Command, args []string) error {
			name := args[0]
			container, image, err := actions.ParseImageArg(args[1])
			if err != nil {
				return err
			}
			cl, err := o.connect()
			if err != nil {
				return err
			}
			if _, err := actions.SetImage(c.Context(), cl.rollouts, cl.namespace, name, container, image); err != nil {
				return rolloutError(err, cl.namespace, name)
			}
			fmt.Fprintf(c.OutOrStdout(), "rollout \"%s\" image updated\n", name)
			return nil
		}),
	})
	return cmd
}

func newUndoCmd(o *options) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo ROLLOUT_NAME",
		Short: "Undo a rollout",
		Long:  "Rollback to the previous rollout.",
		Example: `
  # Undo a rollout
  kubectl argo rollouts undo guestbook

  # Undo a rollout to revision 3
  kubectl argo rollouts undo guestbook --to-revision=3`,
		RunE: exactArgs(1, func(c *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			name := args[0]
			changed, err := actions.Undo(c.Context(), cl.rollouts, cl.kube, cl.namespace, name, toRevision)
			if err != nil {
				return rolloutError(err, cl.namespace, name)
			}
			if !changed {
				fmt.Fprintf(c.OutOrStdout(), "skipped rollback (current template already matches revision %d)\n", toRevision)
				return nil
			}
			fmt.Fprintf(c.OutOrStdout(), "rollout '%s' undo\n", name)
			return nil
		}),
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}

func newRestartCmd(o *options) *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "restart ROLLOUT",
		Short: "Restart the pods of a rollout",
		Long: `Restart the pods of a rollout: sets spec.restartAt, and the controller replaces every pod
created before that time, within maxUnavailable.`,
		Example: `
  # Restart the pods of a rollout now
  kubectl argo rollouts restart guestbook

  # Restart the pods of a rollout in ten seconds
  kubectl argo rollouts restart guestbook --in 10s`,
		RunE: exactArgs(1, func(c *cobra.Command, args []string) error {
			delay := time.Duration(0)
			if in != "" {
				var err error
				if delay, err = parseDuration(in); err != nil {
					return fmt.Errorf("invalid --in %q: %v", in, err)
				}
			} else {
				in = "0s"
			}
			cl, err := o.connect()
			if err != nil {
				return err
			}
			name := args[0]
			at := metav1.NewTime(o.now().Add(delay))
			patch := fmt.Sprintf(`{"spec":{"restartAt":%q}}`, at.UTC().Format(time.RFC3339))
			if _, err := cl.rollouts.Rollouts(cl.namespace).Patch(c.Context(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				return rolloutError(err, cl.namespace, name)
			}
			fmt.Fprintf(c.OutOrStdout(), "rollout '%s' restarts in %s\n", name, in)
			return nil
		}),
	}
	cmd.Flags().StringVarP(&in, "in", "i", "", "Amount of time before a restart. (e.g. 30s, 5m, 1h)")
	return cmd
}

// parseDuration reads "30s", "5m", "1h" or a number of seconds, as Argo's duration strings.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}
