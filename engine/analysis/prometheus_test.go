package analysis

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// fakePrometheus speaks the Prometheus HTTP API's instant-query endpoint: each query string is
// answered with the canned JSON body (and status) given for it, and every request is recorded.
type fakePrometheus struct {
	mu       sync.Mutex
	answers  map[string]promAnswer
	requests []promRequest
	release  chan struct{} // when set, "slow" queries block until it closes
}

type promAnswer struct {
	status int
	body   string
}

type promRequest struct {
	method, query, time, tenant string
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	f.mu.Lock()
	f.requests = append(f.requests, promRequest{r.Method, q, r.Form.Get("time"), r.Header.Get("X-Scope-Org-ID")})
	a, ok := f.answers[q]
	f.mu.Unlock()
	if q == "slow" {
		select {
		case <-f.release:
		case <-r.Context().Done():
		}
		return
	}
	if !ok {
		a = promAnswer{http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected end of input"}`}
	}
	w.Header().Set("Content-Type", "application/json")
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
	io.WriteString(w, a.body)
}

func vector(values ...string) string {
	var samples []string
	for i, v := range values {
		samples = append(samples, fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[1612916126,"%s"]}`, i, v))
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

func scalar(v string) string {
	return `{"status":"success","data":{"resultType":"scalar","result":[1612916126,"` + v + `"]}}`
}

func newFakePrometheus(t *testing.T) (*fakePrometheus, *httptest.Server) {
	f := &fakePrometheus{answers: map[string]promAnswer{
		"success_rate":  {body: vector("0.97")},
		"two_series":    {body: vector("0.97", "0.5")},
		"low":           {body: vector("0.5")},
		"no_data":       {body: vector()},
		"scalar_nan":    {body: scalar("NaN")},
		"scalar_inf":    {body: scalar("+Inf")},
		"scalar":        {body: scalar("0.99")},
		"a_string":      {body: `{"status":"success","data":{"resultType":"string","result":[1612916126,"hello"]}}`},
		"a_matrix":      {body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1612916126,"1"]]}]}}`},
		"with_warnings": {body: `{"status":"success","warnings":["w1","w2"],"infos":["i1"],"data":{"resultType":"vector","result":[]}}`},
		"exploding":     {status: http.StatusServiceUnavailable, body: "upstream down"},
		"too_big":       {status: http.StatusUnprocessableEntity, body: `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`},
	}, release: make(chan struct{})}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { close(f.release); srv.Close() })
	return f, srv
}

func promMetric(address, query, success, failure string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: "m", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Address: address, Query: query}}}
}

func TestPrometheusProvider(t *testing.T) {
	f, srv := newFakePrometheus(t)
	p := &Prometheus{}
	for _, tc := range []struct {
		query, success, failure string
		phase                   v1alpha1.AnalysisPhase
		value, message          string
	}{
		{"success_rate", "result[0] >= 0.95", "", "Successful", "[0.97]", ""},
		{"low", "result[0] >= 0.95", "", "Failed", "[0.5]", ""},
		{"two_series", "all(result, # >= 0.95)", "", "Failed", "[0.97,0.5]", ""},
		{"no_data", "len(result) == 0 || result[0] >= 0.95", "", "Successful", "[]", ""},
		{"no_data", "len(result) > 0 && result[0] >= 0.95", "", "Failed", "[]", ""},
		{"no_data", "result[0] >= 0.95", "", "Error", "[]", "index out of range"},
		{"scalar", "result > 0.95", "", "Successful", "0.99", ""},
		{"scalar_nan", "isNaN(result) || result >= 0.95", "", "Successful", "NaN", ""},
		{"scalar_nan", "result >= 0.95", "result < 0.95", "Inconclusive", "NaN", ""},
		{"scalar_nan", "result >= 0.95", "", "Failed", "NaN", ""},
		{"scalar_inf", "result >= 0.95", "", "Successful", "+Inf", ""},
		{"scalar_inf", "", "isInf(result)", "Failed", "+Inf", ""},
		{"a_string", "true", "", "Error", "", `unexpected value type "string"`},
		{"a_matrix", "true", "", "Error", "", "prometheus result type matrix is not supported"},
		{"broken(", "true", "", "Error", "", "bad_data: 1:1: parse error"},
		{"too_big", "true", "", "Error", "", "execution: query processing would load too many samples"},
		{"exploding", "true", "", "Error", "", "server_error: server error: 503"},
	} {
		t.Run(tc.query+" "+tc.success+tc.failure, func(t *testing.T) {
			m := p.Run(context.Background(), promMetric(srv.URL, tc.query, tc.success, tc.failure), nil)
			if m.Phase != tc.phase || m.Value != tc.value || !strings.Contains(m.Message, tc.message) || (tc.message == "") != (m.Message == "") {
				t.Errorf("got %s %q %q; want %s %q %q", m.Phase, m.Value, m.Message, tc.phase, tc.value, tc.message)
			}
		})
	}
	if r := f.requests[0]; r.method != http.MethodPost || r.time != "" {
		t.Errorf("first request %+v: want a POST at the server's time", r)
	}
}

