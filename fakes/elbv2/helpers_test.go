package elbv2

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

var epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// testSched is a minimal deterministic Scheduler: timers run in (time, sequence) order. It locks
// because the HTTP tests call the Fake from the server's goroutines.
type testSched struct {
	mu    sync.Mutex
	now   time.Time
	seq   int
	queue []*testTimer
}

type testTimer struct {
	at       time.Time
	seq      int
	name     string
	fn       func()
	canceled bool
}

func (t *testTimer) Cancel() { t.canceled = true }

func newSched() *testSched { return &testSched{now: epoch} }

func (s *testSched) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *testSched) After(d time.Duration, name, _ string, fn func()) sched.Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t := &testTimer{at: s.now.Add(d), seq: s.seq, name: name, fn: fn}
	s.queue = append(s.queue, t)
	return t
}

// next pops the next live timer due by deadline.
func (s *testSched) next(deadline time.Time) *testTimer {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.Slice(s.queue, func(i, j int) bool {
		if !s.queue[i].at.Equal(s.queue[j].at) {
			return s.queue[i].at.Before(s.queue[j].at)
		}
		return s.queue[i].seq < s.queue[j].seq
	})
	for len(s.queue) > 0 && s.queue[0].canceled {
		s.queue = s.queue[1:]
	}
	if len(s.queue) == 0 || s.queue[0].at.After(deadline) {
		return nil
	}
	t := s.queue[0]
	s.queue = s.queue[1:]
	s.now = t.at
	return t
}

// runFor runs every timer due within d (inclusive) and moves the clock to now+d.
func (s *testSched) runFor(d time.Duration) {
	deadline := s.Now().Add(d)
	for t := s.next(deadline); t != nil; t = s.next(deadline) {
		t.fn()
	}
	s.mu.Lock()
	s.now = deadline
	s.mu.Unlock()
}

// testNet is the pods behind the targets, keyed by "ip:port".
type testNet struct {
	mu        sync.Mutex
	unhealthy map[string]bool   // health checks fail (the pod still serves)
	gone      map[string]bool   // nothing listens: checks fail, requests get 502
	version   map[string]string // what a pod answers with
	served    map[string]int
}

func newNet() *testNet {
	return &testNet{unhealthy: map[string]bool{}, gone: map[string]bool{}, version: map[string]string{}, served: map[string]int{}}
}

func key(ip string, port int32) string { return targetKey{id: ip, port: port}.String() }

func (n *testNet) HealthCheck(ip string, port int32) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := key(ip, port)
	return !n.unhealthy[k] && !n.gone[k]
}

func (n *testNet) Serve(ip string, port int32) (int, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := key(ip, port)
	if n.gone[k] {
		return 502, ""
	}
	n.served[k]++
	return 200, n.version[k]
}

// fixture is an ALB as the AWS Load Balancer Controller builds one for an Argo canary: a
// listener on port 80 whose rule 1 forwards /* to the stable and canary target groups.
type fixture struct {
	t      *testing.T
	s      *testSched
	net    *testNet
	f      *Fake
	events []Event

	lb, dns, listener, rule, defaultRule string
	stable, canary                       string // target group ARNs
}

const (
	stableResource = "default/ingress-stable:80"
	canaryResource = "default/ingress-canary:80"
)

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	x := &fixture{t: t, s: newSched(), net: newNet()}
	x.f = New(cfg, x.s, x.net, rand.New(rand.NewPCG(1, 2)))
	x.f.OnChange(func(e Event) { x.events = append(x.events, e) })
	x.build(x.f)
	return x
}

