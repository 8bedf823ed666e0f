package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
)

// env is the local tier's installation, nil when ROLLOUTLAB_E2E is not "local".
var env *installation

type installation struct {
	kubeconfig string
	kube       kubernetes.Interface
	rollouts   client.Interface
	dyn        dynamic.Interface
	mapper     meta.RESTMapper
	bin        string // rollouts-controller, kubectl-argo-rollouts, fake-aws
	fakeAWS    string // fake-aws's URL
	stopAWS    func()
}

func TestMain(m *testing.M) {
	if os.Getenv("ROLLOUTLAB_E2E") != "local" {
		os.Exit(m.Run()) // every test skips, saying how to run them
	}
	start := time.Now()
	var err error
	env, err = setUp()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e set-up: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "e2e: installation ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	code := m.Run()
	env.stopAWS()
	os.Exit(code)
}

// need skips a test unless the local tier is set up.
func need(t *testing.T) *installation {
	t.Helper()
	if env == nil {
		t.Skip("the local e2e tier is off: run `make e2e-local` (or hack/k8s-local.sh build && hack/k8s-local.sh up, then ROLLOUTLAB_E2E=local go test ./e2e/)")
	}
	return env
}

// setUp starts the control plane (already built), adds a fake node, installs the CRDs, builds
// the binaries and starts fake-aws.
func setUp() (*installation, error) {
	script := filepath.Join("..", "hack", "k8s-local.sh")
	up := exec.Command("bash", script, "up")
	up.Stdout, up.Stderr = os.Stderr, os.Stderr
	if err := up.Run(); err != nil {
		return nil, fmt.Errorf("%s up: %w", script, err)
	}
	out, err := exec.Command("bash", script, "env").Output()
	if err != nil {
		return nil, fmt.Errorf("%s env: %w", script, err)
	}
	in := &installation{}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "export KUBECONFIG="); ok {
			in.kubeconfig = v
		}
	}
	if in.kubeconfig == "" {
		return nil, fmt.Errorf("%s env printed no KUBECONFIG", script)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", in.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	if in.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if in.rollouts, err = client.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if in.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	in.mapper = restmapper.NewDeferredDiscoveryRESTMapper(cached)

	ctx := context.Background()
	if err := in.fakeNode(ctx, "kwok-node-0"); err != nil {
		return nil, err
	}
	for _, dir := range []string{filepath.Join("..", "manifests", "crds"), "crds"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			if err := in.applyFile(ctx, f, ""); err != nil {
				return nil, err
			}
		}
	}
	if err := waitFor(60*time.Second, func() error {
		cached.Invalidate()
		for _, gv := range []string{"argoproj.io/v1alpha1", "elbv2.k8s.aws/v1beta1"} {
			if _, err := dc.ServerResourcesForGroupVersion(gv); err != nil {
				return fmt.Errorf("%s not served yet: %w", gv, err)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if in.bin, err = os.MkdirTemp("", "rolloutlab-e2e-bin-"); err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-o", in.bin+string(filepath.Separator),
		"../cmd/rollouts-controller", "../cmd/kubectl-argo-rollouts", "../cmd/fake-aws")
	if b, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the binaries: %v\n%s", err, b)
	}
	if err := in.startFakeAWS(); err != nil {
		return nil, err
	}
	return in, nil
}

// fakeNode registers a node that KWOK plays the kubelet of.
func (in *installation) fakeNode(ctx context.Context, name string) error {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("256"), corev1.ResourceMemory: resource.MustParse("1Ti"), corev1.ResourcePods: resource.MustParse("5000")},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("256"), corev1.ResourceMemory: resource.MustParse("1Ti"), corev1.ResourcePods: resource.MustParse("5000")},
		},
	}
	if _, err := in.kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	return waitFor(60*time.Second, func() error {
		got, err := in.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready (is kwok running?)", name)
	})
}

// applyFile server-side applies every document of a manifest, namespaced ones into ns (when
// the document names none).
func (in *installation) applyFile(ctx context.Context, path, ns string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return in.apply(ctx, path, data, ns)
}

func (in *installation) apply(ctx context.Context, name string, data []byte, ns string) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 1; ; i++ {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		gvk := u.GroupVersionKind()
		m, err := in.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, gvk.Kind, err)
		}
		ri := dynamic.ResourceInterface(in.dyn.Resource(m.Resource))
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if u.GetNamespace() == "" {
				u.SetNamespace(ns)
			}
			ri = in.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "e2e", Force: true}); err != nil {
			return fmt.Errorf("%s: applying %s %s: %w", name, gvk.Kind, u.GetName(), err)
		}
	}
}

// applyFS applies a manifest of the embedded scenarios (the guides' files).
func (in *installation) applyFS(ctx context.Context, fsys fs.FS, path, ns string) error {
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return err
	}
	return in.apply(ctx, path, data, ns)
}

// startFakeAWS runs cmd/fake-aws against the cluster and waits for its "ready" line.
func (in *installation) startFakeAWS() error {
	api, err := freeAddr()
	if err != nil {
		return err
	}
	hook, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(in.bin, "fake-aws"), "--kubeconfig", in.kubeconfig, "--listen", api, "--webhook-listen", hook)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	logFile, err := os.CreateTemp("", "rolloutlab-e2e-fake-aws-*.log")
	if err != nil {
		return err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting fake-aws: %w", err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if strings.HasPrefix(line, "fake-aws: ") {
				select {
				case ready <- line:
				default:
				}
			}
		}
	}()
	in.stopAWS = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		logFile.Close()
	}
	select {
	case line := <-ready:
		fmt.Fprintln(os.Stderr, "e2e:", line, "(log:", logFile.Name()+")")
		in.fakeAWS = "http://" + api
		return nil
	case <-time.After(60 * time.Second):
		in.stopAWS()
		b, _ := os.ReadFile(logFile.Name())
		return fmt.Errorf("fake-aws did not get ready in 60s:\n%s", b)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitFor polls cond until it holds, for at most within, and then fails with its last error.
func waitFor(within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
