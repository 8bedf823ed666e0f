package istio

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// BenchmarkSetWeight is the router's cost per update of one VirtualService. Weights alternate so
// that every call changes something (except in "no-op", the steady state of a paused step).
func BenchmarkSetWeight(b *testing.B) {
	guideSpec := loadSpec(b, "guide/rollout.yaml")
	guide := load(b, "guide/multipleVirtualsvc.yaml")[0]
	richSpec := loadSpec(b, "rich-rollout.yaml")
	rich := loadOne(b, "rich-vsvc.yaml")
	for _, c := range []struct {
		name string
		spec *Spec
		vs   *unstructured.Unstructured
	}{
		{"guide-http+tls", guideSpec, guide},
		{"rich-http+tls+tcp", richSpec, rich},
	} {
		b.Run(c.name, func(b *testing.B) {
			vs := c.vs.DeepCopy()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := SetWeight(vs, c.spec, int32(i%2)*50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("no-op", func(b *testing.B) {
		vs := rich.DeepCopy()
		if _, err := SetWeight(vs, richSpec, 30); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if changed, err := SetWeight(vs, richSpec, 30); changed || err != nil {
				b.Fatal(changed, err)
			}
		}
	})
	// What the engine pays per VirtualService and reconcile: copy the cached object, set the
	// weight, compute the patch to send.
	b.Run("rich-copy+set+patch", func(b *testing.B) {
		cached := rich.DeepCopy()
		cached.SetResourceVersion("1")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			vs := cached.DeepCopy()
			if _, err := SetWeight(vs, richSpec, int32(i%2)*50+5); err != nil {
				b.Fatal(err)
			}
			if p, err := mergepatch.Objects(cached, vs); err != nil || p == nil {
				b.Fatal(err)
			}
		}
	})
}
