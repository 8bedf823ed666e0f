// Package e2e runs rolloutlab against real Kubernetes API servers.
//
// The local tier (this package, ROLLOUTLAB_E2E=local) runs everywhere, CI included: a
// kube-apiserver, etcd, kube-controller-manager, kube-scheduler and KWOK (fake nodes and
// kubelets) on loopback, built from the module proxy by hack/k8s-local.sh and cached outside the
// work tree; cmd/fake-aws serving the ELBv2 API and playing the AWS Load Balancer Controller
// against that cluster; the rollout controller and the kubectl plugin as built binaries. The
// godog features tagged @cluster run there unchanged, through the cluster driver
// (features/clusterdriver_test.go), and the tests here check what only a real cluster shows:
// the controller's /metrics, a second replica taking over the lease, the plugin's output.
//
// Without ROLLOUTLAB_E2E=local every test skips, so `go test ./...` stays fast:
//
//	make e2e-local    # build (once, ~25 min cold), start the control plane, run this package
//
// The kind tier (kind + LocalStack + Istio, needs Docker) is the nested module e2e/kind.
package e2e
