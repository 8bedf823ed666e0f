// Package matrix runs a grid of rollout configurations against levels of AWS Load Balancer
// Controller trouble, over several seeds, and counts the client requests that failed in each:
// the evidence for which configurations make an ALB rollout safe.
package matrix

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rolloutlab/rolloutlab/sim/dist"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// Strategy is a row group: a scenario template in the corpus.
type Strategy struct {
	Name     string
	Template string // path in the scenario file system
}

// Verify is the controller's target-group verification setting.
type Verify struct {
	Name          string
	Group, Health bool // --aws-verify-target-group, and health on top
}

// Fault is a column: how the AWS Load Balancer Controller misbehaves.
type Fault struct {
	Name string
	// Lag is the controller's reconcile lag, fixed (used when Outage is false).
	Lag time.Duration
	// Outage keeps the template's lbcOutage step (the default lag otherwise).
	Outage bool
}

// Grid is the configurations, faults and seeds to run.
type Grid struct {
	Strategies []Strategy
	Verifies   []Verify
	Faults     []Fault
	Seeds      []uint64
}

// DefaultGrid is {blue-green, canary, canary+ping-pong} × {no verification, verification,
// verification with health} × {LBC lag 0 s, 30 s, 120 s, a 3-minute outage} over seeds 1..n.
func DefaultGrid(seeds int) Grid {
	g := Grid{
		Strategies: []Strategy{
			{"blue-green", "matrix/bluegreen.yaml"},
			{"canary", "matrix/canary.yaml"},
			{"canary+ping-pong", "matrix/pingpong.yaml"},
		},
		Verifies: []Verify{
			{"none", false, false},
			{"verify", true, false},
			{"verify+health", true, true},
		},
		Faults: []Fault{
			{Name: "LBC lag 0s", Lag: 0},
			{Name: "LBC lag 30s", Lag: 30 * time.Second},
			{Name: "LBC lag 120s", Lag: 120 * time.Second},
			{Name: "LBC outage 3m", Outage: true},
		},
	}
	for s := 1; s <= seeds; s++ {
		g.Seeds = append(g.Seeds, uint64(s))
	}
	return g
}

// Cell is the outcome of one configuration under one fault, over every seed.
type Cell struct {
	Strategy, Verify, Fault string
	Failed                  []int // failed requests per seed, in seed order
	Requests                int   // requests sent, all seeds
	// Incomplete lists the seeds whose rollout did not reach its end within the template's
	// time limits, with why.
	Incomplete []string
	Virtual    time.Duration // virtual time simulated, all seeds
	// Findings counts the traffic-safety rules broken (sim.Finding), all seeds.
	Findings int
}

// TotalFailed is the failed requests over every seed.
func (c Cell) TotalFailed() int {
	n := 0
	for _, f := range c.Failed {
		n += f
	}
	return n
}

// MaxFailed is the most failed requests of one seed.
func (c Cell) MaxFailed() int {
	m := 0
	for _, f := range c.Failed {
		m = max(m, f)
	}
	return m
}

type job struct {
	cell, seed int
	strategy   Strategy
	verify     Verify
	fault      Fault
}

// Run plays every cell of the grid with workers goroutines (each run is its own world, so the
// results do not depend on how they are scheduled). progress, if set, is called after each run.
func Run(fsys fs.FS, g Grid, workers int, progress func(done, total int)) ([]Cell, error) {
	var cells []Cell
	var jobs []job
	for _, s := range g.Strategies {
		for _, v := range g.Verifies {
			for _, f := range g.Faults {
				i := len(cells)
				cells = append(cells, Cell{Strategy: s.Name, Verify: v.Name, Fault: f.Name, Failed: make([]int, len(g.Seeds))})
				for k := range g.Seeds {
					jobs = append(jobs, job{cell: i, seed: k, strategy: s, verify: v, fault: f})
				}
			}
		}
	}
	type outcome struct {
		job
		failed, requests int
		findings         int
		incomplete       string
		virtual          time.Duration
		err              error
	}
	in := make(chan job)
	out := make(chan outcome)
	var wg sync.WaitGroup
	for w := 0; w < max(workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range in {
				o := outcome{job: j}
				sc, err := cellScenario(fsys, j.strategy, j.verify, j.fault)
				if err == nil {
					seed := g.Seeds[j.seed]
					var res *scenario.Result
					res, err = scenario.Run(sc, scenario.Options{Seed: &seed})
					if err == nil {
						if res.Traffic != nil {
							o.failed, o.requests = res.Traffic.Failed, res.Traffic.Total
						}
						o.incomplete, o.virtual = res.Failure, res.Virtual
						o.findings = len(res.Findings)
					}
				}
				o.err = err
				out <- o
			}
		}()
	}
	go func() {
		for _, j := range jobs {
			in <- j
		}
		close(in)
		wg.Wait()
		close(out)
	}()
	var firstErr error
	done := 0
	for o := range out {
		done++
		if progress != nil {
			progress(done, len(jobs))
		}
		if o.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s, %s, %s, seed %d: %w", o.strategy.Name, o.verify.Name, o.fault.Name, g.Seeds[o.seed], o.err)
			}
			continue
		}
		c := &cells[o.cell]
		c.Failed[o.seed] = o.failed
		c.Requests += o.requests
		c.Virtual += o.virtual
		c.Findings += o.findings
		if o.incomplete != "" {
			c.Incomplete = append(c.Incomplete, fmt.Sprintf("seed %d: %s", g.Seeds[o.seed], o.incomplete))
		}
	}
	for i := range cells {
		sort.Strings(cells[i].Incomplete)
	}
	return cells, firstErr
}

// cellScenario is the template with one cell's settings.
func cellScenario(fsys fs.FS, s Strategy, v Verify, f Fault) (*scenario.Scenario, error) {
	sc, err := scenario.Load(fsys, s.Template)
	if err != nil {
		return nil, err
	}
	if sc.World.AWS == nil {
		return nil, fmt.Errorf("%s: a matrix template needs world.aws", s.Template)
	}
	sc.Name = fmt.Sprintf("%s [%s, %s]", sc.Name, v.Name, f.Name)
	sc.World.Engine.Controller.VerifyTargetGroup = v.Group
	sc.World.Engine.Controller.VerifyTargetHealth = v.Health
	if !f.Outage {
		sc.World.AWS.LBC.ReconcileLag = dist.Fixed(f.Lag)
		kept := sc.Timeline[:0]
		for _, st := range sc.Timeline {
			if st.Kind != scenario.KindLBCOutage {
				kept = append(kept, st)
			}
		}
		sc.Timeline = kept
	}
	return sc, nil
}

// Table renders the cells as a Markdown table: a row per strategy and verification, a column per
// fault; each cell is the failed requests summed over the seeds ("†": some rollout did not finish).
func Table(g Grid, cells []Cell) string {
	var b strings.Builder
	b.WriteString("| strategy | verification |")
	for _, f := range g.Faults {
		b.WriteString(" " + f.Name + " |")
	}
	b.WriteString("\n|---|---|")
	for range g.Faults {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	i := 0
	for _, s := range g.Strategies {
		for _, v := range g.Verifies {
			fmt.Fprintf(&b, "| %s | %s |", s.Name, v.Name)
			for range g.Faults {
				c := cells[i]
				i++
				mark := ""
				if len(c.Incomplete) > 0 {
					mark = " †"
				}
				fmt.Fprintf(&b, " %s%s |", thousands(c.TotalFailed()), mark)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// thousands writes n with spaces between groups of three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}
