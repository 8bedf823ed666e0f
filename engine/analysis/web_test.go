package analysis

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// webRecorder answers like a metrics endpoint and remembers the last request.
type webRecorder struct {
	method, path, auth, contentType, body string
}

func newWebServer(t *testing.T) (*webRecorder, *httptest.Server) {
	rec := &webRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		*rec = webRecorder{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)}
		switch r.URL.Path {
		case "/measure":
			io.WriteString(w, `{"data": {"ok": true, "successPercent": 0.95, "items": [3, 4]}}`)
		case "/results":
			io.WriteString(w, `{"results": {"ok": "true"}}`)
		case "/text":
			io.WriteString(w, "OK")
		case "/false":
			io.WriteString(w, "false")
		case "/null":
			io.WriteString(w, `{"data": null}`)
		case "/echo":
			w.Write(body)
		case "/slow":
			<-r.Context().Done()
		default:
			http.Error(w, "nope", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return rec, srv
}

func webMetric(url, jsonPath, success string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: "webmetric", SuccessCondition: success,
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: url, JSONPath: jsonPath}}}
}

func TestWebProvider(t *testing.T) {
	_, srv := newWebServer(t)
	w := &Web{}
	for _, tc := range []struct {
		name, path, jsonPath, success string
		phase                         v1alpha1.AnalysisPhase
		value, message                string
	}{
		{"docs: a bool", "/measure", "{$.data.ok}", "result == true", "Successful", "true", ""},
		{"docs: an object", "/measure", "{$.data}", "result.ok && result.successPercent >= 0.90", "Successful",
			`{"items":[3,4],"ok":true,"successPercent":0.95}`, ""},
		{"a number below", "/measure", "{$.data.successPercent}", "result >= 0.99", "Failed", "0.95", ""},
		{"an array", "/measure", "{$.data.items}", "len(result) == 2 && result[1] == 4", "Successful", "[3,4]", ""},
		{"whole document by default", "/measure", "", "result.data.ok", "Successful",
			`{"data":{"items":[3,4],"ok":true,"successPercent":0.95}}`, ""},
		{"JSON false", "/false", "", "result == true", "Failed", "false", ""},
		{"null with default()", "/null", "{$.data}", "default(result, 0) < 1", "Successful", "null", ""},
		{"not JSON: Successful as Argo, conditions not evaluated", "/text", "", "false", "Successful", "OK", ""},
		{"missing key", "/measure", "{$.data.nope}", "true", "Error", "", "could not find JSONPath in body"},
		{"bad jsonPath", "/measure", "{$.data", "true", "Error", "", `jsonPath "{$.data"`},
		{"non 2xx", "/broken", "", "true", "Error", "", "received non 2xx response code: 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := w.Run(context.Background(), webMetric(srv.URL+tc.path, tc.jsonPath, tc.success), nil)
			if m.Phase != tc.phase || m.Value != tc.value || !strings.Contains(m.Message, tc.message) || (tc.message == "") != (m.Message == "") {
				t.Errorf("got %s %q %q; want %s %q %q", m.Phase, m.Value, m.Message, tc.phase, tc.value, tc.message)
			}
		})
	}
}

