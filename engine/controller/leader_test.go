package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Two replicas share one Lease: only the holder reconciles; when it shuts down it releases the
// Lease after its workers stopped, and the other replica takes over at once.
func TestLeaderElectionHandsOver(t *testing.T) {
	c := newCluster(t)
	elected := func(identity string) Options {
		o := c.options(&eventLog{})
		o.LeaderElection = LeaderElection{Enabled: true, Namespace: "argo-rollouts", Identity: identity,
			LeaseDuration: 2 * time.Second, RenewDeadline: 1 * time.Second, RetryPeriod: 100 * time.Millisecond}
		return o
	}
	a, stopA := c.start(elected("replica-a"))
	c.eventually("replica-a leads", a.Leading)
	b, _ := c.start(elected("replica-b"))
	if holder := c.leaseHolder(); holder != "replica-a" {
		t.Fatalf("lease held by %q, want replica-a", holder)
	}

	c.create(guideRollout("default", "demo", nil))
	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "replica-a deploys")
	if b.Leading() || reconciles(b, "default", "demo") != 0 {
		t.Fatal("replica-b reconciled while replica-a held the lease")
	}

	if err := stopA(); err != nil {
		t.Fatalf("replica-a's Run: %v", err)
	}
	if a.Leading() {
		t.Fatal("replica-a still leads after its Run returned")
	}
	// replica-a released the Lease on its way out: replica-b need not wait the lease out.
	if holder := c.leaseHolder(); holder == "replica-a" {
		t.Fatal("replica-a still holds the Lease after its Run returned")
	}
	c.eventually("replica-b takes over", b.Leading)
	if holder := c.leaseHolder(); holder != "replica-b" {
		t.Fatalf("lease held by %q, want replica-b", holder)
	}
	c.setImage("default", "demo", "argoproj/rollouts-demo:yellow")
	c.waitStep("default", "demo", 1, true)
	if reconciles(b, "default", "demo") == 0 {
		t.Fatal("the update was not reconciled by replica-b")
	}
	if got := ptr.Deref(c.rollout("default", "demo").Status.CurrentStepIndex, -1); got != 1 {
		t.Fatalf("step %d", got)
	}
}

func (c *cluster) leaseHolder() string {
	l, err := c.kube.CoordinationV1().Leases("argo-rollouts").Get(context.Background(), DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}
