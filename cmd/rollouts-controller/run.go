package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/controller"
)

// prometheusAddressEnv names the Prometheus of metrics that give no address, as in Argo.
const prometheusAddressEnv = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"

// run is the controller process: clients from the kubeconfig (or the service account), the
// metrics and health servers, then the controller until ctx ends (SIGTERM).
func run(ctx context.Context, f *flags) error {
	log, err := f.logger()
	if err != nil {
		return err
	}
	setKlog(log, f.kLogLevel)
	log.Info("rollouts-controller starting", "version", version)
	if ignored := ignoredSet(f.fs); len(ignored) > 0 {
		log.Warn("flags accepted for compatibility with Argo Rollouts have no effect here", "flags", ignored)
	}

	cfg, err := f.clientConfig.ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	namespace, _, err := f.clientConfig.Namespace()
	if err != nil {
		return fmt.Errorf("kubeconfig namespace: %w", err)
	}
	opts, err := f.options(namespace, log)
	if err != nil {
		return err
	}
	if opts.Namespace != "" {
		log.Info("namespaced: watching one namespace", "namespace", opts.Namespace)
	}
	clients, err := newClients(ctx, cfg, f)
	if err != nil {
		return err
	}
	opts.AnalysisProviders = analysis.DefaultProviders{
		Prometheus: &analysis.Prometheus{DefaultAddress: os.Getenv(prometheusAddressEnv)},
		Web:        &analysis.Web{},
	}
	ctrl, err := controller.New(clients, opts)
	if err != nil {
		return err
	}
	if f.metricsPort == f.healthzPort {
		return fmt.Errorf("--metricsPort and --healthzPort are both %d", f.metricsPort)
	}
	servers, err := startServers(log, map[int]http.Handler{
		f.metricsPort: metricsMux(ctrl.Metrics().Handler()),
		f.healthzPort: ctrl.HealthHandler(),
	})
	if err != nil {
		return err
	}
	defer servers.shutdown(log)
	err = ctrl.Run(ctx)
	log.Info("rollouts-controller stopped", "err", err)
	return err
}

// newClients builds the API clients (and, with --aws-verify-target-group, the ELBv2 client).
func newClients(ctx context.Context, cfg *rest.Config, f *flags) (controller.Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = f.qps, f.burst
	cfg.UserAgent = "rollouts-controller/" + version + " (rolloutlab)"
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return controller.Clients{}, err
	}
	rollouts, err := client.NewForConfig(cfg)
	if err != nil {
		return controller.Clients{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return controller.Clients{}, err
	}
	c := controller.Clients{Kube: kube, Rollouts: rollouts, Dynamic: dyn}
	if f.awsVerifyTargetGroup {
		elb, err := newELBv2(ctx, f.awsRegion, f.awsEndpoint)
		if err != nil {
			return controller.Clients{}, err
		}
		c.ELBv2 = elb
	}
	return c, nil
}

// setKlog sends client-go's logs (reflectors, leader election) through the process logger, at
// --kloglevel verbosity.
func setKlog(log *slog.Logger, verbosity int) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
	klog.SetSlogLogger(log.With("source", "client-go"))
}

func metricsMux(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	return mux
}

// servers are the process's HTTP servers (metrics, health).
type servers []*http.Server

// startServers listens on each port (0.0.0.0, as Argo) and serves its handler.
func startServers(log *slog.Logger, handlers map[int]http.Handler) (servers, error) {
	var out servers
	for port, h := range handlers {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			out.shutdown(log)
			return nil, err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		out = append(out, srv)
		log.Info("serving", "address", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("server failed", "address", ln.Addr().String(), "err", err)
			}
		}()
	}
	return out, nil
}

func (s servers) shutdown(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s {
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("server shutdown", "err", err)
		}
	}
}
