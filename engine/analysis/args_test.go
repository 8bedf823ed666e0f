package analysis

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func testRollout() *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{
			Name: "guestbook", Namespace: "shop", UID: "uid-1",
			Labels:      map[string]string{"env": "dev", "region": "us-west-2"},
			Annotations: map[string]string{"team": "web"},
		},
		Spec: v1alpha1.RolloutSpec{},
		Status: v1alpha1.RolloutStatus{
			ALB: &v1alpha1.ALBStatus{CanaryTargetGroup: v1alpha1.AwsResourceRef{Name: "canary-tg"}},
		},
	}
}

func TestBuildArgs(t *testing.T) {
	ro := testRollout()
	ro.Spec.Template.Labels = map[string]string{"version": "1"}
	refs := RolloutRefs{Rollout: ro, StableHash: "6c4b", LatestHash: "7f9d"}
	from := func(v v1alpha1.ArgumentValueFrom) *v1alpha1.ArgumentValueFrom { return &v }
	field := func(path string) *v1alpha1.ArgumentValueFrom {
		return from(v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: path}})
	}
	hash := func(h v1alpha1.ValueFromPodTemplateHash) *v1alpha1.ArgumentValueFrom {
		return from(v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &h})
	}
	for _, tc := range []struct {
		name    string
		arg     v1alpha1.AnalysisRunArgument
		want    string
		wantErr string
	}{
		{name: "literal", arg: v1alpha1.AnalysisRunArgument{Value: "guestbook-svc"}, want: "guestbook-svc"},
		{name: "no value", arg: v1alpha1.AnalysisRunArgument{}, want: ""},
		{name: "stable hash", arg: v1alpha1.AnalysisRunArgument{ValueFrom: hash(v1alpha1.Stable)}, want: "6c4b"},
		{name: "latest hash", arg: v1alpha1.AnalysisRunArgument{ValueFrom: hash(v1alpha1.Latest)}, want: "7f9d"},
		{name: "bad hash kind", arg: v1alpha1.AnalysisRunArgument{ValueFrom: hash("Canary")}, wantErr: "must be Stable or Latest"},
		{name: "label", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.labels['env']")}, want: "dev"},
		{name: "missing label", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.labels['nope']")}, want: ""},
		{name: "annotation", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.annotations['team']")}, want: "web"},
		{name: "name", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.name")}, want: "guestbook"},
		{name: "namespace", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.namespace")}, want: "shop"},
		{name: "uid", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.uid")}, want: "uid-1"},
		{name: "all labels", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.labels")}, want: "env=\"dev\"\nregion=\"us-west-2\""},
		{name: "bad metadata path", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("metadata.generation")}, wantErr: "unsupported fieldPath"},
		{name: "status path", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("status.alb.canaryTargetGroup.name")}, want: "canary-tg"},
		{name: "pod template path", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("spec.template.metadata.labels.version")}, want: "1"},
		{name: "missing path", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("status.alb.nothing")}, wantErr: "has no field status.alb.nothing"},
		{name: "not a value", arg: v1alpha1.AnalysisRunArgument{ValueFrom: field("status.alb")}, wantErr: "not a single value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.arg.Name = "a"
			got, err := BuildArgs([]v1alpha1.AnalysisRunArgument{tc.arg}, refs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `"a"`) {
					t.Fatalf("err = %v, want %q naming the argument", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Name != "a" || got[0].Value == nil || got[0].Value.String() != tc.want {
				t.Errorf("got %+v, want value %q", got, tc.want)
			}
		})
	}

	// Before the first rollout there is no stable hash to give.
	_, err := BuildArgs([]v1alpha1.AnalysisRunArgument{{Name: "s", ValueFrom: hash(v1alpha1.Stable)}}, RolloutRefs{Rollout: ro})
	if err == nil || !strings.Contains(err.Error(), "no such ReplicaSet yet") {
		t.Errorf("err = %v", err)
	}
}

func TestMergeArgs(t *testing.T) {
	template := []v1alpha1.Argument{
		{Name: "service-name"},
		{Name: "api-url", Value: val("http://example/measure")},
		{Name: "api-token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "token-secret", Key: "apiToken"}}},
	}
	incoming := []v1alpha1.Argument{
		{Name: "service-name", Value: val("guestbook-svc")},
		{Name: "api-url", Value: val("http://other-api")},
		{Name: "not-declared", Value: val("dropped")},
	}
	got, err := MergeArgs(incoming, template)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Value.String() != "guestbook-svc" || got[1].Value.String() != "http://other-api" || got[2].ValueFrom.SecretKeyRef.Name != "token-secret" {
		t.Errorf("merged = %+v", got)
	}
	if template[1].Value.String() != "http://example/measure" {
		t.Error("the template's args were modified")
	}

	_, err = MergeArgs(nil, template)
	if err == nil || !strings.Contains(err.Error(), `analysis argument "service-name" has no value`) {
		t.Errorf("missing arg: err = %v", err)
	}
}

func TestResolveArgs(t *testing.T) {
	args := []v1alpha1.Argument{
		{Name: "plain", Value: val("v")},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "s", Key: "k"}}},
	}
	secrets := func(ns, name, key string) (string, error) {
		if ns == "shop" && name == "s" && key == "k" {
			return "hunter2", nil
		}
		return "", fmt.Errorf("key '%s' does not exist in secret '%s'", key, name)
	}
	got, values, err := ResolveArgs(args, "shop", secrets)
	if err != nil || got[0].Value.String() != "v" || got[1].Value.String() != "hunter2" || len(values) != 1 || values[0] != "hunter2" {
		t.Errorf("got %+v %v %v", got, values, err)
	}
	if args[1].Value != nil {
		t.Error("input modified")
	}
	if _, _, err := ResolveArgs(args, "other", secrets); err == nil || !strings.Contains(err.Error(), `argument "token": key 'k'`) {
		t.Errorf("err = %v", err)
	}
	if _, _, err := ResolveArgs(args, "shop", nil); err == nil || !strings.Contains(err.Error(), "reads Secret s") {
		t.Errorf("err = %v", err)
	}
}

