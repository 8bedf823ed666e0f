package elbv2

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

const (
	initial   = types.TargetHealthStateEnumInitial
	healthy   = types.TargetHealthStateEnumHealthy
	unhealthy = types.TargetHealthStateEnumUnhealthy
	draining  = types.TargetHealthStateEnumDraining
	unused    = types.TargetHealthStateEnumUnused
)

func TestNewTargetIsInitialUntilOneCheckPasses(t *testing.T) {
	x := newFixture(t, Config{})
	x.register(x.stable, "10.0.0.1")
	if s, r := x.state(x.stable, "10.0.0.1"); s != initial || r != types.TargetHealthReasonEnumRegistrationInProgress {
		t.Fatalf("just registered: %s (%s), want initial (Elb.RegistrationInProgress)", s, r)
	}
	x.s.runFor(15 * time.Second) // the first check comes within one interval
	x.wantState(x.stable, "10.0.0.1", healthy)
	ev := x.events[len(x.events)-1]
	if ev.From != initial || ev.To != healthy || ev.Target != "10.0.0.1:8080" || ev.ARN != x.stable {
		t.Fatalf("last event %v, want initial -> healthy of 10.0.0.1:8080", ev)
	}
	if d := ev.At.Sub(epoch); d <= 0 || d > 15*time.Second {
		t.Fatalf("healthy after %v, want within the 15s interval", d)
	}
}

func TestNewTargetThatFailsBecomesUnhealthyAfterThreshold(t *testing.T) {
	x := newFixture(t, Config{})
	x.net.gone[key("10.0.0.1", 8080)] = true
	x.register(x.stable, "10.0.0.1")
	x.s.runFor(15 * time.Second)
	if s, r := x.state(x.stable, "10.0.0.1"); s != initial || r != types.TargetHealthReasonEnumInitialHealthChecking {
		t.Fatalf("after one failed check: %s (%s), want initial (Elb.InitialHealthChecking)", s, r)
	}
	x.s.runFor(15 * time.Second)
	if s, r := x.state(x.stable, "10.0.0.1"); s != unhealthy || r != types.TargetHealthReasonEnumFailedHealthChecks {
		t.Fatalf("after two failed checks: %s (%s), want unhealthy (Target.FailedHealthChecks)", s, r)
	}
}

func TestHealthyTargetTurnsUnhealthyAfterThresholdTimesIntervalAndRecovers(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.net.unhealthy[key("10.0.0.1", 8080)] = true
	// Unhealthy threshold 2: the first failing check comes within 15s, the second 15s later.
	x.s.runFor(15 * time.Second)
	x.wantState(x.stable, "10.0.0.1", healthy)
	x.s.runFor(15 * time.Second)
	x.wantState(x.stable, "10.0.0.1", unhealthy)

	// Healthy threshold 3: three passing checks in a row, so healthy within 45s, not 30s.
	x.net.unhealthy[key("10.0.0.1", 8080)] = false
	x.s.runFor(30 * time.Second)
	x.wantState(x.stable, "10.0.0.1", unhealthy)
	x.s.runFor(15 * time.Second)
	x.wantState(x.stable, "10.0.0.1", healthy)
}

func TestAFailedCheckBetweenPassesRestartsTheCount(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	k := key("10.0.0.1", 8080)
	x.net.unhealthy[k] = true
	x.s.runFor(30 * time.Second)
	x.wantState(x.stable, "10.0.0.1", unhealthy)
	x.net.unhealthy[k] = false
	x.s.runFor(30 * time.Second) // two passes
	x.net.unhealthy[k] = true
	x.s.runFor(15 * time.Second) // a failure
	x.net.unhealthy[k] = false
	x.s.runFor(30 * time.Second) // two passes again: still short of three in a row
	x.wantState(x.stable, "10.0.0.1", unhealthy)
	x.s.runFor(15 * time.Second)
	x.wantState(x.stable, "10.0.0.1", healthy)
}

func TestDeregisteredTargetDrainsForTheDelayThenIsGone(t *testing.T) {
	x := newFixture(t, Config{})
	must(x.f.ModifyTargetGroupAttributes(context.Background(), &elbv2.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(x.stable),
		Attributes:     []types.TargetGroupAttribute{{Key: aws.String(AttrDeregistrationDelay), Value: aws.String("30")}}}))(t)
	x.healthyTargets(x.stable, "10.0.0.1")
	x.deregister(x.stable, "10.0.0.1")
	if s, r := x.state(x.stable, "10.0.0.1"); s != draining || r != types.TargetHealthReasonEnumDeregistrationInProgress {
		t.Fatalf("deregistered: %s (%s), want draining (Target.DeregistrationInProgress)", s, r)
	}
	x.s.runFor(30*time.Second - time.Millisecond)
	x.wantState(x.stable, "10.0.0.1", draining)
	x.s.runFor(time.Millisecond)
	x.wantState(x.stable, "10.0.0.1", "")
	out := must(x.f.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(x.stable), Targets: targets("10.0.0.1")}))(t)
	if th := out.TargetHealthDescriptions[0].TargetHealth; th.State != unused || th.Reason != types.TargetHealthReasonEnumNotRegistered {
		t.Fatalf("asked for a gone target: %s (%s), want unused (Target.NotRegistered)", th.State, th.Reason)
	}
	if ev := x.events[len(x.events)-1]; ev.From != draining || ev.To != "" {
		t.Fatalf("last event %v, want draining -> gone", ev)
	}
}

