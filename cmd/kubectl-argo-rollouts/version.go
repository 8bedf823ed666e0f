package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Build information; a release sets them with -ldflags "-X main.version=v1.2.3 -X main.buildDate=...".
var (
	version      = "v0.1.0-dev"
	buildDate    = "1970-01-01T00:00:00Z"
	gitCommit    = ""
	gitTreeState = ""
)

func newVersionCmd(o *options) *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print version",
		Long:  "Show the version and build information of the Argo Rollouts plugin.",
		Example: `
  # Get full version info
  kubectl argo rollouts version

  # Get just plugin version number
  kubectl argo rollouts version --short`,
		RunE: exactArgs(0, func(c *cobra.Command, _ []string) error {
			commit, state := gitCommit, gitTreeState
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, s := range info.Settings {
					switch {
					case s.Key == "vcs.revision" && commit == "":
						commit = s.Value
					case s.Key == "vcs.modified" && state == "":
						state = map[string]string{"true": "dirty", "false": "clean"}[s.Value]
					}
				}
			}
			if commit == "" {
				commit = "unknown"
			}
			if state == "" {
				state = "unknown"
			}
			v := version
			if len(commit) >= 7 && commit != "unknown" {
				v += "+" + commit[:7]
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "kubectl-argo-rollouts: %s\n", v)
			if !short {
				fmt.Fprintf(out, "  BuildDate: %s\n", buildDate)
				fmt.Fprintf(out, "  GitCommit: %s\n", commit)
				fmt.Fprintf(out, "  GitTreeState: %s\n", state)
				fmt.Fprintf(out, "  GoVersion: %s\n", runtime.Version())
				fmt.Fprintf(out, "  Compiler: %s\n", runtime.Compiler)
				fmt.Fprintf(out, "  Platform: %s/%s\n", runtime.GOOS, runtime.GOARCH)
				fmt.Fprintf(out, "  Engine: rolloutlab (API argoproj.io/v1alpha1)\n")
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&short, "short", false, "print just the version number")
	return cmd
}
