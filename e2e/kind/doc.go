// Package kind is the kind tier of rolloutlab's e2e tests, for the nightly job: a kind cluster
// (real kubelet, real pods pulled from Docker Hub) with Istio's and rolloutlab's CRDs, the
// @cluster godog features run against it through the cluster driver, and LocalStack checked as
// the ELBv2 API that the controller's --aws-verify-target-group reads.
//
// It is its own module so that testcontainers-go, moby and kind stay out of the root module's
// go.sum and build. It needs a Docker engine; without one every test skips:
//
//	make e2e-kind    # cd e2e/kind && go test ./... -count=1 -timeout 90m -v
//
// See README.md for what it needs and what it skips.
package kind
