// Package scenario reads and runs scenario files: the manifests of a guide or incident, the knobs
// of the simulated world, a timeline of user actions, waits, faults and checks, and the final
// expectations. Errors name the file, the line and the field.
package scenario

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// Scenario is a parsed scenario file.
type Scenario struct {
	Name        string
	Description string
	Seed        uint64
	File        string            // path of the scenario in its file system
	Source      string            // its text
	Manifests   map[string]string // name → path (relative to the scenario file)
	Files       map[string]string // path → content of every manifest, read at load time
	World       sim.Config
	Timeline    []Step
	Final       *Step // the closing expectations (kind "expect")
}

// Step is one entry of the timeline.
type Step struct {
	Line    int
	Path    string // e.g. timeline[4]
	Kind    string
	Rollout string // namespace/name; empty: the scenario's only rollout

	Manifests  []string          // apply
	Container  string            // setImage
	Image      string            // setImage
	Full       bool              // promote
	ToRevision int64             // undo
	Within     time.Duration     // wait, expect (final)
	For        time.Duration     // after, crashEngine, lbcOutage, awsThrottle (how long it lasts)
	Expect     Expectation       // wait, expect
	Traffic    sim.TrafficConfig // startTraffic
	Operation  string            // awsErrors: the ELBv2 operation, "*" for all
	Rate       dist.PerMille     // awsErrors
	ErrorCode  string            // awsErrors
	Object     string            // editVirtualService: the VirtualService
	Weight     int32             // editVirtualService: the canary weight written
}

// Kinds of steps.
const (
	KindApply       = "apply"
	KindSetImage    = "setImage"
	KindPromote     = "promote"
	KindAbort       = "abort"
	KindRetry       = "retry"
	KindPause       = "pause"
	KindResume      = "resume"
	KindUndo        = "undo"
	KindWait        = "wait"
	KindAfter       = "after"
	KindExpect      = "expect"
	KindCrashEngine = "crashEngine"
	// Faults and load of the cloud (world.aws).
	KindLBCOutage    = "lbcOutage"
	KindAWSThrottle  = "awsThrottle"
	KindAWSErrors    = "awsErrors"
	KindStartTraffic = "startTraffic"
	KindStopTraffic  = "stopTraffic"
	// Faults of the route objects (Istio).
	KindEditVirtualService = "editVirtualService"
	KindEditApisixRoute    = "editApisixRoute"
	KindRejectRouteWrites  = "rejectRouteWrites"
	// Faults of the metric provider.
	KindPrometheusDown = "prometheusDown"
	KindPrometheusSlow = "prometheusSlow"
)

var stepKinds = []string{KindApply, KindSetImage, KindPromote, KindAbort, KindRetry, KindPause, KindResume,
	KindUndo, KindWait, KindAfter, KindExpect, KindCrashEngine, KindLBCOutage, KindAWSThrottle, KindAWSErrors,
	KindStartTraffic, KindStopTraffic, KindEditVirtualService, KindEditApisixRoute, KindRejectRouteWrites, KindPrometheusDown, KindPrometheusSlow}

// awsKinds are the steps that need world.aws.
var awsKinds = []string{KindLBCOutage, KindAWSThrottle, KindAWSErrors, KindStartTraffic}

