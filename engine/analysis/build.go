package analysis

import (
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// TemplateSource finds the templates a run is built from (a lister, a fake store, a map).
type TemplateSource interface {
	AnalysisTemplate(namespace, name string) (*v1alpha1.AnalysisTemplate, error)
	ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error)
}

// StaticTemplates is a TemplateSource over fixed lists.
type StaticTemplates struct {
	Templates        []*v1alpha1.AnalysisTemplate
	ClusterTemplates []*v1alpha1.ClusterAnalysisTemplate
}

// AnalysisTemplate returns the AnalysisTemplate of that namespace and name.
func (s StaticTemplates) AnalysisTemplate(namespace, name string) (*v1alpha1.AnalysisTemplate, error) {
	for _, t := range s.Templates {
		if t.Namespace == namespace && t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("analysistemplates.argoproj.io %q not found in namespace %q", name, namespace)
}

// ClusterAnalysisTemplate returns the ClusterAnalysisTemplate of that name.
func (s StaticTemplates) ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	for _, t := range s.ClusterTemplates {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("clusteranalysistemplates.argoproj.io %q not found", name)
}

// ResolveTemplates fetches the referenced templates and, recursively, the templates they
// reference, each once: a template reached twice along the chain (or in a cycle) is kept at its
// first place. Namespaced references are looked up in namespace.
func ResolveTemplates(refs []v1alpha1.RolloutAnalysisTemplate, namespace string, src TemplateSource) (
	[]*v1alpha1.AnalysisTemplate, []*v1alpha1.ClusterAnalysisTemplate, error) {
	r := templateResolver{src: src, namespace: namespace, seen: map[v1alpha1.RolloutAnalysisTemplate]bool{}}
	if err := r.visit(refs); err != nil {
		return nil, nil, err
	}
	return r.templates, r.clusterTemplates, nil
}

type templateResolver struct {
	src              TemplateSource
	namespace        string
	seen             map[v1alpha1.RolloutAnalysisTemplate]bool
	templates        []*v1alpha1.AnalysisTemplate
	clusterTemplates []*v1alpha1.ClusterAnalysisTemplate
}

func (r *templateResolver) visit(refs []v1alpha1.RolloutAnalysisTemplate) error {
	for _, ref := range refs {
		if r.seen[ref] {
			continue
		}
		r.seen[ref] = true
		var inner []v1alpha1.RolloutAnalysisTemplate
		if ref.ClusterScope {
			t, err := r.src.ClusterAnalysisTemplate(ref.TemplateName)
			if err != nil {
				return err
			}
			r.clusterTemplates = append(r.clusterTemplates, t)
			inner = t.Spec.Templates
		} else {
			t, err := r.src.AnalysisTemplate(r.namespace, ref.TemplateName)
			if err != nil {
				return err
			}
			r.templates = append(r.templates, t)
			inner = t.Spec.Templates
		}
		if err := r.visit(inner); err != nil {
			return err
		}
	}
	return nil
}

// FlattenTemplates merges templates into one spec, Argo's way: the metrics of the AnalysisTemplates
// then of the ClusterAnalysisTemplates (two metrics of one name are an error), their dry-run and
// retention rules (two rules for one metricName are an error), and their args (one name declared
// with two different default values is an error; a default wins over no default).
func FlattenTemplates(templates []*v1alpha1.AnalysisTemplate, clusterTemplates []*v1alpha1.ClusterAnalysisTemplate) (
	v1alpha1.AnalysisTemplateSpec, error) {
	specs := make([]*v1alpha1.AnalysisTemplateSpec, 0, len(templates)+len(clusterTemplates))
	for _, t := range templates {
		specs = append(specs, &t.Spec)
	}
	for _, t := range clusterTemplates {
		specs = append(specs, &t.Spec)
	}
	var out v1alpha1.AnalysisTemplateSpec
	metricNames := map[string]bool{}
	for _, s := range specs {
		for _, m := range s.Metrics {
			if metricNames[m.Name] {
				return v1alpha1.AnalysisTemplateSpec{}, fmt.Errorf("two metrics have the same name '%s'", m.Name)
			}
			metricNames[m.Name] = true
			out.Metrics = append(out.Metrics, *m.DeepCopy())
		}
		out.DryRun = append(out.DryRun, s.DryRun...)
		out.MeasurementRetention = append(out.MeasurementRetention, s.MeasurementRetention...)
		for _, arg := range s.Args {
			var err error
			if out.Args, err = addArg(out.Args, arg); err != nil {
				return v1alpha1.AnalysisTemplateSpec{}, err
			}
		}
	}
	if err := uniqueRules(out.DryRun, out.MeasurementRetention); err != nil {
		return v1alpha1.AnalysisTemplateSpec{}, err
	}
	return out, nil
}

func addArg(args []v1alpha1.Argument, arg v1alpha1.Argument) ([]v1alpha1.Argument, error) {
	for i, prev := range args {
		if prev.Name != arg.Name {
			continue
		}
		if prev.Value != nil && arg.Value != nil && *prev.Value != *arg.Value {
			return nil, fmt.Errorf("Argument `%s` specified multiple times with different values: '%s', '%s'",
				arg.Name, *prev.Value, *arg.Value)
		}
		if prev.Value == nil {
			args[i] = *arg.DeepCopy()
		}
		return args, nil
	}
	return append(args, *arg.DeepCopy()), nil
}

func uniqueRules(dryRun []v1alpha1.DryRun, retention []v1alpha1.MeasurementRetention) error {
	seen := map[string]bool{}
	for _, r := range dryRun {
		if seen[r.MetricName] {
			return fmt.Errorf("two Dry-Run metric rules have the same name '%s'", r.MetricName)
		}
		seen[r.MetricName] = true
	}
	seen = map[string]bool{}
	for _, r := range retention {
		if seen[r.MetricName] {
			return fmt.Errorf("two Measurement Retention metric rules have the same name '%s'", r.MetricName)
		}
		seen[r.MetricName] = true
	}
	return nil
}

// RunRequest says which AnalysisRun a rollout wants.
type RunRequest struct {
	// Name (or GenerateName) of the run; Argo names it <rollout>-<pod-hash>-<revision>[-<step>].
	Name, GenerateName string
	// Analysis is the rollout's analysis stanza: a canary step's, the background one, or a
	// blue-green pre/post-promotion one.
	Analysis v1alpha1.RolloutAnalysis
	// Refs are what the args may read; Refs.Rollout also gives the namespace and the owner.
	Refs RolloutRefs
	// Labels are the controller's own labels (rollout-type, pod-template hash, step index); the
	// analysis's analysisRunMetadata labels are added to them.
	Labels map[string]string
}

// NewRun builds the AnalysisRun a rollout's analysis asks for: it resolves the rollout's args,
// fetches the templates (and those they reference) from src, merges them, lays the args over the
// templates' args, and checks that every argument has a value and every {{args.NAME}} placeholder
// resolves, and that the metrics are valid, so that a mistake shows when the run is created rather
// than when it measures. The run is in the rollout's namespace, controlled by it, and carries the
// analysisRunMetadata labels and annotations. As in Argo, the metrics keep their placeholders: the
// args are substituted at each measurement.
func NewRun(req RunRequest, src TemplateSource) (*v1alpha1.AnalysisRun, error) {
	ro := req.Refs.Rollout
	if ro == nil {
		return nil, fmt.Errorf("no rollout to build the analysis run for")
	}
	args, err := BuildArgs(req.Analysis.Args, req.Refs)
	if err != nil {
		return nil, err
	}
	templates, clusterTemplates, err := ResolveTemplates(req.Analysis.Templates, ro.Namespace, src)
	if err != nil {
		return nil, err
	}
	spec, err := FlattenTemplates(templates, clusterTemplates)
	if err != nil {
		return nil, err
	}
	merged, err := MergeArgs(args, spec.Args)
	if err != nil {
		return nil, err
	}
	dryRun := append(append([]v1alpha1.DryRun(nil), req.Analysis.DryRun...), spec.DryRun...)
	retention := append(append([]v1alpha1.MeasurementRetention(nil), req.Analysis.MeasurementRetention...),
		spec.MeasurementRetention...)
	if err := uniqueRules(dryRun, retention); err != nil {
		return nil, err
	}
	run := &v1alpha1.AnalysisRun{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AnalysisRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name: req.Name, GenerateName: req.GenerateName, Namespace: ro.Namespace,
			Labels:          mergeMaps(req.Labels, req.Analysis.AnalysisRunMetadata.Labels),
			Annotations:     mergeMaps(nil, req.Analysis.AnalysisRunMetadata.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.RolloutGVK)},
		},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: spec.Metrics, Args: merged, DryRun: dryRun, MeasurementRetention: retention},
	}
	if _, err := planRun(run); err != nil {
		return nil, err
	}
	return run, nil
}

func mergeMaps(base, extra map[string]string) map[string]string {
	if len(base) == 0 && len(extra) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, extra)
	return out
}
