package elbv2

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// shares sends n requests and counts responses by target group and by code.
func (x *fixture) shares(n int, r *rand.Rand) (byTG map[string]int, byCode map[int]int) {
	byTG, byCode = map[string]int{}, map[int]int{}
	for i := 0; i < n; i++ {
		resp := x.f.Request(x.dns, r)
		byTG[resp.TargetGroupArn]++
		byCode[resp.Code]++
	}
	return byTG, byCode
}

func TestWeightsAreHonoured(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1", "10.0.0.2")
	x.healthyTargets(x.canary, "10.0.1.1")
	x.setWeights(80, 20)
	byTG, byCode := x.shares(10000, rand.New(rand.NewPCG(7, 7)))
	if byCode[200] != 10000 {
		t.Fatalf("codes %v, want 10000 × 200", byCode)
	}
	if c := byTG[x.canary]; c < 1800 || c > 2200 {
		t.Fatalf("canary got %d of 10000 requests, want about 2000", c)
	}
	// Targets of a group share its traffic.
	if a, b := x.net.served[key("10.0.0.1", 8080)], x.net.served[key("10.0.0.2", 8080)]; a < 3600 || b < 3600 {
		t.Fatalf("stable targets served %d and %d, want about 4000 each", a, b)
	}
}

func TestWeightsNeedNotSumTo100AndAllZeroIs503(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.healthyTargets(x.canary, "10.0.1.1")
	x.setWeights(3, 1)
	byTG, _ := x.shares(4000, rand.New(rand.NewPCG(1, 1)))
	if c := byTG[x.canary]; c < 850 || c > 1150 {
		t.Fatalf("weights 3:1: canary got %d of 4000, want about 1000", c)
	}
	x.setWeights(0, 0)
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 503 || resp.TargetGroupArn != "" {
		t.Fatalf("all weights 0: %+v, want 503 and no target group", resp)
	}
}

func TestNoTargetsIs503(t *testing.T) {
	x := newFixture(t, Config{})
	resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1)))
	if resp.Code != 503 || resp.TargetGroupArn != x.stable || resp.Target != "" || resp.RuleArn != x.rule {
		t.Fatalf("%+v, want 503 from the stable group with no target", resp)
	}
}

func TestUnknownLoadBalancerIs503(t *testing.T) {
	x := newFixture(t, Config{})
	if resp := x.f.Request("nope.elb.amazonaws.com", rand.New(rand.NewPCG(1, 1))); resp.Code != 503 {
		t.Fatalf("%+v, want 503", resp)
	}
}

func TestFailOpenWhenNoTargetIsHealthy(t *testing.T) {
	x := newFixture(t, Config{})
	x.net.unhealthy[key("10.0.0.1", 8080)] = true // the health path fails, the app serves
	x.register(x.stable, "10.0.0.1")
	// Initial targets get traffic only while no target is healthy.
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 200 || resp.Target != "10.0.0.1:8080" {
		t.Fatalf("only an initial target: %+v, want it served (fail open)", resp)
	}
	x.s.runFor(30 * time.Second)
	x.wantState(x.stable, "10.0.0.1", unhealthy)
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 200 || resp.Target != "10.0.0.1:8080" {
		t.Fatalf("only an unhealthy target: %+v, want it served (fail open)", resp)
	}
	x.healthyTargets(x.stable, "10.0.0.2")
	x.register(x.stable, "10.0.0.3") // initial
	_, _ = x.shares(200, rand.New(rand.NewPCG(2, 2)))
	if n := x.net.served[key("10.0.0.1", 8080)] + x.net.served[key("10.0.0.3", 8080)]; n != 2 {
		t.Fatalf("with a healthy target, unhealthy and initial ones got %d more requests, want 0", n-2)
	}
}

