package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// Outcome is what one client request got.
type Outcome struct {
	Code    int
	Version string // pod-template hash of the pod that answered ("" when none did)
	Backend string // the target group (or route destination) the request went to
}

// Frontend is where simulated clients send requests: a load balancer or proxy model that routes
// with the configuration it has in effect.
type Frontend interface {
	Serve(host string, r *rand.Rand) Outcome
}

// TrafficConfig is the client load.
type TrafficConfig struct {
	Rate    int           // requests per second; 0 sends none
	Tick    time.Duration // requests are sent in batches this far apart (default 100ms)
	Ingress string        // namespace/name of the Ingress whose load balancer the clients call
	// Host, instead of Ingress, sends the requests into the Istio mesh for a VirtualService host,
	// or to the APISIX gateway (Via), with Headers on every request.
	Host    string
	Headers map[string]string
	// Via picks the entry of host traffic when the world has both: ViaMesh or ViaApisix ("":
	// the mesh, or APISIX when the world has no mesh).
	Via string
	// Name, when set, makes the load a named source that runs alongside the others
	// (StartTrafficSource); "" is the main load.
	Name string
}

// The entries of host traffic.
const (
	ViaMesh   = "mesh"
	ViaApisix = "apisix"
)

// TrafficStats counts requests by outcome.
type TrafficStats struct {
	Total, Failed int
	ByCode        map[int]int
	// ByVersion counts requests answered per revision ("r2 argoproj/rollouts-demo:yellow").
	ByVersion map[string]int
	// ByBackend counts status codes per target group.
	ByBackend map[string]map[int]int
	// FailedSeconds lists each virtual second (since Epoch) in which requests failed, with the count.
	FailedSeconds map[int64]int
	// FirstFailure and LastFailure bound the failures in virtual time (zero: none).
	FirstFailure, LastFailure Seconds
	// PerSecond counts requests per status code in each virtual second that had any, in time
	// order: the series of a report.
	PerSecond []SecondCounts
}

// SecondCounts is one virtual second of requests (T: seconds since the run began).
type SecondCounts struct {
	T      int64       `json:"t"`
	ByCode map[int]int `json:"byCode"`
}

// Traffic is the client load generator: a steady rate of requests through a Frontend, counted
// per status code, version and backend.
type Traffic struct {
	w        *World
	cfg      TrafficConfig
	front    Frontend
	rand     *rand.Rand
	carry    float64
	versions map[string]string
	Stats    TrafficStats
	stopped  bool
}

func newTraffic(w *World, cfg TrafficConfig, front Frontend) *Traffic {
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	t := &Traffic{w: w, cfg: cfg, front: front, rand: w.Kernel.Stream("traffic"), versions: map[string]string{},
		Stats: TrafficStats{ByCode: map[int]int{}, ByVersion: map[string]int{}, ByBackend: map[string]map[int]int{}, FailedSeconds: map[int64]int{}}}
	if cfg.Rate > 0 {
		w.Kernel.After(cfg.Tick, "traffic/tick", cfg.Ingress, t.tick)
	}
	return t
}

// Stop ends the load (the periodic event stops, so a run can end).
func (t *Traffic) Stop() { t.stopped = true }

func (t *Traffic) tick() {
	if t.stopped {
		return
	}
	defer t.w.Kernel.After(t.cfg.Tick, "traffic/tick", t.cfg.Ingress, t.tick)
	host := t.host()
	if host == "" {
		return // no load balancer yet: clients cannot resolve the name
	}
	t.carry += float64(t.cfg.Rate) * t.cfg.Tick.Seconds()
	n := int(t.carry)
	t.carry -= float64(n)
	var failed map[string]int // "502 via default/svc" → count, for the trace
	for i := 0; i < n; i++ {
		o := t.front.Serve(host, t.rand)
		t.record(o)
		if o.Code >= 500 && t.w.trace != nil {
			if failed == nil {
				failed = map[string]int{}
			}
			failed[fmt.Sprintf("%d via %s", o.Code, backendName(o.Backend))]++
		}
	}
	t.w.metrics.scrape(t.w.Kernel.Now())
	if failed != nil {
		keys := make([]string, 0, len(failed))
		for k := range failed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		msg := ""
		for i, k := range keys {
			if i > 0 {
				msg += ", "
			}
			msg += fmt.Sprintf("%d× %s", failed[k], k)
		}
		t.w.tracef("traffic", t.cfg.Ingress, "failed: %s", msg)
	}
}

