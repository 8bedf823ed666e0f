package elbv2

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// HTTPRequest is one request to a load balancer.
type HTTPRequest struct {
	Host    string            // the load balancer's DNS name
	Port    int32             // listener port; 0 picks the load balancer's lowest-port listener
	Path    string            // "/" when empty
	Headers map[string]string // "Host" overrides Host for host-header conditions
}

// Response is what a client of the load balancer sees, and where the request went.
type Response struct {
	RuleArn        string // the rule that matched
	TargetGroupArn string // the target group chosen, if any
	Target         string // "ip:port" of the target chosen, if any
	Code           int
	Version        string // the version that answered, from the Network
}

// Request sends GET / to the load balancer with that DNS name.
func (f *Fake) Request(dnsName string, r *rand.Rand) Response {
	return f.Send(HTTPRequest{Host: dnsName}, r)
}

// Send routes one request as an ALB does, with the configuration in effect (not the one
// accepted): the first rule matching by priority, a target group by forward weight, then a
// healthy target; with no healthy target it fails open to the initial and unhealthy ones, and
// with none at all it answers 503. Random choices come from r.
func (f *Fake) Send(req HTTPRequest, r *rand.Rand) Response {
	f.lock()
	defer f.unlock()
	l := f.listenerFor(req)
	if l == nil || !l.live {
		return Response{Code: http.StatusServiceUnavailable}
	}
	if req.Path == "" {
		req.Path = "/"
	}
	for _, rule := range l.effective {
		if !matches(rule.Conditions, req) {
			continue
		}
		resp := Response{RuleArn: deref(rule.RuleArn)}
		a, _ := terminalAction(rule.Actions)
		switch a.Type {
		case types.ActionTypeEnumForward:
			f.forward(a, r, &resp)
		case types.ActionTypeEnumFixedResponse:
			resp.Code, _ = strconv.Atoi(deref(a.FixedResponseConfig.StatusCode))
		case types.ActionTypeEnumRedirect:
			resp.Code = http.StatusMovedPermanently
			if a.RedirectConfig.StatusCode == types.RedirectActionStatusCodeEnumHttp302 {
				resp.Code = http.StatusFound
			}
		default:
			resp.Code = http.StatusServiceUnavailable
		}
		return resp
	}
	return Response{Code: http.StatusServiceUnavailable} // unreachable: the default rule matches
}

func (f *Fake) listenerFor(req HTTPRequest) *listener {
	var best *listener
	for _, lb := range f.lbs {
		if *lb.desc.DNSName != req.Host {
			continue
		}
		for _, arn := range lb.listeners {
			l := f.listeners[arn]
			port := *l.desc.Port
			if port == req.Port || req.Port == 0 && (best == nil || port < *best.desc.Port) {
				best = l
			}
		}
	}
	return best
}

// terminalAction is the action that decides a request: the last one (actions are stored sorted).
func terminalAction(actions []types.Action) (types.Action, bool) {
	if len(actions) == 0 {
		return types.Action{}, false
	}
	return actions[len(actions)-1], true
}

func (f *Fake) forward(a types.Action, r *rand.Rand, resp *Response) {
	resp.Code = http.StatusServiceUnavailable
	total := 0
	for _, t := range a.ForwardConfig.TargetGroups {
		total += int(deref(t.Weight))
	}
	if total == 0 {
		return
	}
	pick := r.IntN(total)
	for _, t := range a.ForwardConfig.TargetGroups {
		if pick -= int(deref(t.Weight)); pick < 0 {
			resp.TargetGroupArn = deref(t.TargetGroupArn)
			break
		}
	}
	g := f.tgs[resp.TargetGroupArn]
	if g == nil {
		return
	}
	t := pickTarget(g, r)
	if t == nil {
		return
	}
	resp.Target = t.key.String()
	if f.net == nil {
		resp.Code = http.StatusBadGateway
		return
	}
	resp.Code, resp.Version = f.net.Serve(t.key.id, t.key.port)
}

// pickTarget chooses a healthy target at random; with none healthy, any initial or unhealthy
// one (fail open). Draining and unused targets get no new requests.
func pickTarget(g *targetGroup, r *rand.Rand) *target {
	var healthy, open []*target
	for _, t := range g.sortedTargets() {
		switch t.state {
		case types.TargetHealthStateEnumHealthy:
			healthy = append(healthy, t)
		case types.TargetHealthStateEnumInitial, types.TargetHealthStateEnumUnhealthy:
			open = append(open, t)
		}
	}
	if len(healthy) == 0 {
		healthy = open
	}
	if len(healthy) == 0 {
		return nil
	}
	return healthy[r.IntN(len(healthy))]
}

// matches reports whether every condition holds for the request.
func matches(conds []types.RuleCondition, req HTTPRequest) bool {
	for _, c := range conds {
		var ok bool
		switch deref(c.Field) {
		case "path-pattern":
			ok = anyOf(c.Values, func(p string) bool { return glob(p, req.Path) })
		case "host-header":
			host, found := header(req.Headers, "Host")
			if !found {
				host = req.Host
			}
			host = strings.ToLower(host)
			ok = anyOf(c.Values, func(p string) bool { return glob(strings.ToLower(p), host) })
		case "http-header":
			v, found := header(req.Headers, deref(c.HttpHeaderConfig.HttpHeaderName))
			ok = found && anyOf(c.HttpHeaderConfig.Values, func(p string) bool {
				return glob(strings.ToLower(p), strings.ToLower(v))
			})
		}
		if !ok {
			return false
		}
	}
	return true
}

// header looks a header up by name, ignoring case as HTTP does.
func header(h map[string]string, name string) (string, bool) {
	for _, k := range sortedKeys(h) {
		if strings.EqualFold(k, name) {
			return h[k], true
		}
	}
	return "", false
}

// glob matches ALB patterns: '*' any run of characters, '?' exactly one.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
