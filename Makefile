# Convenience targets; every one is a plain go command (see README.md).
.PHONY: run test bench fuzz generate manifests ci k8s-local e2e-local e2e-scale e2e-kind

run:        ## play the basic canary guide in the simulation
	go run ./cmd/rolloutlab sim run

test:       ## the whole test suite (unit, scenarios, godog features)
	go test ./...

bench:      ## benchmarks: scenario wall time, reconcile cost
	go test -run XXX -bench . -benchmem ./sim/scenario/ ./engine/rollout/

fuzz:       ## fuzz the parsers for a while
	go test -run XXX -fuzz FuzzApply -fuzztime 30s ./engine/mergepatch/

generate:   ## regenerate deep-copy functions of the API types
	go tool deepcopy-gen --go-header-file /dev/null --output-file zz_generated.deepcopy.go ./engine/api/v1alpha1

manifests:  ## regenerate the CRDs in manifests/crds from engine/api/v1alpha1
	go run ./manifests/crdgen -out manifests/crds

k8s-local:  ## build (once, ~25 min cold; cached in ~/.cache/k8s-local) and start the local control plane
	bash hack/k8s-local.sh build
	bash hack/k8s-local.sh up

e2e-local: k8s-local  ## the local e2e tier: @cluster features, /metrics, lease takeover on a real API server
	ROLLOUTLAB_E2E=local go test ./e2e/ -count=1 -timeout 60m -v

e2e-scale: k8s-local  ## controller memory with 1,000 rollouts on KWOK
	ROLLOUTLAB_E2E=local ROLLOUTLAB_E2E_ROLLOUTS=1000 go test ./e2e/ -count=1 -timeout 60m -v -run TestControllerMemoryAtScale

e2e-kind:   ## the kind tier (kind + LocalStack + Istio); skips without a Docker engine
	cd e2e/kind && go test ./... -count=1 -timeout 90m -v

ci:
	bash .ci/run
