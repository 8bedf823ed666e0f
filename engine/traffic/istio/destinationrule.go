package istio

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// DestinationRuleHost is a DestinationRule's spec.host ("" if unset), for Spec.DestinationRuleHost.
func DestinationRuleHost(dr *unstructured.Unstructured) string {
	host, _, _ := unstructured.NestedString(dr.Object, "spec", "host")
	return host
}

// SyncDestinationRule keeps the subsets' rollouts-pod-template-hash labels equal to the
// ReplicaSets' hashes: the canary subset gets canaryHash, the stable subset stableHash (an empty
// hash removes the label), each experiment (extra) a subset named after its Service with its
// hash, added if missing. Other subsets and all other fields are kept as they are. The
// managed-by-rollouts annotation names the rollout. It edits dr in place and reports whether
// anything changed; on error dr is untouched.
func SyncDestinationRule(dr *unstructured.Unstructured, spec *Spec, canaryHash, stableHash string, extra ...v1alpha1.WeightDestination) (bool, error) {
	ref := spec.DestinationRule
	drErr := func(field, format string, a ...any) error {
		return &Error{Kind: "DestinationRule", Namespace: spec.Namespace, Name: dr.GetName(), Field: field, Detail: fmt.Sprintf(format, a...)}
	}
	if ref == nil {
		return false, drErr("metadata.name", "rollout %s/%s does not use a DestinationRule", spec.Namespace, spec.Rollout)
	}
	if dr.GetName() != ref.Name || (dr.GetNamespace() != "" && dr.GetNamespace() != spec.Namespace) {
		return false, drErr("metadata.name", "rollout %s/%s uses DestinationRule %s", spec.Namespace, spec.Rollout, ref.Name)
	}
	raw, _, err := unstructured.NestedFieldNoCopy(dr.Object, "spec", "subsets")
	if err != nil {
		return false, drErr("spec.subsets", "%v", err)
	}
	items, ok := raw.([]any)
	if raw != nil && !ok {
		return false, drErr("spec.subsets", "is a %T, not a list", raw)
	}
	byName := map[string][]map[string]any{}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return false, drErr(fmt.Sprintf("spec.subsets[%d]", i), "is a %T, not an object", it)
		}
		if l, present := m["labels"]; present && l != nil {
			if _, isMap := l.(map[string]any); !isMap {
				return false, drErr(fmt.Sprintf("spec.subsets[%d].labels", i), "is a %T, not an object", l)
			}
		}
		name, _ := m["name"].(string)
		byName[name] = append(byName[name], m)
	}
	for _, want := range []string{ref.CanarySubsetName, ref.StableSubsetName} {
		if len(byName[want]) == 0 {
			return false, drErr("spec.subsets", "subset '%s' not found (the VirtualService routes to it)", want)
		}
	}

	changed := false
	for _, m := range byName[ref.CanarySubsetName] {
		changed = setHashLabel(m, canaryHash) || changed
	}
	for _, m := range byName[ref.StableSubsetName] {
		changed = setHashLabel(m, stableHash) || changed
	}
	extra = slices.Clone(extra)
	slices.SortFunc(extra, func(a, b v1alpha1.WeightDestination) int { return strings.Compare(a.ServiceName, b.ServiceName) })
	for _, e := range extra {
		if subsets := byName[e.ServiceName]; len(subsets) > 0 {
			for _, m := range subsets {
				changed = setHashLabel(m, e.PodTemplateHash) || changed
			}
		} else if e.PodTemplateHash != "" {
			items = append(items, map[string]any{
				"name":   e.ServiceName,
				"labels": map[string]any{v1alpha1.DefaultRolloutUniqueLabelKey: e.PodTemplateHash},
			})
			changed = true
		}
	}
	if changed {
		// spec.subsets exists: the canary and stable subsets were found in it.
		dr.Object["spec"].(map[string]any)["subsets"] = items
	}
	if spec.Rollout != "" {
		changed = setAnnotation(dr, v1alpha1.ManagedByRolloutsKey, spec.Rollout) || changed
	}
	return changed, nil
}

// ReleaseDestinationRule hands a DestinationRule back when no rollout references it any more:
// the hash label goes from every subset and the managed-by-rollouts annotation goes. It edits dr
// in place and reports whether anything changed.
func ReleaseDestinationRule(dr *unstructured.Unstructured) bool {
	changed := false
	items, _, _ := unstructured.NestedFieldNoCopy(dr.Object, "spec", "subsets")
	list, _ := items.([]any)
	for _, it := range list {
		if m, ok := it.(map[string]any); ok {
			changed = setHashLabel(m, "") || changed
		}
	}
	if ann := dr.GetAnnotations(); ann != nil {
		if _, ok := ann[v1alpha1.ManagedByRolloutsKey]; ok {
			delete(ann, v1alpha1.ManagedByRolloutsKey)
			dr.SetAnnotations(ann)
			changed = true
		}
	}
	return changed
}

// setHashLabel sets (or, for "", removes) the pod-template-hash label of a subset.
func setHashLabel(subset map[string]any, hash string) bool {
	labels, _ := subset["labels"].(map[string]any)
	cur, present := labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	switch {
	case hash == "" && !present:
		return false
	case hash == "":
		delete(labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		return true
	case present && cur == hash:
		return false
	}
	if labels == nil {
		labels = map[string]any{}
		subset["labels"] = labels
	}
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	return true
}

func setAnnotation(obj *unstructured.Unstructured, key, value string) bool {
	ann := obj.GetAnnotations()
	if cur, ok := ann[key]; ok && cur == value {
		return false
	}
	if ann == nil {
		ann = map[string]string{}
	}
	ann[key] = value
	obj.SetAnnotations(ann)
	return true
}
