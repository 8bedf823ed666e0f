package controller

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Argo's leader election: a Lease named argo-rollouts-controller-lock, 15s lease, 10s renew
// deadline, 2s retry period.
const (
	DefaultLeaseName          = "argo-rollouts-controller-lock"
	DefaultLeaseNamespace     = "argo-rollouts"
	DefaultLeaseDuration      = 15 * time.Second
	DefaultLeaseRenewDeadline = 10 * time.Second
	DefaultLeaseRetryPeriod   = 2 * time.Second
)

// LeaderElection configures the Lease that elects the one replica that reconciles.
type LeaderElection struct {
	Enabled bool
	// Namespace and Name of the Lease (defaults: argo-rollouts, argo-rollouts-controller-lock).
	Namespace, Name string
	// Identity of this replica in the Lease (default: hostname_uuid, as Argo).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod as client-go's leader election has them.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

func (le LeaderElection) withDefaults() LeaderElection {
	if le.Namespace == "" {
		le.Namespace = DefaultLeaseNamespace
	}
	if le.Name == "" {
		le.Name = DefaultLeaseName
	}
	if le.Identity == "" {
		host, _ := os.Hostname()
		le.Identity = host + "_" + uuid.NewString()
	}
	if le.LeaseDuration == 0 {
		le.LeaseDuration = DefaultLeaseDuration
	}
	if le.RenewDeadline == 0 {
		le.RenewDeadline = DefaultLeaseRenewDeadline
	}
	if le.RetryPeriod == 0 {
		le.RetryPeriod = DefaultLeaseRetryPeriod
	}
	return le
}

func (le LeaderElection) validate() error {
	if !le.Enabled {
		return nil
	}
	switch {
	case le.LeaseDuration <= le.RenewDeadline:
		return errors.New("--leader-election-lease-duration must be longer than --leader-election-renew-deadline")
	case le.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(le.RetryPeriod)):
		return errors.New("--leader-election-renew-deadline must be longer than 1.2 × --leader-election-retry-period")
	}
	return nil
}

// runElected campaigns for the Lease and runs the workers while holding it. When ctx ends, the
// workers finish first and the Lease is released after them, so that the next leader starts
// when this one has stopped writing (and without waiting out the lease).
func (c *Controller) runElected(ctx context.Context) error {
	le := c.opts.LeaderElection
	// The election outlives ctx by the time the workers take to stop.
	electCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()

	var mu sync.Mutex
	var stopping bool
	var workers chan struct{} // closed when the workers of a term have stopped
	waitWorkers := func() {
		mu.Lock()
		stopping = true
		done := workers
		mu.Unlock()
		if done != nil {
			<-done
		}
	}
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
			Client:     c.clients.Kube.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
		},
		Name:            le.Name,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(termCtx context.Context) {
				mu.Lock()
				if stopping {
					mu.Unlock()
					return
				}
				done := make(chan struct{})
				workers = done
				mu.Unlock()
				defer close(done)
				workCtx, cancel := context.WithCancel(termCtx)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				c.log.Info("acquired the leader lease", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
				c.lead(workCtx)
			},
			OnStoppedLeading: func() {
				c.log.Info("not leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
			},
			OnNewLeader: func(id string) {
				if id != le.Identity {
					c.log.Info("another replica leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		waitWorkers()
		stopElection() // releases the lease
	}()
	c.log.Info("campaigning for the leader lease", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
	elector.Run(electCtx)
	waitWorkers()
	if ctx.Err() != nil {
		return nil
	}
	return ErrLostLeadership
}
