package v1alpha1

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// fixtures are our own renderings of the Rollouts in Argo's guides; every one must load with
// strict decoding and pass validation.
var fixtures = []string{
	"basic-canary.yaml",
	"alb-canary.yaml",
	"istio-host-split.yaml",
	"istio-multiple-virtualservices.yaml",
	"apisix-canary.yaml",
	"istio-subset-split.yaml",
	"bluegreen.yaml",
	"canary-full.yaml",
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeFixture(t *testing.T, name string) *Rollout {
	t.Helper()
	var ro Rollout
	if err := yaml.UnmarshalStrict(readFixture(t, name), &ro); err != nil {
		t.Fatalf("%s: strict decode: %v", name, err)
	}
	return &ro
}

func TestFixturesDecodeStrictlyAndValidate(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			ro := decodeFixture(t, name)
			if ro.APIVersion != "argoproj.io/v1alpha1" || ro.Kind != "Rollout" {
				t.Errorf("type meta = %s %s", ro.APIVersion, ro.Kind)
			}
			if errs := ValidateRollout(ro); len(errs) > 0 {
				t.Errorf("validation errors: %v", errs.ToAggregate())
			}
		})
	}
}

// TestFixtureContents spot-checks that fields land where Argo puts them.
func TestFixtureContents(t *testing.T) {
	basic := decodeFixture(t, "basic-canary.yaml")
	steps := basic.Spec.Strategy.Canary.Steps
	if len(steps) != 8 || *steps[0].SetWeight != 20 || steps[1].Pause == nil || steps[1].Pause.Duration != nil {
		t.Errorf("basic steps decoded wrong: %+v", steps[:2])
	}
	if d := steps[3].Pause.Duration; d.Type != intstr.Int || d.IntVal != 10 {
		t.Errorf("pause duration = %#v, want int 10", d)
	}
	if *basic.Spec.Replicas != 5 || *basic.Spec.RevisionHistoryLimit != 2 {
		t.Errorf("replicas/revisionHistoryLimit decoded wrong")
	}
	if got := basic.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String(); got != "5m" {
		t.Errorf("cpu request = %s", got)
	}

	alb := decodeFixture(t, "alb-canary.yaml").Spec.Strategy.Canary.TrafficRouting.ALB
	if alb.Ingress != "rollouts-demo-ingress" || alb.ServicePort != 80 || alb.RootService != "rollouts-demo-root" {
		t.Errorf("alb = %+v", alb)
	}

	host := decodeFixture(t, "istio-host-split.yaml").Spec.Strategy.Canary
	if vs := host.TrafficRouting.Istio.VirtualService; vs.Name != "rollout-vsvc" || !reflect.DeepEqual(vs.Routes, []string{"primary"}) {
		t.Errorf("virtualService = %+v", vs)
	}
	if d := host.Steps[1].Pause.DurationSeconds(); d != 600 {
		t.Errorf("10m pause = %ds", d)
	}

	multi := decodeFixture(t, "istio-multiple-virtualservices.yaml").Spec.Strategy.Canary.TrafficRouting.Istio
	if len(multi.VirtualServices) != 2 || multi.VirtualServices[1].Routes[0] != "secondary" || multi.VirtualService != nil {
		t.Errorf("virtualServices = %+v", multi)
	}

	apisix := decodeFixture(t, "apisix-canary.yaml").Spec.Strategy.Canary
	first := apisix.Steps[0]
	if *first.SetCanaryScale.Replicas != 1 || first.SetHeaderRoute.Name != "set-header" ||
		first.SetHeaderRoute.Match[0].HeaderValue.Exact != "debug" {
		t.Errorf("apisix first step = %+v", first)
	}
	if apisix.TrafficRouting.Apisix.Route.Rules[0] != "rollouts-apisix" {
		t.Errorf("apisix route = %+v", apisix.TrafficRouting.Apisix.Route)
	}

	full := decodeFixture(t, "canary-full.yaml").Spec.Strategy.Canary
	if full.Analysis.Args[3].ValueFrom.FieldRef.FieldPath != "metadata.labels['region']" ||
		*full.Analysis.Args[1].ValueFrom.PodTemplateHashValue != Stable {
		t.Errorf("analysis args = %+v", full.Analysis.Args)
	}
	if full.Steps[9].Experiment.Templates[0].Service.Name != "test-service" || full.Steps[9].Experiment.Duration != "1h" {
		t.Errorf("experiment = %+v", full.Steps[9].Experiment)
	}
	if full.ReplicaProgressThreshold.Type != ProgressTypePercent || full.ReplicaProgressThreshold.Value != 90 {
		t.Errorf("replicaProgressThreshold = %+v", full.ReplicaProgressThreshold)
	}
}

