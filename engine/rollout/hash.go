package rollout

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// PodTemplateHash is the value of the rollouts-pod-template-hash label for a template: FNV-32a over
// its JSON encoding (plus the collision count), encoded like Argo Rollouts and Deployments do, so a
// template gets the same ReplicaSet name under rolloutlab as under Argo.
func PodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, err := json.Marshal(template)
	if err != nil {
		panic(fmt.Sprintf("pod template does not encode as JSON: %v", err)) // a typed struct always does
	}
	h.Write(b)
	if collisionCount != nil {
		cc := make([]byte, 8)
		binary.LittleEndian.PutUint32(cc, uint32(*collisionCount))
		h.Write(cc)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// StepsHash identifies the list of canary steps, so an edit to the steps restarts them.
func StepsHash(ro *v1alpha1.Rollout) string {
	if ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.BlueGreen != nil {
		return ""
	}
	h := fnv.New32a()
	b, err := json.Marshal(ro.Spec.Strategy.Canary.Steps)
	if err != nil {
		panic(fmt.Sprintf("canary steps do not encode as JSON: %v", err))
	}
	h.Write(b)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