// Expectation is a set of facts about a rollout's observable state; unset fields are not checked.
type Expectation struct {
	Phase        string
	Message      string // a substring of status.message
	Step         string // "1/8"
	Paused       *bool
	Abort        *bool
	Weight       *int32 // desired canary weight
	ActualWeight *int32
	Revisions    map[int64]SpecAvailable // revision → spec/available; listed revisions only
	Stable       *int64                  // revision of the stable ReplicaSet
	ReplicaSets  *int                    // ReplicaSets the rollout owns, history included
	Services     map[string]int64        // Service → revision it selects
	// FailedRequests bounds the client requests that failed (5xx) since the run began.
	FailedRequests *Bounds
	// ALB is the weight the ALB's rules in effect give each Service's target group.
	ALB map[string]int32
	// ALBReady: a load balancer exists, and every target group its rules in effect send traffic
	// to has a healthy target.
	ALBReady *bool
	// VirtualServices is the canary weight of every route the rollout manages in each
	// VirtualService, as stored; MeshWeights the same as the proxies route by it.
	VirtualServices, MeshWeights map[string]int32
	// Subsets is the revision each subset of the rollout's DestinationRule selects by its
	// rollouts-pod-template-hash label (0: none).
	Subsets map[string]int64
	// ManagedRoutes lists, per VirtualService, the rollout's managed routes it holds as stored.
	ManagedRoutes map[string][]string
	// VirtualServiceRoutes is the canary's weight in single routes of a stored VirtualService (an
	// HTTP route's name, or http[i], tls[i], tcp[i]).
	VirtualServiceRoutes map[string]map[string]int32
	// Mirrored bounds the copies of requests the mesh mirrored.
	Mirrored *Bounds
	// AnsweredBy is the share of each traffic source's requests every revision answered
	// (clients: the main load).
	AnsweredBy map[string]map[int64]Share
	// ApisixRoutes is the canary backend's weight in every rule the rollout manages in each
	// ApisixRoute (its own or a header route; Absent: no such route), as stored; GatewayWeights
	// the same as the APISIX gateway routes by it.
	ApisixRoutes, GatewayWeights map[string]int32
	// AnalysisRuns is the number of AnalysisRuns the rollout owns; AnalysisRun a fact about the
	// newest one.
	AnalysisRuns *int
	AnalysisRun  *AnalysisRunExpectation
}

// SpecAvailable is "spec/available" replicas of a revision.
type SpecAvailable struct{ Spec, Available int32 }

func (s SpecAvailable) String() string { return fmt.Sprintf("%d/%d", s.Spec, s.Available) }

// Load reads a scenario and the manifests it names from fsys.
func Load(fsys fs.FS, file string) (*Scenario, error) {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	sc, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	sc.Files = map[string]string{}
	dir := path.Dir(file)
	for _, name := range sortedKeys(sc.Manifests) {
		p := path.Join(dir, sc.Manifests[name])
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("%s: manifests.%s: %w", file, name, err)
		}
		sc.Files[sc.Manifests[name]] = string(b)
	}
	return sc, nil
}

// Parse reads a scenario's text (manifests are not read).
func Parse(file string, src []byte) (*Scenario, error) {
	sc, err := parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sc.File, sc.Source = file, string(src)
	return sc, nil
}

