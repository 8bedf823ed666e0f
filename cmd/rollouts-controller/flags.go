package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/engine/aws"
	"github.com/rolloutlab/rolloutlab/engine/controller"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// flags are Argo's controller flags, spelled as Argo spells them, plus rolloutlab's own
// (--aws-region, --aws-endpoint, --aws-verify-target-health, --analysis-threads is Argo's).
type flags struct {
	fs           *pflag.FlagSet
	clientConfig clientcmd.ClientConfig

	namespaced  bool
	instanceID  string
	resync      int64 // seconds
	qps         float32
	burst       int
	logLevel    string
	logFormat   string
	kLogLevel   int
	metricsPort int
	healthzPort int

	rolloutThreads, analysisThreads int

	leaderElect                                   bool
	leaseNamespace                                string
	leaseDuration, leaseRenewDeadline, leaseRetry time.Duration
	albIngressClasses                             []string
	albTagKeyResourceID                           string
	awsVerifyTargetGroup, awsVerifyTargetHealth   bool
	awsRegion, awsEndpoint                        string
	targetGroupBindingVersion, istioVersion       string
	printVersion                                  bool
}

// Argo's defaults (cmd/rollouts-controller/main.go, controller/controller.go).
const (
	defaultResyncSeconds = 15 * 60
	defaultMetricsPort   = 8090
	defaultHealthzPort   = 8080
	defaultQPS           = 40
	defaultBurst         = 80
	defaultIstioVersion  = "v1alpha3"
)

func (f *flags) register(cmd *cobra.Command) {
	f.clientConfig = addKubectlFlags(cmd)
	fs := cmd.Flags()
	f.fs = fs
	fs.Int64Var(&f.resync, "rollout-resync", defaultResyncSeconds, "Time period in seconds for rollouts resync.")
	fs.BoolVar(&f.namespaced, "namespaced", false, "runs controller in namespaced mode (does not require cluster RBAC)")
	fs.StringVar(&f.logLevel, "loglevel", "info", "Set the logging level. One of: debug|info|warn|error")
	fs.StringVar(&f.logFormat, "logformat", "", "Set the logging format. One of: text|json")
	fs.IntVar(&f.kLogLevel, "kloglevel", 0, "Set the klog logging level")
	fs.IntVar(&f.metricsPort, "metricsPort", defaultMetricsPort, "Set the port the metrics endpoint should be exposed over")
	fs.IntVar(&f.metricsPort, "metricsport", defaultMetricsPort, "Set the port the metrics endpoint should be exposed over")
	_ = fs.MarkHidden("metricsport") // the spelling of Argo releases before --metricsPort
	fs.IntVar(&f.healthzPort, "healthzPort", defaultHealthzPort, "Set the port the healthz endpoint should be exposed over")
	fs.StringVar(&f.instanceID, "instance-id", "", "Indicates which argo rollout objects the controller should operate on")
	fs.Float32Var(&f.qps, "qps", defaultQPS, "Maximum QPS (queries per second) to the K8s API server")
	fs.IntVar(&f.burst, "burst", defaultBurst, "Maximum burst for throttle.")
	fs.IntVar(&f.rolloutThreads, "rollout-threads", controller.DefaultRolloutThreads, "Set the number of worker threads for the Rollout controller")
	fs.IntVar(&f.analysisThreads, "analysis-threads", controller.DefaultAnalysisThreads, "Set the number of worker threads for the AnalysisRun controller")
	fs.StringArrayVar(&f.albIngressClasses, "alb-ingress-classes", []string{"alb"}, "Defines all the ingress class annotations that the alb ingress controller operates on. Defaults to alb")
	fs.StringVar(&f.albTagKeyResourceID, "alb-tag-key-resource-id", aws.DefaultResourceTagKey, "Defines the tag key used to identify the resource ID of a target group")
	fs.BoolVar(&f.awsVerifyTargetGroup, "aws-verify-target-group", false, "Verify ALB target group before progressing through steps (requires AWS privileges)")
	fs.BoolVar(&f.awsVerifyTargetGroup, "alb-verify-weight", false, "Verify ALB target group weights before progressing through steps (requires AWS privileges)")
	_ = fs.MarkDeprecated("alb-verify-weight", "Use --aws-verify-target-group instead")
	fs.BoolVar(&f.awsVerifyTargetHealth, "aws-verify-target-health", false, "With --aws-verify-target-group, also require verified targets to be healthy, not just registered (rolloutlab)")
	fs.StringVar(&f.awsRegion, "aws-region", "", "AWS region of the load balancers (default: the AWS SDK's, e.g. AWS_REGION) (rolloutlab)")
	fs.StringVar(&f.awsEndpoint, "aws-endpoint", "", "ELBv2 endpoint URL instead of AWS's, e.g. a fake served over HTTP; without AWS_ACCESS_KEY_ID requests go unsigned (rolloutlab)")
	fs.StringVar(&f.targetGroupBindingVersion, "aws-target-group-binding-api-version", tgbv1.SchemeGroupVersion.String(), "Set the default AWS TargetGroupBinding apiVersion that controller uses when verifying target group weights.")
	fs.StringVar(&f.istioVersion, "istio-api-version", defaultIstioVersion, "Set the default Istio apiVersion that controller should look when manipulating VirtualServices.")
	fs.BoolVar(&f.printVersion, "version", false, "Print version")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "If true, controller will perform leader election between instances to ensure no more than one instance of controller operates at a time")
	fs.StringVar(&f.leaseNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: $POD_NAMESPACE, else the watched namespace with --namespaced, else argo-rollouts)")
	fs.DurationVar(&f.leaseDuration, "leader-election-lease-duration", controller.DefaultLeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&f.leaseRenewDeadline, "leader-election-renew-deadline", controller.DefaultLeaseRenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than or equal to the lease duration.")
	fs.DurationVar(&f.leaseRetry, "leader-election-retry-period", controller.DefaultLeaseRetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")
	f.registerIgnored(fs)
}

// registerIgnored accepts Argo's flags for features rolloutlab does not have (other traffic
// routers, experiments, notifications), so that an Argo Deployment's arguments still parse. They
// are hidden and have no effect; run logs the ones that are set.
func (f *flags) registerIgnored(fs *pflag.FlagSet) {
	const usage = "accepted for compatibility with Argo Rollouts; no effect"
	for _, name := range []string{"experiment-threads", "service-threads", "ingress-threads",
		"ephemeral-metadata-threads", "ephemeral-metadata-update-pod-retries"} {
		fs.Int(name, 0, usage)
	}
	for _, name := range []string{"ambassador-api-version", "traffic-split-api-version", "ingress-api-version",
		"appmesh-crd-version", "traefik-api-group", "traefik-version"} {
		fs.String(name, "", usage)
	}
	fs.StringArray("nginx-ingress-classes", nil, usage)
	fs.Bool("self-service-notification-enabled", false, usage)
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Usage == usage {
			fl.Hidden = true
		}
	})
}

