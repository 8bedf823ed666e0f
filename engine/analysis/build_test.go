package analysis

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The templates and runs of Argo's docs/features/analysis.md, as copied (verbatim) for the API
// package's decoding test.
var docExamples = filepath.Join("..", "api", "v1alpha1", "testdata", "analysis")

// loadDocs decodes the documents of one docs example: AnalysisTemplates (given the namespace
// "shop", where the rollouts below live), ClusterAnalysisTemplates and AnalysisRuns.
func loadDocs(t *testing.T, name string) (StaticTemplates, []*v1alpha1.AnalysisRun) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(docExamples, name))
	if err != nil {
		t.Fatal(err)
	}
	var src StaticTemplates
	var runs []*v1alpha1.AnalysisRun
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		var err error
		switch head.Kind {
		case "AnalysisTemplate":
			tmpl := &v1alpha1.AnalysisTemplate{}
			err = yaml.UnmarshalStrict([]byte(doc), tmpl)
			tmpl.Namespace = "shop"
			src.Templates = append(src.Templates, tmpl)
		case "ClusterAnalysisTemplate":
			tmpl := &v1alpha1.ClusterAnalysisTemplate{}
			err = yaml.UnmarshalStrict([]byte(doc), tmpl)
			src.ClusterTemplates = append(src.ClusterTemplates, tmpl)
		case "AnalysisRun":
			run := &v1alpha1.AnalysisRun{}
			err = yaml.UnmarshalStrict([]byte(doc), run)
			runs = append(runs, run)
		default:
			t.Fatalf("%s: unexpected kind %q", name, head.Kind)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return src, runs
}

func refs(names ...string) []v1alpha1.RolloutAnalysisTemplate {
	var out []v1alpha1.RolloutAnalysisTemplate
	for _, n := range names {
		out = append(out, v1alpha1.RolloutAnalysisTemplate{TemplateName: n})
	}
	return out
}

var guestbookArgs = []v1alpha1.AnalysisRunArgument{{Name: "service-name", Value: "guestbook-svc.default.svc.cluster.local"}}

func request(analysis v1alpha1.RolloutAnalysis) RunRequest {
	return RunRequest{Name: "guestbook-6c4b-2", Analysis: analysis,
		Refs: RolloutRefs{Rollout: testRollout(), StableHash: "6c4b", LatestHash: "7f9d"}}
}

// The docs show the AnalysisRun that the controller generates from several templates, and from a
// template that references others: NewRun must generate the same spec.
func TestNewRunMatchesTheDocsGeneratedRuns(t *testing.T) {
	for _, tc := range []struct {
		templates, run string
		refs           []v1alpha1.RolloutAnalysisTemplate
	}{
		{"multiple-templates.template.yaml", "multiple-templates.run.yaml", refs("success-rate", "error-rate")},
		{"templates-in-template.template.yaml", "templates-in-template.run.yaml", refs("rates")},
		{"templates-in-template-without-metrics.template.yaml", "templates-in-template.run.yaml", refs("rates")},
		// error-rate is reached twice (directly and through rates): it is kept once.
		{"templates-in-template-without-metrics.template.yaml", "templates-in-template.run.yaml", refs("rates", "error-rate")},
	} {
		t.Run(tc.templates, func(t *testing.T) {
			src, _ := loadDocs(t, tc.templates)
			_, runs := loadDocs(t, tc.run)
			run, err := NewRun(request(v1alpha1.RolloutAnalysis{Templates: tc.refs, Args: guestbookArgs}), src)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(run.Spec, runs[0].Spec) {
				t.Errorf("generated spec differs from the docs:\n got %+v\nwant %+v", run.Spec, runs[0].Spec)
			}
			if run.Namespace != "shop" || run.Name != "guestbook-6c4b-2" || run.Kind != "AnalysisRun" ||
				run.APIVersion != "argoproj.io/v1alpha1" {
				t.Errorf("meta = %+v %+v", run.TypeMeta, run.ObjectMeta)
			}
			owner := metav1.GetControllerOf(run)
			if owner == nil || owner.Kind != "Rollout" || owner.Name != "guestbook" || owner.UID != "uid-1" {
				t.Errorf("owner = %+v", owner)
			}
		})
	}
}

