package scenario

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// parseAWS reads world.aws: its presence gives the world a cloud (ELBv2 and the AWS Load
// Balancer Controller); its keys change the defaults.
func parseAWS(n *yaml.Node, p string) (*sim.AWSConfig, error) {
	cfg := sim.DefaultAWSConfig()
	if n.Kind == yaml.ScalarNode && (n.Value == "" || n.Tag == "!!null") {
		return &cfg, nil
	}
	es, err := fields(n, p, "lbcLag", "lbcWatchDelay", "lbcMissedReconcile", "lbcResync", "rulePropagation",
		"readinessGates", "targetsBeforeRules", "perCallerThrottling", "lbcThrottles")
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "lbcLag":
			cfg.LBC.ReconcileLag, err = delay(e.value, fp)
		case "lbcWatchDelay":
			cfg.LBCWatchDelay, err = delay(e.value, fp)
		case "lbcMissedReconcile":
			cfg.LBC.MissedReconcile, err = probability(e.value, fp)
		case "lbcResync":
			cfg.LBC.Resync, err = duration(e.value, fp)
		case "rulePropagation":
			cfg.ELBv2.RulePropagation, err = delay(e.value, fp)
		case "readinessGates":
			cfg.LBC.ReadinessGateInjection, err = boolean(e.value, fp)
		case "targetsBeforeRules":
			cfg.LBC.TargetsBeforeRules, err = boolean(e.value, fp)
		case "perCallerThrottling":
			cfg.ELBv2.PerCaller, err = boolean(e.value, fp)
		case "lbcThrottles":
			var on bool
			if on, err = boolean(e.value, fp); err == nil && !on {
				cfg.LBC.Throttles = nil
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// parseController reads world.controller: the rollout controller's flags.
func parseController(n *yaml.Node, p string, cfg *sim.Config) error {
	es, err := fields(n, p, "verifyTargetGroup", "verifyTargetHealth", "albIngressClasses")
	if err != nil {
		return err
	}
	c := &cfg.Engine.Controller
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "verifyTargetGroup":
			c.VerifyTargetGroup, err = boolean(e.value, fp)
		case "verifyTargetHealth":
			c.VerifyTargetHealth, err = boolean(e.value, fp)
		case "albIngressClasses":
			c.ALBIngressClasses, err = strList(e.value, fp)
		}
		if err != nil {
			return err
		}
	}
	if c.VerifyTargetHealth && !c.VerifyTargetGroup {
		return errAt(n, p+".verifyTargetHealth", "health verification is part of target-group verification: set verifyTargetGroup too")
	}
	return nil
}

// parseTraffic reads a traffic mapping (world.traffic, startTraffic).
func parseTraffic(n *yaml.Node, p string) (sim.TrafficConfig, error) {
	var t sim.TrafficConfig
	es, err := fields(n, p, "rate", "ingress", "host", "headers", "tick", "via", "name")
	if err != nil {
		return t, err
	}
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "rate":
			var v int64
			if v, err = integer(e.value, fp); err == nil && (v < 1 || v > 100000) {
				err = errAt(e.value, fp, "want requests per second from 1 to 100000")
			}
			t.Rate = int(v)
		case "ingress":
			t.Ingress, err = str(e.value, fp)
			if err == nil && !strings.Contains(t.Ingress, "/") {
				t.Ingress = "default/" + t.Ingress
			}
		case "host":
			t.Host, err = str(e.value, fp)
		case "headers":
			var hs []entry
			if hs, err = anyFields(e.value, fp); err == nil {
				t.Headers = map[string]string{}
				for _, h := range hs {
					if t.Headers[h.key], err = str(h.value, fp+"."+h.key); err != nil {
						break
					}
				}
			}
		case "tick":
			t.Tick, err = duration(e.value, fp)
		case "name":
			t.Name, err = str(e.value, fp)
		case "via":
			if t.Via, err = str(e.value, fp); err == nil && t.Via != sim.ViaMesh && t.Via != sim.ViaApisix {
				err = errAt(e.value, fp, "want %s or %s, got %q", sim.ViaMesh, sim.ViaApisix, t.Via)
			}
		}
		if err != nil {
			return t, err
		}
	}
	if t.Rate == 0 {
		return t, errAt(n, p+".rate", "traffic needs a rate (requests per second)")
	}
	if (t.Ingress == "") == (t.Host == "") {
		return t, errAt(n, p, "traffic goes either through an ALB (ingress: NAME) or into the mesh or APISIX (host: NAME)")
	}
	if t.Via != "" && t.Host == "" {
		return t, errAt(n, p+".via", "via picks the entry of host traffic: say host: too")
	}
	return t, nil
}