func parse(src []byte) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty scenario")
	}
	top, err := fields(doc.Content[0], "", "name", "description", "seed", "manifests", "world", "timeline", "expect")
	if err != nil {
		return nil, err
	}
	sc := &Scenario{Seed: 1, Manifests: map[string]string{}, World: sim.DefaultConfig()}
	var timeline *yaml.Node
	for _, e := range top {
		switch e.key {
		case "name":
			sc.Name, err = str(e.value, e.key)
		case "description":
			sc.Description, err = str(e.value, e.key)
		case "seed":
			var v int64
			v, err = integer(e.value, e.key)
			sc.Seed = uint64(v)
		case "manifests":
			err = parseManifests(e.value, sc.Manifests)
		case "world":
			err = parseWorld(e.value, &sc.World)
		case "timeline":
			timeline = e.value
		case "expect":
			var st Step
			st, err = parseStep(KindExpect, e.value, "expect")
			st.Line = e.knode.Line
			sc.Final = &st
		}
		if err != nil {
			return nil, err
		}
	}
	if sc.Name == "" {
		return nil, errAt(doc.Content[0], "name", "a scenario needs a name")
	}
	if timeline == nil {
		return nil, errAt(doc.Content[0], "timeline", "a scenario needs a timeline")
	}
	if timeline.Kind != yaml.SequenceNode {
		return nil, errAt(timeline, "timeline", "want a list of steps")
	}
	for i, n := range timeline.Content {
		p := fmt.Sprintf("timeline[%d]", i)
		if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
			return nil, errAt(n, p, "want a step, one of: %s", strings.Join(stepKinds, ", "))
		}
		kind := n.Content[0].Value
		if !contains(stepKinds, kind) {
			return nil, errAt(n.Content[0], p, "unknown step %q (known: %s)", kind, strings.Join(stepKinds, ", "))
		}
		if len(n.Content) > 4 || (len(n.Content) == 4 && n.Content[2].Value != "rollout") {
			return nil, errAt(n, p, "a step holds one action (and optionally `rollout:`)")
		}
		st, err := parseStep(kind, n.Content[1], p+"."+kind)
		if err != nil {
			return nil, err
		}
		if len(n.Content) == 4 {
			if st.Rollout, err = str(n.Content[3], p+".rollout"); err != nil {
				return nil, err
			}
		}
		st.Line, st.Path = n.Line, p
		if err := checkReferences(sc, &st, n); err != nil {
			return nil, err
		}
		if sc.World.AWS == nil && needsAWS(st) {
			return nil, errAt(n, p, "%s needs a cloud: add `aws:` to `world:`", kind)
		}
		sc.Timeline = append(sc.Timeline, st)
	}
	if sc.Final != nil && sc.World.AWS == nil && needsAWS(*sc.Final) {
		return nil, errAt(doc.Content[0], "expect", "ALB weights need a cloud: add `aws:` to `world:`")
	}
	return sc, nil
}

func needsAWS(st Step) bool {
	if st.Kind == KindStartTraffic && st.Traffic.Host != "" {
		return false // into the mesh
	}
	return contains(awsKinds, st.Kind) || st.Expect.ALB != nil || st.Expect.ALBReady != nil
}

func checkReferences(sc *Scenario, st *Step, n *yaml.Node) error {
	for _, m := range st.Manifests {
		if _, ok := sc.Manifests[m]; !ok {
			return errAt(n, st.Path+".apply", "no manifest named %q (declared: %s)", m, strings.Join(sortedKeys(sc.Manifests), ", "))
		}
	}
	return nil
}

func parseManifests(n *yaml.Node, into map[string]string) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "manifests", "want a mapping of name: path")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p, err := str(v, "manifests."+k.Value)
		if err != nil {
			return err
		}
		into[k.Value] = p
	}
	return nil
}

