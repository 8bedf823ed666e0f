package v1alpha1

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// testdata/analysis holds every YAML example of Argo's docs/features/analysis.md that is an
// AnalysisTemplate, ClusterAnalysisTemplate or AnalysisRun, or a fragment of one, copied verbatim:
//
//   - NAME.template.yaml and NAME.run.yaml are whole documents (several, separated by ---);
//   - NAME.spec-fragment.yaml is a piece of a template spec (metrics:, dryRun:, ...);
//   - NAME.metric-fragment.yaml is a piece of one metric.
//
// Where the docs elide part of a document with a "..." line, the elision line and the lines
// indented under it are dropped before decoding (they are not YAML); everything else decodes
// strictly, as written.

func analysisExamples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "analysis", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no analysis examples: %v", err)
	}
	return files
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// stripElisions removes the docs' "..." lines and the lines indented deeper than them.
func stripElisions(doc string) string {
	var out []string
	elidedIndent := -1
	for _, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if elidedIndent >= 0 && trimmed != "" && indent > elidedIndent {
			continue
		}
		elidedIndent = -1
		if trimmed == "..." {
			elidedIndent = indent
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// decodeAnalysisDocument strictly decodes one document into the kind it declares.
func decodeAnalysisDocument(t *testing.T, doc []byte) runtime.Object {
	t.Helper()
	var head metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Fatalf("type meta: %v", err)
	}
	if head.APIVersion != "argoproj.io/v1alpha1" {
		t.Fatalf("apiVersion = %q", head.APIVersion)
	}
	var obj runtime.Object
	switch head.Kind {
	case "AnalysisTemplate":
		obj = &AnalysisTemplate{}
	case "ClusterAnalysisTemplate":
		obj = &ClusterAnalysisTemplate{}
	case "AnalysisRun":
		obj = &AnalysisRun{}
	default:
		t.Fatalf("unexpected kind %q", head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: strict decode: %v", head.Kind, err)
	}
	return obj
}

// loadAnalysisExample decodes every document of a whole-document example.
func loadAnalysisExample(t *testing.T, name string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "analysis", name))
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for _, doc := range docSeparator.Split(stripElisions(string(data)), -1) {
		objs = append(objs, decodeAnalysisDocument(t, []byte(doc)))
	}
	return objs
}

func TestAnalysisDocExamplesDecodeStrictly(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, file := range analysisExamples(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasSuffix(name, ".spec-fragment.yaml"):
				var spec AnalysisTemplateSpec
				if err := yaml.UnmarshalStrict(data, &spec); err != nil {
					t.Fatalf("strict decode: %v", err)
				}
				if len(spec.Metrics) == 0 {
					t.Error("no metrics decoded")
				}
			case strings.HasSuffix(name, ".metric-fragment.yaml"):
				var m Metric
				if err := yaml.UnmarshalStrict(data, &m); err != nil {
					t.Fatalf("strict decode: %v", err)
				}
			default:
				for _, obj := range loadAnalysisExample(t, name) {
					gvks, _, err := scheme.ObjectKinds(obj)
					if err != nil || len(gvks) != 1 {
						t.Errorf("%T not registered: %v", obj, err)
					}
					// Re-encoding and decoding again gives the same object.
					data, err := json.Marshal(obj)
					if err != nil {
						t.Fatal(err)
					}
					again := obj.DeepCopyObject()
					if err := json.Unmarshal(data, again); err != nil {
						t.Fatalf("re-decode: %v", err)
					}
					if !equality.Semantic.DeepEqual(obj, again) {
						t.Errorf("round trip changed the object:\n%s", data)
					}
				}
			}
		})
	}
}

