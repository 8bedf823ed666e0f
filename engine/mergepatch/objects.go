package mergepatch

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Objects returns the JSON merge patch (RFC 7386) that turns old into new, or nil when they are
// equal: what a traffic router sends after editing a route object it read (a VirtualService, an
// ApisixRoute). A merge patch replaces a list whole, so the patch of a weight change carries the
// whole route list as read; to never overwrite an edit made since old was read, the patch carries
// old's metadata.resourceVersion and the API server rejects it with a conflict if the object has
// changed (the optimistic concurrency Argo gets from Update).
//
// The patch is the one Create computes from the two objects' JSON, computed on the decoded maps
// directly, which saves four JSON passes per call.
func Objects(old, new *unstructured.Unstructured) ([]byte, error) {
	p := mergeDiff(old.Object, new.Object)
	if len(p) == 0 {
		return nil, nil
	}
	if rv := old.GetResourceVersion(); rv != "" {
		meta, _ := p["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			p["metadata"] = meta
		}
		meta["resourceVersion"] = rv
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("patch of %s %s: %w", new.GetKind(), new.GetName(), err)
	}
	return b, nil
}

// mergeDiff is the RFC 7386 difference of two JSON objects: removed keys are null, changed
// objects recurse, anything else that differs (lists included) is replaced by b's value.
func mergeDiff(a, b map[string]any) map[string]any {
	p := map[string]any{}
	for k, av := range a {
		bv, ok := b[k]
		if !ok {
			p[k] = nil
			continue
		}
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		switch {
		case aIsMap && bIsMap:
			if d := mergeDiff(am, bm); len(d) > 0 {
				p[k] = d
			}
		case !JSONEqual(av, bv):
			p[k] = bv
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok {
			p[k] = bv
		}
	}
	return p
}

// JSONEqual compares decoded JSON values, numbers by value (int64 and float64 alike).
func JSONEqual(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !JSONEqual(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !JSONEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	case string, bool, nil:
		return a == b
	}
	x, xok := asFloat(a)
	y, yok := asFloat(b)
	return xok && yok && x == y
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	}
	return 0, false
}