// ignoredSet names the compatibility-only flags given on the command line.
func ignoredSet(fs *pflag.FlagSet) []string {
	var out []string
	fs.Visit(func(fl *pflag.Flag) {
		if fl.Hidden && strings.HasPrefix(fl.Usage, "accepted for compatibility with Argo Rollouts") {
			out = append(out, "--"+fl.Name)
		}
	})
	return out
}

// addKubectlFlags adds --kubeconfig and kubectl's connection flags (--context, --namespace,
// --server, ...), as Argo does: in a cluster, the service account is used.
func addKubectlFlags(cmd *cobra.Command) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
	overrides := clientcmd.ConfigOverrides{}
	cmd.PersistentFlags().StringVar(&rules.ExplicitPath, "kubeconfig", "", "Path to a kube config. Only required if out-of-cluster")
	clientcmd.BindOverrideFlags(&overrides, cmd.PersistentFlags(), clientcmd.RecommendedConfigOverrideFlags(""))
	return clientcmd.NewInteractiveDeferredLoadingClientConfig(rules, &overrides, os.Stdin)
}

// logger is the process's logger, at --loglevel in --logformat.
func (f *flags) logger() (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(f.logLevel) {
	case "debug", "trace":
		level = slog.LevelDebug
	case "info", "":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error", "fatal", "panic":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("--loglevel %q: want one of debug|info|warn|error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(f.logFormat) {
	case "", "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--logformat %q: want text or json", f.logFormat)
}

// options turn the flags into the controller's options; namespace is the kubeconfig's (or the
// service account's) namespace, used with --namespaced.
func (f *flags) options(namespace string, log *slog.Logger) (controller.Options, error) {
	if f.targetGroupBindingVersion != tgbv1.SchemeGroupVersion.String() {
		return controller.Options{}, fmt.Errorf("--aws-target-group-binding-api-version %q: only %s is supported", f.targetGroupBindingVersion, tgbv1.SchemeGroupVersion)
	}
	if f.istioVersion != defaultIstioVersion {
		return controller.Options{}, fmt.Errorf("--istio-api-version %q: only %s is supported", f.istioVersion, defaultIstioVersion)
	}
	if f.rolloutThreads < 1 || f.analysisThreads < 1 {
		return controller.Options{}, fmt.Errorf("--rollout-threads and --analysis-threads must be at least 1")
	}
	opts := controller.Options{
		InstanceID:      f.instanceID,
		RolloutThreads:  f.rolloutThreads,
		AnalysisThreads: f.analysisThreads,
		Resync:          time.Duration(f.resync) * time.Second,
		Logger:          log,
		Version:         version,
		Config: rollout.Config{
			VerifyTargetGroup:   f.awsVerifyTargetGroup,
			VerifyTargetHealth:  f.awsVerifyTargetHealth,
			ALBIngressClasses:   f.albIngressClasses,
			ALBTagKeyResourceID: f.albTagKeyResourceID,
		},
		LeaderElection: controller.LeaderElection{
			Enabled:       f.leaderElect,
			Namespace:     f.leaseNamespaceFor(namespace),
			LeaseDuration: f.leaseDuration,
			RenewDeadline: f.leaseRenewDeadline,
			RetryPeriod:   f.leaseRetry,
		},
	}
	if f.resync <= 0 {
		opts.Resync = -1
	}
	if f.namespaced {
		opts.Namespace = namespace
	}
	return opts, nil
}

// leaseNamespaceFor is where the Lease lives: --leader-election-namespace, else the pod's
// namespace ($POD_NAMESPACE, as Argo reads it), else the watched namespace when namespaced, else
// argo-rollouts.
func (f *flags) leaseNamespaceFor(namespace string) string {
	switch {
	case f.leaseNamespace != "":
		return f.leaseNamespace
	case os.Getenv("POD_NAMESPACE") != "":
		return os.Getenv("POD_NAMESPACE")
	case f.namespaced && namespace != "":
		return namespace
	}
	return controller.DefaultLeaseNamespace
}
