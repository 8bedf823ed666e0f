// Package manifest reads Kubernetes manifests — multi-document YAML as users keep them — into
// typed objects, strictly: an unknown or misspelt field is an error naming the file, the line the
// document starts on, the object and the field path.
package manifest

import (
	"bytes"
	"fmt"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/yaml"
)

// Document is one object of a manifest file and where it came from.
type Document struct {
	Object runtime.Object
	File   string
	Line   int // first line of the document
}

// Where names the document for messages: "file:line (Kind name)".
func (d Document) Where() string {
	kind := d.Object.GetObjectKind().GroupVersionKind().Kind
	name := ""
	if m, err := meta.Accessor(d.Object); err == nil {
		name = m.GetName()
	}
	return fmt.Sprintf("%s:%d (%s %s)", d.File, d.Line, kind, name)
}

// Decoder turns manifests into objects of the kinds its scheme knows.
type Decoder struct {
	scheme *runtime.Scheme
	strict *json.Serializer
}

// NewDecoder returns a strict decoder for the scheme's kinds.
func NewDecoder(scheme *runtime.Scheme) *Decoder {
	return &Decoder{scheme: scheme, strict: json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})}
}

// Decode reads every document of a file's content. Empty documents and comments are skipped.
func (d *Decoder) Decode(file string, data []byte) ([]Document, error) {
	var out []Document
	for _, part := range split(data) {
		if isBlank(part.text) {
			continue
		}
		obj, err := d.decodeOne(part.text)
		if err != nil {
			// Decode again behind as many blank lines as precede the document, so that the line
			// numbers of YAML errors are the file's, not the document's.
			pad := bytes.Repeat([]byte("\n"), part.from-1)
			if _, perr := d.decodeOne(append(pad, part.text...)); perr != nil {
				err = perr
			}
			return nil, fmt.Errorf("%s:%d: %w", file, part.line, err)
		}
		out = append(out, Document{Object: obj, File: file, Line: part.line})
	}
	return out, nil
}

func (d *Decoder) decodeOne(doc []byte) (runtime.Object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if !bytes.HasPrefix(js, []byte("{")) {
		return nil, fmt.Errorf("a document must be a mapping with apiVersion and kind")
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, fmt.Errorf("apiVersion and kind must be strings: %w", err)
	}
	if head.APIVersion == "" || head.Kind == "" {
		return nil, fmt.Errorf("apiVersion and kind are required")
	}
	if group, _, _ := strings.Cut(head.APIVersion, "/"); unstructuredGroups[group] {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%s %s: %w", head.APIVersion, head.Kind, err)
		}
		return u, nil
	}
	obj, gvk, err := d.strict.Decode(doc, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) {
			return nil, fmt.Errorf("kind %s in %s is not known to the simulation", head.Kind, head.APIVersion)
		}
		return nil, fmt.Errorf("%s %s: %w", head.APIVersion, head.Kind, trimStrict(err))
	}
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	return upgradeIngress(obj), nil
}

// unstructuredGroups are API groups whose objects the simulation keeps as they were written
// (routers edit only the fields they own, and their schemas are not compiled in).
var unstructuredGroups = map[string]bool{"networking.istio.io": true, "apisix.apache.org": true}

// trimStrict shortens the serializer's strict-decoding message to the field problems.
func trimStrict(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "strict decoding error: ")
	return fmt.Errorf("%s", msg)
}

type part struct {
	text []byte
	line int // the document's first content line
	from int // the line text starts on
}

// split cuts a multi-document YAML stream at "---" lines, remembering where each document starts.
func split(data []byte) []part {
	var parts []part
	lines := bytes.SplitAfter(data, []byte("\n"))
	var cur bytes.Buffer
	start := 1
	for i, l := range lines {
		trimmed := bytes.TrimRight(l, " \t\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			parts = append(parts, part{text: append([]byte(nil), cur.Bytes()...), line: start, from: start})
			cur.Reset()
			start = i + 2
			// A node may start on the separator's line ("--- {...}"): it opens the next document.
			if rest := bytes.TrimLeft(trimmed[3:], " "); len(rest) > 0 {
				cur.Write(rest)
				cur.WriteByte('\n')
				start = i + 1
			}
			continue
		}
		cur.Write(l)
	}
	parts = append(parts, part{text: cur.Bytes(), line: start, from: start})
	for i := range parts {
		parts[i].line += leadingBlank(parts[i].text)
	}
	return parts
}

// leadingBlank counts blank and comment lines before a document's first content line.
func leadingBlank(doc []byte) int {
	n := 0
	for _, l := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) != 0 && t[0] != '#' {
			break
		}
		n++
	}
	return n
}

func isBlank(doc []byte) bool {
	for _, l := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) != 0 && t[0] != '#' {
			return false
		}
	}
	return true
}
