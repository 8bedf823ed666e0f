package elbv2

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// describedCanaryWeight is the canary weight DescribeRules shows (what Argo's VerifyWeight reads).
func (x *fixture) describedCanaryWeight() int32 {
	out := must(x.f.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{RuleArns: []string{x.rule}}))(x.t)
	return weightOf(out.Rules[0].Actions[0].ForwardConfig.TargetGroups, x.canary)
}

// effectiveCanaryWeight is the canary weight the data plane uses.
func (x *fixture) effectiveCanaryWeight() int32 {
	for _, r := range x.f.InEffect(x.listener) {
		if *r.RuleArn == x.rule {
			return weightOf(r.Actions[0].ForwardConfig.TargetGroups, x.canary)
		}
	}
	x.t.Fatal("rule not in effect")
	return 0
}

// Argo #4595: verification reads the new weights while traffic still follows the old ones.
func TestRuleChangesReachTheDataPlaneAfterThePropagationDelay(t *testing.T) {
	x := newFixture(t, Config{RulePropagation: dist.Fixed(5 * time.Second)})
	x.s.runFor(5 * time.Second) // the fixture's own rule
	x.healthyTargets(x.stable, "10.0.0.1")
	x.healthyTargets(x.canary, "10.0.1.1")
	x.setWeights(0, 100)
	if w := x.describedCanaryWeight(); w != 100 {
		t.Fatalf("DescribeRules shows canary weight %d, want 100 at once", w)
	}
	if w := x.effectiveCanaryWeight(); w != 0 || x.f.PendingChanges(x.listener) != 1 {
		t.Fatalf("in effect: canary %d with %d pending, want 0 with 1 pending", w, x.f.PendingChanges(x.listener))
	}
	r := rand.New(rand.NewPCG(1, 1))
	x.s.runFor(5*time.Second - time.Millisecond)
	if resp := x.f.Request(x.dns, r); resp.TargetGroupArn != x.stable {
		t.Fatalf("before the delay: %+v, want the stable group", resp)
	}
	x.s.runFor(time.Millisecond)
	if resp := x.f.Request(x.dns, r); resp.TargetGroupArn != x.canary {
		t.Fatalf("after the delay: %+v, want the canary group", resp)
	}
	ev := x.events[len(x.events)-1]
	if ev.Kind != EventConfigInEffect || ev.ARN != x.listener || ev.At.Sub(epoch) != 40*time.Second {
		t.Fatalf("last event %v at %v, want config-in-effect of the listener at 40s", ev, ev.At.Sub(epoch))
	}
}

func TestQuickChangesTakeEffectInOrder(t *testing.T) {
	// Random delays: over these seeds a later change often draws a shorter delay.
	for seed := uint64(0); seed < 20; seed++ {
		x := newFixture(t, Config{RulePropagation: dist.Delay{Min: time.Second, Max: 10 * time.Second}})
		x.f.rand = rand.New(rand.NewPCG(seed, 0))
		x.s.runFor(10 * time.Second)
		var seen []int32
		x.f.OnChange(func(e Event) {
			if e.Kind == EventConfigInEffect {
				seen = append(seen, x.effectiveCanaryWeight())
			}
		})
		x.setWeights(70, 30)
		x.s.runFor(10 * time.Millisecond)
		x.setWeights(40, 60)
		x.s.runFor(20 * time.Second)
		if len(seen) != 2 || seen[0] != 30 || seen[1] != 60 {
			t.Fatalf("seed %d: canary weights took effect as %v, want [30 60]", seed, seen)
		}
	}
}

func TestNewListenerServesOnlyOnceInEffect(t *testing.T) {
	x := newFixture(t, Config{RulePropagation: dist.Fixed(2 * time.Second)})
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 503 || x.f.InEffect(x.listener) != nil {
		t.Fatalf("before its configuration is in effect: %+v, want 503", resp)
	}
	x.s.runFor(2 * time.Second)
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.TargetGroupArn != x.stable {
		t.Fatalf("once in effect: %+v, want the stable group", resp)
	}
}

func TestDeletedListenerStopsPendingChanges(t *testing.T) {
	x := newFixture(t, Config{RulePropagation: dist.Fixed(2 * time.Second)})
	x.s.runFor(2 * time.Second)
	x.setWeights(50, 50)
	must(x.f.DeleteListener(context.Background(), &elbv2.DeleteListenerInput{ListenerArn: aws.String(x.listener)}))(t)
	x.s.runFor(2 * time.Second)
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 503 {
		t.Fatalf("no listener: %+v, want 503", resp)
	}
	if s := x.f.Snapshot(); len(s.LoadBalancers[0].Listeners) != 0 || s.TargetGroups[0].InUse {
		t.Fatalf("snapshot after delete: %+v", s)
	}
}