func TestWebRequests(t *testing.T) {
	rec, srv := newWebServer(t)
	w := &Web{}
	metric := webMetric(srv.URL+"/echo?service=guestbook", "{$.data.ok}", "result == true")
	spec := metric.Provider.Web
	spec.Headers = []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer t0k"}}

	// An empty answer is not JSON: Successful, as in Argo.
	m := w.Run(context.Background(), metric, nil)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || rec.method != http.MethodGet || rec.path != "/echo?service=guestbook" ||
		rec.auth != "Bearer t0k" || rec.body != "" {
		t.Errorf("GET: %+v %+v", m, rec)
	}

	spec.Method = v1alpha1.WebMetricMethodPost
	spec.Body = `{"data": {"ok": true}}`
	if m := w.Run(context.Background(), metric, nil); m.Phase != v1alpha1.AnalysisPhaseSuccessful || rec.method != http.MethodPost ||
		rec.body != spec.Body || rec.contentType != "" {
		t.Errorf("POST body: %+v %+v", m, rec)
	}

	spec.Method = v1alpha1.WebMetricMethodPut
	spec.Body = ""
	spec.JSONBody = json.RawMessage(`{"data":{"ok":true,"key3":"guestbook"}}`)
	if m := w.Run(context.Background(), metric, nil); m.Phase != v1alpha1.AnalysisPhaseSuccessful || rec.method != http.MethodPut ||
		rec.contentType != "application/json" || rec.body != string(spec.JSONBody) {
		t.Errorf("PUT jsonBody: %+v %+v", m, rec)
	}

	for _, tc := range []struct {
		method  v1alpha1.WebMetricMethod
		body    string
		json    string
		wantErr string
	}{
		{"", "x", "", "Body/JSONBody can only be used with POST or PUT"},
		{"GET", "", `{"a":1}`, "Body/JSONBody can only be used with POST or PUT"},
		{"POST", "x", `{"a":1}`, "use either Body or JSONBody"},
	} {
		spec.Method, spec.Body, spec.JSONBody = tc.method, tc.body, json.RawMessage(tc.json)
		if tc.json == "" {
			spec.JSONBody = nil
		}
		if m := w.Run(context.Background(), metric, nil); m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, tc.wantErr) {
			t.Errorf("%s %q %q: %+v", tc.method, tc.body, tc.json, m)
		}
	}
}

func TestWebTimeout(t *testing.T) {
	_, srv := newWebServer(t)
	metric := webMetric(srv.URL+"/slow", "", "true")
	metric.Provider.Web.TimeoutSeconds = 1
	m := (&Web{}).Run(context.Background(), metric, nil)
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "context deadline exceeded") {
		t.Errorf("%+v", m)
	}
}

// The docs' args example end to end: a web metric whose URL and header come from the run's args,
// one of them a secret.
func TestWebMetricThroughStep(t *testing.T) {
	rec, srv := newWebServer(t)
	src, _ := loadDocs(t, "template-arguments.template.yaml")
	analysis := v1alpha1.RolloutAnalysis{Templates: refs("args-example"), Args: []v1alpha1.AnalysisRunArgument{
		{Name: "service-name", Value: "guestbook"},
		{Name: "api-url", Value: srv.URL + "/results"},
		{Name: "stable-hash", Value: "s"}, {Name: "latest-hash", Value: "l"},
	}}
	run, err := NewRun(request(analysis), src)
	if err != nil {
		t.Fatal(err)
	}
	secrets := func(ns, name, key string) (string, error) { return "t0k", nil }
	res := Step(context.Background(), run, t0, Options{Providers: DefaultProviders{}, Secrets: secrets})
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || rec.path != "/results?service=guestbook" || rec.auth != "Bearer t0k" ||
		Result(res.Run, "webmetric").Measurements[0].Value != `"true"` {
		t.Errorf("run %s %q, request %+v", res.Run.Status.Phase, res.Run.Status.Message, rec)
	}

	// The condition compares with the string 'true': a JSON true does not compare (Error, retried).
	_, srv2 := newWebServer(t)
	analysis.Args[1].Value = srv2.URL + "/measure"
	src.Templates[0].Spec.Metrics[0].Provider.Web.JSONPath = "{$.data.ok}"
	run, err = NewRun(request(analysis), src)
	if err != nil {
		t.Fatal(err)
	}
	res = Step(context.Background(), run, t0, Options{Providers: DefaultProviders{}, Secrets: secrets})
	m := Result(res.Run, "webmetric").Measurements[0]
	if res.Run.Status.Phase != v1alpha1.AnalysisPhaseRunning || m.Phase != v1alpha1.AnalysisPhaseError ||
		!strings.Contains(m.Message, "mismatched types bool and string") || !res.Next.Equal(t0.Add(ErrorRetryInterval)) {
		t.Errorf("run %s, measurement %+v, next %v", res.Run.Status.Phase, m, res.Next)
	}
}
