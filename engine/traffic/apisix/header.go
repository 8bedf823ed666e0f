package apisix

import (
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// lastApplied is kubectl's annotation, which a copied object must not inherit (kubectl apply of
// the user's route would otherwise diff against it).
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// HeaderRoute returns the ApisixRoute named hr.Name as a setHeaderRoute step wants it: requests
// the rollout's HTTP rules match that also carry the headers go to the canary only. As in Argo it
// is a separate ApisixRoute owned (controller reference) by the rollout:
//
//   - cur == nil: a new object, a copy of main with each managed rule's priority one above the
//     rule it copies (absent: 0), its backends just the canary with weight 100, and the header
//     conditions in match.exprs (subject scope Header; exact → Equal, regex → RegexMatch, prefix →
//     RegexMatch "^prefix.*"). Every entry of hr.Match adds its condition; APISIX ANDs them.
//   - cur != nil: cur with only the fields the step owns brought up to date (the managed rules'
//     backends and match.exprs); everything else, the priority included, stays as it is. A cur the
//     rollout does not control is an error (Argo's "duplicate ApisixRoute").
//
// Deliberately unlike Argo: the copy holds only the rules the rollout manages (not the user's
// other HTTP rules, nor spec.stream), drops every backend but the canary (Argo keeps backends
// other than the stable), keeps the copied rule's own match.exprs ANDed before the header's (Argo
// replaces them, so a header route would match requests the user's rule does not), and quotes a
// prefix's regular-expression characters. The result is never cur itself; hr.Match must not be
// nil (no match means the route goes: the engine deletes it).
func HeaderRoute(main, cur *unstructured.Unstructured, spec *Spec, hr *v1alpha1.SetHeaderRoute) (*unstructured.Unstructured, error) {
	const step = "spec.strategy.canary.steps[].setHeaderRoute"
	switch {
	case !spec.IsManaged(hr.Name):
		return nil, spec.rolloutError(step+".name", "route '%s' is not in spec.strategy.canary.trafficRouting.managedRoutes", hr.Name)
	case hr.Name == spec.Route:
		return nil, spec.rolloutError(step+".name", "managed route '%s' is the ApisixRoute whose weights the rollout sets", hr.Name)
	case hr.Match == nil:
		return nil, spec.rolloutError(step+".match", "no match: the header route is removed, not built")
	}
	header, err := headerExprs(spec, hr)
	if err != nil {
		return nil, err
	}
	mains, err := httpRules(main, spec, spec.Rules)
	if err != nil {
		return nil, err
	}
	canaries := make([]map[string]any, len(mains))
	userExprs := make([][]any, len(mains))
	for i, r := range mains {
		bs, err := backends(main, spec, r)
		if err != nil {
			return nil, err
		}
		b, ok, err := findBackend(main, spec, r, bs, spec.CanaryService)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, spec.missingBackend(main, r, spec.CanaryService)
		}
		canaries[i] = runtime.DeepCopyJSONValue(b.obj).(map[string]any)
		if userExprs[i], err = exprsOf(main, spec, r); err != nil {
			return nil, err
		}
	}
	if cur == nil {
		return newHeaderRoute(main, spec, hr.Name, mains, canaries, userExprs, header), nil
	}
	if !Controlled(cur, spec) {
		return nil, spec.routeError(cur.GetName(), "metadata.ownerReferences", "duplicate ApisixRoute [%s] already exists", cur.GetName())
	}
	next := cur.DeepCopy()
	rules, err := httpRules(next, spec, spec.Rules)
	if err != nil {
		return nil, err
	}
	for i, r := range rules {
		canary := canaries[i]
		if bs, err := backends(next, spec, r); err == nil {
			if b, ok, err := findBackend(next, spec, r, bs, spec.CanaryService); err == nil && ok {
				canary = b.obj // keep the managed route's own port and fields
			}
		}
		setRule(r.obj, canary, userExprs[i], header)
	}
	return next, nil
}

