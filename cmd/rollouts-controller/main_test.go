package main

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	elbv2fake "github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

func parse(t *testing.T, args ...string) *flags {
	t.Helper()
	cmd := newCommand()
	f := &flags{}
	cmd.ResetFlags()
	f.register(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f
}

var quiet = slog.New(slog.DiscardHandler)

// Without flags, the controller runs with Argo's defaults.
func TestDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	f := parse(t)
	opts, err := f.options("default", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Namespace != "" || opts.InstanceID != "" || opts.RolloutThreads != 10 || opts.AnalysisThreads != 30 ||
		opts.Resync != 15*time.Minute {
		t.Errorf("options %+v", opts)
	}
	le := opts.LeaderElection
	if !le.Enabled || le.Namespace != "argo-rollouts" || le.LeaseDuration != 15*time.Second ||
		le.RenewDeadline != 10*time.Second || le.RetryPeriod != 2*time.Second {
		t.Errorf("leader election %+v, want Argo's", le)
	}
	if cfg := opts.Config; cfg.VerifyTargetGroup || !slices.Equal(cfg.ALBIngressClasses, []string{"alb"}) ||
		cfg.ALBTagKeyResourceID != "ingress.k8s.aws/resource" {
		t.Errorf("engine config %+v", cfg)
	}
	if f.metricsPort != 8090 || f.healthzPort != 8080 || f.qps != 40 || f.burst != 80 {
		t.Errorf("ports %d/%d qps %v burst %d", f.metricsPort, f.healthzPort, f.qps, f.burst)
	}
}

// Argo's flags, as an Argo Deployment passes them, parse and take effect; the ones for
// features rolloutlab lacks parse and are reported.
func TestArgoFlags(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	f := parse(t, "--namespaced", "--instance-id", "blue", "--leader-elect=false", "--rollout-threads", "3",
		"--aws-verify-target-group", "--alb-ingress-classes", "alb", "--alb-ingress-classes", "internal-alb",
		"--metricsport", "9090", "--healthzPort", "9091", "--loglevel", "debug", "--rollout-resync", "60",
		"--kubeconfig", "/dev/null", "--service-threads", "4", "--nginx-ingress-classes", "nginx")
	opts, err := f.options("team-a", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Namespace != "team-a" || opts.InstanceID != "blue" || opts.LeaderElection.Enabled ||
		opts.RolloutThreads != 3 || !opts.Config.VerifyTargetGroup || opts.Resync != time.Minute {
		t.Errorf("options %+v", opts)
	}
	if opts.LeaderElection.Namespace != "team-a" {
		t.Errorf("namespaced lease in %q, want the watched namespace", opts.LeaderElection.Namespace)
	}
	if !slices.Equal(opts.Config.ALBIngressClasses, []string{"alb", "internal-alb"}) {
		t.Errorf("ALB classes %v", opts.Config.ALBIngressClasses)
	}
	if f.metricsPort != 9090 || f.healthzPort != 9091 {
		t.Errorf("ports %d/%d", f.metricsPort, f.healthzPort)
	}
	if got := ignoredSet(f.fs); !slices.Equal(got, []string{"--nginx-ingress-classes", "--service-threads"}) {
		t.Errorf("ignored flags reported %v", got)
	}
	if _, err := f.logger(); err != nil {
		t.Error(err)
	}
	f = parse(t, "--alb-verify-weight", "--metricsPort", "9100")
	if !f.awsVerifyTargetGroup || f.metricsPort != 9100 {
		t.Errorf("--alb-verify-weight / --metricsPort not honoured")
	}
	t.Setenv("POD_NAMESPACE", "rollouts-system")
	if opts, _ := parse(t).options("", quiet); opts.LeaderElection.Namespace != "rollouts-system" {
		t.Errorf("lease namespace %q, want $POD_NAMESPACE", opts.LeaderElection.Namespace)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--istio-api-version", "v1beta1"},
		{"--aws-target-group-binding-api-version", "elbv2.k8s.aws/v1"},
		{"--rollout-threads", "0"},
	} {
		if _, err := parse(t, args...).options("", quiet); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parse(t, "--loglevel", "chatty").logger(); err == nil {
		t.Error("--loglevel chatty accepted")
	}
}

func TestVersion(t *testing.T) {
	cmd := newCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--version"})
	if err := cmd.Execute(); err != nil || out.String() != version+"\n" {
		t.Errorf("--version: %q, %v", out.String(), err)
	}
}

// --aws-endpoint points the real SDK client at a fake ELBv2 served over HTTP, unsigned.
func TestELBv2Endpoint(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)

	fake := elbv2fake.New(elbv2fake.Config{}, &clockSched{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, nil, rand.New(rand.NewPCG(1, 2)))
	ctx := context.Background()
	if _, err := fake.WithCaller("test").CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake.Handler())
	defer srv.Close()

	c, err := newELBv2(ctx, "", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatalf("DescribeLoadBalancers: %v", err)
	}
	if len(out.LoadBalancers) != 1 || aws.ToString(out.LoadBalancers[0].LoadBalancerName) != "demo" {
		t.Errorf("load balancers %+v", out.LoadBalancers)
	}
	if _, err := newELBv2(ctx, "", ""); err == nil {
		t.Error("no region and no endpoint accepted")
	}
}

// clockSched is a scheduler for the fake that never runs its timers (nothing here waits).
type clockSched struct{ now time.Time }

func (s *clockSched) Now() time.Time { return s.now }

func (s *clockSched) After(time.Duration, string, string, func()) sched.Timer { return noTimer{} }

type noTimer struct{}

func (noTimer) Cancel() {}
