package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/e2e/cluster"
)

// env is the local tier's installation, nil when ROLLOUTLAB_E2E is not "local".
var env *installation

type installation struct {
	*cluster.Clients
	bin     string // rollouts-controller, kubectl-argo-rollouts, fake-aws
	fakeAWS string // fake-aws's URL
	stopAWS func()
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
	var kubeconfig string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "export KUBECONFIG="); ok {
			kubeconfig = v
		}
	}
	if kubeconfig == "" {
		return nil, fmt.Errorf("%s env printed no KUBECONFIG", script)
	}
	in := &installation{}
	if in.Clients, err = cluster.Connect(kubeconfig); err != nil {
		return nil, err
	}

	ctx := context.Background()
	if err := in.removeLeftovers(ctx); err != nil {
		return nil, err
	}
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
		in.Discovery.Invalidate()
		in.Mapper.Reset()
		for _, gv := range []string{"argoproj.io/v1alpha1", "elbv2.k8s.aws/v1beta1"} {
			if _, err := in.Discovery.ServerResourcesForGroupVersion(gv); err != nil {
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

// installNamespace is where manifests/kustomization.yaml installs the controller.
const installNamespace = "argo-rollouts"

// e2eLabel marks the namespaces the tests and the features' cluster driver create.
const e2eLabel = "rolloutlab.io/e2e"

// removeLeftovers deletes the namespaces an interrupted earlier run left behind, and waits until
// they are gone (the tests reuse their names).
func (in *installation) removeLeftovers(ctx context.Context) error {
	nss := in.Kube.CoreV1().Namespaces()
	list, err := nss.List(ctx, metav1.ListOptions{LabelSelector: e2eLabel})
	if err != nil {
		return err
	}
	names := []string{installNamespace} // manifests/ installs into it (TestInstallRunsWithLeastPrivilege)
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	for _, name := range names {
		if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return waitFor(2*time.Minute, func() error {
		for _, name := range names {
			if _, err := nss.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("namespace %s of an earlier run still terminating (%v)", name, err)
			}
		}
		return nil
	})
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
	if _, err := in.Kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	return waitFor(60*time.Second, func() error {
		got, err := in.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
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
	return in.ApplyManifest(ctx, path, data, ns, "e2e")
}

// applyFS applies a manifest of the embedded scenarios (the guides' files).
func (in *installation) applyFS(ctx context.Context, fsys fs.FS, path, ns string) error {
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return err
	}
	return in.ApplyManifest(ctx, path, data, ns, "e2e")
}

// startFakeAWS runs cmd/fake-aws against the cluster and waits for its "ready" line.
func (in *installation) startFakeAWS() error {
	api, err := cluster.FreeAddr()
	if err != nil {
		return err
	}
	hook, err := cluster.FreeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(in.bin, "fake-aws"), "--kubeconfig", in.Kubeconfig, "--listen", api, "--webhook-listen", hook)
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
