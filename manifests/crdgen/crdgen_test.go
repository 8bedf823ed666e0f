package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const manifestsDir = ".."

// The committed CRDs are what the generator makes from the current API types.
func TestCRDsUpToDate(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	stale, err := equalFiles(filepath.Join(manifestsDir, "crds"), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Fatalf("manifests/crds is stale (%s): run `make manifests` and commit the result", strings.Join(stale, ", "))
	}
}

// Every schema is structural (the API server refuses a CRD whose schema is not, or prunes
// unexpectedly): a type on every node but the int-or-string and keep-anything ones, anyOf only
// in the int-or-string form, properties and additionalProperties never together.
func TestCRDsAreStructural(t *testing.T) {
	for name, crd := range loadCRDs(t) {
		versions := crd["spec"].(map[string]any)["versions"].([]any)
		for _, v := range versions {
			s := v.(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
			for _, problem := range structuralProblems(s, "") {
				t.Errorf("%s: %s", name, problem)
			}
		}
		// A CRD goes through kubectl apply's last-applied annotation (256 KiB) as JSON.
		if b, _ := json.Marshal(crd); len(b) > 200<<10 {
			t.Errorf("%s is %d bytes of JSON: too close to the 256KiB annotation limit of kubectl apply", name, len(b))
		}
	}
}

func structuralProblems(s map[string]any, path string) []string {
	var out []string
	_, hasType := s["type"]
	intOrString := s["x-kubernetes-int-or-string"] == true
	preserve := s["x-kubernetes-preserve-unknown-fields"] == true
	if !hasType && !intOrString && !preserve {
		out = append(out, path+": no type")
	}
	if alts, ok := s["anyOf"]; ok && !(intOrString && reflect.DeepEqual(alts,
		[]any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}})) {
		out = append(out, path+": anyOf other than int-or-string")
	}
	props, hasProps := s["properties"].(map[string]any)
	if _, ok := s["additionalProperties"]; ok && hasProps {
		out = append(out, path+": properties and additionalProperties")
	}
	for k, v := range props {
		out = append(out, structuralProblems(v.(map[string]any), path+"."+k)...)
	}
	if items, ok := s["items"].(map[string]any); ok {
		out = append(out, structuralProblems(items, path+"[]")...)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		out = append(out, structuralProblems(ap, path+"{}")...)
	}
	return out
}

