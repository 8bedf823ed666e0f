package awslbc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// Tags and labels the LBC puts on what it creates.
const (
	tagStack    = "ingress.k8s.aws/stack"           // "<ns>/<ingress>" on AWS resources
	tagResource = alb.ResourceTagKey                // "<ns>/<ingress>-<svc>:<port>" on target groups
	tagCluster  = "elbv2.k8s.aws/cluster"           // the cluster name
	labelStackN = "ingress.k8s.aws/stack-name"      // on bindings: the Ingress
	labelStackS = "ingress.k8s.aws/stack-namespace" // on bindings: its namespace

	// gatePrefix prefixes a binding's name to make the pod condition (and readiness gate)
	// that reports its target's health.
	gatePrefix = "target-health.elbv2.k8s.aws/"
)

// loadBalancerName is the LBC's name for an Ingress's load balancer: k8s-<ns>-<name>-<hash>,
// each part cut to fit the 32 characters ELBv2 allows, the hash over cluster, stack and scheme.
func loadBalancerName(cluster string, stack types.NamespacedName) string {
	h := sha256.New()
	h.Write([]byte(cluster))
	h.Write([]byte(stack.String()))
	h.Write([]byte("internet-facing"))
	sum := hex.EncodeToString(h.Sum(nil))
	return fmt.Sprintf("k8s-%.8s-%.8s-%.10s", alnum(stack.Namespace), alnum(stack.Name), sum)
}

// targetGroupName is the LBC's name for a Service port's target group; the binding has the
// same name. The hash covers everything that, changed, needs a new group.
func targetGroupName(cluster string, stack types.NamespacedName, ns, svc string, port intstr.IntOrString, tgPort int32) string {
	h := sha256.New()
	for _, s := range []string{cluster, stack.String(), ns, svc, port.String(), fmt.Sprint(tgPort), "ip", "HTTP", "HTTP1"} {
		h.Write([]byte(s))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return fmt.Sprintf("k8s-%.8s-%.8s-%.10s", alnum(ns), alnum(svc), sum)
}

// resourceID is the ingress.k8s.aws/resource tag of a Service port's target group, as Argo
// looks it up.
func resourceID(stack types.NamespacedName, svc string, port intstr.IntOrString) string {
	if port.Type == intstr.Int {
		return alb.ResourceID(stack.Namespace, stack.Name, svc, port.IntVal)
	}
	return fmt.Sprintf("%s/%s-%s:%s", stack.Namespace, stack.Name, svc, port.StrVal)
}

// gateType is the pod condition a binding's readiness gate waits for.
func gateType(binding string) string { return gatePrefix + binding }

// alnum keeps the letters and digits of s, as the LBC sanitises names.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