func parseWorld(n *yaml.Node, cfg *sim.Config) error {
	es, err := fields(n, "world", "nodes", "podStart", "podReady", "podExit", "crashingImages", "watchDelay", "controllerDelay", "resync",
		"aws", "controller", "traffic", "istio", "apps", "apisix")
	if err != nil {
		return err
	}
	for _, e := range es {
		p := "world." + e.key
		switch e.key {
		case "nodes":
			var v int64
			if v, err = integer(e.value, p); err == nil && v < 1 {
				err = errAt(e.value, p, "want at least 1 node")
			}
			cfg.Kubelet.Nodes = int(v)
		case "podStart":
			cfg.Kubelet.StartDelay, err = delay(e.value, p)
		case "podReady":
			cfg.Kubelet.ReadyDelay, err = delay(e.value, p)
		case "podExit":
			cfg.Kubelet.ExitDelay, err = delay(e.value, p)
		case "watchDelay":
			cfg.Engine.WatchDelay, err = delay(e.value, p)
		case "controllerDelay":
			cfg.ControllerDelay, err = delay(e.value, p)
		case "resync":
			cfg.Engine.Resync, err = duration(e.value, p)
		case "aws":
			cfg.AWS, err = parseAWS(e.value, p)
		case "controller":
			err = parseController(e.value, p, cfg)
		case "traffic":
			cfg.Traffic, err = parseTraffic(e.value, p)
		case "istio":
			cfg.Istio, err = parseIstio(e.value, p)
		case "apisix":
			cfg.Apisix, err = parseApisix(e.value, p)
		case "apps":
			cfg.Apps, err = parseApps(e.value, p)
		case "crashingImages":
			cfg.Kubelet.ImageCrash = map[string]dist.PerMille{}
			var images []string
			if images, err = strList(e.value, p); err == nil {
				for _, img := range images {
					cfg.Kubelet.ImageCrash[img] = 1000
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseStep(kind string, n *yaml.Node, p string) (Step, error) {
	st := Step{Kind: kind, Path: p}
	var err error
	switch kind {
	case KindApply:
		st.Manifests, err = strList(n, p)
	case KindSetImage:
		var arg string
		if arg, err = str(n, p); err == nil {
			var ok bool
			if st.Container, st.Image, ok = strings.Cut(arg, "="); !ok || st.Container == "" || st.Image == "" {
				err = errAt(n, p, "want CONTAINER=IMAGE, got %q", arg)
			}
		}
	case KindPromote:
		err = optionalMapping(n, p, func(e entry) (err error) {
			st.Full, err = boolean(e.value, p+"."+e.key)
			return err
		}, "full")
	case KindUndo:
		err = optionalMapping(n, p, func(e entry) (err error) {
			st.ToRevision, err = integer(e.value, p+"."+e.key)
			return err
		}, "toRevision")
	case KindAbort, KindRetry, KindPause, KindResume:
		err = optionalMapping(n, p, nil)
	case KindAfter, KindLBCOutage, KindAWSThrottle:
		st.For, err = duration(n, p)
	case KindAWSErrors:
		err = parseAWSErrors(n, p, &st)
	case KindStartTraffic:
		st.Traffic, err = parseTraffic(n, p)
	case KindStopTraffic:
		err = optionalMapping(n, p, func(e entry) (err error) {
			st.Traffic.Name, err = str(e.value, p+"."+e.key)
			return err
		}, "name")
	case KindEditVirtualService, KindEditApisixRoute:
		err = parseEditVirtualService(n, p, &st)
	case KindRejectRouteWrites, KindPrometheusDown, KindPrometheusSlow:
		st.For, err = duration(n, p)
	case KindCrashEngine:
		err = optionalMapping(n, p, func(e entry) (err error) {
			st.For, err = duration(e.value, p+"."+e.key)
			return err
		}, "down")
	case KindWait, KindExpect:
		err = parseExpectation(n, p, &st)
		if err == nil && kind == KindWait && st.Within == 0 {
			st.Within = 10 * time.Minute
		}
	}
	return st, err
}

// optionalMapping accepts an empty value ("promote: {}" or "promote:") or a mapping of the given keys.
func optionalMapping(n *yaml.Node, p string, set func(entry) error, allowed ...string) error {
	if n.Kind == yaml.ScalarNode && (n.Value == "" || n.Tag == "!!null") {
		return nil
	}
	es, err := fields(n, p, allowed...)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := set(e); err != nil {
			return err
		}
	}
	return nil
}

func parseExpectation(n *yaml.Node, p string, st *Step) error {
	es, err := fields(n, p, "within", "phase", "message", "step", "paused", "abort", "weight", "actualWeight",
		"revisions", "stable", "replicaSets", "services", "failedRequests", "alb", "albReady", "virtualServices", "meshWeights",
		"apisixRoutes", "gatewayWeights", "analysisRuns", "analysisRun",
		"subsets", "managedRoutes", "virtualServiceRoutes", "mirrored", "answeredBy")
	if err != nil {
		return err
	}
	x := &st.Expect
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "analysisRuns":
			var v int64
			v, err = integer(e.value, fp)
			c := int(v)
			x.AnalysisRuns = &c
		case "analysisRun":
			x.AnalysisRun, err = parseAnalysisRun(e.value, fp)
		case "within":
			st.Within, err = duration(e.value, fp)
		case "phase":
			if x.Phase, err = str(e.value, fp); err == nil && !contains([]string{"Healthy", "Progressing", "Paused", "Degraded"}, x.Phase) {
				err = errAt(e.value, fp, "want Healthy, Progressing, Paused or Degraded, got %q", x.Phase)
			}
		case "message":
			x.Message, err = str(e.value, fp)
		case "step":
			x.Step, err = str(e.value, fp)
		case "paused", "abort":
			var b bool
			if b, err = boolean(e.value, fp); err == nil {
				if e.key == "paused" {
					x.Paused = &b
				} else {
					x.Abort = &b
				}
			}
		case "weight", "actualWeight":
			var v int64
			if v, err = integer(e.value, fp); err == nil && (v < 0 || v > 100) {
				err = errAt(e.value, fp, "want a weight from 0 to 100")
			}
			w := int32(v)
			if e.key == "weight" {
				x.Weight = &w
			} else {
				x.ActualWeight = &w
			}
		case "stable":
			var v int64
			v, err = integer(e.value, fp)
			x.Stable = &v
		case "replicaSets":
			var v int64
			v, err = integer(e.value, fp)
			c := int(v)
			x.ReplicaSets = &c
		case "revisions":
			x.Revisions, err = parseRevisions(e.value, fp)
		case "virtualServices":
			x.VirtualServices, err = parseWeights(e.value, fp)
		case "meshWeights":
			x.MeshWeights, err = parseWeights(e.value, fp)
		case "subsets":
			x.Subsets, err = parseSubsets(e.value, fp)
		case "managedRoutes":
			x.ManagedRoutes, err = parseManagedRoutes(e.value, fp)
		case "virtualServiceRoutes":
			x.VirtualServiceRoutes, err = parseVirtualServiceRoutes(e.value, fp)
		case "mirrored":
			x.Mirrored, err = parseRequests(e.value, fp)
		case "answeredBy":
			x.AnsweredBy, err = parseAnsweredBy(e.value, fp)
		case "apisixRoutes":
			x.ApisixRoutes, err = parseRouteWeights(e.value, fp)
		case "gatewayWeights":
			x.GatewayWeights, err = parseRouteWeights(e.value, fp)
		case "albReady":
			var b bool
			b, err = boolean(e.value, fp)
			x.ALBReady = &b
		case "failedRequests":
			x.FailedRequests, err = parseRequests(e.value, fp)
		case "alb":
			x.ALB = map[string]int32{}
			var ses []entry
			if ses, err = anyFields(e.value, fp); err == nil {
				for _, se := range ses {
					var v int64
					if v, err = integer(se.value, fp+"."+se.key); err == nil && (v < 0 || v > 999) {
						err = errAt(se.value, fp+"."+se.key, "want an ALB weight from 0 to 999")
					}
					if err != nil {
						break
					}
					x.ALB[se.key] = int32(v)
				}
			}
		case "services":
			x.Services = map[string]int64{}
			var ses []entry
			if ses, err = anyFields(e.value, fp); err == nil {
				for _, se := range ses {
					if x.Services[se.key], err = integer(se.value, fp+"."+se.key); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func anyFields(n *yaml.Node, p string) ([]entry, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, p, "want a mapping")
	}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, entry{n.Content[i].Value, n.Content[i], n.Content[i+1]})
	}
	return out, nil
}

func parseRevisions(n *yaml.Node, p string) (map[int64]SpecAvailable, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[int64]SpecAvailable{}
	for _, e := range es {
		rev, err := strconv.ParseInt(e.key, 10, 64)
		if err != nil || rev < 1 {
			return nil, errAt(e.knode, p, "revision %q is not a revision number", e.key)
		}
		v, err := str(e.value, p+"."+e.key)
		if err != nil {
			return nil, err
		}
		spec, avail, ok := strings.Cut(v, "/")
		s, err1 := strconv.Atoi(spec)
		a, err2 := strconv.Atoi(avail)
		if !ok || err1 != nil || err2 != nil {
			return nil, errAt(e.value, p+"."+e.key, "want SPEC/AVAILABLE replicas like 4/4, got %q", v)
		}
		out[rev] = SpecAvailable{int32(s), int32(a)}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