// TestAnalysisDocExamplesContents spot-checks that fields land where Argo puts them.
func TestAnalysisDocExamplesContents(t *testing.T) {
	bg := loadAnalysisExample(t, "background-analysis.template.yaml")[0].(*AnalysisTemplate)
	m := bg.Spec.Metrics[0]
	if bg.Name != "success-rate" || m.Name != "success-rate" || m.Interval != "5m" ||
		m.SuccessCondition != "result[0] >= 0.95" || *m.FailureLimit != intstr.FromInt32(3) {
		t.Errorf("background template decoded wrong: %+v", m)
	}
	if p := m.Provider.Prometheus; p == nil || p.Address != "http://prometheus.example.com:9090" ||
		!strings.Contains(p.Query, `destination_service=~"{{args.service-name}}"`) || m.Provider.Type() != "prometheus" {
		t.Errorf("prometheus provider decoded wrong: %+v", m.Provider)
	}
	if len(bg.Spec.Args) != 1 || bg.Spec.Args[0].Name != "service-name" || bg.Spec.Args[0].Value != nil {
		t.Errorf("args = %+v", bg.Spec.Args)
	}

	// `value: 9090` is a YAML number in Argo's docs; it is kept as the string "9090".
	inline := loadAnalysisExample(t, "inline-analysis.template.yaml")[0].(*AnalysisTemplate)
	if a := inline.Spec.Args[1]; a.Name != "prometheus-port" || a.Value == nil || a.Value.String() != "9090" {
		t.Errorf("prometheus-port = %+v", a)
	}
	if inline.Spec.Metrics[0].Provider.Prometheus.Address != "http://prometheus.example.com:{{args.prometheus-port}}" {
		t.Error("address placeholder lost")
	}

	cluster := loadAnalysisExample(t, "cluster-analysis-template.template.yaml")[0]
	if _, ok := cluster.(*ClusterAnalysisTemplate); !ok {
		t.Errorf("cluster template decoded as %T", cluster)
	}

	nested := loadAnalysisExample(t, "templates-in-template-without-metrics.template.yaml")
	rates := nested[2].(*AnalysisTemplate)
	if len(rates.Spec.Metrics) != 0 || len(rates.Spec.Templates) != 2 ||
		rates.Spec.Templates[1] != (RolloutAnalysisTemplate{TemplateName: "error-rate"}) {
		t.Errorf("template references = %+v", rates.Spec.Templates)
	}

	args := loadAnalysisExample(t, "template-arguments.template.yaml")[0].(*AnalysisTemplate)
	token := args.Spec.Args[4]
	if token.Name != "api-token" || token.ValueFrom == nil ||
		*token.ValueFrom.SecretKeyRef != (SecretKeyRef{Name: "token-secret", Key: "apiToken"}) {
		t.Errorf("secret arg = %+v", token)
	}
	web := args.Spec.Metrics[0].Provider.Web
	if web == nil || web.URL != "{{ args.api-url }}?service={{ args.service-name }}" || web.JSONPath != "{$.results.ok}" ||
		web.Headers[0] != (WebMetricHeader{Key: "Authorization", Value: "Bearer {{ args.api-token }}"}) {
		t.Errorf("web provider = %+v", web)
	}

	run := loadAnalysisExample(t, "multiple-templates.run.yaml")[0].(*AnalysisRun)
	if len(run.Spec.Metrics) != 2 || run.Spec.Metrics[1].Name != "error-rate" ||
		run.Spec.Args[0].Value.String() != "guestbook-svc.default.svc.cluster.local" {
		t.Errorf("run spec = %+v", run.Spec)
	}

	ttl := loadAnalysisExample(t, "ttl-strategy.run.yaml")[0].(*AnalysisRun)
	if s := ttl.Spec.TTLStrategy; s == nil || *s.SecondsAfterCompletion != 3600 || *s.SecondsAfterSuccess != 1800 || *s.SecondsAfterFailure != 1800 {
		t.Errorf("ttlStrategy = %+v", s)
	}

	for file, want := range map[string][2]string{
		"nan-inconclusive.run.yaml":       {"Inconclusive", "NaN"},
		"inf-failed.run.yaml":             {"Failed", "+Inf"},
		"empty-array-successful.run.yaml": {"Successful", "[]"},
	} {
		r := loadAnalysisExample(t, file)[0].(*AnalysisRun)
		res := r.Status.MetricResults[0]
		if string(r.Status.Phase) != want[0] || string(res.Phase) != want[0] || res.Count != 1 ||
			string(res.Measurements[0].Phase) != want[0] || res.Measurements[0].Value != want[1] ||
			res.Measurements[0].FinishedAt == nil || r.Status.StartedAt == nil {
			t.Errorf("%s: status = %+v", file, r.Status)
		}
	}

	var only Metric
	if err := yaml.UnmarshalStrict(readAnalysisExample(t, "consecutive-success-limit-only.metric-fragment.yaml"), &only); err != nil {
		t.Fatal(err)
	}
	if *only.FailureLimit != intstr.FromInt32(-1) || *only.ConsecutiveSuccessLimit != intstr.FromInt32(4) {
		t.Errorf("limits = %v %v", only.FailureLimit, only.ConsecutiveSuccessLimit)
	}
	var retention AnalysisTemplateSpec
	if err := yaml.UnmarshalStrict(readAnalysisExample(t, "measurement-retention-regex.spec-fragment.yaml"), &retention); err != nil {
		t.Fatal(err)
	}
	if len(retention.MeasurementRetention) != 1 || retention.MeasurementRetention[0] != (MeasurementRetention{MetricName: ".*", Limit: 20}) {
		t.Errorf("measurementRetention = %+v", retention.MeasurementRetention)
	}
}

