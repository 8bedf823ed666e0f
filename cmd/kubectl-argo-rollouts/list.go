package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/tree"
	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func newListCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list <rollout>",
		Short: "List rollouts",
		Example: `
  # List rollouts
  kubectl argo rollouts list rollouts`,
		Args: noArgs,
		RunE: usage,
	}
	cmd.AddCommand(newListRolloutsCmd(o))
	return cmd
}

type listFlags struct {
	name          string
	allNamespaces bool
	watch         bool
	timestamps    bool
}

func newListRolloutsCmd(o *options) *cobra.Command {
	var f listFlags
	cmd := &cobra.Command{
		Use:     "rollouts",
		Aliases: []string{"ro", "rollout"},
		Short:   "List rollouts",
		Long:    "This command lists all of the rollouts for a specified namespace (uses current namespace context if namespace not specified).",
		Example: `
  # List rollouts
  kubectl argo rollouts list rollouts

  # List rollouts with a specific name
  kubectl argo rollouts list rollouts --name my-rollout

  # List rollouts from all namespaces
  kubectl argo rollouts list rollouts --all-namespaces

  # List rollouts and watch for changes
  kubectl argo rollouts list rollouts --watch`,
		RunE: exactArgs(0, func(c *cobra.Command, _ []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			ns := cl.namespace
			if f.allNamespaces {
				ns = metav1.NamespaceAll
			}
			ros := cl.rollouts.Rollouts(ns)
			opts := metav1.ListOptions{}
			if f.name != "" {
				opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", f.name).String()
			}
			list, err := ros.List(c.Context(), opts)
			if err != nil {
				return fmt.Errorf("listing rollouts in %s: %w", describeNamespace(ns), err)
			}
			lo := tree.ListOptions{Namespace: f.allNamespaces, Timestamps: f.timestamps, Now: o.now()}
			var rows []tree.ListRow
			for i := range list.Items {
				if f.name == "" || list.Items[i].Name == f.name { // not every server filters by field
					rows = append(rows, tree.NewListRow(&list.Items[i]))
				}
			}
			sort.SliceStable(rows, func(i, j int) bool {
				if rows[i].Namespace != rows[j].Namespace {
					return rows[i].Namespace < rows[j].Namespace
				}
				return rows[i].Name < rows[j].Name
			})
			if len(rows) == 0 && !f.watch {
				fmt.Fprintln(c.ErrOrStderr(), "No resources found.")
				return nil
			}
			fmt.Fprint(c.OutOrStdout(), tree.ListTable(rows, lo))
			if !f.watch {
				return nil
			}
			opts.ResourceVersion = list.ResourceVersion
			return watchList(c.Context(), c.OutOrStdout(), ros, opts, rows, f, o.now)
		}),
	}
	cmd.Flags().StringVar(&f.name, "name", "", "Only show rollout with specified name")
	cmd.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "Include all namespaces")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "Watch for changes")
	cmd.Flags().BoolVar(&f.timestamps, "timestamps", false, "Print timestamps on updates")
	return cmd
}

func describeNamespace(ns string) string {
	if ns == metav1.NamespaceAll {
		return "any namespace"
	}
	return fmt.Sprintf("namespace %q", ns)
}

// watchList prints a line whenever a rollout's row changes, until ctx ends. A watch that breaks
// is re-established from the last resource version seen.
func watchList(ctx context.Context, out io.Writer, ros client.RolloutInterface, opts metav1.ListOptions, rows []tree.ListRow, f listFlags, now func() time.Time) error {
	prev := map[string]tree.ListRow{}
	for _, r := range rows {
		prev[r.Namespace+"/"+r.Name] = r
	}
	const maxRetries = 5
	retries := 0
	for {
		w, err := ros.Watch(ctx, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if retries++; retries > maxRetries {
				return fmt.Errorf("watching rollouts: %w", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		retries = 0
		if done := drainWatch(ctx, out, w, &opts, prev, f, now); done {
			return nil
		}
	}
}

// drainWatch prints the changed rows of one watch; it reports true when ctx ended, false when the
// watch closed and should be re-established.
func drainWatch(ctx context.Context, out io.Writer, w watch.Interface, opts *metav1.ListOptions, prev map[string]tree.ListRow, f listFlags, now func() time.Time) bool {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false
			}
			ro, isRollout := ev.Object.(*v1alpha1.Rollout)
			if !isRollout {
				if ev.Type == watch.Error {
					opts.ResourceVersion = "" // expired: start from the current state
					return false
				}
				continue
			}
			opts.ResourceVersion = ro.ResourceVersion
			if ev.Type == watch.Deleted || (f.name != "" && ro.Name != f.name) {
				continue
			}
			row := tree.NewListRow(ro)
			key := ro.Namespace + "/" + ro.Name
			if old, seen := prev[key]; seen && old == row {
				continue
			}
			prev[key] = row
			lo := tree.ListOptions{Namespace: f.allNamespaces, Timestamps: f.timestamps, Now: now()}
			fmt.Fprint(out, tree.ListLine(row, lo))
		}
	}
}