func backendName(b string) string {
	if b == "" {
		return "no target group"
	}
	return b
}

func (t *Traffic) host() string {
	if t.cfg.Host != "" {
		return t.cfg.Host
	}
	ns, name := splitKey(t.cfg.Ingress)
	o, ok := t.w.Cluster.Store.Peek(kube.Ingresses, ns, name)
	if !ok {
		return ""
	}
	for _, lb := range o.(*networkingv1.Ingress).Status.LoadBalancer.Ingress {
		if lb.Hostname != "" {
			return lb.Hostname
		}
	}
	return ""
}

func (t *Traffic) record(o Outcome) {
	took := baseLatency
	if f, ok := t.w.appFault(o.Version); ok {
		took += f.Latency
	}
	t.w.metrics.observe(o.Backend, o.Version, o.Code, took)
	s := &t.Stats
	s.Total++
	s.ByCode[o.Code]++
	sec := int64(t.w.Kernel.Elapsed() / time.Second)
	if n := len(s.PerSecond); n == 0 || s.PerSecond[n-1].T != sec {
		s.PerSecond = append(s.PerSecond, SecondCounts{T: sec, ByCode: map[int]int{}})
	}
	s.PerSecond[len(s.PerSecond)-1].ByCode[o.Code]++
	if o.Backend != "" {
		if s.ByBackend[o.Backend] == nil {
			s.ByBackend[o.Backend] = map[int]int{}
		}
		s.ByBackend[o.Backend][o.Code]++
	}
	if o.Code < 500 {
		s.ByVersion[t.version(o.Version)]++
		return
	}
	s.Failed++
	now := Seconds(t.w.Kernel.Elapsed())
	s.FailedSeconds[int64(time.Duration(now)/time.Second)]++
	if s.FirstFailure == 0 {
		s.FirstFailure = now
	}
	s.LastFailure = now
}

// version names a pod-template hash by its revision and image.
func (t *Traffic) version(hash string) string {
	if v, ok := t.versions[hash]; ok {
		return v
	}
	v := hash
	for _, o := range t.w.Cluster.Store.PeekList(kube.ReplicaSets, "") {
		rs := o.(*appsv1.ReplicaSet)
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != hash {
			continue
		}
		v = "r" + rs.Annotations[v1alpha1.RevisionAnnotation]
		if len(rs.Spec.Template.Spec.Containers) > 0 {
			v += " " + rs.Spec.Template.Spec.Containers[0].Image
		}
	}
	// Revisions change (a rollback renumbers), so only remember names of ReplicaSets found.
	if v != hash {
		t.versions[hash] = v
	}
	return v
}

// Report is a readable account of the traffic: totals, then per version, per backend, and when
// requests failed.
func (s TrafficStats) Report() []string {
	lines := []string{"requests: " + s.Summary()}
	for _, v := range sortedKeysOf(s.ByVersion) {
		lines = append(lines, fmt.Sprintf("  answered by %s: %d", v, s.ByVersion[v]))
	}
	for _, b := range sortedKeysOf(s.ByBackend) {
		codes := s.ByBackend[b]
		cs := make([]int, 0, len(codes))
		for c := range codes {
			cs = append(cs, c)
		}
		sort.Ints(cs)
		line := "  via " + b + ":"
		for _, c := range cs {
			line += fmt.Sprintf(" %d×%d", codes[c], c)
		}
		lines = append(lines, line)
	}
	if s.Failed > 0 {
		lines = append(lines, fmt.Sprintf("  failures from %s to %s, in %d distinct seconds", time.Duration(s.FirstFailure), time.Duration(s.LastFailure), len(s.FailedSeconds)))
	}
	return lines
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Summary is a one-line account of the traffic.
func (s TrafficStats) Summary() string {
	if s.Total == 0 {
		return "no requests"
	}
	codes := make([]int, 0, len(s.ByCode))
	for c := range s.ByCode {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	out := fmt.Sprintf("%d requests, %d failed", s.Total, s.Failed)
	for _, c := range codes {
		out += ", " + strconv.Itoa(c) + ": " + strconv.Itoa(s.ByCode[c])
	}
	return out
}

func splitKey(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "default", key
}
