package elbv2

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

type targetKey struct {
	id   string
	port int32
}

func (k targetKey) String() string { return k.id + ":" + strconv.Itoa(int(k.port)) }

// less orders targets by address (numerically when both are IPs), then port.
func (k targetKey) less(o targetKey) bool {
	if k.id != o.id {
		a, errA := netip.ParseAddr(k.id)
		b, errB := netip.ParseAddr(o.id)
		if errA == nil && errB == nil {
			return a.Less(b)
		}
		return k.id < o.id
	}
	return k.port < o.port
}

type target struct {
	key    targetKey
	az     *string
	state  types.TargetHealthStateEnum
	reason types.TargetHealthReasonEnum
	since  time.Time
	passes int // consecutive passed checks while unhealthy
	fails  int // consecutive failed checks while initial or healthy
	drain  sched.Timer
}

func (g *targetGroup) sortedTargets() []*target {
	out := make([]*target, 0, len(g.targets))
	for _, t := range g.targets {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key.less(out[j].key) })
	return out
}

// keysOf validates the targets of a call; a target without a port uses the group's.
func (g *targetGroup) keysOf(ts []types.TargetDescription) ([]targetKey, error) {
	if len(ts) == 0 {
		return nil, invalid("Targets must not be empty")
	}
	keys := make([]targetKey, len(ts))
	for i, t := range ts {
		id := deref(t.Id)
		bad := false
		if g.desc.TargetType == types.TargetTypeEnumIp {
			_, err := netip.ParseAddr(id)
			bad = err != nil
		} else {
			bad = !strings.HasPrefix(id, "i-")
		}
		if bad {
			return nil, &types.InvalidTargetException{Message: msg("The target '%s' is not a valid %s target", id, g.desc.TargetType)}
		}
		port := *g.desc.Port
		if t.Port != nil {
			port = *t.Port
		}
		if port < 1 || port > 65535 {
			return nil, invalid("Target port must be between 1 and 65535")
		}
		keys[i] = targetKey{id: id, port: port}
	}
	return keys, nil
}

func (f *Fake) registerTargets(in *elbv2.RegisterTargetsInput) (*elbv2.RegisterTargetsOutput, error) {
	g := f.tgs[deref(in.TargetGroupArn)]
	if g == nil {
		return nil, errTargetGroupNotFound(deref(in.TargetGroupArn))
	}
	keys, err := g.keysOf(in.Targets)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		t := g.targets[k]
		switch {
		case t == nil:
			t = &target{key: k, az: clone(in.Targets[i].AvailabilityZone)}
			g.targets[k] = t
		case t.state == types.TargetHealthStateEnumDraining:
			// Registering a draining target takes it back, as a new registration.
			t.drain.Cancel()
			t.drain = nil
		default:
			continue // already registered: AWS's register is idempotent
		}
		s, r := g.freshState()
		f.setState(g, t, s, r)
	}
	f.ensureChecker(g)
	return &elbv2.RegisterTargetsOutput{}, nil
}

// freshState is the state of a new registration: initial, or unused if no rule uses the group.
func (g *targetGroup) freshState() (types.TargetHealthStateEnum, types.TargetHealthReasonEnum) {
	if g.inUse {
		return types.TargetHealthStateEnumInitial, types.TargetHealthReasonEnumRegistrationInProgress
	}
	return types.TargetHealthStateEnumUnused, types.TargetHealthReasonEnumNotInUse
}

func (f *Fake) deregisterTargets(in *elbv2.DeregisterTargetsInput) (*elbv2.DeregisterTargetsOutput, error) {
	g := f.tgs[deref(in.TargetGroupArn)]
	if g == nil {
		return nil, errTargetGroupNotFound(deref(in.TargetGroupArn))
	}
	keys, err := g.keysOf(in.Targets)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if t := g.targets[k]; t != nil && t.state != types.TargetHealthStateEnumDraining {
			f.drainTarget(g, t)
		}
	}
	f.ensureChecker(g)
	return &elbv2.DeregisterTargetsOutput{}, nil
}

// drainTarget starts a target's deregistration: draining for the group's delay, then gone. A
// group no rule uses has no connections to drain.
func (f *Fake) drainTarget(g *targetGroup, t *target) {
	d := g.deregistrationDelay()
	if !g.inUse || d == 0 {
		f.removeTarget(g, t)
		return
	}
	f.setState(g, t, types.TargetHealthStateEnumDraining, types.TargetHealthReasonEnumDeregistrationInProgress)
	t.drain = f.after(d, "elbv2/deregistered", g.arn()+" "+t.key.String(), func() {
		if f.tgs[g.arn()] == g && g.targets[t.key] == t {
			f.removeTarget(g, t)
		}
	})
}

func (f *Fake) removeTarget(g *targetGroup, t *target) {
	if t.drain != nil {
		t.drain.Cancel()
	}
	delete(g.targets, t.key)
	f.emit(Event{Kind: EventTargetState, ARN: g.arn(), Target: t.key.String(), From: t.state})
}

func (f *Fake) describeTargetHealth(in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	g := f.tgs[deref(in.TargetGroupArn)]
	if g == nil {
		return nil, errTargetGroupNotFound(deref(in.TargetGroupArn))
	}
	out := &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []types.TargetHealthDescription{}}
	if len(in.Targets) == 0 {
		for _, t := range g.sortedTargets() {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, g.healthOf(t.key, t.az, t.state, t.reason))
		}
		return out, nil
	}
	keys, err := g.keysOf(in.Targets)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		d := g.healthOf(k, in.Targets[i].AvailabilityZone, types.TargetHealthStateEnumUnused, types.TargetHealthReasonEnumNotRegistered)
		if t := g.targets[k]; t != nil {
			d = g.healthOf(k, t.az, t.state, t.reason)
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}
	return out, nil
}

// reasonText are the descriptions AWS gives with each reason.
var reasonText = map[types.TargetHealthReasonEnum]string{
	types.TargetHealthReasonEnumRegistrationInProgress:   "Target registration is in progress",
	types.TargetHealthReasonEnumInitialHealthChecking:    "Initial health checks in progress",
	types.TargetHealthReasonEnumFailedHealthChecks:       "Health checks failed",
	types.TargetHealthReasonEnumTimeout:                  "Request timed out",
	types.TargetHealthReasonEnumResponseCodeMismatch:     "Health checks failed with an unexpected response code",
	types.TargetHealthReasonEnumNotRegistered:            "Target is not registered to the target group",
	types.TargetHealthReasonEnumNotInUse:                 "Target group is not configured to receive traffic from the load balancer",
	types.TargetHealthReasonEnumDeregistrationInProgress: "Target deregistration is in progress",
}

func (g *targetGroup) healthOf(k targetKey, az *string, s types.TargetHealthStateEnum, r types.TargetHealthReasonEnum) types.TargetHealthDescription {
	th := &types.TargetHealth{State: s}
	if r != "" {
		th.Reason = r
		th.Description = ptr(reasonText[r])
	}
	return types.TargetHealthDescription{
		Target:          &types.TargetDescription{Id: ptr(k.id), Port: ptr(k.port), AvailabilityZone: clone(az)},
		HealthCheckPort: ptr(strconv.Itoa(int(g.checkPort(k)))),
		TargetHealth:    th,
	}
}

// checkPort is the port a target's health checks go to.
func (g *targetGroup) checkPort(k targetKey) int32 {
	if n, err := strconv.Atoi(deref(g.desc.HealthCheckPort)); err == nil {
		return int32(n)
	}
	return k.port // traffic-port
}
