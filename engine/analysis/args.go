package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// RolloutRefs is what a rollout's analysis args may read: the rollout itself (fieldRef) and the
// pod-template hashes of its stable and newest ReplicaSets (podTemplateHashValue).
type RolloutRefs struct {
	Rollout *v1alpha1.Rollout
	// StableHash is the rollouts-pod-template-hash of the stable ReplicaSet.
	StableHash string
	// LatestHash is the rollouts-pod-template-hash of the newest ReplicaSet.
	LatestHash string
}

// BuildArgs turns a rollout's analysis args into run arguments, each with its value resolved:
// a literal value, a pod-template hash (Stable or Latest), or a field of the rollout
// (metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'],
// metadata.annotations['k'], or any other path such as status.alb.canaryTargetGroup.name).
//
// As in Argo, a label or annotation the rollout lacks gives an empty value. Unlike Argo, which
// dereferences a missing stable ReplicaSet and keeps going past a bad field path, a hash that is not
// known yet or a path that does not lead to a value is an error naming the argument.
func BuildArgs(args []v1alpha1.AnalysisRunArgument, refs RolloutRefs) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, 0, len(args))
	for _, arg := range args {
		value, err := argValue(arg, refs)
		if err != nil {
			return nil, fmt.Errorf("analysis argument %q: %w", arg.Name, err)
		}
		out = append(out, v1alpha1.Argument{Name: arg.Name, Value: ptrTo(v1alpha1.ArgumentValue(value))})
	}
	return out, nil
}

func argValue(arg v1alpha1.AnalysisRunArgument, refs RolloutRefs) (string, error) {
	from := arg.ValueFrom
	switch {
	case from == nil:
		return arg.Value, nil
	case from.PodTemplateHashValue != nil:
		var hash string
		switch *from.PodTemplateHashValue {
		case v1alpha1.Stable:
			hash = refs.StableHash
		case v1alpha1.Latest:
			hash = refs.LatestHash
		default:
			return "", fmt.Errorf("podTemplateHashValue must be Stable or Latest, not %q", *from.PodTemplateHashValue)
		}
		if hash == "" {
			return "", fmt.Errorf("podTemplateHashValue %s: the rollout has no such ReplicaSet yet", *from.PodTemplateHashValue)
		}
		return hash, nil
	case from.FieldRef != nil:
		if refs.Rollout == nil {
			return "", fmt.Errorf("fieldRef %q: no rollout to read it from", from.FieldRef.FieldPath)
		}
		v, err := rolloutField(refs.Rollout, from.FieldRef.FieldPath)
		if err != nil {
			return "", fmt.Errorf("fieldRef %q: %w", from.FieldRef.FieldPath, err)
		}
		return v, nil
	}
	return arg.Value, nil
}

var (
	subscript     = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']*)'\]$`)
	pathSeparator = regexp.MustCompile(`[.\[\]]+`)
)

// rolloutField reads a field of the rollout the way Argo does: metadata paths as the Kubernetes
// downward API reads them, any other path by walking the rollout's JSON.
func rolloutField(ro *v1alpha1.Rollout, path string) (string, error) {
	if strings.HasPrefix(path, "metadata") {
		return metadataField(ro, path)
	}
	data, err := json.Marshal(ro)
	if err != nil {
		return "", err
	}
	var node any
	if err := json.Unmarshal(data, &node); err != nil {
		return "", err
	}
	for _, part := range pathSeparator.Split(path, -1) {
		if part == "" {
			continue
		}
		switch n := node.(type) {
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(n) {
				return "", fmt.Errorf("index %q out of range or not a number", part)
			}
			node = n[i]
		case map[string]any:
			node = n[strings.Trim(part, `'"`)]
		default:
			return "", fmt.Errorf("the rollout has no field %s", path)
		}
	}
	switch node.(type) {
	case nil:
		return "", fmt.Errorf("the rollout has no field %s", path)
	case []any, map[string]any:
		return "", fmt.Errorf("%s is not a single value", path)
	}
	return fmt.Sprint(node), nil
}

func metadataField(ro *v1alpha1.Rollout, path string) (string, error) {
	switch path {
	case "metadata.name":
		return ro.Name, nil
	case "metadata.namespace":
		return ro.Namespace, nil
	case "metadata.uid":
		return string(ro.UID), nil
	case "metadata.labels":
		return formatMap(ro.Labels), nil
	case "metadata.annotations":
		return formatMap(ro.Annotations), nil
	}
	if m := subscript.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return ro.Labels[m[2]], nil
		}
		return ro.Annotations[m[2]], nil
	}
	return "", fmt.Errorf("unsupported fieldPath (metadata.name, metadata.namespace, metadata.uid, " +
		"metadata.labels['KEY'] and metadata.annotations['KEY'] are)")
}

