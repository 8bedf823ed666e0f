package elbv2

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// setState moves a target to a state (counters restart) and reports the transition; a new
// reason within the same state keeps the counters and is not reported.
func (f *Fake) setState(g *targetGroup, t *target, s types.TargetHealthStateEnum, r types.TargetHealthReasonEnum) {
	if t.state == s {
		t.reason = r
		return
	}
	from := t.state
	t.state, t.reason, t.since, t.passes, t.fails = s, r, f.now(), 0, 0
	f.emit(Event{Kind: EventTargetState, ARN: g.arn(), Target: t.key.String(), From: from, To: s, Reason: r})
}

func (g *targetGroup) interval() time.Duration {
	return time.Duration(*g.desc.HealthCheckIntervalSeconds) * time.Second
}

// checked reports whether a target takes part in health checks.
func checked(t *target) bool {
	switch t.state {
	case types.TargetHealthStateEnumInitial, types.TargetHealthStateEnumHealthy, types.TargetHealthStateEnumUnhealthy:
		return true
	}
	return false
}

// ensureChecker runs the group's health checker while a rule in effect uses the group and it has
// targets to check. A starting checker makes its first round after a random phase within the
// interval, as the checks of real load balancer nodes are not aligned with registrations.
func (f *Fake) ensureChecker(g *targetGroup) {
	need := g.inUse && anyOf(g.sortedTargets(), checked)
	switch {
	case need && g.checker == nil:
		ms := int64(g.interval() / time.Millisecond)
		f.scheduleCheck(g, time.Duration(1+f.rand.Int64N(ms))*time.Millisecond)
	case !need:
		f.stopChecker(g)
	}
}

func (f *Fake) scheduleCheck(g *targetGroup, d time.Duration) {
	gen := g.gen
	g.checker = f.after(d, "elbv2/health-check", g.arn(), func() {
		if f.tgs[g.arn()] == g && g.gen == gen {
			f.runChecks(g)
		}
	})
}

func (f *Fake) stopChecker(g *targetGroup) {
	if g.checker != nil {
		g.checker.Cancel()
		g.checker = nil
	}
	g.gen++
}

// runChecks is one round of health checks over the group's targets, in address order.
func (f *Fake) runChecks(g *targetGroup) {
	g.checker = nil
	for _, t := range g.sortedTargets() {
		if checked(t) {
			ok, reason := f.probe(g, t)
			f.judge(g, t, ok, reason)
		}
	}
	if g.inUse && anyOf(g.sortedTargets(), checked) {
		f.scheduleCheck(g, g.interval())
	}
}

func (f *Fake) probe(g *targetGroup, t *target) (bool, types.TargetHealthReasonEnum) {
	port := g.checkPort(t.key)
	switch n := f.net.(type) {
	case nil:
		return false, types.TargetHealthReasonEnumTimeout
	case Prober:
		ok, reason := n.Probe(t.key.id, port)
		if !ok && reason == "" {
			reason = types.TargetHealthReasonEnumFailedHealthChecks
		}
		return ok, reason
	default:
		if n.HealthCheck(t.key.id, port) {
			return true, ""
		}
		return false, types.TargetHealthReasonEnumFailedHealthChecks
	}
}

// judge applies one check's outcome: a new target is healthy after one pass; a healthy or new
// target is unhealthy after UnhealthyThresholdCount failures in a row; an unhealthy one is
// healthy again after HealthyThresholdCount passes in a row.
func (f *Fake) judge(g *targetGroup, t *target, ok bool, reason types.TargetHealthReasonEnum) {
	unhealthyAfter, healthyAfter := int(*g.desc.UnhealthyThresholdCount), int(*g.desc.HealthyThresholdCount)
	switch t.state {
	case types.TargetHealthStateEnumInitial:
		if ok {
			f.setState(g, t, types.TargetHealthStateEnumHealthy, "")
			return
		}
		t.reason = types.TargetHealthReasonEnumInitialHealthChecking
		if t.fails++; t.fails >= unhealthyAfter {
			f.setState(g, t, types.TargetHealthStateEnumUnhealthy, reason)
		}
	case types.TargetHealthStateEnumHealthy:
		if ok {
			t.fails = 0
			return
		}
		if t.fails++; t.fails >= unhealthyAfter {
			f.setState(g, t, types.TargetHealthStateEnumUnhealthy, reason)
		}
	case types.TargetHealthStateEnumUnhealthy:
		if !ok {
			t.passes, t.reason = 0, reason
			return
		}
		if t.passes++; t.passes >= healthyAfter {
			f.setState(g, t, types.TargetHealthStateEnumHealthy, "")
		}
	}
}
