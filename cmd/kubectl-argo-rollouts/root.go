package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
)

// options are shared by every command: where to print, the clock, and how to reach the cluster.
type options struct {
	out, errOut io.Writer
	now         func() time.Time
	getenv      func(string) string

	// kubeconfig and overrides are bound to the kubectl flags (--kubeconfig, --context, -n, ...).
	kubeconfig string
	overrides  clientcmd.ConfigOverrides

	// connect returns the clients and the namespace to work in; tests replace it with fakes.
	connect func() (*clients, error)
}

// clients are the APIs a command talks to.
type clients struct {
	namespace string
	kube      kubernetes.Interface
	rollouts  client.Interface
}

// kubeconfigClients builds clients from the kubeconfig: KUBECONFIG or ~/.kube/config, unless
// --kubeconfig names a file, with --context, -n and the other kubectl flags on top.
func (o *options) kubeconfigClients() (*clients, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &o.overrides)
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, kubeconfigError(err)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, kubeconfigError(err)
	}
	cfg.UserAgent = "kubectl-argo-rollouts (rolloutlab)"
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ros, err := client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &clients{namespace: ns, kube: kube, rollouts: ros}, nil
}

func kubeconfigError(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return errors.New("no cluster to talk to: no kubeconfig found (set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config) and not running in a pod")
	}
	return fmt.Errorf("kubeconfig: %w", err)
}

const example = `
  # Get guestbook rollout and watch progress
  kubectl argo rollouts get rollout guestbook -w

  # Pause the guestbook rollout
  kubectl argo rollouts pause guestbook

  # Promote the guestbook rollout
  kubectl argo rollouts promote guestbook

  # Abort the guestbook rollout
  kubectl argo rollouts abort guestbook

  # Retry the guestbook rollout
  kubectl argo rollouts retry rollout guestbook`

func newRootCmd(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubectl-argo-rollouts COMMAND",
		Short:         "Manage argo rollouts",
		Long:          "This command consists of multiple subcommands which can be used to manage Argo Rollouts.",
		Example:       example,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          usage,
	}
	root.PersistentFlags().StringVar(&o.kubeconfig, clientcmd.RecommendedConfigPathFlag, "", "Path to the kubeconfig file to use for CLI requests.")
	clientcmd.BindOverrideFlags(&o.overrides, root.PersistentFlags(), clientcmd.RecommendedConfigOverrideFlags(""))
	root.AddCommand(
		newGetCmd(o),
		newListCmd(o),
		newStatusCmd(o),
		newSetCmd(o),
		newPromoteCmd(o),
		newAbortCmd(o),
		newRetryCmd(o),
		newPauseCmd(o),
		newUndoCmd(o),
		newRestartCmd(o),
		newVersionCmd(o),
	)
	return root
}

// errUsage is returned after the usage has been printed: the caller exits 1 without an
// "Error:" line.
var errUsage = errors.New("usage")

// usage prints the command's usage to stderr and fails, as Argo's plugin does on missing
// arguments or a missing subcommand.
func usage(c *cobra.Command, _ []string) error {
	c.SetOut(c.ErrOrStderr())
	_ = c.Usage()
	return errUsage
}

// noArgs rejects arguments to a command that only groups subcommands, naming the unknown one.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
	}
	return nil
}

// exactArgs / minArgs wrap RunE: with the wrong number of arguments they print the usage.
func exactArgs(n int, run func(c *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usage(c, args)
		}
		return run(c, args)
	}
}

func minArgs(n int, run func(c *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usage(c, args)
		}
		return run(c, args)
	}
}

// rolloutError names the rollout and namespace an API error is about.
func rolloutError(err error, ns, name string) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if apierrors.IsNotFound(err) && errors.As(err, &status) {
		// Only when the rollout itself is missing: a missing CRD is NotFound too, without a name.
		if d := status.Status().Details; d != nil && d.Name == name {
			return fmt.Errorf("rollout %q not found in namespace %q", name, ns)
		}
	}
	return fmt.Errorf("rollout %q in namespace %q: %w", name, ns, err)
}
