package features

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// registerALBSteps is the vocabulary of the cloud: an AWS account with the AWS Load Balancer
// Controller, the ALB's rules in effect, the Ingress annotation the rollout writes, and clients
// calling through the ALB (features/README.md lists it).
func registerALBSteps(sc *godog.ScenarioContext, r *run) {
	rp := func(fn any) any { return replayable(r, fn) }

	// What the installation is: said before anything happens (in the Background, say).
	sc.Step(`^an AWS account with the AWS Load Balancer Controller$`, rp(func() error {
		return r.configure("an AWS account with the AWS Load Balancer Controller", driver.UseAWS)
	}))
	sc.Step(`^the controller (verifies|does not verify) target groups$`, rp(func(does string) error {
		return r.configure("the controller "+does+" target groups", func(d driver) error {
			return d.VerifyTargetGroups(does == "verifies")
		})
	}))

	// A knob of the simulation only, like its seed: a real controller lags as it does.
	sc.Step(`^the (?:AWS )?load balancer controller reconciles (.+?) to (.+) late$`, rp(func(lo, hi string) error {
		return r.configure("the load balancer controller reconciles "+lo+" to "+hi+" late", func(d driver) error {
			min, err := parseDuration(lo)
			if err != nil {
				return err
			}
			max, err := parseDuration(hi)
			if err != nil {
				return err
			}
			if max < min {
				return fmt.Errorf("%s to %s runs backwards", lo, hi)
			}
			sd, ok := d.(*simDriver)
			if !ok {
				return nil // a cluster's load balancer controller is as late as it is
			}
			return sd.lbcLag(dist.Delay{Min: min, Max: max})
		})
	}))

	// Faults and load.
	sc.Step(`^the (?:AWS )?load balancer controller is down for (.+)$`, rp(func(down string) error {
		dur, err := parseDuration(down)
		if err != nil {
			return err
		}
		if dur <= 0 {
			return fmt.Errorf("say how long the load balancer controller is down (more than 0)")
		}
		r.acted = true
		return r.drv.StopLoadBalancerController(dur)
	}))
	sc.Step(`^the (?:AWS )?load balancer controller goes down$`, rp(func() error {
		r.acted = true
		return r.drv.StopLoadBalancerController(0)
	}))
	sc.Step(`^the (?:AWS )?load balancer controller comes back$`, rp(func() error {
		r.acted = true
		return r.drv.StartLoadBalancerController()
	}))
	sc.Step(`^(\d+) requests? per second flows? through the ingress ([\w./-]+)$`, rp(func(rate, ingress string) error {
		n, err := strconv.Atoi(rate)
		if err != nil || n < 1 {
			return fmt.Errorf("%q requests per second: want at least 1", rate)
		}
		r.acted = true
		return r.drv.StartTraffic(r.qualify(ingress), n)
	}))

	// The ALB and the Ingress.
	sc.Step(`^the ALB (is|becomes) (not )?ready(?: within (.+))?$`, rp(func(verb, not, within string) error {
		if verb == "becomes" {
			within = orDefault(within)
		}
		want := not == ""
		if _, err := r.drv.ALB(); err != nil {
			return err // no cloud: waiting will not bring one
		}
		return r.holds(within, func() error {
			alb, err := r.drv.ALB()
			if err != nil {
				return err
			}
			if (alb.NotReady == "") == want {
				return nil
			}
			if want {
				return fmt.Errorf("the ALB is not ready: %s", alb.NotReady)
			}
			return fmt.Errorf("the ALB is ready, want it not ready; it sends %s", describeShares(alb.Shares))
		})
	}))
	sc.Step(`^the ALB sends (.+?)(?: within (.+))?$`, rp(func(shares, within string) error {
		want, err := parseShares(shares)
		if err != nil {
			return err
		}
		ns := r.namespace()
		if _, err := r.drv.ALB(); err != nil {
			return err // no cloud: waiting will not bring one
		}
		return r.holds(within, func() error {
			alb, err := r.drv.ALB()
			if err != nil {
				return err
			}
			if diff := compareShares(want, alb.Shares, ns); diff != "" {
				why := ""
				if alb.NotReady != "" {
					why = " (" + alb.NotReady + ")"
				}
				return fmt.Errorf("the ALB sends %s; rules in effect: %s%s", diff, describeShares(alb.Shares), why)
			}
			return nil
		})
	}))
	sc.Step(`^the annotation ([\w./-]+) of (?:the )?ingress ([\w./-]+) forwards (.+?)(?: within (.+))?$`, rp(func(key, ingress, shares, within string) error {
		want, err := parseShares(shares)
		if err != nil {
			return err
		}
		ing := r.qualify(ingress)
		ns, _ := split(ing)
		return r.holds(within, func() error {
			annotations, err := r.drv.IngressAnnotations(ing)
			if err != nil {
				return err
			}
			v, ok := annotations[key]
			if !ok {
				return fmt.Errorf("ingress %s has no annotation %s (it has: %s)", ing, key, strings.Join(sortedKeys(annotations), ", "))
			}
			got, err := actionShares(v, ns)
			if err != nil {
				return fmt.Errorf("annotation %s of ingress %s: %w: %s", key, ing, err, v)
			}
			if diff := compareShares(want, got, ns); diff != "" {
				return fmt.Errorf("annotation %s of ingress %s forwards %s: %s", key, ing, diff, v)
			}
			return nil
		})
	}))

	// The clients' requests, counted since they started.
	sc.Step(`^no (more )?requests? failed$`, rp(func(more string) error {
		st, err := r.requests()
		if err != nil {
			return err
		}
		since := 0
		if more != "" {
			since = r.failedSeen
		}
		r.failedSeen = st.Failed
		if n := st.Failed - since; n > 0 {
			what := fmt.Sprintf("%d of %d requests failed", st.Failed, st.Total)
			if more != "" {
				what = fmt.Sprintf("%d more requests failed since the last look at the requests (%d then)", n, since)
			}
			return fmt.Errorf("%s:\n    %s", what, strings.Join(st.Report(), "\n    "))
		}
		return nil
	}))
	sc.Step(`^requests failed with (\d{3})(?: for at least (.+))?$`, rp(func(code, during string) error {
		st, err := r.requests()
		if err != nil {
			return err
		}
		r.failedSeen = st.Failed
		c, _ := strconv.Atoi(code)
		var seconds int
		for _, s := range st.PerSecond {
			if s.ByCode[c] > 0 {
				seconds++
			}
		}
		if st.ByCode[c] == 0 {
			return fmt.Errorf("no request failed with %d:\n    %s", c, strings.Join(st.Report(), "\n    "))
		}
		if during != "" {
			d, err := parseDuration(during)
			if err != nil {
				return err
			}
			if time.Duration(seconds)*time.Second < d {
				return fmt.Errorf("%d requests failed with %d, in %d distinct seconds, want at least %s:\n    %s",
					st.ByCode[c], c, seconds, d, strings.Join(st.Report(), "\n    "))
			}
		}
		return nil
	}))
	sc.Step(`^(?:some )?requests were answered by (\S+)$`, rp(func(image string) error {
		st, err := r.requests()
		if err != nil {
			return err
		}
		for v, n := range st.ByVersion {
			if n > 0 && (v == image || strings.HasSuffix(v, " "+image)) {
				return nil
			}
		}
		return fmt.Errorf("no request was answered by %s:\n    %s", image, strings.Join(st.Report(), "\n    "))
	}))

	// Ping-pong: which of the two Services is stable.
	sc.Step(`^the rollout's status says (ping|pong) is stable$`, rp(func(side string) error {
		ro, err := r.target()
		if err != nil {
			return err
		}
		obj, err := r.drv.Rollout(ro)
		if err != nil {
			return err
		}
		if got := string(obj.Status.Canary.StablePingPong); got != side {
			if got == "" {
				got = "nothing"
			}
			st, _ := r.drv.State(ro)
			return fmt.Errorf("status.canary.stablePingPong is %s, want %s: %s", got, side, describe(st))
		}
		return nil
	}))
}