// TestFixturesRoundTrip checks decode → encode → decode is lossless, and that every field of the
// manifest reappears under the same name in our encoding (nothing renamed or dropped).
func TestFixturesRoundTrip(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			ro := decodeFixture(t, name)
			encoded, err := json.Marshal(ro)
			if err != nil {
				t.Fatal(err)
			}
			var again Rollout
			if err := strictJSON(encoded, &again); err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if !equality.Semantic.DeepEqual(ro, &again) {
				t.Errorf("round trip changed the object:\nencoded: %s", encoded)
			}

			original, err := yaml.YAMLToJSON(readFixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			mustUnmarshal(t, original, &want)
			mustUnmarshal(t, encoded, &got)
			assertSubset(t, "", want, got)
		})
	}
}

func isZeroJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

func strictJSON(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func mustUnmarshal(t *testing.T, data []byte, into any) {
	t.Helper()
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatal(err)
	}
}

// assertSubset fails for every leaf of want that is missing from, or different in, got.
func assertSubset(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want object", path, got)
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				// omitempty drops zero values, as it does in Argo's own encoding.
				if !isZeroJSON(v) {
					t.Errorf("%s.%s: missing after encoding", path, k)
				}
				continue
			}
			assertSubset(t, path+"."+k, v, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			assertSubset(t, path+"["+strconv.Itoa(i)+"]", w[i], g[i])
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: got %#v, want %#v", path, got, want)
		}
	}
}

func populatedStatus() RolloutStatus {
	at := metav1.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	return RolloutStatus{
		Abort:              true,
		PauseConditions:    []PauseCondition{{Reason: PauseReasonCanaryPauseStep, StartTime: at}},
		ControllerPause:    true,
		AbortedAt:          &at,
		CurrentPodHash:     "6d4c8f7b9",
		CurrentStepHash:    "5f8c7d9b6",
		Replicas:           5,
		UpdatedReplicas:    2,
		ReadyReplicas:      4,
		AvailableReplicas:  4,
		CurrentStepIndex:   ptr.To[int32](2),
		CollisionCount:     ptr.To[int32](1),
		ObservedGeneration: "3",
		Conditions: []RolloutCondition{{
			Type: RolloutProgressing, Status: corev1.ConditionTrue, LastUpdateTime: at, LastTransitionTime: at,
			Reason: "ReplicaSetUpdated", Message: "progressing",
		}},
		Canary: CanaryStatus{
			CurrentStepAnalysisRunStatus:       &RolloutAnalysisRunStatus{Name: "step-run", Status: AnalysisPhaseRunning},
			CurrentBackgroundAnalysisRunStatus: &RolloutAnalysisRunStatus{Name: "bg-run", Status: AnalysisPhaseSuccessful, Message: "ok"},
			CurrentExperiment:                  "exp-1",
			Weights: &TrafficWeights{
				Canary:     WeightDestination{Weight: 20, ServiceName: "canary", PodTemplateHash: "6d4c8f7b9"},
				Stable:     WeightDestination{Weight: 80, ServiceName: "stable", PodTemplateHash: "77f8b9c5d"},
				Additional: []WeightDestination{{Weight: 0, ServiceName: "exp"}},
				Verified:   ptr.To(true),
			},
			StablePingPong: PPPong,
		},
		BlueGreen: BlueGreenStatus{
			PreviewSelector: "6d4c8f7b9", ActiveSelector: "77f8b9c5d", ScaleUpPreviewCheckPoint: true,
			PrePromotionAnalysisRunStatus:  &RolloutAnalysisRunStatus{Name: "pre", Status: AnalysisPhaseSuccessful},
			PostPromotionAnalysisRunStatus: &RolloutAnalysisRunStatus{Name: "post", Status: AnalysisPhaseFailed},
		},
		HPAReplicas:                3,
		Selector:                   "app=demo",
		StableRS:                   "77f8b9c5d",
		RestartedAt:                &at,
		PromoteFull:                true,
		Phase:                      RolloutPhasePaused,
		Message:                    "CanaryPauseStep",
		WorkloadObservedGeneration: "7",
		ALB: &ALBStatus{
			LoadBalancer:      AwsResourceRef{Name: "lb", ARN: "arn:lb", FullName: "app/lb/1"},
			CanaryTargetGroup: AwsResourceRef{Name: "tg-c", ARN: "arn:tg-c"},
			StableTargetGroup: AwsResourceRef{Name: "tg-s", ARN: "arn:tg-s"},
			Ingress:           "ing",
		},
		ALBs: []ALBStatus{{Ingress: "ing2"}},
	}
}

