# Convenience targets; every one is a plain go command (see README.md).
.PHONY: run test bench fuzz generate manifests ci

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

ci:
	bash .ci/run