// holds checks cond now (within == "") or lets time pass until it holds, for at most within.
func (r *run) holds(within string, cond func() error) error {
	var d time.Duration
	if within != "" {
		var err error
		if d, err = parseDuration(within); err != nil {
			return err
		}
		r.acted = true
	}
	return r.drv.Await(d, cond)
}

// requests are the clients' requests so far; none sent is an error, not a pass.
func (r *run) requests() (sim.TrafficStats, error) {
	st, err := r.drv.Requests()
	if err != nil {
		return st, err
	}
	if st.Total == 0 {
		return st, fmt.Errorf(`no request has been sent: say "When 100 requests per second flow through the ingress NAME" once the ALB is ready, or "... flow to the host HOST" in a mesh`)
	}
	return st, nil
}

// namespace is the one names without a namespace are in: the rollout's.
func (r *run) namespace() string {
	if r.rollout == "" {
		return "default"
	}
	ns, _ := split(r.rollout)
	return ns
}

// qualify names an object "namespace/name", in the rollout's namespace when it says none.
func (r *run) qualify(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return r.namespace() + "/" + name
}

var shareRE = regexp.MustCompile(`^(\d+)% to (?:the )?(?:[Ss]ervice )?([\w./-]+)$`)

// parseShares reads "5% to rollouts-demo-canary and 95% to rollouts-demo-stable" (items
// separated by ", " or " and "; "service" may precede a name).
func parseShares(s string) (map[string]int32, error) {
	out := map[string]int32{}
	for _, item := range strings.Split(strings.ReplaceAll(s, " and ", ", "), ", ") {
		m := shareRE.FindStringSubmatch(strings.TrimSpace(item))
		if m == nil {
			return nil, fmt.Errorf("%q: say N%% to SERVICE (and M%% to OTHER)", item)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100 {
			return nil, fmt.Errorf("%q: a share is a percentage from 0 to 100", item)
		}
		out[m[2]] = int32(n)
	}
	return out, nil
}

// compareShares says how got differs from want ("" when it does not). want's names without a
// namespace are in ns; a Service that gets nothing may be absent.
func compareShares(want, got map[string]int32, ns string) string {
	var diffs []string
	for _, name := range sortedKeys(want) {
		key := name
		if !strings.Contains(key, "/") {
			key = ns + "/" + name
		}
		g, ok := got[key]
		if ok && g == want[name] || !ok && want[name] == 0 {
			continue
		}
		is := fmt.Sprintf("%d%%", g)
		if !ok {
			is = "nothing (no rule forwards to it)"
		}
		diffs = append(diffs, fmt.Sprintf("%s to %s (want %d%%)", is, name, want[name]))
	}
	return strings.Join(diffs, " and ")
}

func describeShares(shares map[string]int32) string {
	if len(shares) == 0 {
		return "no forward rule"
	}
	var parts []string
	for _, k := range sortedKeys(shares) {
		parts = append(parts, fmt.Sprintf("%d%% to %s", shares[k], k))
	}
	return strings.Join(parts, ", ")
}

// actionShares reads an actions annotation of the AWS Load Balancer Controller (a forward action,
// as Argo Rollouts writes it) into each Service's share of the requests, keyed "ns/name".
func actionShares(v string, ns string) (map[string]int32, error) {
	var action struct {
		Type          string
		ForwardConfig struct {
			TargetGroups []struct {
				ServiceName string
				Weight      *int64
			}
		}
	}
	if err := json.Unmarshal([]byte(v), &action); err != nil {
		return nil, fmt.Errorf("not an action: %w", err)
	}
	if !strings.EqualFold(action.Type, "forward") {
		return nil, fmt.Errorf("a %q action, want forward", action.Type)
	}
	var sum int64
	for _, g := range action.ForwardConfig.TargetGroups {
		if g.Weight != nil {
			sum += *g.Weight
		}
	}
	out := map[string]int32{}
	for _, g := range action.ForwardConfig.TargetGroups {
		var share int32
		if g.Weight != nil && sum > 0 {
			share = int32((*g.Weight*100 + sum/2) / sum)
		}
		out[ns+"/"+g.ServiceName] = share
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
