package apisix

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/yaml"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// queue is a scheduler the test drives by hand.
type queue struct {
	now  time.Time
	jobs []job
}

type job struct {
	at time.Time
	fn func()
}

type noTimer struct{}

func (noTimer) Cancel() {}

func (q *queue) Now() time.Time { return q.now }
func (q *queue) After(d time.Duration, _, _ string, fn func()) sched.Timer {
	q.jobs = append(q.jobs, job{q.now.Add(d), fn})
	return noTimer{}
}

// advance runs the jobs due within d, in time order.
func (q *queue) advance(d time.Duration) {
	end := q.now.Add(d)
	sort.SliceStable(q.jobs, func(i, j int) bool { return q.jobs[i].at.Before(q.jobs[j].at) })
	for len(q.jobs) > 0 && !q.jobs[0].at.After(end) {
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		q.now = j.at
		j.fn()
	}
	q.now = end
}

// pods answer with their IP as the version.
type echo struct{}

func (echo) Serve(ip string, _ int32) (int, string) { return 200, ip }

const route = `
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: main, namespace: ns}
spec:
  http:
    - name: web
      match: {paths: ["/*"], hosts: [shop.local], methods: [GET]}
      backends:
        - {serviceName: stable, servicePort: 80, weight: 80}
        - {serviceName: canary, servicePort: 80, weight: 20}
`

const headerRoute = `
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: testers, namespace: ns}
spec:
  http:
    - name: web
      priority: 1
      match:
        paths: ["/*"]
        hosts: [shop.local]
        exprs:
          - {subject: {scope: Header, name: X-Tester}, op: RegexMatch, value: "^qa-.*"}
      backends:
        - {serviceName: canary, servicePort: 80, weight: 100}
`

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

func setup(t *testing.T) (*Gateway, *kube.Store, *queue) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	q := &queue{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	store := kube.NewStore(scheme, clocktesting.NewFakePassiveClock(q.now))
	for _, svc := range []string{"stable", "canary"} {
		if _, err := store.Create(kube.Services, "ns", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svc},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"role": svc}}}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(name, role, ip string) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"role": role}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
		if _, err := store.Create(kube.Pods, "ns", p); err != nil {
			t.Fatal(err)
		}
	}
	pod("s1", "stable", "stable-ip")
	pod("c1", "canary", "canary-ip")
	if _, err := store.Create(ApisixRoutes, "ns", object(t, route)); err != nil {
		t.Fatal(err)
	}
	g := New(Config{PushDelay: dist.Fixed(time.Second)}, store, q, echo{}, rand.New(rand.NewPCG(1, 2)))
	store.Watch(g.OnChange)
	return g, store, q
}

func count(g *Gateway, req Request, n int) map[string]int {
	r := rand.New(rand.NewPCG(3, 4))
	out := map[string]int{}
	for i := 0; i < n; i++ {
		resp := g.Serve(req, r)
		key := resp.Version
		if resp.Code != 200 {
			key = string(rune('0'+resp.Code/100)) + "xx"
		}
		out[key]++
	}
	return out
}

func TestWeightsHeaderRoutePriorityAndPush(t *testing.T) {
	g, store, q := setup(t)
	got := count(g, Request{Host: "shop.local"}, 1000)
	if got["canary-ip"] < 150 || got["canary-ip"] > 250 || got["stable-ip"]+got["canary-ip"] != 1000 {
		t.Fatalf("80/20 split: %v", got)
	}
	if got := count(g, Request{Host: "other.local"}, 10); got["4xx"] != 10 {
		t.Fatalf("no route for the host: %v", got)
	}
	if got := count(g, Request{Host: "shop.local", Method: "DELETE"}, 10); got["4xx"] != 10 {
		t.Fatalf("no route for the method: %v", got)
	}
	// The header route, once pushed, takes the testers' requests (higher priority), and only them.
	if _, err := store.Create(ApisixRoutes, "ns", object(t, headerRoute)); err != nil {
		t.Fatal(err)
	}
	tester := Request{Host: "shop.local", Headers: map[string]string{"x-tester": "qa-alice"}}
	if got := count(g, tester, 100); got["stable-ip"] == 0 {
		t.Fatalf("the header route is in effect before its push: %v", got)
	}
	q.advance(time.Second)
	if got := count(g, tester, 100); got["canary-ip"] != 100 {
		t.Fatalf("testers after the push: %v", got)
	}
	if got := count(g, Request{Host: "shop.local", Headers: map[string]string{"X-Tester": "alice"}}, 1000); got["stable-ip"] < 700 {
		t.Fatalf("a header that does not match: %v", got)
	}
	// The canary has no ready pod: 503.
	if err := store.Delete(kube.Pods, "ns", "c1", nil); err != nil {
		t.Fatal(err)
	}
	if got := count(g, tester, 10); got["5xx"] != 10 {
		t.Fatalf("no canary pod: %v", got)
	}
	// Deleted routes leave the gateway at their push.
	if err := store.Delete(ApisixRoutes, "ns", "testers", nil); err != nil {
		t.Fatal(err)
	}
	q.advance(time.Second)
	if g.Pushed("ns", "testers") != nil || g.Pushed("ns", "main") == nil {
		t.Fatal("pushed routes after the delete")
	}
}

func TestExprOperators(t *testing.T) {
	req := Request{Path: "/api/v1", Headers: map[string]string{"Trace": "debug"}}
	for _, c := range []struct {
		expr string
		want bool
	}{
		{`{subject: {scope: Header, name: trace}, op: Equal, value: debug}`, true},
		{`{subject: {scope: Header, name: trace}, op: Equal, value: Debug}`, false},
		{`{subject: {scope: Header, name: missing}, op: Equal, value: debug}`, false},
		{`{subject: {scope: Header, name: trace}, op: NotEqual, value: x}`, true},
		{`{subject: {scope: Header, name: trace}, op: RegexMatch, value: "bu"}`, true}, // PCRE ~~ searches
		{`{subject: {scope: Header, name: trace}, op: RegexMatch, value: "^bu"}`, false},
		{`{subject: {scope: Header, name: trace}, op: RegexMatchCaseInsensitive, value: "^DEB"}`, true},
		{`{subject: {scope: Header, name: trace}, op: RegexNotMatch, value: "^deb"}`, false},
		{`{subject: {scope: Header, name: trace}, op: In, set: [info, debug]}`, true},
		{`{subject: {scope: Header, name: trace}, op: NotIn, set: [info, debug]}`, false},
		{`{subject: {scope: Path}, op: RegexMatch, value: "^/api/"}`, true},
	} {
		e := object(t, `{apiVersion: v1, kind: X, e: `+c.expr+`}`).Object["e"].(map[string]any)
		if got := exprHolds(e, req); got != c.want {
			t.Errorf("%s: %v, want %v", c.expr, got, c.want)
		}
	}
}
