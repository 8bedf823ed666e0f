package elbv2

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// EventKind says what an Event reports.
type EventKind string

// The kinds of Event.
const (
	// EventTargetState: a target changed state. From is empty for a new registration, To for a
	// target gone after deregistration.
	EventTargetState EventKind = "target-state"
	// EventConfigInEffect: a listener's accepted configuration reached the data plane.
	EventConfigInEffect EventKind = "config-in-effect"
)

// Event is a state change of the model, at virtual time At.
type Event struct {
	At     time.Time
	Kind   EventKind
	ARN    string // the target group (target-state) or listener (config-in-effect)
	Target string // "id:port"
	From   types.TargetHealthStateEnum
	To     types.TargetHealthStateEnum
	Reason types.TargetHealthReasonEnum
}

func (e Event) String() string {
	if e.Kind == EventTargetState {
		from, to := string(e.From), string(e.To)
		if from == "" {
			from = "registered"
		}
		if to == "" {
			to = "gone"
		}
		s := fmt.Sprintf("%s %s %s: %s -> %s", e.Kind, e.ARN, e.Target, from, to)
		if e.Reason != "" {
			s += " (" + string(e.Reason) + ")"
		}
		return s
	}
	return fmt.Sprintf("%s %s", e.Kind, e.ARN)
}

// Snapshot is the whole model at one virtual time, sorted, for invariants and reports.
type Snapshot struct {
	At            time.Time
	LoadBalancers []LoadBalancerView
	TargetGroups  []TargetGroupView
}

// LoadBalancerView is a load balancer with its listeners, in creation order.
type LoadBalancerView struct {
	ARN, Name, DNSName string
	Listeners          []ListenerView
}

// ListenerView holds a listener's rules as accepted (what Describe shows) and in effect (what
// the data plane uses), both in evaluation order.
type ListenerView struct {
	ARN                string
	Port               int32
	Protocol           string
	Accepted, InEffect []RuleView
	Pending            int // accepted changes not in effect yet
}

// RuleView is a rule reduced to what routing depends on.
type RuleView struct {
	ARN, Priority string
	Conditions    []string // "field=value,value"
	Action        string   // the terminal action's type
	Forward       []Weight // target groups of a forward action
	StatusCode    string   // of a fixed-response or redirect action
}

// Weight is a target group's weight in a forward action.
type Weight struct {
	TargetGroupArn string
	Weight         int32
}

// TargetGroupView is a target group with its targets in address order.
type TargetGroupView struct {
	ARN, Name string
	Port      int32
	InUse     bool // a rule in effect forwards to it
	Tags      map[string]string
	Targets   []TargetView
}

// TargetView is a target's state as DescribeTargetHealth reports it, and since when.
type TargetView struct {
	ID     string
	Port   int32
	State  types.TargetHealthStateEnum
	Reason types.TargetHealthReasonEnum
	Since  time.Time
}

// Snapshot returns the model's current state.
func (f *Fake) Snapshot() Snapshot {
	f.lock()
	defer f.unlock()
	s := Snapshot{At: f.now()}
	for _, lb := range f.sortedLBs() {
		v := LoadBalancerView{ARN: *lb.desc.LoadBalancerArn, Name: *lb.desc.LoadBalancerName, DNSName: *lb.desc.DNSName}
		for _, arn := range lb.listeners {
			l := f.listeners[arn]
			lv := ListenerView{ARN: arn, Port: *l.desc.Port, Protocol: string(l.desc.Protocol), Pending: len(l.timers),
				Accepted: ruleViews(f.acceptedRules(l)), InEffect: ruleViews(l.effective)}
			v.Listeners = append(v.Listeners, lv)
		}
		s.LoadBalancers = append(s.LoadBalancers, v)
	}
	for _, g := range f.sortedTGs() {
		v := TargetGroupView{ARN: g.arn(), Name: *g.desc.TargetGroupName, Port: *g.desc.Port, InUse: g.inUse,
			Tags: clone(f.tags[g.arn()])}
		for _, t := range g.sortedTargets() {
			v.Targets = append(v.Targets, TargetView{ID: t.key.id, Port: t.key.port, State: t.state, Reason: t.reason, Since: t.since})
		}
		s.TargetGroups = append(s.TargetGroups, v)
	}
	return s
}

