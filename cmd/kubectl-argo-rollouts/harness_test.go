package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rolloutlab/rolloutlab/cmd/kubectl-argo-rollouts/internal/fixtures"
	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is a fake cluster: client-go's fake clientset for ReplicaSets and pods, and the repo's
// fake Rollout client over an object tracker, both watchable.
type env struct {
	t        *testing.T
	fake     *k8stesting.Fake
	tracker  k8stesting.ObjectTracker
	kube     *kubefake.Clientset
	rollouts client.Interface
}

// noWatchList marks the fake Rollout client as not supporting streaming lists, so informers list
// then watch (the object tracker does not send initial events or bookmarks).
type noWatchList struct{ client.Interface }

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }

func newEnv(t *testing.T, states ...fixtures.State) *env {
	t.Helper()
	e := &env{t: t, fake: &k8stesting.Fake{}}
	e.tracker = k8stesting.NewObjectTracker(client.Scheme, client.Codecs.UniversalDecoder())
	e.fake.AddReactor("*", "*", k8stesting.ObjectReaction(e.tracker))
	e.fake.AddWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w, err := e.tracker.Watch(a.GetResource(), a.GetNamespace())
		return true, w, err
	})
	e.rollouts = noWatchList{client.NewFake(e.fake)}
	e.kube = kubefake.NewClientset()
	for _, s := range states {
		e.add(s)
	}
	return e
}

func (e *env) add(s fixtures.State) {
	e.t.Helper()
	if s.Rollout != nil {
		if err := e.tracker.Add(s.Rollout.DeepCopy()); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, o := range s.KubeObjects() {
		if err := e.kube.Tracker().Add(o.DeepCopyObject()); err != nil {
			e.t.Fatal(err)
		}
	}
}

// options connects the commands to the fakes, in -n's namespace (default "default").
func (e *env) options(stdout, stderr *syncBuffer) *options {
	o := &options{
		out: stdout, errOut: stderr,
		now:    func() time.Time { return fixtures.Now },
		getenv: func(string) string { return "" },
	}
	o.connect = func() (*clients, error) {
		ns := o.overrides.Context.Namespace
		if ns == "" {
			ns = fixtures.Namespace
		}
		return &clients{namespace: ns, kube: e.kube, rollouts: e.rollouts}, nil
	}
	return o
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs one command line to completion.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runContext(context.Background(), args...)
}

func (e *env) runContext(ctx context.Context, args ...string) result {
	var stdout, stderr syncBuffer
	code := run(ctx, args, &stdout, &stderr, e.options(&stdout, &stderr))
	return result{stdout.String(), stderr.String(), code}
}

// start runs a command line in the background, for --watch.
func (e *env) start(args ...string) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{t: e.t, args: args, cancel: cancel, done: make(chan result, 1)}
	go func() {
		code := run(ctx, args, &b.out, &b.errOut, e.options(&b.out, &b.errOut))
		b.done <- result{b.out.String(), b.errOut.String(), code}
	}()
	return b
}

type background struct {
	t           *testing.T
	args        []string
	out, errOut syncBuffer
	cancel      func()
	done        chan result
}

// wait waits for the command to end by itself.
func (b *background) wait() result {
	b.t.Helper()
	select {
	case r := <-b.done:
		return r
	case <-time.After(10 * time.Second):
		b.t.Fatalf("%v did not end; stdout:\n%s", b.args, b.out.String())
		return result{}
	}
}

// stop interrupts the command and returns its result.
func (b *background) stop() result {
	b.t.Helper()
	b.cancel()
	return b.wait()
}

// waitForWatches waits until the command watches rollouts and, if children, ReplicaSets and
// pods: changes made before would not reach it (the fake trackers do not replay history).
func (e *env) waitForWatches(children bool) {
	e.t.Helper()
	watching := func(f *k8stesting.Fake, resource string) bool {
		for _, a := range f.Actions() {
			if a.GetVerb() == "watch" && a.GetResource().Resource == resource {
				return true
			}
		}
		return false
	}
	eventually(e.t, "the watches to start", func() bool {
		return watching(e.fake, "rollouts") &&
			(!children || watching(&e.kube.Fake, "replicasets") && watching(&e.kube.Fake, "pods"))
	})
}

func (e *env) rollout(name string) *v1alpha1.Rollout {
	e.t.Helper()
	ro, err := e.rollouts.Rollouts(fixtures.Namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return ro
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}