// formatMap renders a map as the downward API does: sorted key="value" lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// MergeArgs lays the rollout's args over the templates' args, Argo's way: a rollout arg sets the
// value of the template arg of the same name; one the templates do not declare is dropped. Every
// merged arg must then have a value or a valueFrom.
func MergeArgs(incoming, templateArgs []v1alpha1.Argument) ([]v1alpha1.Argument, error) {
	merged := make([]v1alpha1.Argument, len(templateArgs))
	for i := range templateArgs {
		templateArgs[i].DeepCopyInto(&merged[i])
	}
	for _, arg := range incoming {
		for i := range merged {
			if merged[i].Name != arg.Name {
				continue
			}
			if arg.Value != nil {
				merged[i].Value = ptrTo(*arg.Value)
			} else if arg.ValueFrom != nil {
				merged[i].ValueFrom = arg.ValueFrom.DeepCopy()
			}
		}
	}
	for _, arg := range merged {
		if arg.Value == nil && arg.ValueFrom == nil {
			return nil, fmt.Errorf("analysis argument %q has no value: the template declares it without a default "+
				"and the rollout does not pass it (add it to the rollout's analysis args)", arg.Name)
		}
	}
	return merged, nil
}

// SecretGetter returns one key of a Secret of the run's namespace.
type SecretGetter func(namespace, name, key string) (string, error)

// ResolveArgs gives every argument its final value, reading secretKeyRef args through secrets. It
// also returns the secret values, so that they can be kept out of messages.
func ResolveArgs(args []v1alpha1.Argument, namespace string, secrets SecretGetter) ([]v1alpha1.Argument, []string, error) {
	out := make([]v1alpha1.Argument, len(args))
	var secretValues []string
	for i, arg := range args {
		out[i] = v1alpha1.Argument{Name: arg.Name, Value: arg.Value}
		if arg.ValueFrom == nil || arg.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := arg.ValueFrom.SecretKeyRef
		if secrets == nil {
			return nil, nil, fmt.Errorf("argument %q reads Secret %s, but secrets cannot be read here", arg.Name, ref.Name)
		}
		v, err := secrets(namespace, ref.Name, ref.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("argument %q: %w", arg.Name, err)
		}
		out[i].Value = ptrTo(v1alpha1.ArgumentValue(v))
		secretValues = append(secretValues, v)
	}
	return out, secretValues, nil
}

// placeholderSecrets stands in for secret values where only the shape of the metrics matters.
func placeholderSecrets(string, string, string) (string, error) { return "temp-for-secret", nil }

// ResolveMetric substitutes the {{args.NAME}} placeholders (spaces inside the braces allowed)
// everywhere in the metric: queries, URLs, headers, conditions, counts. Every placeholder must
// name an argument with a value. Values are JSON-escaped, so quotes and newlines in them are safe.
func ResolveMetric(metric v1alpha1.Metric, args []v1alpha1.Argument) (v1alpha1.Metric, error) {
	values := map[string]string{}
	for _, arg := range args {
		if arg.Value != nil {
			values["args."+arg.Name] = string(*arg.Value)
		}
	}
	data, err := json.Marshal(metric)
	if err != nil {
		return v1alpha1.Metric{}, err
	}
	resolved, err := substitute(string(data), func(tag string) (string, bool) {
		v, ok := values[tag]
		if !ok {
			return "", false
		}
		return jsonEscape(v), true
	})
	if err != nil {
		return v1alpha1.Metric{}, fmt.Errorf("metric %q: %w", metric.Name, err)
	}
	var out v1alpha1.Metric
	if err := json.Unmarshal([]byte(resolved), &out); err != nil {
		return v1alpha1.Metric{}, fmt.Errorf("metric %q: after substituting args: %w", metric.Name, err)
	}
	return out, nil
}

// substitute replaces every {{tag}} of s by lookup(trimmed tag).
func substitute(s string, lookup func(tag string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		start := strings.Index(s, "{{")
		if start < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.Index(s[start+2:], "}}")
		if end < 0 {
			return "", fmt.Errorf("unterminated placeholder %q", s[start:])
		}
		tag := s[start+2 : start+2+end]
		if q := strings.IndexByte(tag, '"'); q >= 0 {
			// The braces close outside the JSON string the placeholder opened in.
			return "", fmt.Errorf("unterminated placeholder %q", "{{"+tag[:q])
		}
		value, ok := lookup(strings.TrimSpace(tag))
		if !ok {
			return "", fmt.Errorf("failed to resolve {{%s}}: no argument of that name has a value", tag)
		}
		b.WriteString(s[:start])
		b.WriteString(value)
		s = s[start+2+end+2:]
	}
}

// jsonEscape escapes s for use inside a JSON string.
func jsonEscape(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(buf.String(), "\n")
	return out[1 : len(out)-1]
}

func ptrTo[T any](v T) *T { return &v }