// Every manifest parses, names its kind and object, and is listed in the kustomization; the
// built-in kinds decode strictly into their Go types (a misspelt field fails).
func TestManifestsParse(t *testing.T) {
	var kust struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(manifestsDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(b, &kust); err == nil {
		t.Fatal("kustomization.yaml: apiVersion and kind should be there too")
	}
	if err := sigsyaml.Unmarshal(b, &kust); err != nil || kust.Namespace != "argo-rollouts" {
		t.Fatalf("kustomization.yaml: %v %+v", err, kust)
	}
	var files []string
	err = filepath.WalkDir(manifestsDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && filepath.Base(p) != "kustomization.yaml" {
			rel, _ := filepath.Rel(manifestsDir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	listed := slices.Clone(kust.Resources)
	sort.Strings(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("kustomization resources %v, manifests %v", listed, files)
	}
	kinds := map[string]int{}
	for _, f := range files {
		for i, doc := range documents(t, filepath.Join(manifestsDir, f)) {
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := sigsyaml.Unmarshal(doc, &head); err != nil || head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
				t.Errorf("%s document %d: %v %+v", f, i, err, head)
				continue
			}
			kinds[head.Kind]++
			if obj := typed(head.Kind); obj != nil {
				if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
					t.Errorf("%s: %s: %v", f, head.Kind, err)
				}
			}
		}
	}
	want := map[string]int{"CustomResourceDefinition": 4, "Namespace": 1, "ServiceAccount": 1, "ClusterRole": 1,
		"ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1, "Deployment": 1, "Service": 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}

func typed(kind string) any {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}
	case "Service":
		return &corev1.Service{}
	case "ServiceAccount":
		return &corev1.ServiceAccount{}
	case "Namespace":
		return &corev1.Namespace{}
	case "ClusterRole":
		return &rbacv1.ClusterRole{}
	case "ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}
	case "Role":
		return &rbacv1.Role{}
	case "RoleBinding":
		return &rbacv1.RoleBinding{}
	}
	return nil
}

// The Deployment runs the controller with its health and metrics ports where the probes and the
// Service look, as the service account the RBAC binds.
func TestDeploymentWiring(t *testing.T) {
	var d appsv1.Deployment
	if err := sigsyaml.UnmarshalStrict(documents(t, filepath.Join(manifestsDir, "deployment.yaml"))[0], &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["metrics"] != 8090 || ports["healthz"] != 8080 {
		t.Errorf("ports %v, want Argo's metrics 8090 and healthz 8080", ports)
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes %s %s", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}
	if d.Spec.Template.Spec.ServiceAccountName != "argo-rollouts" {
		t.Errorf("service account %q", d.Spec.Template.Spec.ServiceAccountName)
	}
}

// Argo's manifests (the repository's copies of its docs' and tests' Rollouts and analysis
// objects) fit the schemas: no field would be pruned or refused by strict field validation.
func TestArgoObjectsFitTheSchemas(t *testing.T) {
	schemas := map[string]map[string]any{}
	for _, crd := range loadCRDs(t) {
		spec := crd["spec"].(map[string]any)
		kind := spec["names"].(map[string]any)["kind"].(string)
		schemas[kind] = spec["versions"].([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
	}
	checked := 0
	for _, root := range []string{"../../engine/api/v1alpha1/testdata", "../../scenarios/manifests"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return err
			}
			docs, err := splitDocuments(p)
			if err != nil {
				return nil // not YAML objects (test fragments)
			}
			for _, doc := range docs {
				var obj map[string]any
				if err := sigsyaml.Unmarshal(doc, &obj); err != nil {
					return nil // fragments and other formats are not objects
				}
				kind, _ := obj["kind"].(string)
				s, ok := schemas[kind]
				if !ok || obj["apiVersion"] != "argoproj.io/v1alpha1" {
					continue
				}
				checked++
				delete(obj, "metadata") // the API server's, not the schema's
				for _, u := range unknownFields(obj, s, "") {
					t.Errorf("%s: %s %v: field %s is not in the schema", p, kind, obj["metadata"], u)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d objects", checked)
	}
}

// unknownFields lists the fields of v that s neither describes nor keeps as written.
func unknownFields(v any, s map[string]any, path string) []string {
	if s["x-kubernetes-preserve-unknown-fields"] == true && s["properties"] == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		ap, _ := s["additionalProperties"].(map[string]any)
		for k, child := range v {
			switch {
			case props[k] != nil:
				out = append(out, unknownFields(child, props[k].(map[string]any), path+"."+k)...)
			case ap != nil:
				out = append(out, unknownFields(child, ap, path+"."+k)...)
			case s["x-kubernetes-preserve-unknown-fields"] == true:
			default:
				out = append(out, path+"."+k)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, child := range v {
				out = append(out, unknownFields(child, items, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return out
}

func loadCRDs(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	paths, _ := filepath.Glob(filepath.Join(manifestsDir, "crds", "*.yaml"))
	if len(paths) != 4 {
		t.Fatalf("CRD files %v, want 4", paths)
	}
	for _, p := range paths {
		var crd map[string]any
		if err := sigsyaml.Unmarshal(documents(t, p)[0], &crd); err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = crd
	}
	return out
}

// documents splits a YAML file into its documents (as YAML), skipping empty ones.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	docs, err := splitDocuments(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return docs
}

func splitDocuments(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var out [][]byte
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&n); err != nil {
			return nil, err
		}
		if strings.TrimSpace(buf.String()) != "" && strings.TrimSpace(buf.String()) != "null" {
			out = append(out, buf.Bytes())
		}
	}
}