func TestStatusJSONUsesArgoFieldNames(t *testing.T) {
	status := populatedStatus()
	data, err := json.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		`"HPAReplicas":3`,
		`"stablePingPong":"pong"`,
		`"currentStepIndex":2`,
		`"observedGeneration":"3"`,
		`"pauseConditions":[{"reason":"CanaryPauseStep","startTime":"2024-05-06T07:08:09Z"}]`,
		`"controllerPause":true`,
		`"abortedAt":"2024-05-06T07:08:09Z"`,
		`"collisionCount":1`,
		`"stableRS":"77f8b9c5d"`,
		`"restartedAt":`,
		`"promoteFull":true`,
		`"workloadObservedGeneration":"7"`,
		`"currentStepAnalysisRunStatus":{"name":"step-run","status":"Running"}`,
		`"currentBackgroundAnalysisRunStatus":`,
		`"weights":{"canary":{"weight":20,"serviceName":"canary","podTemplateHash":"6d4c8f7b9"}`,
		`"additional":[{"weight":0,"serviceName":"exp"}],"verified":true`,
		`"scaleUpPreviewCheckPoint":true`,
		`"prePromotionAnalysisRunStatus":`,
		`"postPromotionAnalysisRunStatus":`,
		`"loadBalancer":{"name":"lb","arn":"arn:lb","fullName":"app/lb/1"}`,
		`"canaryTargetGroup":{"name":"tg-c","arn":"arn:tg-c","fullName":""}`,
		`"albs":[`,
		`"lastUpdateTime":"2024-05-06T07:08:09Z"`,
		`"lastTransitionTime":`,
		`"phase":"Paused"`,
	} {
		if !strings.Contains(string(data), key) {
			t.Errorf("status JSON lacks %s\n%s", key, data)
		}
	}

	var back RolloutStatus
	if err := strictJSON(data, &back); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(status, back) {
		t.Errorf("status round trip changed it:\n%s", data)
	}
}

// An empty status still carries canary and blueGreen objects, exactly as Argo's encoding does.
func TestEmptyStatusJSON(t *testing.T) {
	data, err := json.Marshal(RolloutStatus{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"canary":{},"blueGreen":{}}`; got != want {
		t.Errorf("empty status = %s, want %s", got, want)
	}
}

func TestStrictDecodeRejectsUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"stepz": `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  strategy:
    canary:
      stepz: []`,
		"activeServic": `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  strategy:
    blueGreen:
      activeServic: svc`,
		"setWeigth": `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  strategy:
    canary:
      steps:
      - setWeigth: 10`,
		"destinationRules": `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          destinationRules: {}`,
	} {
		var ro Rollout
		err := yaml.UnmarshalStrict([]byte(doc), &ro)
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("unknown field %s: err = %v, want it named", name, err)
		}
	}
}

// Routers rolloutlab does not implement must decode (their content is opaque) so validation can
// say what is wrong.
func TestUnsupportedRoutersDecodeAndAreRejected(t *testing.T) {
	doc := `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec: {containers: [{name: r, image: r}]}
  strategy:
    canary:
      canaryService: c
      stableService: s
      trafficRouting:
        maxTrafficWeight: 1000
        nginx: {stableIngress: primary-ingress, additionalIngressAnnotations: {canary-by-header: X-Canary}}
        smi: {rootService: root-svc, trafficSplitName: split}
        ambassador: {mappings: [m1]}
        appMesh: {virtualService: {name: vs, routes: [r1]}, virtualNodeGroup: {canaryVirtualNodeRef: {name: c}, stableVirtualNodeRef: {name: s}}}
        traefik: {weightedTraefikServiceName: wts}
        plugins: {argoproj-labs/gatewayAPI: {httpRoute: route, namespace: default}}
      steps: [{setWeight: 500}]
`
	var ro Rollout
	if err := yaml.UnmarshalStrict([]byte(doc), &ro); err != nil {
		t.Fatalf("strict decode: %v", err)
	}
	if got := string(ro.Spec.Strategy.Canary.TrafficRouting.Traefik.Raw); got != `{"weightedTraefikServiceName":"wts"}` {
		t.Errorf("traefik kept as %s", got)
	}
	errs := ValidateRollout(&ro)
	for _, router := range []string{"nginx", "smi", "ambassador", "appMesh", "traefik", "plugins"} {
		path := "spec.strategy.canary.trafficRouting." + router
		if !hasError(errs, path, `traffic router "`+router+`" is not supported by rolloutlab`) {
			t.Errorf("no rejection for %s in %v", router, errs)
		}
	}
	// The opaque values re-encode verbatim.
	data, err := json.Marshal(&ro)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"plugins":{"argoproj-labs/gatewayAPI":{"httpRoute":"route","namespace":"default"}}`) {
		t.Errorf("plugins not preserved: %s", data)
	}
}