func TestResolveMetric(t *testing.T) {
	metric := v1alpha1.Metric{
		Name:             "m",
		Count:            ptr.To(intstr.FromString("{{args.count}}")),
		SuccessCondition: "result[0] >= {{ args.threshold }}",
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: "http://prometheus.example.com:{{args.prometheus-port}}",
			Query:   `sum(rate(x{service="{{args.service-name}}"}[5m]))`,
			Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{ args.token }}"}},
		}},
	}
	args := []v1alpha1.Argument{
		{Name: "count", Value: val("5")},
		{Name: "threshold", Value: val("0.95")},
		{Name: "prometheus-port", Value: val("9090")},
		{Name: "service-name", Value: val(`we"ird` + "\n<svc>&")},
		{Name: "token", Value: val("t0k")},
		{Name: "unused"},
	}
	got, err := ResolveMetric(metric, args)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Provider.Prometheus
	if p.Address != "http://prometheus.example.com:9090" || p.Query != `sum(rate(x{service="we"ird`+"\n<svc>&"+`"}[5m]))` ||
		p.Headers[0].Value != "Bearer t0k" || got.SuccessCondition != "result[0] >= 0.95" || *got.Count != intstr.FromString("5") {
		t.Errorf("resolved = %+v %+v", got, p)
	}
	if l, err := MetricLimits(got); err != nil || l.Count != 5 {
		t.Errorf("count from arg: %+v %v", l, err)
	}
	if metric.Provider.Prometheus.Query != `sum(rate(x{service="{{args.service-name}}"}[5m]))` {
		t.Error("input modified")
	}

	_, err = ResolveMetric(metric, args[:1])
	if err == nil || !strings.Contains(err.Error(), "failed to resolve {{ args.threshold }}") {
		t.Errorf("missing arg: err = %v", err)
	}
	bad := v1alpha1.Metric{Name: "b", SuccessCondition: "{{args.x"}
	if _, err := ResolveMetric(bad, args); err == nil || !strings.Contains(err.Error(), "unterminated") {
		t.Errorf("unterminated: err = %v", err)
	}
}

func val(s string) *v1alpha1.ArgumentValue { v := v1alpha1.ArgumentValue(s); return &v }
