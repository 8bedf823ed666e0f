package fakeaws

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/fakes/awslbc"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// ALBState is the answer of GET /debug/alb: what the load balancers do now.
type ALBState struct {
	// Shares is each Service's percentage of its forward rule, from the rules in effect
	// (a Service in several rules keeps its largest share), by "namespace/name".
	Shares map[string]int32 `json:"shares"`
	// NotReady says why the load balancers cannot serve every request now; "" when they can.
	NotReady string `json:"notReady"`
	// LoadBalancers are the DNS names of the load balancers.
	LoadBalancers []string `json:"loadBalancers"`
}

// TrafficStats is the answer of GET /debug/traffic: the requests sent since traffic started.
type TrafficStats struct {
	Total    int            `json:"total"`
	Failed   int            `json:"failed"`   // answered 5xx
	Codes    map[string]int `json:"codes"`    // by status code
	Versions map[string]int `json:"versions"` // by the image that answered
}

// LBCState is the answer of /debug/lbc.
type LBCState struct {
	Down  bool         `json:"down"`
	Stats awslbc.Stats `json:"stats"`
}

// apiHandler serves the ELBv2 Query API, each call under the lock, and the debug endpoints:
//
//	GET    /debug/alb[?namespace=ns]            ALBState (only that namespace's load balancers)
//	GET    /debug/traffic                       TrafficStats
//	POST   /debug/traffic?ingress=ns/name&rate=N  start N requests/s through the Ingress's
//	                                            load balancer (counters reset; rate=0 stops)
//	DELETE /debug/traffic                       stop the requests (counters kept)
//	GET    /debug/lbc                           LBCState
//	POST   /debug/lbc?down=true|false           stop or restart the LBC; LBCState
func (b *bridge) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", b.elb.HandlerVia(b.do))
	mux.HandleFunc("GET /debug/alb", func(w http.ResponseWriter, r *http.Request) {
		var st ALBState
		b.do(func() { st = b.albState(r.URL.Query().Get("namespace")) })
		reply(w, st)
	})
	mux.HandleFunc("GET /debug/traffic", func(w http.ResponseWriter, r *http.Request) {
		var st TrafficStats
		b.do(func() { st = b.traffic.stats.clone() })
		reply(w, st)
	})
	mux.HandleFunc("POST /debug/traffic", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ns, name, ok := strings.Cut(q.Get("ingress"), "/")
		rate, err := strconv.ParseFloat(q.Get("rate"), 64)
		if !ok || err != nil || rate < 0 {
			http.Error(w, "want ?ingress=namespace/name&rate=requests-per-second", http.StatusBadRequest)
			return
		}
		b.do(func() { b.startTraffic(types.NamespacedName{Namespace: ns, Name: name}, rate) })
		reply(w, map[string]any{})
	})
	mux.HandleFunc("DELETE /debug/traffic", func(w http.ResponseWriter, r *http.Request) {
		b.do(b.stopTraffic)
		reply(w, map[string]any{})
	})
	mux.HandleFunc("GET /debug/lbc", func(w http.ResponseWriter, r *http.Request) {
		var st LBCState
		b.do(func() { st = b.lbcState() })
		reply(w, st)
	})
	mux.HandleFunc("POST /debug/lbc", func(w http.ResponseWriter, r *http.Request) {
		down, err := strconv.ParseBool(r.URL.Query().Get("down"))
		if err != nil {
			http.Error(w, "want ?down=true|false", http.StatusBadRequest)
			return
		}
		var st LBCState
		b.do(func() {
			b.lbc.SetDown(down)
			st = b.lbcState()
		})
		reply(w, st)
	})
	return mux
}

func (b *bridge) lbcState() LBCState { return LBCState{Down: b.lbc.Down(), Stats: b.lbc.Stats()} }

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// albState computes the ALBState of the load balancers of a namespace's Ingresses, found by
// the hostnames in their status (all load balancers when ns is "").
func (b *bridge) albState(ns string) ALBState {
	snap := b.elb.Snapshot()
	if ns != "" {
		mine := map[string]bool{}
		for _, h := range b.hostnames(ns) {
			mine[h] = true
		}
		var lbs []elbv2.LoadBalancerView
		for _, lb := range snap.LoadBalancers {
			if mine[lb.DNSName] {
				lbs = append(lbs, lb)
			}
		}
		snap.LoadBalancers = lbs
	}
	name := b.names.In(snap)
	st := ALBState{Shares: snap.Shares(name), NotReady: snap.NotReady(name), LoadBalancers: []string{}}
	for _, lb := range snap.LoadBalancers {
		st.LoadBalancers = append(st.LoadBalancers, lb.DNSName)
	}
	return st
}

// hostnames are the load balancer hostnames in the status of a namespace's Ingresses.
func (b *bridge) hostnames(ns string) []string {
	var out []string
	for _, o := range b.store.PeekList(kube.Ingresses, ns) {
		for _, i := range o.(*networkingv1.Ingress).Status.LoadBalancer.Ingress {
			if i.Hostname != "" {
				out = append(out, i.Hostname)
			}
		}
	}
	return out
}

// traffic is the request generator: clients that send requests through one Ingress's load
// balancer at a steady rate.
type traffic struct {
	stop  context.CancelFunc
	stats TrafficStats
}

func (s TrafficStats) clone() TrafficStats {
	c := TrafficStats{Total: s.Total, Failed: s.Failed, Codes: map[string]int{}, Versions: map[string]int{}}
	for k, v := range s.Codes {
		c.Codes[k] = v
	}
	for k, v := range s.Versions {
		c.Versions[k] = v
	}
	return c
}

func (b *bridge) stopTraffic() {
	if b.traffic.stop != nil {
		b.traffic.stop()
		b.traffic.stop = nil
	}
}

// startTraffic replaces the generator with one sending rate requests a second through the
// Ingress's load balancer, once its hostname is known, and resets the counters. Every 10 ms a
// tick sends what is due since the last one (so a tick that waited for the lock loses
// nothing); requests due while the hostname is unknown are not sent.
func (b *bridge) startTraffic(ing types.NamespacedName, rate float64) {
	b.stopTraffic()
	b.traffic.stats = TrafficStats{}.clone()
	if rate == 0 {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	b.traffic.stop = stop
	rnd := b.opts.rng(3)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last, due := time.Now(), 0.0
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				due += rate * now.Sub(last).Seconds()
				last = now
			}
			n := int(due)
			due -= float64(n)
			b.do(func() {
				if ctx.Err() != nil {
					return // stopped while this tick waited for the lock
				}
				if host := b.hostname(ing); host != "" {
					for range n {
						b.traffic.stats.add(b.elb.Request(host, rnd))
					}
				}
			})
		}
	}()
}

// hostname is the load balancer hostname in an Ingress's status, or "".
func (b *bridge) hostname(ing types.NamespacedName) string {
	if o, ok := b.store.Peek(kube.Ingresses, ing.Namespace, ing.Name); ok {
		if lbs := o.(*networkingv1.Ingress).Status.LoadBalancer.Ingress; len(lbs) > 0 {
			return lbs[0].Hostname
		}
	}
	return ""
}

func (s *TrafficStats) add(r elbv2.Response) {
	s.Total++
	if r.Code >= 500 {
		s.Failed++
	}
	s.Codes[strconv.Itoa(r.Code)]++
	if r.Version != "" {
		s.Versions[r.Version]++
	}
}
