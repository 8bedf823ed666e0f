package awslbc

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

// The kinds of Event.
const (
	EventReconciled   EventKind = "reconciled"     // an Ingress reconcile finished; Message says what changed
	EventCreated      EventKind = "created"        // a load balancer, target group or binding was created
	EventUpdated      EventKind = "updated"        // ... or had its settings changed
	EventDeleted      EventKind = "deleted"        // ... or deleted
	EventRulesChanged EventKind = "rules-changed"  // a listener rule or default action was created or changed
	EventRegistered   EventKind = "registered"     // Targets were registered in the target group Resource
	EventDeregistered EventKind = "deregistered"   // Targets were deregistered (they drain)
	EventGateSet      EventKind = "readiness-gate" // a pod's target-health condition changed
	EventGateInjected EventKind = "gate-injected"  // the webhook added readiness gates to a new pod
	EventThrottled    EventKind = "throttled"      // a call waits Delay for a client-side token
	EventBackoff      EventKind = "backoff"        // a reconcile failed (Message); retried after Delay
	EventMissed       EventKind = "missed"         // a change will not be reconciled until the next change or resync
	EventDown         EventKind = "down"           // the controller stopped
	EventUp           EventKind = "up"             // the controller is back and lists the world again
)

// Event is one thing the controller did, at virtual time At.
type Event struct {
	At       time.Time
	Kind     EventKind
	Object   string   // "ns/name" of the Ingress, binding or pod concerned
	Resource string   // the AWS ARN or binding name acted on
	Targets  []string // "ip:port"
	Delay    time.Duration
	Message  string
}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.At.UTC().Format("15:04:05.000"), e.Kind)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	if e.Resource != "" {
		b.WriteString(" " + e.Resource)
	}
	if len(e.Targets) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(e.Targets, " "))
	}
	if e.Delay > 0 {
		fmt.Fprintf(&b, " after %s", e.Delay)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Stats counts what the controller did.
type Stats struct {
	IngressReconciles int
	BindingReconciles int
	Registered        int // targets registered
	Deregistered      int // targets deregistered
	GatesSet          int // pod target-health condition writes
	GatesInjected     int // pods that got readiness gates from the webhook
	ThrottledWaits    int // calls that waited for a client-side token
	Failures          int // reconciles that failed with an AWS or API error
	AWSThrottled      int // ... of which AWS throttled
	Missed            int // changes left to the next change or resync
	Calls             map[string]int
}

func (s Stats) clone() Stats {
	s.Calls = maps.Clone(s.Calls)
	if s.Calls == nil {
		s.Calls = map[string]int{}
	}
	return s
}

// OnEvent registers a hook called with every Event, in order.
func (c *Controller) OnEvent(fn func(Event)) { c.hooks = append(c.hooks, fn) }

// Stats returns the counters so far; Calls counts the AWS calls made, by operation.
func (c *Controller) Stats() Stats { return c.stats.clone() }

func (c *Controller) emit(e Event) {
	e.At = c.now()
	for _, h := range c.hooks {
		h(e)
	}
}
