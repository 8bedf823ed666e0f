package main

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// schema is an OpenAPI v3 schema node, as a CRD's openAPIV3Schema holds it.
type schema = map[string]any

// A structural schema from Go types, by reflection over their JSON encoding: what the json tags
// say, with the types whose JSON is not their Go shape spelled out below. No descriptions and no
// required lists (except the root's spec): the engine validates specs itself and reports
// InvalidSpec, as Argo does, and a lenient schema never rejects an object Argo's CRDs accept.
type generator struct {
	visiting map[reflect.Type]bool
}

var (
	intOrString = func() schema {
		return schema{"anyOf": []any{schema{"type": "integer"}, schema{"type": "string"}}, "x-kubernetes-int-or-string": true}
	}
	anyJSON = func() schema { return schema{"x-kubernetes-preserve-unknown-fields": true} }
	// special are the types whose JSON differs from their Go structure.
	special = map[reflect.Type]func() schema{
		reflect.TypeFor[metav1.Time]():        func() schema { return schema{"type": "string", "format": "date-time"} },
		reflect.TypeFor[metav1.MicroTime]():   func() schema { return schema{"type": "string", "format": "date-time"} },
		reflect.TypeFor[metav1.Duration]():    func() schema { return schema{"type": "string"} },
		reflect.TypeFor[intstr.IntOrString](): intOrString,
		reflect.TypeFor[resource.Quantity](): func() schema {
			s := intOrString()
			s["pattern"] = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`
			return s
		},
		reflect.TypeFor[runtime.RawExtension](): func() schema {
			return schema{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
		},
		reflect.TypeFor[json.RawMessage](): anyJSON,
		// Argument values decode from strings and numbers alike (Argo's docs write `value: 9090`).
		reflect.TypeFor[v1alpha1.ArgumentValue](): intOrString,
		// Pod-template metadata: labels and annotations, anything else kept as written (kubectl
		// writes `creationTimestamp: null`, which strict field validation must not reject).
		reflect.TypeFor[metav1.ObjectMeta](): func() schema {
			strs := func() schema { return schema{"type": "object", "additionalProperties": schema{"type": "string"}} }
			return schema{"type": "object", "properties": schema{"labels": strs(), "annotations": strs()},
				"x-kubernetes-preserve-unknown-fields": true}
		},
		// Volumes are kept as written, as in Argo's CRD: their schema is a third of the pod's.
		reflect.TypeFor[corev1.Volume](): func() schema {
			return schema{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
		},
	}
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// root is the schema of a kind: apiVersion, kind, metadata (the API server's), spec and status.
func (g *generator) root(t reflect.Type) (schema, error) {
	s, err := g.object(t)
	if err != nil {
		return nil, err
	}
	props := s["properties"].(schema)
	props["metadata"] = schema{"type": "object"}
	s["required"] = []any{"spec"}
	return s, nil
}

func (g *generator) of(t reflect.Type) (schema, error) {
	if f, ok := special[t]; ok {
		return f(), nil
	}
	if t.Kind() == reflect.Pointer {
		return g.of(t.Elem())
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || t.Implements(jsonUnmarshaler) {
		return nil, fmt.Errorf("%s decodes its own JSON: say what it accepts in special", t)
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return schema{"type": "string"}, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.object(t)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return schema{"type": "string", "format": "byte"}, nil
		}
		items, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return schema{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings", t)
		}
		v, err := g.of(t.Elem())
		if err != nil {
			return nil, err
		}
		return schema{"type": "object", "additionalProperties": v}, nil
	case reflect.String:
		return schema{"type": "string"}, nil
	case reflect.Bool:
		return schema{"type": "boolean"}, nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return schema{"type": "integer", "format": "int32"}, nil
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return schema{"type": "integer", "format": "int64"}, nil
	case reflect.Float32, reflect.Float64:
		return schema{"type": "number"}, nil
	case reflect.Interface:
		return anyJSON(), nil
	}
	return nil, fmt.Errorf("%s: no schema for kind %s", t, t.Kind())
}

// object is a struct's schema: a property per JSON field, embedded structs inlined.
func (g *generator) object(t reflect.Type) (schema, error) {
	if g.visiting[t] {
		// A recursive type: keep whatever is written below this point.
		return schema{"type": "object", "x-kubernetes-preserve-unknown-fields": true}, nil
	}
	g.visiting[t] = true
	defer delete(g.visiting, t)
	props := schema{}
	if err := g.fields(t, props); err != nil {
		return nil, err
	}
	s := schema{"type": "object"}
	if len(props) > 0 {
		s["properties"] = props
	}
	return s, nil
}

func (g *generator) fields(t reflect.Type, props schema) error {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		inline := strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && name == "")
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if err := g.fields(ft, props); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		s, err := g.of(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		props[name] = s
	}
	return nil
}
