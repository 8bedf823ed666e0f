// Package cluster connects to a real cluster from a kubeconfig and applies manifests to it as
// `kubectl apply --server-side --force-conflicts` does: what the e2e tests and the features'
// cluster driver share.
package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
)

// Clients reach one cluster.
type Clients struct {
	Kubeconfig string
	Kube       kubernetes.Interface
	Rollouts   client.Interface
	Dynamic    dynamic.Interface
	// Discovery caches what the API server serves; Invalidate it after installing CRDs.
	Discovery discovery.CachedDiscoveryInterface
	Mapper    meta.ResettableRESTMapper
}

// Connect builds the clients of the cluster a kubeconfig names.
func Connect(kubeconfig string) (*Clients, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	c := &Clients{Kubeconfig: kubeconfig}
	if c.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.Rollouts, err = client.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.Discovery = memory.NewMemCacheClient(dc)
	c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(c.Discovery)
	return c, nil
}

// Decode reads every document of a manifest (YAML or JSON), skipping empty ones.
func Decode(file string, data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 1; ; i++ {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err == io.EOF {
				return out, nil
			}
			return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// Apply creates or updates the object by server-side apply as manager, taking over fields other
// managers own; a namespaced object that names no namespace goes to ns.
func (c *Clients) Apply(ctx context.Context, u *unstructured.Unstructured, ns, manager string) error {
	gvk := u.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, u.GetName(), err)
	}
	ri := dynamic.ResourceInterface(c.Dynamic.Resource(m.Resource))
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(ns)
		}
		ri = c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: manager, Force: true}); err != nil {
		return fmt.Errorf("applying %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	return nil
}

// ApplyManifest applies every document of a manifest, in order.
func (c *Clients) ApplyManifest(ctx context.Context, file string, data []byte, ns, manager string) error {
	objs, err := Decode(file, data)
	if err != nil {
		return err
	}
	for _, u := range objs {
		if err := c.Apply(ctx, u, ns, manager); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	return nil
}