func TestPrometheusWarningsHeadersTimeAndMetadata(t *testing.T) {
	f, srv := newFakePrometheus(t)
	p := &Prometheus{}
	metric := promMetric(srv.URL, "with_warnings", "len(result) == 0", "")
	metric.Provider.Prometheus.Headers = []v1alpha1.WebMetricHeader{{Key: "X-Scope-Org-ID", Value: "tenant_a"}}
	at := time.Date(2021, 2, 10, 0, 15, 26, 500_000_000, time.UTC)
	m := p.Run(WithNow(context.Background(), at), metric, nil)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Metadata["warnings"] != `"w1", "w2"` || m.Metadata["infos"] != `"i1"` {
		t.Errorf("measurement %+v", m)
	}
	if r := f.requests[0]; r.tenant != "tenant_a" || r.time != "1612916126.5" {
		t.Errorf("request %+v", r)
	}
	if md := p.Metadata(metric); md[ResolvedPrometheusQuery] != "with_warnings" {
		t.Errorf("metadata %v", md)
	}
}

func TestPrometheusConfigurationErrors(t *testing.T) {
	_, srv := newFakePrometheus(t)
	for _, tc := range []struct {
		name    string
		edit    func(*v1alpha1.PrometheusMetric)
		p       *Prometheus
		wantErr string
	}{
		{"no address", func(s *v1alpha1.PrometheusMetric) { s.Address = "" }, &Prometheus{}, "prometheus address is not configured"},
		{"default address", func(s *v1alpha1.PrometheusMetric) { s.Address = "" }, &Prometheus{DefaultAddress: srv.URL}, ""},
		{"not a url", func(s *v1alpha1.PrometheusMetric) { s.Address = "prometheus:9090" }, &Prometheus{}, "is not a URL"},
		{"negative timeout", func(s *v1alpha1.PrometheusMetric) { s.Timeout = ptr.To[int64](-1) }, &Prometheus{}, "timeout should not be negative"},
		{"sigv4", func(s *v1alpha1.PrometheusMetric) { s.Authentication.Sigv4.Region = "eu-west-1" }, &Prometheus{}, "authentication (sigv4, oauth2) is not supported"},
	} {
		metric := promMetric(srv.URL, "success_rate", "result[0] > 0.9", "")
		tc.edit(metric.Provider.Prometheus)
		m := tc.p.Run(context.Background(), metric, nil)
		if tc.wantErr == "" {
			if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
				t.Errorf("%s: %+v", tc.name, m)
			}
			continue
		}
		if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, tc.wantErr) {
			t.Errorf("%s: %+v, want Error %q", tc.name, m, tc.wantErr)
		}
	}
	// The factory refuses authentication up front, so the run fails at once.
	metric := promMetric(srv.URL, "success_rate", "", "")
	metric.Provider.Prometheus.Authentication.OAuth2.TokenURL = "https://auth"
	if _, err := (DefaultProviders{}).Provider(metric); err == nil || !strings.Contains(err.Error(), "not supported by rolloutlab") {
		t.Errorf("factory: %v", err)
	}
}

func TestPrometheusTimeout(t *testing.T) {
	_, srv := newFakePrometheus(t)
	metric := promMetric(srv.URL, "slow", "true", "")
	metric.Provider.Prometheus.Timeout = ptr.To[int64](1)
	m := (&Prometheus{}).Run(context.Background(), metric, nil)
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "context deadline exceeded") {
		t.Errorf("%+v", m)
	}
}

func TestPrometheusInsecure(t *testing.T) {
	f := &fakePrometheus{answers: map[string]promAnswer{"up": {body: vector("1")}}}
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	metric := promMetric(srv.URL, "up", "result[0] == 1", "")
	p := &Prometheus{}
	if m := p.Run(context.Background(), metric, nil); m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "certificate") {
		t.Errorf("verified TLS: %+v", m)
	}
	metric.Provider.Prometheus.Insecure = true
	if m := p.Run(context.Background(), metric, nil); m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("insecure: %+v", m)
	}
}

// The docs' background analysis, built from its template and run against the fake server over
// simulated time: the query arrives with the rollout's args substituted, at the step's time.
func TestBackgroundAnalysisAgainstPrometheus(t *testing.T) {
	f, srv := newFakePrometheus(t)
	src, _ := loadDocs(t, "background-analysis.template.yaml")
	src.Templates[0].Spec.Metrics[0].Provider.Prometheus.Address = srv.URL
	run, err := NewRun(request(v1alpha1.RolloutAnalysis{Templates: refs("success-rate"), Args: guestbookArgs}), src)
	if err != nil {
		t.Fatal(err)
	}
	query := run.Spec.Metrics[0].Provider.Prometheus.Query
	resolved := strings.ReplaceAll(query, "{{args.service-name}}", "guestbook-svc.default.svc.cluster.local")
	f.answers[resolved] = promAnswer{body: vector("0.5")} // below 0.95: every measurement fails

	opts := Options{Providers: DefaultProviders{}}
	now := t0
	for i := 0; i < 10 && !run.Status.Phase.Completed(); i++ {
		res := Step(context.Background(), run, now, opts)
		run = res.Run
		if res.Next != nil {
			now = *res.Next
		}
	}
	// failureLimit 3: the fourth failure, 15 minutes in (interval 5m), fails the run.
	res := Result(run, "success-rate")
	if run.Status.Phase != v1alpha1.AnalysisPhaseFailed || res.Failed != 4 || !run.Status.CompletedAt.Time.Equal(t0.Add(15*time.Minute)) ||
		run.Status.Message != `Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)` {
		t.Errorf("run %s %q at %v, result %+v", run.Status.Phase, run.Status.Message, run.Status.CompletedAt, res)
	}
	if len(f.requests) != 4 || f.requests[0].query != resolved || f.requests[3].time != fmt.Sprint(t0.Add(15*time.Minute).Unix()) {
		t.Errorf("requests %+v", f.requests)
	}
	if res.Metadata[ResolvedPrometheusQuery] != resolved || res.Measurements[0].Value != "[0.5]" {
		t.Errorf("result %+v", res)
	}
}
