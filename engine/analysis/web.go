package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/util/jsonpath"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// DefaultWebTimeout bounds a web metric request whose metric sets no timeoutSeconds.
const DefaultWebTimeout = 10 * time.Second

// Web measures a metric with an HTTP request, as Argo's web provider does: GET (or POST/PUT with
// a body or jsonBody), the metric's headers, a 2xx answer required; the JSON answer is narrowed by
// the metric's jsonPath (Kubernetes JSONPath, default "{$}") and its first value is the result the
// conditions see (float64, string, bool, nil, []any or map[string]any), shown as JSON.
//
// Like Argo, an answer that is not JSON is a Successful measurement whose value is the raw body,
// without evaluating the conditions.
type Web struct {
	// Transport carries the requests (tests and the simulation plug in their own); nil means an
	// HTTP transport honouring the metric's insecure setting.
	Transport http.RoundTripper
}

// Run sends the request and judges the answer.
func (w *Web) Run(ctx context.Context, metric v1alpha1.Metric, _ *v1alpha1.AnalysisRun) v1alpha1.Measurement {
	spec := metric.Provider.Web
	if spec == nil {
		return errorMeasurement(fmt.Errorf("metric %q has no web provider", metric.Name))
	}
	parser := jsonpath.New("metrics")
	path := spec.JSONPath
	if path == "" {
		path = "{$}"
	}
	if err := parser.Parse(path); err != nil {
		return errorMeasurement(fmt.Errorf("jsonPath %q: %w", path, err))
	}
	timeout := DefaultWebTimeout
	if spec.TimeoutSeconds > 0 {
		timeout = time.Duration(spec.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := webRequest(ctx, spec)
	if err != nil {
		return errorMeasurement(err)
	}
	resp, err := (&http.Client{Transport: sharedTransports.get(w.Transport, spec.Insecure)}).Do(req)
	if err != nil {
		return errorMeasurement(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return errorMeasurement(fmt.Errorf("received non 2xx response code: %d", resp.StatusCode))
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return errorMeasurement(fmt.Errorf("reading the response: %w", err))
	}
	var data any
	if err := json.Unmarshal(body, &data); err != nil {
		return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: string(body)}
	}
	results, err := parser.FindResults(data)
	if err != nil {
		return errorMeasurement(fmt.Errorf("could not find JSONPath in body: %w", err))
	}
	for _, group := range results {
		for _, r := range group {
			value := r.Interface()
			text, err := json.Marshal(value)
			if err != nil {
				return errorMeasurement(err)
			}
			return judged(metric, value, string(text))
		}
	}
	return errorMeasurement(fmt.Errorf("result of web metric produced no value"))
}

func webRequest(ctx context.Context, spec *v1alpha1.WebMetric) (*http.Request, error) {
	method := spec.Method
	if method == "" {
		method = v1alpha1.WebMetricMethodGet
	}
	hasJSON := len(spec.JSONBody) > 0
	var body io.Reader
	switch {
	case spec.Body != "" && hasJSON:
		return nil, fmt.Errorf("use either Body or JSONBody; both cannot exists for WebMetric payload")
	case (spec.Body != "" || hasJSON) && method == v1alpha1.WebMetricMethodGet:
		return nil, fmt.Errorf("Body/JSONBody can only be used with POST or PUT WebMetric Method types")
	case spec.Body != "":
		body = strings.NewReader(spec.Body)
	case hasJSON:
		body = bytes.NewReader(spec.JSONBody)
	}
	req, err := http.NewRequestWithContext(ctx, string(method), spec.URL, body)
	if err != nil {
		return nil, err
	}
	for _, h := range spec.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	if hasJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
