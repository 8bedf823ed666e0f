package analysis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Provider takes one measurement of a metric whose args are already substituted. It returns a
// completed measurement (Successful, Failed, Inconclusive, or Error with a message) and need not
// set its times: Step stamps them with its own now.
type Provider interface {
	Run(ctx context.Context, metric v1alpha1.Metric, run *v1alpha1.AnalysisRun) v1alpha1.Measurement
}

// MetadataProvider is a Provider with metadata to show in a metric's result (Argo's
// GetMetadata), recorded when the metric is first measured.
type MetadataProvider interface {
	Provider
	Metadata(metric v1alpha1.Metric) map[string]string
}

// ProviderFactory picks the provider of a metric. An error wrapping ErrUnsupportedProvider ends
// the run in Error at once; any other error makes that measurement an Error.
type ProviderFactory interface {
	Provider(metric v1alpha1.Metric) (Provider, error)
}

// ProviderFactoryFunc adapts a function to ProviderFactory.
type ProviderFactoryFunc func(metric v1alpha1.Metric) (Provider, error)

// Provider calls f.
func (f ProviderFactoryFunc) Provider(metric v1alpha1.Metric) (Provider, error) { return f(metric) }

// ErrUnsupportedProvider is wrapped by factories for providers they cannot run.
var ErrUnsupportedProvider = errors.New("not supported by rolloutlab")

// DefaultProviders runs the providers rolloutlab implements, Prometheus and Web, over real HTTP.
// A nil field uses a zero provider.
type DefaultProviders struct {
	Prometheus *Prometheus
	Web        *Web
}

// Provider returns the metric's provider, or an ErrUnsupportedProvider error for the others (Job
// included, for now).
func (d DefaultProviders) Provider(metric v1alpha1.Metric) (Provider, error) {
	switch {
	case metric.Provider.Prometheus != nil && !metric.Provider.Prometheus.Authentication.IsEmpty():
		return nil, fmt.Errorf("metric %q: prometheus authentication (sigv4, oauth2) is %w", metric.Name, ErrUnsupportedProvider)
	case metric.Provider.Prometheus != nil:
		if d.Prometheus == nil {
			return &Prometheus{}, nil
		}
		return d.Prometheus, nil
	case metric.Provider.Web != nil:
		if d.Web == nil {
			return &Web{}, nil
		}
		return d.Web, nil
	}
	kind := metric.Provider.Type()
	if kind == "" {
		return nil, fmt.Errorf("metric %q has no provider", metric.Name)
	}
	return nil, fmt.Errorf("metric %q: provider %s is %w (supported: prometheus, web)", metric.Name, kind, ErrUnsupportedProvider)
}

type nowKey struct{}

// WithNow returns a context that tells providers the time of the measurement (Step sets it).
func WithNow(ctx context.Context, now time.Time) context.Context {
	return context.WithValue(ctx, nowKey{}, now)
}

// NowFrom returns the time WithNow put in the context, or the zero time.
func NowFrom(ctx context.Context) time.Time {
	t, _ := ctx.Value(nowKey{}).(time.Time)
	return t
}

// errorMeasurement is a measurement that failed to produce a value.
func errorMeasurement(err error) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: err.Error()}
}

// judged is a measurement of value, judged by the metric's conditions.
func judged(metric v1alpha1.Metric, result any, value string) v1alpha1.Measurement {
	phase, err := EvaluateResult(result, metric)
	m := v1alpha1.Measurement{Phase: phase, Value: value}
	if err != nil {
		m.Message = err.Error()
	}
	return m
}

// sharedTransports are the HTTP transports of the providers that bring none, shared so that
// connections are reused across measurements and runs.
var sharedTransports transports

// transports holds the two HTTP transports the providers need, built once: one verifying TLS and
// one not (for metrics with insecure: true).
type transports struct {
	once     sync.Once
	secure   http.RoundTripper
	insecure http.RoundTripper
}

// get returns override when set, else the transport for the metric's insecure setting.
func (t *transports) get(override http.RoundTripper, insecure bool) http.RoundTripper {
	if override != nil {
		return override
	}
	t.once.Do(func() {
		base := http.DefaultTransport.(*http.Transport)
		t.secure = base.Clone()
		skip := base.Clone()
		skip.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the metric asked for it
		t.insecure = skip
	})
	if insecure {
		return t.insecure
	}
	return t.secure
}
