package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim/matrix"
)

func newMatrixCmd() *cobra.Command {
	var (
		seeds, workers int
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Count failed requests for each ALB configuration under each level of LBC trouble",
		Long: `Run the ALB matrix: {blue-green, canary, canary+ping-pong} × {no verification,
--aws-verify-target-group, verification with target health} × {AWS Load Balancer Controller lag
0s, 30s, 120s, a 3-minute outage at the critical moment}, each over --seeds seeds with 100 client
requests per second, and print the failed requests (5xx) of each cell, summed over the seeds, as a
Markdown table. The templates are scenarios/matrix/*.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seeds < 1 {
				return &exitError{2, fmt.Errorf("--seeds must be at least 1")}
			}
			return runMatrix(cmd.OutOrStdout(), cmd.ErrOrStderr(), seeds, workers, asJSON)
		},
	}
	cmd.Flags().IntVar(&seeds, "seeds", 3, "seeds per cell (1..N)")
	cmd.Flags().IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "runs in parallel")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the cells as JSON")
	return cmd
}

func runMatrix(out, errOut io.Writer, seeds, workers int, asJSON bool) error {
	g := matrix.DefaultGrid(seeds)
	start := time.Now()
	last := time.Time{}
	cells, err := matrix.Run(scenarios.FS, g, workers, func(done, total int) {
		if now := time.Now(); done == total || now.Sub(last) > time.Second {
			last = now
			fmt.Fprintf(errOut, "\r%d/%d runs", done, total)
			if done == total {
				fmt.Fprintln(errOut)
			}
		}
	})
	if err != nil {
		return &exitError{2, err}
	}
	wall := time.Since(start)
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(cells)
	}
	fmt.Fprintf(out, "Failed requests (5xx), summed over %d seeds per cell, 100 requests/s:\n\n", seeds)
	fmt.Fprint(out, matrix.Table(g, cells))
	runs, requests, virtual := 0, 0, time.Duration(0)
	var incomplete []string
	for _, c := range cells {
		runs += len(c.Failed)
		requests += c.Requests
		virtual += c.Virtual
		for _, why := range c.Incomplete {
			incomplete = append(incomplete, fmt.Sprintf("%s, %s, %s: %s", c.Strategy, c.Verify, c.Fault, why))
		}
	}
	if len(incomplete) > 0 {
		fmt.Fprintln(out, "\n† the rollout did not finish within the template's limits:")
		for _, l := range incomplete {
			fmt.Fprintln(out, "  "+l)
		}
	}
	fmt.Fprintf(out, "\n%d runs, %d requests, %s of virtual time in %s (%.0f runs per minute)\n",
		runs, requests, virtual.Round(time.Second), wall.Round(time.Millisecond), float64(runs)/wall.Minutes())
	return nil
}
