package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/report"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sim", Short: "Run rollouts in the simulation"}
	cmd.AddCommand(newRunCmd(), newReplayCmd(), newListCmd(), newMatrixCmd(), newServeCmd())
	return cmd
}

func newRunCmd() *cobra.Command {
	var (
		seed       uint64
		tracePath  string
		asJSON     bool
		reportPath string
	)
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Play a scenario (default: the basic canary guide) and print the rollout's timeline",
		Long: `Play a scenario in a fresh simulated world and print, as it happens, each change of the
rollout's observable state: phase, step, canary weight, and spec/available replicas per revision.

SCENARIO is a scenario file, or the name of a built-in one (see 'rolloutlab sim list').
Without one, the Argo Rollouts getting-started guide (basic canary) runs.

Exit status: 0 when every expectation of the scenario held, 1 when one did not, 2 when the
scenario could not be run (a bad file, or an invariant of the simulation was violated).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := scenarios.Default
			if len(args) == 1 {
				name = args[0]
			}
			sc, err := loadScenario(name)
			if err != nil {
				return &exitError{2, err}
			}
			opt := scenario.Options{Version: version}
			if cmd.Flags().Changed("seed") {
				opt.Seed = &seed
			}
			if tracePath != "" {
				f, err := os.Create(tracePath)
				if err != nil {
					return &exitError{2, err}
				}
				defer f.Close()
				opt.Trace = f
			}
			return runScenario(cmd.OutOrStdout(), sc, opt, asJSON, reportPath)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the random streams (default: the scenario's)")
	cmd.Flags().StringVar(&tracePath, "trace", "", "write the full trace (JSON lines) to this file, for 'sim replay'")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the timeline as JSON lines instead of a table")
	cmd.Flags().StringVar(&reportPath, "report", "", "write an HTML report of the run (charts, steps, traffic) to this file")
	return cmd
}

// loadScenario reads a scenario file from disk, or a built-in scenario by name.
func loadScenario(name string) (*scenario.Scenario, error) {
	if st, err := os.Stat(name); err == nil && !st.IsDir() {
		dir, file := filepath.Split(name)
		if dir == "" {
			dir = "."
		}
		return scenario.Load(os.DirFS(dir), file)
	}
	builtin := strings.TrimSuffix(name, ".yaml") + ".yaml"
	if _, err := fs.Stat(scenarios.FS, builtin); err == nil {
		return scenario.Load(scenarios.FS, builtin)
	}
	return nil, fmt.Errorf("no scenario file %q, and no built-in scenario of that name (see 'rolloutlab sim list')", name)
}

func runScenario(out io.Writer, sc *scenario.Scenario, opt scenario.Options, asJSON bool, reportPath string) error {
	p := newPrinter(out, asJSON)
	opt.OnMoment = p.moment
	opt.OnStep = p.step
	p.header(sc, opt)
	start := time.Now()
	res, err := scenario.Run(sc, opt)
	wall := time.Since(start)
	if reportPath != "" && res != nil {
		if err := writeReport(reportPath, res, err); err != nil {
			return &exitError{2, err}
		}
	}
	if err != nil {
		return &exitError{2, err}
	}
	p.summary(res, wall)
	if !res.Passed() {
		return &exitError{1, fmt.Errorf("scenario %s failed: %s", sc.Name, res.Failure)}
	}
	return nil
}

// writeReport writes the HTML report of a run; a run that stopped with an error reports it as
// its failure.
func writeReport(path string, res *scenario.Result, runErr error) error {
	if runErr != nil && res.Failure == "" {
		r := *res
		r.Failure = "the run stopped: " + runErr.Error()
		res = &r
	}
	var b bytes.Buffer
	if err := report.Write(&b, res); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, err := fs.Glob(scenarios.FS, "*.yaml")
			if err != nil {
				return err
			}
			sort.Strings(names)
			for _, n := range names {
				sc, err := scenario.Load(scenarios.FS, n)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-32s %s\n", strings.TrimSuffix(n, ".yaml"), firstSentence(sc.Description))
			}
			return nil
		},
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ": "); i > 0 && i < 90 {
		return s[:i]
	}
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i]
	}
	return s
}

func newReplayCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "replay TRACE",
		Short: "Re-run the scenario recorded in a trace and check the run is reproduced exactly",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			recorded, err := os.ReadFile(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			return replay(cmd.OutOrStdout(), args[0], recorded)
		},
	}
}

func replay(out io.Writer, file string, recorded []byte) error {
	first, _, _ := bytes.Cut(recorded, []byte("\n"))
	var head struct {
		Header *sim.TraceHeader `json:"header"`
	}
	if err := json.Unmarshal(first, &head); err != nil || head.Header == nil {
		return &exitError{2, fmt.Errorf("%s: line 1 is not a rolloutlab trace header", file)}
	}
	h := head.Header
	if h.Version != version {
		fmt.Fprintf(out, "note: the trace was recorded by rolloutlab %s, this is %s; differences may come from the build\n", h.Version, version)
	}
	fsys := fstest.MapFS{"scenario.yaml": {Data: []byte(h.Source)}}
	for p, content := range h.Files {
		fsys[p] = &fstest.MapFile{Data: []byte(content)}
	}
	sc, err := scenario.Load(fsys, "scenario.yaml")
	if err != nil {
		return &exitError{2, fmt.Errorf("the scenario in %s does not load: %w", file, err)}
	}
	sc.File = h.Scenario
	var again bytes.Buffer
	seed := h.Seed
	if _, err := scenario.Run(sc, scenario.Options{Seed: &seed, Trace: &again, Version: h.Version}); err != nil {
		fmt.Fprintf(out, "the replayed run stopped: %v\n", err)
	}
	line, want, got := firstDifference(recorded, again.Bytes())
	if line == 0 {
		fmt.Fprintf(out, "trace reproduced: %d lines identical (scenario %s, seed %d)\n", bytes.Count(recorded, []byte("\n")), h.Scenario, h.Seed)
		return nil
	}
	return &exitError{1, fmt.Errorf("trace differs at line %d\n  recorded: %s\n  replayed: %s", line, want, got)}
}

// firstDifference returns the first differing line (1-based) of two texts, or 0.
func firstDifference(a, b []byte) (int, string, string) {
	sa, sb := bufio.NewScanner(bytes.NewReader(a)), bufio.NewScanner(bytes.NewReader(b))
	sa.Buffer(make([]byte, 1<<20), 16<<20)
	sb.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; ; n++ {
		okA, okB := sa.Scan(), sb.Scan()
		if !okA && !okB {
			return 0, "", ""
		}
		if okA != okB || sa.Text() != sb.Text() {
			return n, sa.Text(), sb.Text()
		}
	}
}
