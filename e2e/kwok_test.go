package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestReadinessGateHoldsThePod: on the fake nodes a pod with a readiness gate is Ready only while
// its gate's condition is True, as a kubelet computes it (hack/kwok-pod-stages.yaml); the ALB
// rollouts rely on it, since the AWS Load Balancer Controller sets that condition.
func TestReadinessGateHoldsThePod(t *testing.T) {
	in := need(t)
	ctx := context.Background()
	ns := in.namespace(t, "e2e-gates")
	const gate = "example.com/ready-to-serve"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gated"},
		Spec: corev1.PodSpec{
			Containers:     []corev1.Container{{Name: "app", Image: "argoproj/rollouts-demo:blue"}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}},
		},
	}
	pods := in.Kube.CoreV1().Pods(ns)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conditions := func() (map[corev1.PodConditionType]corev1.ConditionStatus, error) {
		p, err := pods.Get(ctx, "gated", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		out := map[corev1.PodConditionType]corev1.ConditionStatus{"phase": corev1.ConditionStatus(p.Status.Phase)}
		for _, c := range p.Status.Conditions {
			out[c.Type] = c.Status
		}
		return out, nil
	}
	want := func(what string, ready, containersReady corev1.ConditionStatus) {
		t.Helper()
		if err := waitFor(30*time.Second, func() error {
			c, err := conditions()
			if err != nil {
				return err
			}
			if c["phase"] != "Running" || c[corev1.PodReady] != ready || c[corev1.ContainersReady] != containersReady {
				return fmt.Errorf("%s: conditions %v", what, c)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setGate := func(s corev1.ConditionStatus) {
		t.Helper()
		p, err := pods.Get(ctx, "gated", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == gate {
				p.Status.Conditions[i].Status, found = s, true
			}
		}
		if !found {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: gate, Status: s, LastTransitionTime: metav1.Now()})
		}
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	want("started, gate unset", corev1.ConditionFalse, corev1.ConditionTrue)
	time.Sleep(2 * time.Second) // nothing makes it Ready on its own
	want("still waiting for the gate", corev1.ConditionFalse, corev1.ConditionTrue)
	setGate(corev1.ConditionTrue)
	want("gate True", corev1.ConditionTrue, corev1.ConditionTrue)
	setGate(corev1.ConditionFalse)
	want("gate False again", corev1.ConditionFalse, corev1.ConditionTrue)
}