func TestDrainingTargetsGetNoNewRequests(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1", "10.0.0.2")
	x.deregister(x.stable, "10.0.0.1")
	_, byCode := x.shares(100, rand.New(rand.NewPCG(3, 3)))
	if x.net.served[key("10.0.0.1", 8080)] != 0 || byCode[200] != 100 {
		t.Fatalf("draining target served %d, codes %v", x.net.served[key("10.0.0.1", 8080)], byCode)
	}
	x.deregister(x.stable, "10.0.0.2")
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 503 {
		t.Fatalf("only draining targets: %+v, want 503", resp)
	}
}

// The 502 of the incidents: the target group still holds the IP of a pod that is gone.
func TestGonePodIs502(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.net.gone[key("10.0.0.1", 8080)] = true
	if resp := x.f.Request(x.dns, rand.New(rand.NewPCG(1, 1))); resp.Code != 502 || resp.Target != "10.0.0.1:8080" {
		t.Fatalf("%+v, want 502 from 10.0.0.1", resp)
	}
}

func TestHeaderAndPathRouting(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.healthyTargets(x.canary, "10.0.1.1")
	x.net.version[key("10.0.1.1", 8080)] = "canary"
	must(x.f.CreateRule(context.Background(), &elbv2.CreateRuleInput{ListenerArn: aws.String(x.listener), Priority: aws.Int32(2),
		Conditions: []types.RuleCondition{{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{
			HttpHeaderName: aws.String("X-Canary"), Values: []string{"yes", "al?ays*"}}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(x.canary)}}}))(t)
	must(x.f.SetRulePriorities(context.Background(), &elbv2.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{
		{RuleArn: aws.String(x.rule), Priority: aws.Int32(2)},
		{RuleArn: x.ruleAt("2"), Priority: aws.Int32(1)},
	}}))(t)
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		headers map[string]string
		path    string
		want    string
	}{
		{map[string]string{"x-canary": "YES"}, "", x.canary},
		{map[string]string{"X-Canary": "always-please"}, "/a", x.canary},
		{map[string]string{"X-Canary": "no"}, "", x.stable},
		{nil, "/index.html", x.stable},
	} {
		resp := x.f.Send(HTTPRequest{Host: x.dns, Path: c.path, Headers: c.headers}, r)
		if resp.TargetGroupArn != c.want || resp.Code != 200 {
			t.Errorf("%v %q: %+v, want %s", c.headers, c.path, resp, c.want)
		}
	}
	// Only /* matched; a narrower rule 1 leaves other paths to the default action (404).
	must(x.f.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"),
			PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/api/*"}}}}}))(t)
	if resp := x.f.Send(HTTPRequest{Host: x.dns, Path: "/web"}, r); resp.Code != 404 || resp.RuleArn != x.defaultRule {
		t.Fatalf("unmatched path: %+v, want 404 from the default rule", resp)
	}
}

// ruleAt returns the ARN of the rule with a priority.
func (x *fixture) ruleAt(p string) *string {
	out := must(x.f.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(x.listener)}))(x.t)
	for _, r := range out.Rules {
		if *r.Priority == p {
			return r.RuleArn
		}
	}
	x.t.Fatalf("no rule with priority %s", p)
	return nil
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"/*", "/", true}, {"/*", "/a/b", true}, {"/api/*", "/api", false}, {"/api/*", "/api/x", true},
		{"/a?c", "/abc", true}, {"/a?c", "/ac", false}, {"*.example.com", "www.example.com", true},
		{"/a*b*c", "/axxbyyc", true}, {"/a*b*c", "/axxbyy", false}, {"", "", true}, {"*", "", true},
	} {
		if got := glob(c.pattern, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestServingWithoutHealthy(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	if got := x.f.Snapshot().ServingWithoutHealthy(); len(got) != 0 {
		t.Fatalf("canary weight 0: %v, want none", got)
	}
	x.setWeights(90, 10)
	if got := x.f.Snapshot().ServingWithoutHealthy(); len(got) != 1 || got[0] != x.canary {
		t.Fatalf("canary weight 10 without targets: %v, want the canary group", got)
	}
}