func TestNewRunFromClusterTemplateKeepsDefaults(t *testing.T) {
	src, _ := loadDocs(t, "cluster-analysis-template.template.yaml")
	analysis := v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "success-rate", ClusterScope: true}},
		Args:      guestbookArgs,
	}
	run, err := NewRun(request(analysis), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Spec.Args) != 2 || run.Spec.Args[1].Value.String() != "9090" || run.Namespace != "shop" {
		t.Errorf("args = %+v", run.Spec.Args)
	}
	resolved, err := ResolveMetric(run.Spec.Metrics[0], run.Spec.Args)
	if err != nil || resolved.Provider.Prometheus.Address != "http://prometheus.example.com:9090" ||
		!strings.Contains(resolved.Provider.Prometheus.Query, `destination_service=~"guestbook-svc.default.svc.cluster.local"`) {
		t.Errorf("resolved = %+v, %v", resolved.Provider.Prometheus, err)
	}
	// Without clusterScope the namespaced template is looked for, and is not there.
	analysis.Templates[0].ClusterScope = false
	if _, err := NewRun(request(analysis), src); err == nil || !strings.Contains(err.Error(), `"success-rate" not found in namespace "shop"`) {
		t.Errorf("err = %v", err)
	}
}

// The "Analysis Template Arguments" example: defaults, overrides, pod-template hashes, a secret.
func TestNewRunWithTheDocsArgumentsExample(t *testing.T) {
	src, _ := loadDocs(t, "template-arguments.template.yaml")
	src.Templates[0].Name = "args-example" // the docs' example has its name; make sure of it
	hash := func(h v1alpha1.ValueFromPodTemplateHash) *v1alpha1.ArgumentValueFrom {
		return &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &h}
	}
	analysis := v1alpha1.RolloutAnalysis{
		Templates: refs("args-example"),
		Args: []v1alpha1.AnalysisRunArgument{
			{Name: "service-name", Value: "guestbook-svc.default.svc.cluster.local"},
			{Name: "api-url", Value: "http://other-api"},
			{Name: "stable-hash", ValueFrom: hash(v1alpha1.Stable)},
			{Name: "latest-hash", ValueFrom: hash(v1alpha1.Latest)},
		},
		AnalysisRunMetadata: v1alpha1.AnalysisRunMetadata{
			Labels:      map[string]string{"my-custom-label": "label-value"},
			Annotations: map[string]string{"my-custom-annotation": "annotation-value"},
		},
	}
	req := request(analysis)
	req.Labels = map[string]string{"rollout-type": "Background", "rollouts-pod-template-hash": "7f9d"}
	run, err := NewRun(req, src)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, a := range run.Spec.Args {
		if a.Value != nil {
			values[a.Name] = a.Value.String()
		}
	}
	want := map[string]string{"service-name": "guestbook-svc.default.svc.cluster.local", "stable-hash": "6c4b",
		"latest-hash": "7f9d", "api-url": "http://other-api"}
	if !equality.Semantic.DeepEqual(values, want) || run.Spec.Args[4].ValueFrom.SecretKeyRef.Key != "apiToken" {
		t.Errorf("args = %v (%+v)", values, run.Spec.Args)
	}
	if run.Labels["my-custom-label"] != "label-value" || run.Labels["rollout-type"] != "Background" ||
		run.Annotations["my-custom-annotation"] != "annotation-value" {
		t.Errorf("metadata = %v %v", run.Labels, run.Annotations)
	}
	if req.Labels["my-custom-label"] != "" {
		t.Error("the request's labels were modified")
	}
}

