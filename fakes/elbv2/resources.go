package elbv2

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

// The account the fake lives in.
const (
	Region    = "us-east-1"
	Account   = "123456789012"
	VpcID     = "vpc-0a1b2c3d4e5f60718"
	arnPrefix = "arn:aws:elasticloadbalancing:" + Region + ":" + Account + ":"
	// hostedZone is the canonical hosted zone of ALBs in us-east-1.
	hostedZone = "Z35SXDOTRQ7X7K"
)

type loadBalancer struct {
	seq       int
	desc      types.LoadBalancer
	id        string   // the ARN's last segment
	listeners []string // ARNs in creation order
}

type listener struct {
	seq         int
	desc        types.Listener // without DefaultActions: those live in the default rule
	rulePrefix  string         // ARN prefix of its rules
	rules       []string       // ARNs, default rule first, then creation order
	defaultRule string

	effective []types.Rule  // the configuration the data plane uses, in evaluation order
	live      bool          // effective holds a configuration (a new listener has none yet)
	effectAt  time.Time     // when the last accepted change takes effect
	timers    []sched.Timer // changes accepted, not yet in effect
}

type rule struct {
	seq      int
	listener string
	desc     types.Rule
}

type targetGroup struct {
	seq     int
	desc    types.TargetGroup
	attrs   map[string]string
	targets map[targetKey]*target
	inUse   bool // a rule in effect forwards to it
	checker sched.Timer
	gen     int // bumped when the checker restarts, so a stale tick does nothing
}

func (g *targetGroup) arn() string { return *g.desc.TargetGroupArn }

type resourceKind int

const (
	kindUnknown resourceKind = iota
	kindLoadBalancer
	kindListener
	kindRule
	kindTargetGroup
)

// kindOf tells which kind of resource an ARN names, from its resource part.
func kindOf(arn string) resourceKind {
	rest, ok := strings.CutPrefix(arn, "arn:aws:elasticloadbalancing:")
	if !ok {
		return kindUnknown
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 {
		return kindUnknown
	}
	res := parts[2]
	switch {
	case strings.HasPrefix(res, "loadbalancer/"):
		return kindLoadBalancer
	case strings.HasPrefix(res, "listener/"):
		return kindListener
	case strings.HasPrefix(res, "listener-rule/"):
		return kindRule
	case strings.HasPrefix(res, "targetgroup/"):
		return kindTargetGroup
	}
	return kindUnknown
}

// newID returns a 16-hex-digit resource ID derived from what it names and the creation counter,
// so IDs are unique, look like AWS's and replay identically.
func (f *Fake) newID(kind, name string) (string, uint64) {
	f.seq++
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", kind, name, f.seq)
	sum := h.Sum64()
	return fmt.Sprintf("%016x", sum), sum
}

// validName checks an LB or TG name: up to 32 alphanumerics or hyphens, no hyphen at either end.
func validName(what, name string) error {
	if name == "" || len(name) > 32 || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
		return invalid("%s name '%s' must have 1 to 32 characters and not begin or end with a hyphen", what, name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return invalid("%s name '%s' can contain only alphanumeric characters and hyphens", what, name)
		}
	}
	return nil
}

// exists reports whether an ARN names a live resource.
func (f *Fake) exists(arn string) bool {
	_, ok := f.tags[arn]
	return ok
}

// tagsOf returns a resource's tags sorted by key.
func (f *Fake) tagsOf(arn string) []types.Tag {
	m := f.tags[arn]
	out := make([]types.Tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, types.Tag{Key: ptr(k), Value: ptr(m[k])})
	}
	return out
}

// checkTags validates the tags of one call: at most 50, no key twice.
func checkTags(tags []types.Tag) error {
	if len(tags) > 50 {
		return &types.TooManyTagsException{Message: msg("A resource can have at most 50 tags")}
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == nil || *t.Key == "" || len(*t.Key) > 128 {
			return invalid("Tag keys must have 1 to 128 characters")
		}
		if seen[*t.Key] {
			return &types.DuplicateTagKeysException{Message: msg("Tag key '%s' is specified more than once", *t.Key)}
		}
		seen[*t.Key] = true
	}
	return nil
}

func (f *Fake) setTags(arn string, tags []types.Tag) {
	m := f.tags[arn]
	if m == nil {
		m = map[string]string{}
		f.tags[arn] = m
	}
	for _, t := range tags {
		m[*t.Key] = deref(t.Value)
	}
}

// Sorted listings of the resources, in creation order.

func (f *Fake) sortedLBs() []*loadBalancer {
	out := make([]*loadBalancer, 0, len(f.lbs))
	for _, lb := range f.lbs {
		out = append(out, lb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (f *Fake) sortedTGs() []*targetGroup {
	out := make([]*targetGroup, 0, len(f.tgs))
	for _, g := range f.tgs {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// rulesOf lists a listener's accepted rules in evaluation order: by priority, default last.
func (f *Fake) rulesOf(l *listener) []*rule {
	out := make([]*rule, 0, len(l.rules))
	for _, arn := range l.rules {
		out = append(out, f.rules[arn])
	}
	sort.SliceStable(out, func(i, j int) bool { return priorityOf(out[i].desc) < priorityOf(out[j].desc) })
	return out
}

// priorityOf orders rules; the default rule comes last.
func priorityOf(r types.Rule) int {
	if n, err := strconv.Atoi(deref(r.Priority)); err == nil {
		return n
	}
	return 1 << 30
}

// lbsOfTG lists the load balancers whose accepted rules forward to a target group.
func (f *Fake) lbsOfTG(arn string) []string {
	set := map[string]bool{}
	for _, r := range f.rules {
		for _, a := range r.desc.Actions {
			for _, tg := range forwardGroups(a) {
				if tg == arn {
					set[*f.listeners[r.listener].desc.LoadBalancerArn] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