// probability reads a percentage like "5%" or "0.5%" as a dist.PerMille.
func probability(n *yaml.Node, p string) (dist.PerMille, error) {
	bad := func() (dist.PerMille, error) {
		return 0, errAt(n, p, "want a percentage like 5%% or 0.5%%, got %q", n.Value)
	}
	num, ok := strings.CutSuffix(n.Value, "%")
	if n.Kind != yaml.ScalarNode || !ok {
		return bad()
	}
	whole, frac, _ := strings.Cut(num, ".")
	if len(frac) > 1 {
		return bad()
	}
	v, err := strconv.Atoi(whole + frac + strings.Repeat("0", 1-len(frac)))
	if err != nil || v < 0 || v > 1000 {
		return bad()
	}
	return dist.PerMille(v), nil
}

// parseAWSErrors reads awsErrors: {operation, rate, code}.
func parseAWSErrors(n *yaml.Node, p string, st *Step) error {
	st.Operation, st.ErrorCode = "*", "InternalFailure"
	es, err := fields(n, p, "operation", "rate", "code")
	if err != nil {
		return err
	}
	seen := false
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "operation":
			st.Operation, err = str(e.value, fp)
		case "rate":
			st.Rate, err = probability(e.value, fp)
			seen = true
		case "code":
			st.ErrorCode, err = str(e.value, fp)
		}
		if err != nil {
			return err
		}
	}
	if !seen {
		return errAt(n, p+".rate", "say how often calls fail (rate: 50%%; 0%% ends the fault)")
	}
	return nil
}

// parseRequests reads failedRequests: a number (at most) or {min, max}.
func parseRequests(n *yaml.Node, p string) (*Bounds, error) {
	if n.Kind == yaml.ScalarNode {
		v, err := integer(n, p)
		return &Bounds{Max: &v}, err
	}
	es, err := fields(n, p, "min", "max")
	if err != nil {
		return nil, err
	}
	b := &Bounds{}
	for _, e := range es {
		v, err := integer(e.value, p+"."+e.key)
		if err != nil {
			return nil, err
		}
		if e.key == "min" {
			b.Min = &v
		} else {
			b.Max = &v
		}
	}
	return b, nil
}

// Bounds is an inclusive range; a nil end is open.
type Bounds struct{ Min, Max *int64 }

// Holds reports whether v is within the bounds.
func (b Bounds) Holds(v int64) bool {
	return (b.Min == nil || v >= *b.Min) && (b.Max == nil || v <= *b.Max)
}

func (b Bounds) String() string {
	switch {
	case b.Min != nil && b.Max != nil:
		return strconv.FormatInt(*b.Min, 10) + ".." + strconv.FormatInt(*b.Max, 10)
	case b.Min != nil:
		return "at least " + strconv.FormatInt(*b.Min, 10)
	case b.Max != nil:
		return "at most " + strconv.FormatInt(*b.Max, 10)
	}
	return "any"
}

// parseApps reads world.apps: images whose pods misbehave ({IMAGE: {errorRate: 50%, latency: 2s}}).
func parseApps(n *yaml.Node, p string) (map[string]sim.AppFault, error) {
	images, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string]sim.AppFault{}
	for _, img := range images {
		ip := p + "." + img.key
		es, err := fields(img.value, ip, "errorRate", "latency")
		if err != nil {
			return nil, err
		}
		var f sim.AppFault
		for _, e := range es {
			switch e.key {
			case "errorRate":
				f.ErrorRate, err = probability(e.value, ip+"."+e.key)
			case "latency":
				f.Latency, err = duration(e.value, ip+"."+e.key)
			}
			if err != nil {
				return nil, err
			}
		}
		out[img.key] = f
	}
	return out, nil
}