func TestNewRunErrors(t *testing.T) {
	tmpl := func(name string, spec string) *v1alpha1.AnalysisTemplate {
		t := &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
		if err := yaml.UnmarshalStrict([]byte(spec), &t.Spec); err != nil {
			panic(err)
		}
		return t
	}
	web := `provider: {web: {url: "http://x/{{args.service-name}}"}}`
	src := StaticTemplates{Templates: []*v1alpha1.AnalysisTemplate{
		tmpl("needs-arg", `{args: [{name: service-name}], metrics: [{name: a, `+web+`}]}`),
		tmpl("default-a", `{args: [{name: service-name, value: a}], metrics: [{name: b, `+web+`}]}`),
		tmpl("default-b", `{args: [{name: service-name, value: b}], metrics: [{name: c, `+web+`}]}`),
		tmpl("same-metric", `{args: [{name: service-name}], metrics: [{name: a, `+web+`}]}`),
		tmpl("undeclared", `{metrics: [{name: u, provider: {web: {url: "http://x/{{args.nope}}"}}}]}`),
		tmpl("bad-count", `{metrics: [{name: c, count: 3, provider: {web: {url: "http://x"}}}]}`),
		tmpl("dry", `{dryRun: [{metricName: a}], args: [{name: service-name}], metrics: [{name: a, `+web+`}]}`),
		tmpl("cycle-a", `{templates: [{templateName: cycle-b}], metrics: [{name: ca, provider: {web: {url: "http://x"}}}]}`),
		tmpl("cycle-b", `{templates: [{templateName: cycle-a}], metrics: [{name: cb, provider: {web: {url: "http://x"}}}]}`),
	}}
	for _, tc := range []struct {
		name     string
		analysis v1alpha1.RolloutAnalysis
		wantErr  string
	}{
		{"missing arg", v1alpha1.RolloutAnalysis{Templates: refs("needs-arg")},
			`analysis argument "service-name" has no value: the template declares it without a default and the rollout does not pass it`},
		{"conflicting defaults", v1alpha1.RolloutAnalysis{Templates: refs("default-a", "default-b")},
			"Argument `service-name` specified multiple times with different values: 'a', 'b'"},
		{"duplicate metric", v1alpha1.RolloutAnalysis{Templates: refs("needs-arg", "same-metric"), Args: guestbookArgs},
			"two metrics have the same name 'a'"},
		{"missing template", v1alpha1.RolloutAnalysis{Templates: refs("nope")}, `analysistemplates.argoproj.io "nope" not found`},
		{"missing cluster template", v1alpha1.RolloutAnalysis{Templates: []v1alpha1.RolloutAnalysisTemplate{{TemplateName: "nope", ClusterScope: true}}},
			`clusteranalysistemplates.argoproj.io "nope" not found`},
		{"placeholder of an undeclared arg", v1alpha1.RolloutAnalysis{Templates: refs("undeclared")},
			`Unable to resolve metric arguments: metric "u": failed to resolve {{args.nope}}`},
		{"invalid metric", v1alpha1.RolloutAnalysis{Templates: refs("bad-count")},
			"Analysis spec invalid: metrics[0]: interval must be specified when count > 1"},
		{"duplicate dry-run rule", v1alpha1.RolloutAnalysis{Templates: refs("dry"), Args: guestbookArgs, DryRun: []v1alpha1.DryRun{{MetricName: "a"}}},
			"two Dry-Run metric rules have the same name 'a'"},
		{"pod hash not known yet", v1alpha1.RolloutAnalysis{Templates: refs("needs-arg"), Args: []v1alpha1.AnalysisRunArgument{
			{Name: "service-name", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: ptr.To(v1alpha1.Stable)}}}},
			`analysis argument "service-name": podTemplateHashValue Stable: the rollout has no such ReplicaSet yet`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(tc.analysis)
			req.Refs.StableHash = ""
			_, err := NewRun(req, src)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v\nwant %q", err, tc.wantErr)
			}
		})
	}

	// A cycle of references terminates, each template once.
	run, err := NewRun(request(v1alpha1.RolloutAnalysis{Templates: refs("cycle-a")}), src)
	if err != nil || len(run.Spec.Metrics) != 2 || run.Spec.Metrics[0].Name != "ca" || run.Spec.Metrics[1].Name != "cb" {
		t.Errorf("cycle: %v %+v", err, run)
	}
}
