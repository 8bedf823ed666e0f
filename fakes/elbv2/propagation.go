package elbv2

import (
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

// publish hands a listener's accepted configuration (its rules, default rule included) to the
// data plane. With a propagation delay it takes effect later, never before a change accepted
// earlier: several pending changes apply in the order they were made.
func (f *Fake) publish(l *listener) {
	snap := f.acceptedRules(l)
	now := f.now()
	at := now.Add(f.cfg.RulePropagation.Draw(f.rand))
	if at.Before(l.effectAt) {
		at = l.effectAt
	}
	l.effectAt = at
	if !at.After(now) && len(l.timers) == 0 {
		f.applyEffect(l, snap)
		return
	}
	var t sched.Timer
	t = f.after(at.Sub(now), "elbv2/rule-propagation", *l.desc.ListenerArn, func() {
		l.timers = filter(l.timers, func(x sched.Timer) bool { return x != t })
		if f.listeners[*l.desc.ListenerArn] == l {
			f.applyEffect(l, snap)
		}
	})
	l.timers = append(l.timers, t)
}

func (f *Fake) acceptedRules(l *listener) []types.Rule {
	rules := f.rulesOf(l)
	out := make([]types.Rule, len(rules))
	for i, r := range rules {
		out[i] = clone(r.desc)
	}
	return out
}

func (f *Fake) applyEffect(l *listener, rules []types.Rule) {
	l.effective, l.live = rules, true
	f.emit(Event{Kind: EventConfigInEffect, ARN: *l.desc.ListenerArn})
	f.refreshUsage()
}

// refreshUsage marks the target groups a rule in effect forwards to as in use. Targets of a
// group that starts being used are checked from scratch; those of a group no longer used are
// unused (draining ones finish draining).
func (f *Fake) refreshUsage() {
	used := map[string]bool{}
	for _, l := range f.listeners {
		for _, r := range l.effective {
			for _, a := range r.Actions {
				for _, arn := range forwardGroups(a) {
					used[arn] = true
				}
			}
		}
	}
	for _, g := range f.sortedTGs() {
		if used[g.arn()] == g.inUse {
			continue
		}
		g.inUse = used[g.arn()]
		s, r := g.freshState()
		for _, t := range g.sortedTargets() {
			if t.state != types.TargetHealthStateEnumDraining {
				f.setState(g, t, s, r)
			}
		}
		f.ensureChecker(g)
	}
}

// InEffect returns the rules the data plane of a listener uses now, in evaluation order (nil if
// the listener is unknown or its first configuration has not taken effect yet).
func (f *Fake) InEffect(listenerArn string) []types.Rule {
	f.lock()
	defer f.unlock()
	l := f.listeners[listenerArn]
	if l == nil || !l.live {
		return nil
	}
	return clone(l.effective)
}

// PendingChanges is how many accepted changes of a listener have not taken effect yet.
func (f *Fake) PendingChanges(listenerArn string) int {
	f.lock()
	defer f.unlock()
	if l := f.listeners[listenerArn]; l != nil {
		return len(l.timers)
	}
	return 0
}