func newHeaderRoute(main *unstructured.Unstructured, spec *Spec, name string, mains []rule, canaries []map[string]any, userExprs [][]any, header []any) *unstructured.Unstructured {
	body := map[string]any{}
	mainBody, _ := main.Object["spec"].(map[string]any)
	for k, v := range mainBody {
		if k != "http" && k != "stream" {
			body[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	rules := make([]any, len(mains))
	for i, r := range mains {
		obj := runtime.DeepCopyJSONValue(r.obj).(map[string]any)
		prio, _ := asInt(obj["priority"])
		obj["priority"] = prio + 1
		setRule(obj, canaries[i], userExprs[i], header)
		rules[i] = obj
	}
	body["http"] = rules
	u := &unstructured.Unstructured{Object: map[string]any{"spec": body}}
	u.SetAPIVersion(main.GetAPIVersion())
	u.SetKind(main.GetKind())
	u.SetNamespace(spec.Namespace)
	u.SetName(name)
	if l := main.GetLabels(); len(l) > 0 {
		u.SetLabels(l)
	}
	if a := main.GetAnnotations(); len(a) > 0 {
		delete(a, lastApplied)
		if len(a) > 0 {
			u.SetAnnotations(a)
		}
	}
	u.SetOwnerReferences([]metav1.OwnerReference{ownerRef(spec)})
	return u
}

// setRule makes a managed rule send to the canary alone, with the header conditions.
func setRule(obj map[string]any, canary map[string]any, userExprs, header []any) {
	b := runtime.DeepCopyJSONValue(canary).(map[string]any)
	b["weight"] = int64(100)
	obj["backends"] = []any{b}
	match, _ := obj["match"].(map[string]any)
	if match == nil {
		match = map[string]any{}
		obj["match"] = match
	}
	exprs := make([]any, 0, len(userExprs)+len(header))
	for _, e := range userExprs {
		exprs = append(exprs, runtime.DeepCopyJSONValue(e))
	}
	for _, e := range header {
		exprs = append(exprs, runtime.DeepCopyJSONValue(e))
	}
	match["exprs"] = exprs
}

// exprsOf are the match.exprs of one of the user's rules.
func exprsOf(ar *unstructured.Unstructured, spec *Spec, r rule) ([]any, error) {
	match, ok := r.obj["match"].(map[string]any)
	if !ok {
		return nil, nil
	}
	switch e := match["exprs"].(type) {
	case nil:
		return nil, nil
	case []any:
		return e, nil
	}
	return nil, spec.routeError(ar.GetName(), r.field()+".match.exprs", "is not a list")
}

// headerExprs turns the step's matches into APISIX expressions, as Argo maps them.
func headerExprs(spec *Spec, hr *v1alpha1.SetHeaderRoute) ([]any, error) {
	out := make([]any, 0, len(hr.Match))
	for i, m := range hr.Match {
		field := fmt.Sprintf("spec.strategy.canary.steps[].setHeaderRoute.match[%d]", i)
		if m.HeaderName == "" {
			return nil, spec.rolloutError(field+".headerName", "header name is required")
		}
		v := m.HeaderValue
		if v == nil {
			return nil, spec.rolloutError(field+".headerValue", "a value (exact, prefix or regex) is required")
		}
		set := 0
		for _, s := range []string{v.Exact, v.Prefix, v.Regex} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			return nil, spec.rolloutError(field+".headerValue", "exactly one of exact, prefix or regex must be set")
		}
		op, value := "Equal", v.Exact
		switch {
		case v.Regex != "":
			if _, err := regexp.Compile(v.Regex); err != nil {
				return nil, spec.rolloutError(field+".headerValue.regex", "not a regular expression: %v", err)
			}
			op, value = "RegexMatch", v.Regex
		case v.Prefix != "":
			op, value = "RegexMatch", "^"+regexp.QuoteMeta(v.Prefix)+".*"
		}
		out = append(out, map[string]any{
			"subject": map[string]any{"scope": "Header", "name": m.HeaderName},
			"op":      op,
			"value":   value,
		})
	}
	return out, nil
}

func ownerRef(spec *Spec) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Rollout", Name: spec.Rollout,
		UID: spec.RolloutUID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// Controlled says whether the rollout is the controller of an ApisixRoute (it created it for a
// header step): only such routes are updated and deleted.
func Controlled(ar *unstructured.Unstructured, spec *Spec) bool {
	ref := metav1.GetControllerOf(ar)
	if ref == nil || ref.Kind != "Rollout" {
		return false
	}
	if spec.RolloutUID != "" {
		return ref.UID == spec.RolloutUID
	}
	return ref.Name == spec.Rollout
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
