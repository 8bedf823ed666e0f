package scenario_test

import (
	"bytes"
	"io/fs"
	"os"
	"strconv"
	"testing"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

func load(t testing.TB, name string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(scenarios.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestBuiltinScenariosPass(t *testing.T) {
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	if len(names) == 0 {
		t.Fatal("no built-in scenarios")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			res, err := scenario.Run(load(t, name), scenario.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Passed() {
				t.Fatal(res.Failure)
			}
		})
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	sc := load(t, scenarios.Default)
	var a, b bytes.Buffer
	if _, err := scenario.Run(sc, scenario.Options{Trace: &a}); err != nil {
		t.Fatal(err)
	}
	if _, err := scenario.Run(sc, scenario.Options{Trace: &b}); err != nil {
		t.Fatal(err)
	}
	if a.Len() < 10000 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two runs with seed %d gave different traces (%d vs %d bytes)", sc.Seed, a.Len(), b.Len())
	}
	var c bytes.Buffer
	other := sc.Seed + 1
	if _, err := scenario.Run(sc, scenario.Options{Trace: &c, Seed: &other}); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("another seed gave the very same trace: the seed does not reach the world")
	}
}

func BenchmarkBasicGuide(b *testing.B) {
	sc := load(b, scenarios.Default)
	var virtual float64
	for i := 0; i < b.N; i++ {
		res, err := scenario.Run(sc, scenario.Options{})
		if err != nil || !res.Passed() {
			b.Fatal(err, res.Failure)
		}
		virtual = res.Virtual.Seconds()
	}
	b.ReportMetric(virtual, "virtual-s/op")
}

// Every built-in scenario holds its expectations and every invariant for other seeds too: each
// seed draws different pod start-up times and watch delays, so different interleavings.
func TestScenariosAcrossSeeds(t *testing.T) {
	seeds := 10
	if testing.Short() {
		seeds = 2
	}
	if n, err := strconv.Atoi(os.Getenv("ROLLOUTLAB_SEEDS")); err == nil {
		seeds = n
	}
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	for _, name := range names {
		sc := load(t, name)
		for s := uint64(100); s < uint64(100+seeds); s++ {
			seed := s
			res, err := scenario.Run(sc, scenario.Options{Seed: &seed})
			if err != nil {
				t.Fatalf("%s seed %d: %v", name, seed, err)
			}
			if !res.Passed() {
				t.Fatalf("%s seed %d: %s", name, seed, res.Failure)
			}
		}
	}
}