func readAnalysisExample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "analysis", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestArgumentValueDecoding(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		want    *ArgumentValue
		wantErr string
	}{
		{doc: `{name: a, value: "x"}`, want: val("x")},
		{doc: `{name: a, value: 9090}`, want: val("9090")},
		{doc: `{name: a, value: 0.95}`, want: val("0.95")},
		{doc: `{name: a, value: true}`, want: val("true")},
		{doc: `{name: a, value: ""}`, want: val("")},
		{doc: `{name: a, value: "{{args.x}}"}`, want: val("{{args.x}}")},
		{doc: `{name: a}`},
		{doc: `{name: a, value: null}`},
		{doc: `{name: a, value: [1]}`, wantErr: "must be a string, number or boolean"},
		{doc: `{name: a, value: {b: 1}}`, wantErr: "must be a string, number or boolean"},
		{doc: `{name: a, valu: x}`, wantErr: `unknown field "valu"`},
		{doc: `{name: a, valueFrom: {secretKeyRef: {name: s, key: k, extra: 1}}}`, wantErr: `unknown field "extra"`},
	} {
		var a Argument
		err := yaml.UnmarshalStrict([]byte(tc.doc), &a)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.doc, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.doc, err)
			continue
		}
		if a.Name != "a" || !equality.Semantic.DeepEqual(a.Value, tc.want) {
			t.Errorf("%s: decoded %+v", tc.doc, a)
		}
	}
	// Decoding that is not strict (a client reading objects a newer server wrote) drops unknown fields.
	var lenient Argument
	if err := json.Unmarshal([]byte(`{"name":"a","value":1,"future":true}`), &lenient); err != nil || lenient.Value.String() != "1" {
		t.Errorf("lenient decode: %+v, %v", lenient, err)
	}
	// The value encodes back as a string, as Argo writes it.
	data, err := json.Marshal(Argument{Name: "p", Value: val("9090")})
	if err != nil || string(data) != `{"name":"p","value":"9090"}` {
		t.Errorf("encoded %s, %v", data, err)
	}
}

// Providers rolloutlab does not run still decode, so a template written for them can be read and
// its run rejected with a clear message.
func TestUnsupportedMetricProvidersDecode(t *testing.T) {
	doc := `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  metrics:
  - name: job
    provider:
      job:
        metadata: {labels: {app: smoke}}
        spec:
          backoffLimit: 1
          template:
            spec:
              restartPolicy: Never
              containers: [{name: test, image: busybox, command: [sh, -c, "exit 0"]}]
  - name: dd
    provider: {datadog: {apiVersion: v2, interval: 5m, query: "avg:x{*}"}}
  - name: plugin
    provider: {plugin: {argoproj-labs/sample-prometheus: {address: "http://p:9090", query: up}}}
  - name: nr
    provider: {newRelic: {profile: p, query: q}}
`
	var tmpl AnalysisTemplate
	if err := yaml.UnmarshalStrict([]byte(doc), &tmpl); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	got := []string{}
	for _, m := range tmpl.Spec.Metrics {
		got = append(got, m.Provider.Type())
	}
	if strings.Join(got, ",") != "job,datadog,plugin,newRelic" {
		t.Errorf("provider types = %v", got)
	}
	if *tmpl.Spec.Metrics[0].Provider.Job.Spec.BackoffLimit != 1 {
		t.Error("job spec not decoded")
	}
	data, err := json.Marshal(&tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"plugin":{"argoproj-labs/sample-prometheus":{"address":"http://p:9090","query":"up"}}`)) {
		t.Errorf("plugin not preserved: %s", data)
	}
}

func TestAnalysisRunStatusJSONUsesArgoFieldNames(t *testing.T) {
	at := metav1.Unix(1612916126, 0).Rfc3339Copy()
	run := AnalysisRun{
		Spec: AnalysisRunSpec{Metrics: []Metric{{Name: "m", Count: ptr.To(intstr.FromString("{{args.count}}")),
			Provider: MetricProvider{Web: &WebMetric{URL: "http://x", JSONBody: json.RawMessage(`{"a":1}`)}}}}, Terminate: true},
		Status: AnalysisRunStatus{
			Phase: AnalysisPhaseFailed, Message: "m", StartedAt: &at, CompletedAt: &at,
			RunSummary:    RunSummary{Count: 1, Failed: 1},
			DryRunSummary: &RunSummary{},
			MetricResults: []MetricResult{{
				Name: "m", Phase: AnalysisPhaseFailed, Count: 2, Successful: 1, Failed: 1, Error: 1, ConsecutiveError: 1,
				ConsecutiveSuccess: 0, DryRun: true, Metadata: map[string]string{"k": "v"},
				Measurements: []Measurement{{Phase: AnalysisPhaseFailed, Value: "[0.5]", StartedAt: &at, FinishedAt: &at, Message: "x"}},
			}},
		},
	}
	data, err := json.Marshal(&run)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"count":"{{args.count}}"`, `"jsonBody":{"a":1}`, `"terminate":true`,
		`"status":{"phase":"Failed","message":"m","metricResults":[{"name":"m","phase":"Failed","measurements":[{"phase":"Failed","message":"x","startedAt":"2021-02-10T00:15:26Z","finishedAt":"2021-02-10T00:15:26Z","value":"[0.5]"}],"count":2,"successful":1,"failed":1,"error":1,"consecutiveError":1,"dryRun":true,"metadata":{"k":"v"}}],"startedAt":"2021-02-10T00:15:26Z","runSummary":{"count":1,"failed":1},"dryRunSummary":{},"completedAt":"2021-02-10T00:15:26Z"}`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("missing %s in\n%s", want, data)
		}
	}
}

