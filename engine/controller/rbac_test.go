package controller

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// The RBAC in manifests/ allows every call the controller makes: a leader-elected controller
// with events recorded to the API server takes a rollout through a paused step and a promotion.
func TestRBACCoversTheControllersCalls(t *testing.T) {
	c := newCluster(t)
	opts := c.options(nil)
	opts.Events = nil // record to the API server, as in a cluster
	opts.LeaderElection = LeaderElection{Enabled: true, Namespace: "argo-rollouts", Identity: "a",
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	ctrl, _ := c.start(opts)
	c.eventually("leading", ctrl.Leading)
	c.create(guideRollout("default", "demo", nil))
	c.waitPhase("default", "demo", v1alpha1.RolloutPhaseHealthy, "deploy")
	c.setImage("default", "demo", "argoproj/rollouts-demo:yellow")
	c.waitStep("default", "demo", 1, true)
	c.promote("default", "demo")
	c.waitStep("default", "demo", 3, true)
	c.eventually("events recorded", func() bool {
		o, _ := c.kube.Tracker().List(corev1.SchemeGroupVersion.WithResource("events"), corev1.SchemeGroupVersion.WithKind("Event"), "default")
		return o != nil && len(o.(*corev1.EventList).Items) > 0
	})

	c.checkRBAC(8)
}

// checkRBAC fails the test if the controller made a call manifests/rbac does not allow, or fewer
// than min distinct calls.
func (c *cluster) checkRBAC(min int) {
	t := c.t
	t.Helper()
	cluster, leases := loadRole(t, "clusterrole.yaml"), loadRole(t, "leader-election-role.yaml")
	seen := map[string]bool{}
	for _, a := range c.controllerCalls() {
		gvr := a.GetResource()
		if gvr.Resource == "resource" { // discovery
			continue
		}
		resource := gvr.Resource
		if a.GetSubresource() != "" {
			resource += "/" + a.GetSubresource()
		}
		call := a.GetVerb() + " " + gvr.Group + "/" + resource
		if seen[call] {
			continue
		}
		seen[call] = true
		rules := cluster
		if gvr.Resource == "leases" {
			rules = leases
		}
		if !allowed(rules, a, gvr.Group, resource) {
			t.Errorf("the controller calls %s, which manifests/rbac does not allow", call)
		}
	}
	t.Logf("calls: %v", keys(seen))
	if len(seen) < min {
		t.Fatalf("only %d distinct calls seen: %v", len(seen), seen)
	}
}

func loadRole(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole // a Role's rules read the same
	if err := yaml.Unmarshal([]byte(strings.SplitN(string(b), "\n---", 2)[0]), &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

func allowed(rules []rbacv1.PolicyRule, a k8stesting.Action, group, resource string) bool {
	name := ""
	switch a := a.(type) {
	case k8stesting.GetAction:
		name = a.GetName()
	case k8stesting.UpdateAction:
		name = objectName(a.GetObject())
	case k8stesting.PatchAction:
		name = a.GetName()
	}
	for _, r := range rules {
		if has(r.APIGroups, group) && has(r.Resources, resource) && has(r.Verbs, a.GetVerb()) &&
			(len(r.ResourceNames) == 0 || has(r.ResourceNames, name)) {
			return true
		}
	}
	return false
}

func objectName(o any) string {
	if m, ok := o.(metav1.Object); ok {
		return m.GetName()
	}
	return ""
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s || x == "*" {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