func TestDefaultDeregistrationDelayIs300s(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.deregister(x.stable, "10.0.0.1")
	x.s.runFor(299 * time.Second)
	x.wantState(x.stable, "10.0.0.1", draining)
	x.s.runFor(time.Second)
	x.wantState(x.stable, "10.0.0.1", "")
}

func TestRegisteringADrainingTargetBringsItBack(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.deregister(x.stable, "10.0.0.1")
	x.s.runFor(10 * time.Second)
	x.register(x.stable, "10.0.0.1")
	x.wantState(x.stable, "10.0.0.1", initial)
	x.s.runFor(300 * time.Second) // the drain would have ended here
	x.wantState(x.stable, "10.0.0.1", healthy)
}

func TestRegisteringTwiceKeepsTheState(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	x.register(x.stable, "10.0.0.1", "10.0.0.2")
	x.wantState(x.stable, "10.0.0.1", healthy)
	x.wantState(x.stable, "10.0.0.2", initial)
}

func TestTargetsOfAGroupNoRuleUsesAreUnused(t *testing.T) {
	x := newFixture(t, Config{})
	other := x.targetGroup(x.f, "k8s-default-other-0a1b2c3d4e", "default/ingress-other:80")
	x.register(other, "10.0.1.1")
	if s, r := x.state(other, "10.0.1.1"); s != unused || r != types.TargetHealthReasonEnumNotInUse {
		t.Fatalf("in an unused group: %s (%s), want unused (Target.NotInUse)", s, r)
	}
	x.s.runFor(time.Minute) // no health checks while unused
	x.wantState(other, "10.0.1.1", unused)

	// A rule starts forwarding to it: checks start, the target goes initial then healthy.
	must(x.f.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule),
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(other)}}}))(t)
	x.wantState(other, "10.0.1.1", initial)
	x.s.runFor(15 * time.Second)
	x.wantState(other, "10.0.1.1", healthy)

	// The rule moves away again: unused, and deregistration is immediate.
	x.setWeights(100, 0)
	x.wantState(other, "10.0.1.1", unused)
	x.deregister(other, "10.0.1.1")
	x.wantState(other, "10.0.1.1", "")
}

func TestProberReasonsReachDescribeTargetHealth(t *testing.T) {
	x := newFixture(t, Config{})
	x.f.net = timeoutNet{x.net}
	x.register(x.stable, "10.0.0.1")
	x.s.runFor(30 * time.Second)
	if s, r := x.state(x.stable, "10.0.0.1"); s != unhealthy || r != types.TargetHealthReasonEnumTimeout {
		t.Fatalf("%s (%s), want unhealthy (Target.Timeout)", s, r)
	}
}

type timeoutNet struct{ *testNet }

func (timeoutNet) Probe(string, int32) (bool, types.TargetHealthReasonEnum) {
	return false, types.TargetHealthReasonEnumTimeout
}

func TestChangingTheIntervalRestartsTheChecker(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	must(x.f.ModifyTargetGroup(context.Background(), &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(x.stable),
		HealthCheckIntervalSeconds: aws.Int32(60), HealthCheckTimeoutSeconds: aws.Int32(10)}))(t)
	x.net.unhealthy[key("10.0.0.1", 8080)] = true
	x.s.runFor(60 * time.Second)
	x.wantState(x.stable, "10.0.0.1", healthy) // one failed check at most
	x.s.runFor(60 * time.Second)
	x.wantState(x.stable, "10.0.0.1", unhealthy)
}

func TestDescribeTargetHealthListsTargetsInAddressOrder(t *testing.T) {
	x := newFixture(t, Config{})
	x.register(x.stable, "10.0.0.10", "10.0.0.9", "10.0.0.100")
	out := must(x.f.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(x.stable)}))(t)
	var got []string
	for _, d := range out.TargetHealthDescriptions {
		got = append(got, *d.Target.Id)
		if *d.HealthCheckPort != "8080" {
			t.Fatalf("health-check port %s, want the traffic port 8080", *d.HealthCheckPort)
		}
	}
	if want := []string{"10.0.0.9", "10.0.0.10", "10.0.0.100"}; !equalStrings(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestInvalidTargets(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	_, err := x.f.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(x.stable), Targets: targets("i-0123")})
	if errorCode(err) != "InvalidTarget" {
		t.Fatalf("instance ID in an ip group: %v, want InvalidTarget", err)
	}
	_, err = x.f.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(x.stable)})
	if errorCode(err) != "ValidationError" {
		t.Fatalf("no targets: %v, want ValidationError", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