func ruleViews(rules []types.Rule) []RuleView {
	out := make([]RuleView, 0, len(rules))
	for _, r := range rules {
		v := RuleView{ARN: deref(r.RuleArn), Priority: deref(r.Priority)}
		for _, c := range r.Conditions {
			v.Conditions = append(v.Conditions, conditionString(c))
		}
		if a, ok := terminalAction(r.Actions); ok {
			v.Action = string(a.Type)
			if a.ForwardConfig != nil {
				for _, t := range a.ForwardConfig.TargetGroups {
					v.Forward = append(v.Forward, Weight{TargetGroupArn: deref(t.TargetGroupArn), Weight: deref(t.Weight)})
				}
			}
			if a.FixedResponseConfig != nil {
				v.StatusCode = deref(a.FixedResponseConfig.StatusCode)
			}
			if a.RedirectConfig != nil {
				v.StatusCode = string(a.RedirectConfig.StatusCode)
			}
		}
		out = append(out, v)
	}
	return out
}

func conditionString(c types.RuleCondition) string {
	vals := c.Values
	if h := c.HttpHeaderConfig; h != nil {
		return deref(c.Field) + "=" + deref(h.HttpHeaderName) + ":" + strings.Join(h.Values, ",")
	}
	return deref(c.Field) + "=" + strings.Join(vals, ",")
}

// ServingWithoutHealthy lists the target groups that a rule in effect gives weight > 0 while
// none of their targets is healthy: requests there go to unhealthy targets (fail open) or 503.
func (s Snapshot) ServingWithoutHealthy() []string {
	healthy := map[string]bool{}
	for _, g := range s.TargetGroups {
		for _, t := range g.Targets {
			if t.State == types.TargetHealthStateEnumHealthy {
				healthy[g.ARN] = true
			}
		}
	}
	bad := map[string]bool{}
	for _, lb := range s.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, r := range l.InEffect {
				for _, w := range r.Forward {
					if w.Weight > 0 && !healthy[w.TargetGroupArn] {
						bad[w.TargetGroupArn] = true
					}
				}
			}
		}
	}
	return sortedKeys(bad)
}

// NotReady says why the load balancers of s cannot serve every request ("" when they can): there
// is none, a listener has no rules in effect or changes still pending, or a target group that
// rules in effect forward to has no healthy target (named by name).
func (s Snapshot) NotReady(name func(arn string) string) string {
	if len(s.LoadBalancers) == 0 {
		return "no load balancer yet"
	}
	for _, lb := range s.LoadBalancers {
		if len(lb.Listeners) == 0 {
			return lb.Name + " has no listener yet"
		}
		for _, l := range lb.Listeners {
			if l.Pending > 0 || len(l.InEffect) == 0 {
				return fmt.Sprintf("listener %d of %s: rules not in effect yet", l.Port, lb.Name)
			}
		}
	}
	bad := s.ServingWithoutHealthy()
	if len(bad) == 0 {
		return ""
	}
	for i, arn := range bad {
		bad[i] = name(arn)
	}
	return "no healthy target in " + strings.Join(bad, ", ")
}

// Shares is the percentage of its forward rule's requests that each target group (named by
// name) gets from the rules in effect; a group in several rules keeps its largest share.
func (s Snapshot) Shares(name func(arn string) string) map[string]int32 {
	out := map[string]int32{}
	for _, lb := range s.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, r := range l.InEffect {
				var sum int64
				for _, f := range r.Forward {
					sum += int64(f.Weight)
				}
				for _, f := range r.Forward {
					share := int32(0)
					if sum > 0 {
						share = int32((int64(f.Weight)*100 + sum/2) / sum)
					}
					if n := name(f.TargetGroupArn); share >= out[n] {
						out[n] = share
					}
				}
			}
		}
	}
	return out
}
