package matrix_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim/matrix"
)

func seeds(t *testing.T) int {
	n := 3
	if testing.Short() {
		n = 1
	}
	if v, err := strconv.Atoi(os.Getenv("ROLLOUTLAB_SEEDS")); err == nil {
		n = v
	}
	return n
}

// The promise of target-group verification: whatever the AWS Load Balancer Controller does (lag,
// outage), a verified rollout never lets a client request fail, for every strategy and seed.
func TestVerifiedConfigurationsNeverFail(t *testing.T) {
	g := matrix.DefaultGrid(seeds(t))
	g.Verifies = g.Verifies[1:] // verify, verify+health
	cells, err := matrix.Run(scenarios.FS, g, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if c.TotalFailed() > 0 || len(c.Incomplete) > 0 || c.Findings > 0 {
			t.Errorf("%s, %s, %s: %d failed requests (per seed %v), %d safety findings; incomplete: %v",
				c.Strategy, c.Verify, c.Fault, c.TotalFailed(), c.Failed, c.Findings, c.Incomplete)
		}
		if c.Requests == 0 {
			t.Errorf("%s, %s, %s: no request was sent, so nothing was shown", c.Strategy, c.Verify, c.Fault)
		}
	}
}

// And the hazard it prevents is real: without verification an LBC outage at the critical moment
// makes requests fail, every time, for every strategy.
func TestUnverifiedOutageFails(t *testing.T) {
	g := matrix.DefaultGrid(1)
	g.Verifies = g.Verifies[:1]
	g.Faults = g.Faults[len(g.Faults)-1:]
	cells, err := matrix.Run(scenarios.FS, g, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if c.TotalFailed() == 0 || c.Findings == 0 {
			t.Errorf("%s, %s, %s: %d requests failed, %d safety findings; the hazard is gone from the model",
				c.Strategy, c.Verify, c.Fault, c.TotalFailed(), c.Findings)
		}
	}
	table := matrix.Table(g, cells)
	if !strings.Contains(table, "| blue-green | none |") || !strings.Contains(table, "LBC outage 3m") {
		t.Errorf("table:\n%s", table)
	}
}

func BenchmarkMatrixCell(b *testing.B) {
	g := matrix.DefaultGrid(1)
	g.Strategies, g.Verifies, g.Faults = g.Strategies[1:2], g.Verifies[1:2], g.Faults[1:2]
	for i := 0; i < b.N; i++ {
		if _, err := matrix.Run(scenarios.FS, g, 1, nil); err != nil {
			b.Fatal(err)
		}
	}
}
