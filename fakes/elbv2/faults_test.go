package elbv2

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/rolloutlab/rolloutlab/sim/dist"
)

func (x *fixture) describe(api API) error {
	_, err := api.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(x.stable)})
	return err
}

func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

func TestTokenBucketThrottlesAndRefillsOnTheVirtualClock(t *testing.T) {
	x := newFixture(t, Config{Describe: Bucket{Rate: 2, Burst: 3}})
	x.s.runFor(time.Hour) // refill after the fixture's own calls
	for i := 0; i < 3; i++ {
		if err := x.describe(x.f); err != nil {
			t.Fatalf("call %d of a burst of 3: %v", i+1, err)
		}
	}
	err := x.describe(x.f)
	if errorCode(err) != "Throttling" || !isThrottle(err) {
		t.Fatalf("4th call: %v, want a Throttling error the SDK retries as a throttle", err)
	}
	// Other classes have their own buckets.
	x.register(x.stable, "10.0.0.1")
	x.s.runFor(499 * time.Millisecond)
	if err := x.describe(x.f); err == nil {
		t.Fatal("499ms later: no token yet at 2 per second, want throttled")
	}
	x.s.runFor(time.Millisecond)
	if err := x.describe(x.f); err != nil {
		t.Fatalf("500ms later: %v, want one token", err)
	}
	x.s.runFor(time.Hour) // refills to the burst, not beyond
	n := 0
	for x.describe(x.f) == nil {
		n++
	}
	if n != 3 {
		t.Fatalf("after an idle hour %d calls passed, want the burst of 3", n)
	}
}

func TestBucketsAreSharedByTheAccountUnlessPerCaller(t *testing.T) {
	for _, perCaller := range []bool{false, true} {
		x := newFixture(t, Config{Describe: Bucket{Rate: 1, Burst: 2}, PerCaller: perCaller})
		x.s.runFor(time.Hour)
		argo, lbc := x.f.WithCaller("argo"), x.f.WithCaller("lbc")
		_ = x.describe(lbc)
		_ = x.describe(lbc)
		err := x.describe(argo)
		if throttled := err != nil; throttled == perCaller {
			t.Fatalf("PerCaller=%v: argo after lbc used the burst: %v", perCaller, err)
		}
	}
}

func TestForcedThrottling(t *testing.T) {
	x := newFixture(t, Config{})
	x.f.Throttle(10 * time.Second)
	if err := x.describe(x.f); !isThrottle(err) {
		t.Fatalf("in the window: %v, want throttled", err)
	}
	x.s.runFor(10 * time.Second)
	if err := x.describe(x.f); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	x.f.SetThrottled(true)
	x.s.runFor(time.Hour)
	if err := x.describe(x.f); !isThrottle(err) {
		t.Fatalf("SetThrottled(true): %v, want throttled", err)
	}
	x.f.SetThrottled(false)
	if err := x.describe(x.f); err != nil {
		t.Fatalf("SetThrottled(false): %v", err)
	}
}

func TestInjectedErrors(t *testing.T) {
	x := newFixture(t, Config{})
	x.f.SetErrorRate("DescribeTargetHealth", 1000, "InternalFailure")
	if err := x.describe(x.f); errorCode(err) != "InternalFailure" {
		t.Fatalf("%v, want InternalFailure", err)
	}
	if _, err := x.f.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(x.listener)}); err != nil {
		t.Fatalf("another operation: %v", err)
	}
	x.f.SetErrorRate("DescribeTargetHealth", 0, "")
	x.f.SetErrorRate("*", 250, "ServiceUnavailable")
	failed := 0
	for i := 0; i < 2000; i++ {
		if err := x.describe(x.f); err != nil {
			failed++
		}
	}
	if failed < 400 || failed > 600 {
		t.Fatalf("%d of 2000 failed at 250 per mille, want about 500", failed)
	}
	// An injected fault fails the call before it runs.
	x.f.SetErrorRate("*", 1000, "InternalFailure")
	_, _ = x.f.RegisterTargets(context.Background(), &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(x.stable), Targets: targets("10.0.0.1")})
	x.f.SetErrorRate("*", 0, "")
	x.wantState(x.stable, "10.0.0.1", "")
}

func TestCallsAreCountedByCallerOperationAndOutcome(t *testing.T) {
	x := newFixture(t, Config{Describe: Bucket{Rate: 1, Burst: 1}})
	x.s.runFor(time.Hour)
	argo := x.f.WithCaller("argo")
	_ = x.describe(argo)
	_ = x.describe(argo) // throttled
	x.s.runFor(time.Second)
	_, _ = argo.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String("nope")})
	x.f.SetErrorRate("DescribeTargetHealth", 1000, "InternalFailure")
	x.s.runFor(time.Second)
	_ = x.describe(argo)
	var got *CallStat
	for _, c := range x.f.Calls() {
		if c.Caller == "argo" && c.Op == "DescribeTargetHealth" {
			got = &c
		}
	}
	want := CallStat{Caller: "argo", Op: "DescribeTargetHealth", OK: 1, Errors: 1, Throttled: 1, Injected: 1}
	if got == nil || *got != want {
		t.Fatalf("calls %+v, want %+v", got, want)
	}
	if c := x.f.Calls()[0]; c.Caller != "" || c.Op != "CreateListener" || c.OK != 1 {
		t.Fatalf("first entry %+v, want the fixture's CreateListener by the anonymous caller", c)
	}
}

func TestPerMilleInjectionIsDeterministic(t *testing.T) {
	run := func() []bool {
		x := newFixture(t, Config{})
		x.f.SetErrorRate("*", dist.PerMille(300), "InternalFailure")
		var out []bool
		for i := 0; i < 50; i++ {
			out = append(out, x.describe(x.f) != nil)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d differs between two runs of the same seed", i)
		}
	}
}
