package sim

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"

	"github.com/rolloutlab/rolloutlab/sim/dist"
	"github.com/rolloutlab/rolloutlab/sim/promsim"
)

// AppFault makes every pod running an image misbehave: a share of its answers are 500s, and
// each takes longer. It is how a scenario ships a bad version.
type AppFault struct {
	ErrorRate dist.PerMille
	Latency   time.Duration
}

// baseLatency is how long a healthy pod takes to answer.
const baseLatency = 20 * time.Millisecond

// ScrapeInterval is how often the simulated Prometheus samples the traffic counters.
const ScrapeInterval = 5 * time.Second

// latencyBuckets are the upper bounds, in milliseconds, of the latency histogram (Istio's).
var latencyBuckets = []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000}

// metrics turns client requests into the series Istio's proxies export, so that analysis
// templates written for Istio run unchanged: istio_requests_total and
// istio_request_duration_milliseconds, per destination Service, pod-template hash and code.
type metrics struct {
	db         *promsim.DB
	counters   map[seriesKey]float64
	latency    map[latencyKey]*latencyHist
	nextScrape time.Time
}

type seriesKey struct {
	svc, ns, hash string
	code          int
}

type latencyKey struct{ svc, ns, hash string }

type latencyHist struct {
	buckets []float64
	sum     float64
	count   float64
}

func newMetrics(db *promsim.DB) *metrics {
	return &metrics{db: db, counters: map[seriesKey]float64{}, latency: map[latencyKey]*latencyHist{}}
}

// observe counts one request to backend ("namespace/service[/subset]").
func (m *metrics) observe(backend, hash string, code int, took time.Duration) {
	if backend == "" {
		return
	}
	parts := strings.Split(backend, "/")
	if len(parts) < 2 {
		return
	}
	ns, svc := parts[0], parts[1]
	m.counters[seriesKey{svc, ns, hash, code}]++
	h := m.latency[latencyKey{svc, ns, hash}]
	if h == nil {
		h = &latencyHist{buckets: make([]float64, len(latencyBuckets))}
		m.latency[latencyKey{svc, ns, hash}] = h
	}
	ms := float64(took) / float64(time.Millisecond)
	for i, le := range latencyBuckets {
		if ms <= le {
			h.buckets[i]++
		}
	}
	h.sum += ms
	h.count++
}

// scrape samples every counter at now if a scrape is due.
func (m *metrics) scrape(now time.Time) {
	if now.Before(m.nextScrape) {
		return
	}
	m.nextScrape = now.Truncate(ScrapeInterval).Add(ScrapeInterval)
	keys := make([]seriesKey, 0, len(m.counters))
	for k := range m.counters {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.ns+"/"+a.svc+"/"+a.hash+strconv.Itoa(a.code) < b.ns+"/"+b.svc+"/"+b.hash+strconv.Itoa(b.code)
	})
	for _, k := range keys {
		m.db.Add(now, labels.FromStrings(append(destLabels("istio_requests_total", k.svc, k.ns, k.hash),
			"response_code", strconv.Itoa(k.code))...), m.counters[k])
	}
	lkeys := make([]latencyKey, 0, len(m.latency))
	for k := range m.latency {
		lkeys = append(lkeys, k)
	}
	sort.Slice(lkeys, func(i, j int) bool {
		return lkeys[i].ns+"/"+lkeys[i].svc+"/"+lkeys[i].hash < lkeys[j].ns+"/"+lkeys[j].svc+"/"+lkeys[j].hash
	})
	for _, k := range lkeys {
		h := m.latency[k]
		for i, le := range latencyBuckets {
			m.db.Add(now, labels.FromStrings(append(destLabels("istio_request_duration_milliseconds_bucket", k.svc, k.ns, k.hash),
				"le", strconv.FormatFloat(le, 'f', -1, 64))...), h.buckets[i])
		}
		m.db.Add(now, labels.FromStrings(append(destLabels("istio_request_duration_milliseconds_bucket", k.svc, k.ns, k.hash), "le", "+Inf")...), h.count)
		m.db.Add(now, labels.FromStrings(destLabels("istio_request_duration_milliseconds_sum", k.svc, k.ns, k.hash)...), h.sum)
		m.db.Add(now, labels.FromStrings(destLabels("istio_request_duration_milliseconds_count", k.svc, k.ns, k.hash)...), h.count)
	}
}

func destLabels(name, svc, ns, hash string) []string {
	return []string{"__name__", name, "reporter", "source",
		"destination_service", svc + "." + ns + ".svc.cluster.local", "destination_service_name", svc,
		"destination_service_namespace", ns, "rollouts_pod_template_hash", hash}
}

// appFault is the fault of the image a pod-template hash runs, if any.
func (w *World) appFault(hash string) (AppFault, bool) {
	if len(w.Net.Faults) == 0 || hash == "" {
		return AppFault{}, false
	}
	img, ok := w.images[hash]
	if !ok {
		for _, o := range w.Cluster.Store.PeekList(kube.ReplicaSets, "") {
			rs := o.(*appsv1.ReplicaSet)
			if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash && len(rs.Spec.Template.Spec.Containers) > 0 {
				img = rs.Spec.Template.Spec.Containers[0].Image
				w.images[hash] = img
			}
		}
	}
	f, ok := w.Net.Faults[img]
	return f, ok
}