func TestAnalysisDeepCopyIsIndependent(t *testing.T) {
	orig := loadAnalysisExample(t, "nan-successful.run.yaml")[0].(*AnalysisRun)
	orig.Spec.Metrics = []Metric{{Name: "m", Count: ptr.To(intstr.FromInt32(2)), Provider: MetricProvider{
		Prometheus: &PrometheusMetric{Query: "q", Timeout: ptr.To[int64](5), Headers: []WebMetricHeader{{Key: "a", Value: "b"}}},
	}}}
	orig.Spec.Args = []Argument{{Name: "a", Value: val("v")}}
	snapshot, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	cp := orig.DeepCopyObject().(*AnalysisRun)
	*cp.Spec.Metrics[0].Count = intstr.FromInt32(9)
	*cp.Spec.Metrics[0].Provider.Prometheus.Timeout = 9
	cp.Spec.Metrics[0].Provider.Prometheus.Headers[0].Value = "changed"
	*cp.Spec.Args[0].Value = "changed"
	cp.Status.MetricResults[0].Measurements[0].Value = "changed"
	cp.Status.StartedAt.Time = cp.Status.StartedAt.Add(1)
	after, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapshot, after) {
		t.Errorf("mutating the copy changed the original:\nbefore %s\nafter  %s", snapshot, after)
	}
	for _, obj := range []runtime.Object{&AnalysisRunList{}, &AnalysisTemplate{}, &AnalysisTemplateList{}, &ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{}} {
		if obj.DeepCopyObject() == nil {
			t.Errorf("%T: nil copy", obj)
		}
	}
}

func TestAnalysisSchemeRegistration(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for kind, obj := range map[string]runtime.Object{
		"AnalysisRun": &AnalysisRun{}, "AnalysisRunList": &AnalysisRunList{},
		"AnalysisTemplate": &AnalysisTemplate{}, "AnalysisTemplateList": &AnalysisTemplateList{},
		"ClusterAnalysisTemplate": &ClusterAnalysisTemplate{}, "ClusterAnalysisTemplateList": &ClusterAnalysisTemplateList{},
	} {
		gvks, _, err := scheme.ObjectKinds(obj)
		if err != nil || len(gvks) != 1 || gvks[0] != SchemeGroupVersion.WithKind(kind) {
			t.Errorf("%s kinds = %v, %v", kind, gvks, err)
		}
	}
	if AnalysisRunGVR.Resource != "analysisruns" || AnalysisTemplateGVR.Resource != "analysistemplates" ||
		ClusterAnalysisTemplateGVR.Resource != "clusteranalysistemplates" || AnalysisRunGVK.Kind != "AnalysisRun" ||
		AnalysisTemplateGVK.Kind != "AnalysisTemplate" || ClusterAnalysisTemplateGVK.Kind != "ClusterAnalysisTemplate" {
		t.Error("GVR/GVK constants wrong")
	}
}

func TestAnalysisPhaseCompleted(t *testing.T) {
	for phase, want := range map[AnalysisPhase]bool{
		"": false, AnalysisPhasePending: false, AnalysisPhaseRunning: false,
		AnalysisPhaseSuccessful: true, AnalysisPhaseFailed: true, AnalysisPhaseError: true, AnalysisPhaseInconclusive: true,
	} {
		if phase.Completed() != want {
			t.Errorf("%q.Completed() = %v", phase, !want)
		}
	}
}

func val(s string) *ArgumentValue { v := ArgumentValue(s); return &v }
