// Command fake-aws plays AWS for ALB rollouts on a local Kubernetes API server (e2e/): it
// serves the simulation's in-memory ELBv2 over HTTP, for the rollout controller's
// --aws-endpoint, and runs the simulated AWS Load Balancer Controller against the cluster,
// in real time (see e2e/fakeaws).
//
//	fake-aws --kubeconfig kubeconfig [--listen 127.0.0.1:4566] [--webhook-listen 127.0.0.1:9443]
//
// It prints one line to stdout when it serves,
//
//	fake-aws: ELBv2 at http://127.0.0.1:4566 webhook at https://127.0.0.1:9443/mutate-v1-pod
//
// logs to stderr, and stops on SIGINT or SIGTERM, removing its webhook configuration. The
// cluster needs the TargetGroupBinding CRD (e2e/crds/targetgroupbinding-crd.yaml).
//
// The LBC reacts faster than the real one by default, so that end-to-end tests are quick:
// --lbc-lag 200ms (the real controller takes about 1 s and up to tens of seconds) and
// --lbc-requeue 2s (the real --targetgroupbinding-requeue-duration is 15 s). Health checks run
// at the Ingress's alb.ingress.kubernetes.io/healthcheck-interval-seconds (15 s by default; 5 s
// is the least ELBv2 accepts, with a timeout below it).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/rolloutlab/rolloutlab/e2e/fakeaws"
	"github.com/rolloutlab/rolloutlab/fakes/awslbc"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "the cluster's kubeconfig")
	listen := flag.String("listen", "127.0.0.1:4566", "address of the ELBv2 Query API and of /debug/")
	webhook := flag.String("webhook-listen", "127.0.0.1:9443", `address of the readiness-gate webhook (HTTPS; "" for none)`)
	lag := flag.Duration("lbc-lag", 200*time.Millisecond, "the LBC's reconcile lag after a change")
	requeue := flag.Duration("lbc-requeue", 2*time.Second, "how often the LBC looks again at a binding whose gated targets are not healthy yet")
	propagation := flag.Duration("rule-propagation", 0, "how long an ELBv2 listener or rule change takes to reach the data plane")
	cluster := flag.String("cluster-name", awslbc.DefaultConfig().ClusterName, "the LBC's --cluster-name")
	seed := flag.Uint64("seed", 1, "seed of the models' random draws and of the traffic")
	flag.Parse()
	log.SetPrefix("fake-aws: ")

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200 // writes back every readiness-gate condition

	lbc := awslbc.DefaultConfig()
	lbc.ClusterName = *cluster
	lbc.ReconcileLag = dist.Fixed(*lag)
	lbc.RequeueAfter = *requeue
	elb := elbv2.DefaultConfig()
	elb.RulePropagation = dist.Fixed(*propagation)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = fakeaws.Run(ctx, fakeaws.Options{
		Config: cfg, Listen: *listen, WebhookListen: *webhook, LBC: lbc, ELBv2: elb, Seed: *seed,
		Logf: log.Printf,
		Ready: func(e fakeaws.Endpoints) {
			line := "fake-aws: ELBv2 at " + e.API
			if e.Webhook != "" {
				line += " webhook at " + e.Webhook
			}
			fmt.Println(line)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}
