package analysis

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

const (
	// DefaultPrometheusTimeout bounds a query whose metric sets no timeout.
	DefaultPrometheusTimeout = 30 * time.Second
	// ResolvedPrometheusQuery is the metric-result metadata key of the query after substitution.
	ResolvedPrometheusQuery = "ResolvedPrometheusQuery"
)

// Prometheus measures a metric with an instant query against the Prometheus HTTP API
// (/api/v1/query), through client_golang's api/prometheus/v1 client.
//
// The result is what the condition sees: a scalar as a float64, a vector as a []float64 of its
// sample values (empty when no series matched), with the value shown as "0.97" or "[0.97,0.5]"
// ("NaN", "+Inf" as Prometheus writes them). Other result types are an Error, as in Argo.
// Warnings (and, beyond Argo, infos) the server returns go to the measurement's metadata.
//
// The query is evaluated at the measurement's time (NowFrom(ctx)) when the context carries one,
// else at the server's current time. The metric's timeout (default 30s), headers and insecure
// setting apply. Authentication (SigV4, OAuth2) is not supported yet: a metric that sets it
// measures Error.
type Prometheus struct {
	// Transport carries the queries (tests and the simulation plug in their own); nil means an
	// HTTP transport honouring the metric's insecure setting.
	Transport http.RoundTripper
	// DefaultAddress is used for metrics that set no address (Argo reads it from the environment
	// variable ARGO_ROLLOUTS_PROMETHEUS_ADDRESS; the caller decides here).
	DefaultAddress string
}

// Metadata records the query after argument substitution, as Argo does.
func (p *Prometheus) Metadata(metric v1alpha1.Metric) map[string]string {
	if metric.Provider.Prometheus == nil || metric.Provider.Prometheus.Query == "" {
		return nil
	}
	return map[string]string{ResolvedPrometheusQuery: metric.Provider.Prometheus.Query}
}

// Run queries Prometheus and judges the answer.
func (p *Prometheus) Run(ctx context.Context, metric v1alpha1.Metric, _ *v1alpha1.AnalysisRun) v1alpha1.Measurement {
	spec := metric.Provider.Prometheus
	if spec == nil {
		return errorMeasurement(fmt.Errorf("metric %q has no prometheus provider", metric.Name))
	}
	client, timeout, err := p.client(spec)
	if err != nil {
		return errorMeasurement(err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	value, warnings, infos, err := client.Query(ctx, spec.Query, NowFrom(ctx))
	if err != nil {
		return errorMeasurement(err)
	}
	result, text, err := prometheusResult(value)
	var m v1alpha1.Measurement
	if err != nil {
		m = errorMeasurement(err)
	} else {
		m = judged(metric, result, text)
	}
	if len(warnings) > 0 || len(infos) > 0 {
		m.Metadata = map[string]string{}
		if len(warnings) > 0 {
			m.Metadata["warnings"] = quotedList(warnings)
		}
		if len(infos) > 0 {
			m.Metadata["infos"] = quotedList(infos)
		}
	}
	return m
}

func (p *Prometheus) client(spec *v1alpha1.PrometheusMetric) (promv1.API, time.Duration, error) {
	address := spec.Address
	if address == "" {
		address = p.DefaultAddress
	}
	if address == "" {
		return nil, 0, fmt.Errorf("prometheus address is not configured")
	}
	if u, err := url.Parse(address); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, 0, fmt.Errorf("prometheus address %q is not a URL", address)
	}
	if !spec.Authentication.IsEmpty() {
		return nil, 0, fmt.Errorf("prometheus authentication (sigv4, oauth2) is %w", ErrUnsupportedProvider)
	}
	timeout := DefaultPrometheusTimeout
	if spec.Timeout != nil {
		if *spec.Timeout < 0 {
			return nil, 0, fmt.Errorf("prometheus timeout should not be negative")
		}
		timeout = time.Duration(*spec.Timeout) * time.Second
	}
	rt := sharedTransports.get(p.Transport, spec.Insecure)
	if len(spec.Headers) > 0 {
		rt = headerRoundTripper{headers: spec.Headers, next: rt}
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, 0, err
	}
	return promv1.NewAPI(c), timeout, nil
}

// prometheusResult converts a query answer into the condition's result and its text.
func prometheusResult(v model.Value) (any, string, error) {
	switch v := v.(type) {
	case *model.Scalar:
		return float64(v.Value), v.Value.String(), nil
	case model.Vector:
		values := make([]float64, 0, len(v))
		texts := make([]string, 0, len(v))
		for _, s := range v {
			if s == nil {
				continue
			}
			values = append(values, float64(s.Value))
			texts = append(texts, s.Value.String())
		}
		return values, "[" + strings.Join(texts, ",") + "]", nil
	case nil:
		return nil, "", fmt.Errorf("prometheus returned no result")
	}
	return nil, "", fmt.Errorf("prometheus result type %s is not supported (only scalar and vector are)", v.Type())
}

// quotedList renders messages as Argo does: "a", "b".
func quotedList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = `"` + s + `"`
	}
	return strings.Join(quoted, ", ")
}

// headerRoundTripper adds the metric's headers to each request.
type headerRoundTripper struct {
	headers []v1alpha1.WebMetricHeader
	next    http.RoundTripper
}

func (h headerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for _, hd := range h.headers {
		req.Header.Set(hd.Key, hd.Value)
	}
	return h.next.RoundTrip(req)
}