// build creates the resources through an API (in process or over the wire).
func (x *fixture) build(api API) {
	t, ctx := x.t, context.Background()
	t.Helper()
	lb := must(api.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("k8s-default-ingress-1a2b3c4d5e"),
		Subnets: []string{"subnet-1", "subnet-2"}, Tags: []types.Tag{tag("ingress.k8s.aws/stack", "default/ingress")}}))(t)
	x.lb, x.dns = *lb.LoadBalancers[0].LoadBalancerArn, *lb.LoadBalancers[0].DNSName
	x.stable = x.targetGroup(api, "k8s-default-stable-0a1b2c3d4e", stableResource)
	x.canary = x.targetGroup(api, "k8s-default-canary-0a1b2c3d4e", canaryResource)
	l := must(api.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(x.lb), Port: aws.Int32(80),
		Protocol: types.ProtocolEnumHttp, DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}}))(t)
	x.listener = *l.Listeners[0].ListenerArn
	r := must(api.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(x.listener), Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/*"}}},
		Actions:    []types.Action{x.forward(100, 0)}}))(t)
	x.rule = *r.Rules[0].RuleArn
	rules := must(api.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(x.listener)}))(t)
	x.defaultRule = *rules.Rules[len(rules.Rules)-1].RuleArn
}

// targetGroup creates an ip target group with the LBC's health-check settings, except a healthy
// threshold of 3 so tests tell it from the unhealthy threshold of 2.
func (x *fixture) targetGroup(api API, name, resource string) string {
	x.t.Helper()
	out := must(api.CreateTargetGroup(context.Background(), &elbv2.CreateTargetGroupInput{Name: aws.String(name),
		Port: aws.Int32(80), Protocol: types.ProtocolEnumHttp, TargetType: types.TargetTypeEnumIp, VpcId: aws.String(VpcID),
		HealthCheckIntervalSeconds: aws.Int32(15), HealthCheckTimeoutSeconds: aws.Int32(5),
		HealthyThresholdCount: aws.Int32(3), UnhealthyThresholdCount: aws.Int32(2),
		Tags: []types.Tag{tag("ingress.k8s.aws/resource", resource), tag("ingress.k8s.aws/stack", "default/ingress")}}))(x.t)
	return *out.TargetGroups[0].TargetGroupArn
}

func (x *fixture) forward(stable, canary int32) types.Action {
	return types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
		TargetGroups: []types.TargetGroupTuple{
			{TargetGroupArn: aws.String(x.canary), Weight: aws.Int32(canary)},
			{TargetGroupArn: aws.String(x.stable), Weight: aws.Int32(stable)},
		}}}
}

func (x *fixture) setWeights(stable, canary int32) {
	x.t.Helper()
	must(x.f.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule),
		Actions: []types.Action{x.forward(stable, canary)}}))(x.t)
}

func (x *fixture) register(tg string, ips ...string) {
	x.t.Helper()
	must(x.f.RegisterTargets(context.Background(), &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: targets(ips...)}))(x.t)
}

func (x *fixture) deregister(tg string, ips ...string) {
	x.t.Helper()
	must(x.f.DeregisterTargets(context.Background(), &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: targets(ips...)}))(x.t)
}

// state is a target's state and reason as DescribeTargetHealth reports it ("" if not listed).
func (x *fixture) state(tg, ip string) (types.TargetHealthStateEnum, types.TargetHealthReasonEnum) {
	x.t.Helper()
	out := must(x.f.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)}))(x.t)
	for _, d := range out.TargetHealthDescriptions {
		if *d.Target.Id == ip {
			return d.TargetHealth.State, d.TargetHealth.Reason
		}
	}
	return "", ""
}

func (x *fixture) wantState(tg, ip string, want types.TargetHealthStateEnum) {
	x.t.Helper()
	if got, reason := x.state(tg, ip); got != want {
		x.t.Fatalf("at %v: %s is %q (%s), want %q", x.s.Now().Sub(epoch), ip, got, reason, want)
	}
}

// healthyTargets registers ips and runs the clock until one check has passed.
func (x *fixture) healthyTargets(tg string, ips ...string) {
	x.t.Helper()
	x.register(tg, ips...)
	x.s.runFor(15 * time.Second)
	for _, ip := range ips {
		x.wantState(tg, ip, types.TargetHealthStateEnumHealthy)
	}
}

func targets(ips ...string) []types.TargetDescription {
	out := make([]types.TargetDescription, len(ips))
	for i, ip := range ips {
		out[i] = types.TargetDescription{Id: aws.String(ip), Port: aws.Int32(8080)}
	}
	return out
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// must fails the test on an error: must(call(...))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func weightOf(tgs []types.TargetGroupTuple, arn string) int32 {
	for _, t := range tgs {
		if *t.TargetGroupArn == arn {
			return *t.Weight
		}
	}
	return -1
}