func TestDeepCopyIsIndependent(t *testing.T) {
	orig := decodeFixture(t, "canary-full.yaml")
	orig.Status = populatedStatus()
	orig.Spec.Strategy.Canary.TrafficRouting.Nginx = &runtime.RawExtension{Raw: []byte(`{"stableIngress":"a"}`)}
	orig.Spec.Strategy.Canary.Steps = append(orig.Spec.Strategy.Canary.Steps,
		CanaryStep{Plugin: &PluginStep{Name: "p", Config: json.RawMessage(`{"k":"v"}`)}})
	snapshot, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}

	cp := orig.DeepCopy()
	if !equality.Semantic.DeepEqual(orig, cp) {
		t.Fatal("copy differs from original")
	}
	c := cp.Spec.Strategy.Canary
	*c.Steps[0].SetWeight = 99
	c.Steps[6].SetHeaderRoute.Match[0].HeaderValue.Exact = "changed"
	c.Steps[7].SetMirrorRoute.Match[0].Headers["agent-1b"] = StringMatch{Prefix: "x"}
	c.Steps[10].Plugin.Config[2] = 'X'
	c.TrafficRouting.Nginx.Raw[2] = 'X'
	c.TrafficRouting.Istio.VirtualService.Routes[0] = "changed"
	c.CanaryMetadata.Labels["role"] = "changed"
	c.Analysis.Args[1].ValueFrom.PodTemplateHashValue = ptr.To(Latest)
	*c.MaxSurge = intstr.FromInt32(7)
	cp.Spec.Selector.MatchLabels["app"] = "changed"
	cp.Spec.Template.Spec.Containers[0].Image = "changed"
	cp.Status.Conditions[0].Reason = "changed"
	cp.Status.Canary.Weights.Additional[0].Weight = 42
	*cp.Status.Canary.Weights.Verified = false
	*cp.Status.CurrentStepIndex = 9
	cp.Status.AbortedAt.Time = cp.Status.AbortedAt.Add(1)
	cp.Status.ALB.Ingress = "changed"

	after, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapshot, after) {
		t.Errorf("mutating the copy changed the original:\nbefore %s\nafter  %s", snapshot, after)
	}

	obj := orig.DeepCopyObject()
	if _, ok := obj.(*Rollout); !ok {
		t.Errorf("DeepCopyObject returned %T", obj)
	}
	list := &RolloutList{Items: []Rollout{*orig}}
	lcp := list.DeepCopyObject().(*RolloutList)
	lcp.Items[0].Spec.Strategy.Canary.Steps[0].SetWeight = ptr.To[int32](1)
	if *list.Items[0].Spec.Strategy.Canary.Steps[0].SetWeight != 20 {
		t.Error("list copy shares items")
	}
}

func TestSchemeRegistration(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	gvks, _, err := scheme.ObjectKinds(&Rollout{})
	if err != nil || len(gvks) != 1 || gvks[0] != RolloutGVK {
		t.Errorf("Rollout kinds = %v, %v", gvks, err)
	}
	if !scheme.Recognizes(SchemeGroupVersion.WithKind("RolloutList")) {
		t.Error("RolloutList not registered")
	}
	if !scheme.Recognizes(SchemeGroupVersion.WithKind("ListOptions")) {
		t.Error("meta types not registered for the group version")
	}
	if RolloutGVR.String() != "argoproj.io/v1alpha1, Resource=rollouts" {
		t.Errorf("RolloutGVR = %s", RolloutGVR)
	}
	if RolloutGVK.Kind != "Rollout" || RolloutGVK.GroupVersion().String() != "argoproj.io/v1alpha1" {
		t.Errorf("RolloutGVK = %s", RolloutGVK)
	}
}
