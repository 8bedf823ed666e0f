// Package v1beta1 holds the one kind of the AWS Load Balancer Controller's API (elbv2.k8s.aws)
// rolloutlab reads: TargetGroupBinding, which ties a Service port to an ELBv2 target group. The
// engine lists them to find the target groups whose registrations it verifies; the simulated
// load balancer controller creates them. Only the fields those uses need are modelled.
//
// Regenerate the deep-copy functions with:
//
//	go tool deepcopy-gen --go-header-file /dev/null --output-file zz_generated.deepcopy.go ./engine/api/elbv2/v1beta1
//
// +k8s:deepcopy-gen=package
// +groupName=elbv2.k8s.aws
package v1beta1
