package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// serveOptions are the flags of `sim serve`.
type serveOptions struct {
	scenario    string
	listen      string
	kubeconfig  string
	speed       float64
	seed        *uint64
	logRequests bool
}

func newServeCmd() *cobra.Command {
	var (
		o    serveOptions
		seed uint64
	)
	cmd := &cobra.Command{
		Use:   "serve [SCENARIO]",
		Short: "Run a simulated cluster in real time and serve its Kubernetes API, for kubectl argo rollouts",
		Long: `Build the world of a scenario (default: the basic canary guide), deploy it, and keep it running
in step with the wall clock: every 20 ms the simulation runs up to the virtual instant --speed
times the real time elapsed. Meanwhile a minimal Kubernetes API over the simulated cluster is
served on --listen, and a kubeconfig for it is written to --kubeconfig-out (context
rolloutlab-sim, namespace default), so that the kubectl plugin works against the simulation as
against any cluster:

  rolloutlab sim serve --kubeconfig-out sim.kubeconfig &
  export KUBECONFIG=$PWD/sim.kubeconfig
  kubectl argo rollouts get rollout rollouts-demo --watch
  kubectl argo rollouts set image rollouts-demo rollouts-demo=argoproj/rollouts-demo:yellow
  kubectl argo rollouts promote rollouts-demo

Of the scenario only the setup is played: the apply and startTraffic steps at the start of its
timeline, before its first other step. Its later steps (user actions, faults, waits and
expectations) are not: you are the user. The world's knobs (world:) and seed apply as written.

The API is plain HTTP without authentication (bind it to loopback). It serves discovery (/api,
/apis, /version) and get, list, watch, create, update (with the status subresource), patch (JSON,
merge, and strategic merge for Kubernetes types) and delete of these resources:` + servedResources() + `.
Requests are answered by the simulation's own API server (resourceVersions, 409 conflicts,
admission); paths it does not serve are answered 404 and reported on stderr.

Virtual time starts at the wall clock's time, so that at --speed 1 the plugin's ages and
'restart' agree with the simulation; at a higher speed the simulation runs ahead of the plugin's
clock (ages shown as <invalid>).

Stop it with Ctrl-C (SIGINT) or SIGTERM.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.scenario = scenarios.Default
			if len(args) == 1 {
				o.scenario = args[0]
			}
			if cmd.Flags().Changed("seed") {
				o.seed = &seed
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveSim(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8001", "address to serve the API on (port 0: any free port)")
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig-out", filepath.Join(os.TempDir(), "rolloutlab-sim.kubeconfig"), "write a kubeconfig for the served API to this file")
	cmd.Flags().Float64Var(&o.speed, "speed", 1, "virtual seconds per real second")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the random streams (default: the scenario's)")
	cmd.Flags().BoolVar(&o.logRequests, "log-requests", false, "print every API request on stderr")
	return cmd
}

// tick is how often the clock loop catches the simulation up with the wall clock.
const tick = 20 * time.Millisecond

// maxEventsPerTick bounds the events run while the lock is held, so that requests are answered
// while a busy simulation catches up.
const maxEventsPerTick = 5000

// serveSim runs the simulation and its API until ctx ends.
func serveSim(ctx context.Context, o serveOptions, out, errOut io.Writer) error {
	if o.speed <= 0 {
		return &exitError{2, fmt.Errorf("--speed must be positive")}
	}
	sc, err := loadScenario(o.scenario)
	if err != nil {
		return &exitError{2, err}
	}
	seed := sc.Seed
	if o.seed != nil {
		seed = *o.seed
	}

	// Virtual time zero is now, so that the plugin's clock (ages, restart --in) agrees with the
	// simulation's at speed 1. Epoch is only read while the world runs: it is put back after.
	epoch := sim.Epoch
	sim.Epoch = time.Now().UTC().Truncate(time.Second)
	defer func() { sim.Epoch = epoch }()

	w, err := sim.NewWorld(seed, sc.World, nil)
	if err != nil {
		return &exitError{2, err}
	}
	var mu sync.Mutex
	api, err := newAPIServer(&mu, w)
	if err != nil {
		return &exitError{2, err}
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(errOut, "rolloutlab: "+format+"\n", args...)
	}
	api.unserved = logf
	if o.logRequests {
		api.log = logf
	}
	first, err := setUp(w, sc)
	if err != nil {
		return &exitError{2, err}
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &exitError{2, err}
	}
	url := "http://" + ln.Addr().String()
	if err := writeKubeconfig(o.kubeconfig, url); err != nil {
		ln.Close()
		return &exitError{2, err}
	}
	hint := "kubectl argo rollouts get rollout " + first.Name + " --watch"
	if first.Namespace != "default" {
		hint = "kubectl argo rollouts -n " + first.Namespace + " get rollout " + first.Name + " --watch"
	}
	abs, _ := filepath.Abs(o.kubeconfig)
	fmt.Fprintf(out, "export KUBECONFIG=%s; %s   # %s (seed %d, %g× speed) is served at %s\n",
		shellQuote(abs), hint, sc.Name, seed, o.speed, url)

	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	clockCtx, stopClock := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- runClock(clockCtx, &mu, w, o.speed) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-served:
		runErr = &exitError{2, err}
	case err := <-ran:
		if err != nil {
			runErr = &exitError{2, fmt.Errorf("the simulation stopped: %w", err)}
		}
	}
	stopClock()
	api.stop()
	shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	<-ran
	if runErr != nil {
		return runErr
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &exitError{2, err}
	}
	mu.Lock()
	fmt.Fprintf(errOut, "rolloutlab: stopped after %s of virtual time\n", w.Kernel.Elapsed().Round(time.Millisecond))
	mu.Unlock()
	return nil
}

// runClock keeps virtual time at speed × the real time elapsed, until ctx ends or an invariant of
// the simulation breaks.
func runClock(ctx context.Context, mu *sync.Mutex, w *sim.World, speed float64) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	mu.Lock()
	v0 := w.Kernel.Now()
	mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		target := v0.Add(time.Duration(float64(time.Since(start)) * speed))
		mu.Lock()
		n := 0
		_, err := w.Kernel.RunUntil(target, func() bool { n++; return n > maxEventsPerTick })
		w.Cluster.ClearActions()
		mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// setUp plays the setup of a scenario — the apply and startTraffic steps its timeline begins
// with — and returns the first rollout applied.
func setUp(w *sim.World, sc *scenario.Scenario) (*v1alpha1.Rollout, error) {
	var first *v1alpha1.Rollout
setup:
	for _, st := range sc.Timeline {
		switch st.Kind {
		case scenario.KindApply:
			for _, name := range st.Manifests {
				p := sc.Manifests[name]
				docs, err := w.Decoder.Decode(p, []byte(sc.Files[p]))
				if err != nil {
					return nil, err
				}
				if err := w.Apply(docs); err != nil {
					return nil, err
				}
				for _, d := range docs {
					if ro, ok := d.Object.(*v1alpha1.Rollout); ok && first == nil {
						first = ro.DeepCopy()
						if first.Namespace == "" {
							first.Namespace = "default"
						}
					}
				}
			}
			continue
		case scenario.KindStartTraffic:
			if err := w.StartTrafficSource(st.Traffic); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", sc.File, st.Line, st.Path, err)
			}
			continue
		}
		break setup
	}
	if first == nil {
		return nil, fmt.Errorf("scenario %s deploys no rollout before its first step", sc.Name)
	}
	return first, nil
}

// writeKubeconfig writes a kubeconfig whose current context, rolloutlab-sim, is the served API in
// namespace default.
func writeKubeconfig(path, server string) error {
	const name = "rolloutlab-sim"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	return nil
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@%=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
