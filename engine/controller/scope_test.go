package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Argo's --instance-id: with an id, only rollouts labelled with it; without, only unlabelled ones.
func TestInstanceIDSelectsRollouts(t *testing.T) {
	for _, tc := range []struct {
		id, want string
	}{
		{id: "", want: "unlabelled"},
		{id: "blue", want: "blue"},
	} {
		t.Run("id="+tc.id, func(t *testing.T) {
			c := newCluster(t)
			c.create(guideRollout("default", "unlabelled", nil))
			c.create(guideRollout("default", "blue", map[string]string{InstanceIDLabel: "blue"}))
			c.create(guideRollout("default", "green", map[string]string{InstanceIDLabel: "green"}))
			opts := c.options(&eventLog{})
			opts.InstanceID = tc.id
			ctrl, _ := c.start(opts)

			c.waitPhase("default", tc.want, v1alpha1.RolloutPhaseHealthy, "the selected rollout deploys")
			c.settle(ctrl)
			for _, name := range []string{"unlabelled", "blue", "green"} {
				if name == tc.want {
					continue
				}
				if st := c.rollout("default", name).Status; st.Phase != "" || st.ObservedGeneration != "" {
					t.Errorf("rollout %s was reconciled by the controller of instance %q: %+v", name, tc.id, st)
				}
			}
			cached, _ := ctrl.Reader().Rollouts("")
			if len(cached) != 1 || cached[0].Name != tc.want {
				t.Errorf("cached rollouts %v, want only %s", names(cached), tc.want)
			}
		})
	}
}

// A rollout relabelled to another instance leaves this controller's cache (the watch reports it
// deleted), and one relabelled to this instance enters it.
func TestInstanceIDRelabel(t *testing.T) {
	c := newCluster(t)
	c.create(guideRollout("default", "demo", map[string]string{InstanceIDLabel: "blue"}))
	opts := c.options(&eventLog{})
	opts.InstanceID = "blue"
	ctrl, _ := c.start(opts)
	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "deployed by blue")

	relabel := func(id string) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			ro := c.rollout("default", "demo")
			ro.Labels[InstanceIDLabel] = id
			_, err := c.testRollouts.Rollouts("default").Update(context.Background(), ro, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	inCache := func() bool { _, err := ctrl.Reader().Rollout("default", "demo"); return err == nil }
	relabel("green")
	c.eventually("the rollout leaves blue's cache", func() bool { return !inCache() })
	relabel("blue")
	c.eventually("the rollout comes back to blue's cache", inCache)
}

// --namespaced: the controller watches (and so reconciles) only its own namespace.
func TestNamespacedWatchesOneNamespace(t *testing.T) {
	c := newCluster(t)
	c.create(guideRollout("team-a", "demo", nil))
	c.create(guideRollout("team-b", "demo", nil))
	opts := c.options(&eventLog{})
	opts.Namespace = "team-a"
	ctrl, _ := c.start(opts)

	c.waitPhase("team-a", "demo", v1alpha1.RolloutPhaseHealthy, "team-a's rollout deploys")
	c.settle(ctrl)
	if st := c.rollout("team-b", "demo").Status; st.Phase != "" {
		t.Errorf("team-b's rollout was reconciled by team-a's controller: %+v", st)
	}
	if rs := c.replicaSets("team-b"); len(rs) != 0 {
		t.Errorf("team-b has ReplicaSets %v", rs)
	}
	if ctrl.informers.clusterAnalysisTemplates != nil {
		t.Error("a namespaced controller watches ClusterAnalysisTemplates")
	}
}

func names(rollouts []*v1alpha1.Rollout) []string {
	var out []string
	for _, ro := range rollouts {
		out = append(out, ro.Namespace+"/"+ro.Name)
	}
	return out
}

// The analysis worker measures the runs of this instance's rollouts, and standalone runs by
// their own instance-id label.
func TestAnalysisRunsOfThisInstance(t *testing.T) {
	c := newCluster(t)
	opts := c.options(&eventLog{})
	opts.InstanceID = "blue"
	ctrl, err := New(c.clients(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ours := guideRollout("default", "ours", map[string]string{InstanceIDLabel: "blue"})
	if err := ctrl.informers.rollouts.GetIndexer().Add(ours); err != nil {
		t.Fatal(err)
	}
	run := func(owner string, uid types.UID, labels map[string]string) *v1alpha1.AnalysisRun {
		ar := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "r", Labels: labels}}
		if owner != "" {
			ar.OwnerReferences = []metav1.OwnerReference{{Kind: "Rollout", Name: owner, UID: uid, Controller: ptr.To(true)}}
		}
		return ar
	}
	for _, tc := range []struct {
		what string
		run  *v1alpha1.AnalysisRun
		want bool
	}{
		{"our rollout's", run("ours", ours.UID, nil), true},
		{"an earlier rollout of the same name", run("ours", "old-uid", nil), false},
		{"another instance's rollout's", run("theirs", "x", nil), false},
		{"standalone, labelled blue", run("", "", map[string]string{InstanceIDLabel: "blue"}), true},
		{"standalone, unlabelled", run("", "", nil), false},
	} {
		if got := ctrl.analysis.mine(tc.run); got != tc.want {
			t.Errorf("%s run: mine = %v, want %v", tc.what, got, tc.want)
		}
	}
}
