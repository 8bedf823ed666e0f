// Package scenarios is the scenario corpus: seeded, replayable YAML scenarios and the manifests
// they apply, embedded so the rolloutlab binary can run them without the source tree.
package scenarios

import "embed"

// FS holds every scenario (*.yaml) and manifest (manifests/...).
//
//go:embed *.yaml manifests matrix
var FS embed.FS

// Default is the scenario `rolloutlab sim run` plays when given none.
const Default = "basic-canary-guide.yaml"
