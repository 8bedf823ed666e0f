package sim

import (
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
	handles    map[seriesRef]*promsim.Series
	order      []seriesRef // in first-seen order: deterministic
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
	return &metrics{db: db, counters: map[seriesKey]float64{}, latency: map[latencyKey]*latencyHist{}, handles: map[seriesRef]*promsim.Series{}}
}

// observe counts one request to backend ("namespace/service[/subset]").
func (m *metrics) observe(backend, hash string, code int, took time.Duration) {
	if backend == "" {
		return
	}
	ns, rest, ok := strings.Cut(backend, "/")
	if !ok {
		return
	}
	svc, _, _ := strings.Cut(rest, "/") // drop a subset
	ck := seriesKey{svc, ns, hash, code}
	if _, ok := m.counters[ck]; !ok {
		m.track(seriesRef{counter: ck}, labels.FromStrings(append(destLabels("istio_requests_total", svc, ns, hash),
			"response_code", strconv.Itoa(code))...))
	}
	m.counters[ck]++
	lk := latencyKey{svc, ns, hash}
	h := m.latency[lk]
	if h == nil {
		h = &latencyHist{buckets: make([]float64, len(latencyBuckets))}
		m.latency[lk] = h
		bucket := func(le string) labels.Labels {
			return labels.FromStrings(append(destLabels("istio_request_duration_milliseconds_bucket", svc, ns, hash), "le", le)...)
		}
		for i, le := range latencyBuckets {
			m.track(seriesRef{latency: lk, bucket: i, isHist: true}, bucket(strconv.FormatFloat(le, 'f', -1, 64)))
		}
		m.track(seriesRef{latency: lk, bucket: -1, isHist: true}, bucket("+Inf"))
		m.track(seriesRef{latency: lk, bucket: -2, isHist: true}, labels.FromStrings(destLabels("istio_request_duration_milliseconds_sum", svc, ns, hash)...))
		m.track(seriesRef{latency: lk, bucket: -3, isHist: true}, labels.FromStrings(destLabels("istio_request_duration_milliseconds_count", svc, ns, hash)...))
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
	for _, k := range m.order {
		m.handles[k].Append(now, m.value(k))
	}
}

// seriesRef names one exported series: a request counter, or a bucket (-1: +Inf, -2: sum,
// -3: count) of a latency histogram.
type seriesRef struct {
	counter seriesKey
	latency latencyKey
	bucket  int
	isHist  bool
}

func (m *metrics) value(r seriesRef) float64 {
	if !r.isHist {
		return m.counters[r.counter]
	}
	h := m.latency[r.latency]
	switch r.bucket {
	case -1, -3:
		return h.count
	case -2:
		return h.sum
	}
	return h.buckets[r.bucket]
}

// track registers the series of a new counter or histogram, keeping the export order stable.
func (m *metrics) track(r seriesRef, lset labels.Labels) {
	m.handles[r] = m.db.Series(lset)
	m.order = append(m.order, r)
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
