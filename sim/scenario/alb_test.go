package scenario_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// The cloud is as deterministic as the cluster: the ALB guide with traffic, the LBC and ELBv2
// gives the same trace, byte for byte, for the same seed.
func TestALBSameSeedSameTrace(t *testing.T) {
	sc := load(t, "alb-canary-guide.yaml")
	var a, b bytes.Buffer
	ra, err := scenario.Run(sc, scenario.Options{Trace: &a})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scenario.Run(sc, scenario.Options{Trace: &b}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two runs with seed %d gave different traces (%d vs %d bytes)", sc.Seed, a.Len(), b.Len())
	}
	for _, want := range []string{`"who":"aws-load-balancer-controller"`, `"who":"elbv2"`, "target-state"} {
		if !bytes.Contains(a.Bytes(), []byte(want)) {
			t.Errorf("the trace has no %s line", want)
		}
	}
	if ra.Traffic == nil || ra.Traffic.Total < 10000 || ra.Traffic.ByCode[200] != ra.Traffic.Total {
		t.Fatalf("traffic: %+v", ra.Traffic)
	}
}

// Wall time of an ALB rollout with 100 requests/s over 30 virtual minutes: the ALB guide,
// then 30 more minutes of steady traffic.
func BenchmarkALBGuide30Minutes(b *testing.B) {
	sc := load(b, "alb-canary-guide.yaml")
	sc.Timeline = append(sc.Timeline, scenario.Step{Kind: scenario.KindAfter, For: 30 * time.Minute, Path: "bench"})
	var virtual float64
	var requests int
	for i := 0; i < b.N; i++ {
		res, err := scenario.Run(sc, scenario.Options{})
		if err != nil || !res.Passed() {
			b.Fatal(err, res.Failure)
		}
		virtual, requests = res.Virtual.Seconds(), res.Traffic.Total
	}
	b.ReportMetric(virtual, "virtual-s/op")
	b.ReportMetric(float64(requests), "requests/op")
}
