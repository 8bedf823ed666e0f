package apisix

import (
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// BenchmarkSetWeight is the router's cost per update of the ApisixRoute. Weights alternate so
// that every call changes something (except in "no-op", the steady state of a paused step).
func BenchmarkSetWeight(b *testing.B) {
	guideSpec := specFor(b, loadRollout(b, "guide/rollout.yaml"))
	guide := loadRoute(b, "guide/route.yaml")
	richSpec := specFor(b, loadRollout(b, "rich-rollout.yaml"))
	rich := loadRoute(b, "rich-route.yaml")
	b.Run("guide", func(b *testing.B) {
		ar := guide.DeepCopy()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := SetWeight(ar, guideSpec, int32(i%2)*50); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rich-2-rules", func(b *testing.B) {
		ar := rich.DeepCopy()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := SetWeight(ar, richSpec, int32(i%2)*50); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("no-op", func(b *testing.B) {
		ar := rich.DeepCopy()
		if _, err := SetWeight(ar, richSpec, 30); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if changed, err := SetWeight(ar, richSpec, 30); changed || err != nil {
				b.Fatal(changed, err)
			}
		}
	})
	// What the engine pays per reconcile that moves the weight: copy the cached object, set the
	// weight, compute the patch to send.
	b.Run("rich-copy+set+patch", func(b *testing.B) {
		cached := rich.DeepCopy()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ar := cached.DeepCopy()
			if _, err := SetWeight(ar, richSpec, int32(i%2)*50+5); err != nil {
				b.Fatal(err)
			}
			if p, err := mergepatch.Objects(cached, ar); err != nil || p == nil {
				b.Fatal(err)
			}
		}
	})
	// The header route of a setHeaderRoute step, built from the user's route.
	b.Run("header-route", func(b *testing.B) {
		ro := loadRollout(b, "rich-rollout.yaml")
		step := ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute
		b.ReportAllocs()
		for b.Loop() {
			if _, err := HeaderRoute(rich, nil, richSpec, step); err != nil {
				b.Fatal(err)
			}
		}
	})
}
