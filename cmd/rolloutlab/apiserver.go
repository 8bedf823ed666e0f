package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	k8sversion "k8s.io/apimachinery/pkg/version"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/sim"
)

// apiServer serves a minimal Kubernetes REST API over a simulated world: discovery, and get, list,
// watch, create, update, patch and delete of the resources in apiResources (with their status
// subresource), enough for kubectl-argo-rollouts and client-go informers.
//
// Every request is answered under mu, the lock the clock loop holds while it runs the kernel, by
// the world's user clientset — the same reaction chain w.UserKube and w.UserRollouts' typed
// methods invoke, so admission, resourceVersions, 409 conflicts, faults and the engine's reactions
// are the simulation's own. Watches are served from the store's change feed (apiwatch.go): the
// client-go fakes have no watch worth the name.
type apiServer struct {
	mu  *sync.Mutex
	w   *sim.World
	api invoker
	hub *watchHub

	byPath map[string]*apiResource // "group/version/resource" → resource
	// log, when set, receives one line per request; unserved always receives the requests
	// answered 404 because the path is not part of the served API.
	log, unserved func(format string, args ...any)
	// stopping is closed when the server shuts down: watch streams end.
	stopping chan struct{}
	names    int // suffix counter for metadata.generateName
	codecs   serializer.CodecFactory
}

// invoker is the part of a client-go fake clientset that runs an action through its reactors.
type invoker interface {
	Invokes(action k8stesting.Action, defaultReturnObj runtime.Object) (runtime.Object, error)
}

// apiResource is one served resource.
type apiResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	status     bool // has a status subresource
	builtin    bool // a Kubernetes type: strategic merge patches apply (not to custom resources)
	shortNames []string
}

func (r *apiResource) gvk() schema.GroupVersionKind { return r.gvr.GroupVersion().WithKind(r.kind) }

// apiResources are the resources served: what the plugin reads and writes (rollouts, their
// ReplicaSets and pods), and what a curious kubectl may look at.
var apiResources = []*apiResource{
	{gvr: kube.Pods, kind: "Pod", namespaced: true, status: true, builtin: true, shortNames: []string{"po"}},
	{gvr: kube.Services, kind: "Service", namespaced: true, status: true, builtin: true, shortNames: []string{"svc"}},
	{gvr: kube.Endpoints, kind: "Endpoints", namespaced: true, builtin: true, shortNames: []string{"ep"}},
	{gvr: kube.Events, kind: "Event", namespaced: true, builtin: true, shortNames: []string{"ev"}},
	{gvr: kube.Nodes, kind: "Node", status: true, builtin: true, shortNames: []string{"no"}},
	{gvr: kube.ReplicaSets, kind: "ReplicaSet", namespaced: true, status: true, builtin: true, shortNames: []string{"rs"}},
	{gvr: kube.EndpointSlices, kind: "EndpointSlice", namespaced: true, builtin: true},
	{gvr: kube.Ingresses, kind: "Ingress", namespaced: true, status: true, builtin: true, shortNames: []string{"ing"}},
	{gvr: v1alpha1.RolloutGVR, kind: "Rollout", namespaced: true, status: true, shortNames: []string{"ro"}},
	{gvr: v1alpha1.AnalysisRunGVR, kind: "AnalysisRun", namespaced: true, status: true, shortNames: []string{"ar"}},
	{gvr: v1alpha1.AnalysisTemplateGVR, kind: "AnalysisTemplate", namespaced: true, shortNames: []string{"at"}},
	{gvr: v1alpha1.ClusterAnalysisTemplateGVR, kind: "ClusterAnalysisTemplate", shortNames: []string{"cat"}},
}

func newAPIServer(mu *sync.Mutex, w *sim.World) (*apiServer, error) {
	api, ok := w.UserKube.(invoker)
	if !ok {
		return nil, fmt.Errorf("the world's user clientset (%T) does not run actions", w.UserKube)
	}
	s := &apiServer{mu: mu, w: w, api: api, byPath: map[string]*apiResource{}, stopping: make(chan struct{}),
		unserved: func(string, ...any) {}, codecs: serializer.NewCodecFactory(w.Scheme)}
	for _, r := range apiResources {
		s.byPath[r.gvr.Group+"/"+r.gvr.Version+"/"+r.gvr.Resource] = r
	}
	s.hub = newWatchHub(w.Cluster.Store, apiResources)
	return s, nil
}

// stop ends every watch stream.
func (s *apiServer) stop() { close(s.stopping) }

func (s *apiServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if s.log != nil {
		s.log("%s %s", r.Method, r.URL.RequestURI())
	}
	p := strings.Trim(r.URL.Path, "/")
	switch {
	case p == "version":
		s.onlyGet(rw, r, s.version())
	case p == "healthz" || p == "livez" || p == "readyz":
		rw.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(rw, "ok")
	case p == "api":
		s.onlyGet(rw, r, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}})
	case p == "apis":
		s.onlyGet(rw, r, s.groups())
	case p == "api/v1":
		s.onlyGet(rw, r, s.resourceList(schema.GroupVersion{Version: "v1"}))
	case strings.HasPrefix(p, "api/v1/"):
		s.serveResource(rw, r, "", "v1", strings.Split(strings.TrimPrefix(p, "api/v1/"), "/"))
	case strings.HasPrefix(p, "apis/"):
		parts := strings.Split(strings.TrimPrefix(p, "apis/"), "/")
		switch {
		case len(parts) == 1:
			if g := s.group(parts[0]); g != nil {
				s.onlyGet(rw, r, g)
				return
			}
		case len(parts) == 2:
			if l := s.resourceList(schema.GroupVersion{Group: parts[0], Version: parts[1]}); len(l.APIResources) > 0 {
				s.onlyGet(rw, r, l)
				return
			}
		default:
			s.serveResource(rw, r, parts[0], parts[1], parts[2:])
			return
		}
		s.notServed(rw, r)
	default:
		s.notServed(rw, r)
	}
}

func (s *apiServer) notServed(rw http.ResponseWriter, r *http.Request) {
	s.unserved("not served: %s %s", r.Method, r.URL.RequestURI())
	writeStatus(rw, apierrors.NewGenericServerResponse(http.StatusNotFound, strings.ToLower(r.Method), schema.GroupResource{}, "",
		fmt.Sprintf("the simulated API server does not serve %s", r.URL.Path), 0, false))
}

func (s *apiServer) onlyGet(rw http.ResponseWriter, r *http.Request, body any) {
	if r.Method != http.MethodGet {
		writeStatus(rw, apierrors.NewMethodNotSupported(schema.GroupResource{}, r.Method))
		return
	}
	writeJSON(rw, http.StatusOK, body)
}

// version is the Kubernetes version of the client libraries the simulation is built with.
func (s *apiServer) version() *k8sversion.Info {
	v := "v1.37.0"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "k8s.io/client-go" && strings.HasPrefix(d.Version, "v0.") {
				v = "v1." + strings.TrimPrefix(d.Version, "v0.")
			}
		}
	}
	major, minor, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	return &k8sversion.Info{Major: major, Minor: minor, GitVersion: v + "+rolloutlab-sim", Platform: "rolloutlab/sim"}
}

func (s *apiServer) groups() *metav1.APIGroupList {
	seen := map[string]bool{}
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for _, r := range apiResources {
		if r.gvr.Group == "" || seen[r.gvr.Group] {
			continue
		}
		seen[r.gvr.Group] = true
		list.Groups = append(list.Groups, *s.group(r.gvr.Group))
	}
	return list
}

func (s *apiServer) group(name string) *metav1.APIGroup {
	for _, r := range apiResources {
		if r.gvr.Group == name && name != "" {
			gv := metav1.GroupVersionForDiscovery{GroupVersion: r.gvr.GroupVersion().String(), Version: r.gvr.Version}
			return &metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: name,
				Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
		}
	}
	return nil
}

func (s *apiServer) resourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	for _, r := range apiResources {
		if r.gvr.GroupVersion() != gv {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: r.gvr.Resource, SingularName: strings.ToLower(r.kind), Namespaced: r.namespaced, Kind: r.kind,
			Verbs: metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}, ShortNames: r.shortNames,
		})
		if r.status {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: r.gvr.Resource + "/status", Namespaced: r.namespaced, Kind: r.kind, Verbs: metav1.Verbs{"get", "patch", "update"},
			})
		}
	}
	return list
}

// request is a parsed resource request.
type request struct {
	res       *apiResource
	namespace string // "" for cluster-scoped resources and lists across namespaces
	name      string
	sub       string
	watch     bool
}

// parseResourcePath reads [watch/][namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]].
func (s *apiServer) parseResourcePath(group, ver string, parts []string, q url.Values) (*request, bool) {
	req := &request{}
	if len(parts) > 0 && parts[0] == "watch" { // the deprecated watch paths
		req.watch = true
		parts = parts[1:]
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		req.namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) == 0 || len(parts) > 3 {
		return nil, false
	}
	req.res = s.byPath[group+"/"+ver+"/"+parts[0]]
	switch {
	case req.res == nil,
		req.namespace != "" && !req.res.namespaced,
		req.namespace == "" && req.res.namespaced && len(parts) > 1: // only lists span namespaces
		return nil, false
	}
	if len(parts) > 1 {
		req.name = parts[1]
	}
	if len(parts) > 2 {
		req.sub = parts[2]
		if req.sub != "status" || !req.res.status {
			return nil, false
		}
	}
	if w := q.Get("watch"); w == "true" || w == "1" {
		req.watch = true
	}
	return req, true
}

func (s *apiServer) serveResource(rw http.ResponseWriter, r *http.Request, group, ver string, parts []string) {
	q := r.URL.Query()
	req, ok := s.parseResourcePath(group, ver, parts, q)
	if !ok {
		s.notServed(rw, r)
		return
	}
	if q.Get("dryRun") != "" {
		writeStatus(rw, apierrors.NewBadRequest("dry run is not supported by the simulated API server"))
		return
	}
	gr := req.res.gvr.GroupResource()
	if req.res.namespaced && req.namespace == "" && r.Method != http.MethodGet {
		writeStatus(rw, apierrors.NewMethodNotSupported(gr, r.Method))
		return
	}
	switch {
	case r.Method == http.MethodGet && req.watch:
		if req.name != "" { // watch of one object: a field selector on its name
			q.Set("fieldSelector", joinSelectors(q.Get("fieldSelector"), "metadata.name="+req.name))
		}
		s.watch(rw, r, req, q)
	case r.Method == http.MethodGet && req.name == "":
		s.list(rw, req, q)
	case r.Method == http.MethodGet:
		s.answer(rw, http.StatusOK, req.res, k8stesting.NewGetAction(req.res.gvr, req.namespace, req.name))
	case r.Method == http.MethodPost && req.name == "":
		obj, err := s.decodeBody(r, req)
		if err != nil {
			writeStatus(rw, err)
			return
		}
		s.answer(rw, http.StatusCreated, req.res, k8stesting.NewCreateAction(req.res.gvr, req.namespace, obj))
	case r.Method == http.MethodPut && req.name != "":
		obj, err := s.decodeBody(r, req)
		if err != nil {
			writeStatus(rw, err)
			return
		}
		if req.sub != "" {
			s.answer(rw, http.StatusOK, req.res, k8stesting.NewUpdateSubresourceAction(req.res.gvr, req.sub, req.namespace, obj))
		} else {
			s.answer(rw, http.StatusOK, req.res, k8stesting.NewUpdateAction(req.res.gvr, req.namespace, obj))
		}
	case r.Method == http.MethodPatch && req.name != "":
		pt, data, err := s.patchBody(r, req)
		if err != nil {
			writeStatus(rw, err)
			return
		}
		var subs []string
		if req.sub != "" {
			subs = []string{req.sub}
		}
		s.answer(rw, http.StatusOK, req.res, k8stesting.NewPatchSubresourceAction(req.res.gvr, req.namespace, req.name, pt, data, subs...))
	case r.Method == http.MethodDelete && req.name != "" && req.sub == "":
		opts, err := s.deleteOptions(r, q, req.res)
		if err != nil {
			writeStatus(rw, err)
			return
		}
		s.delete(rw, req, opts)
	default:
		writeStatus(rw, apierrors.NewMethodNotSupported(gr, r.Method))
	}
}

// answer runs an action through the world's user clientset and writes the object it returns.
func (s *apiServer) answer(rw http.ResponseWriter, code int, res *apiResource, action k8stesting.Action) {
	s.mu.Lock()
	obj, err := s.invoke(action)
	s.mu.Unlock()
	if err != nil {
		writeStatus(rw, err)
		return
	}
	setKind(obj, res.gvk())
	writeJSON(rw, code, obj)
}

// invoke runs an action; the caller holds mu.
func (s *apiServer) invoke(action k8stesting.Action) (obj runtime.Object, err error) {
	defer s.w.Cluster.ClearActions() // the fakes log every action; nothing reads the log
	obj, err = s.api.Invokes(action, nil)
	if err == nil && obj == nil {
		err = apierrors.NewInternalError(fmt.Errorf("the simulation answered %s %s with nothing", action.GetVerb(), action.GetResource().Resource))
	}
	return obj, err
}

// selection is what a list or watch selects: a namespace ("" = all) and label and field selectors.
type selection struct {
	namespace string
	labels    labels.Selector
	fields    fields.Selector
}

func parseSelection(namespace string, q url.Values) (*selection, error) {
	sel := &selection{namespace: namespace, labels: labels.Everything(), fields: fields.Everything()}
	var err error
	if ls := q.Get("labelSelector"); ls != "" {
		if sel.labels, err = labels.Parse(ls); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("labelSelector %q: %v", ls, err))
		}
	}
	if fs := q.Get("fieldSelector"); fs != "" {
		if sel.fields, err = fields.ParseSelector(fs); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("fieldSelector %q: %v", fs, err))
		}
		for _, req := range sel.fields.Requirements() {
			if req.Field != "metadata.name" && req.Field != "metadata.namespace" {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported by the simulated API server: %s", req.Field))
			}
		}
	}
	return sel, nil
}

func (sel *selection) matches(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return (sel.namespace == "" || m.GetNamespace() == sel.namespace) &&
		sel.labels.Matches(labels.Set(m.GetLabels())) &&
		sel.fields.Matches(fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()})
}

func joinSelectors(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

func (s *apiServer) list(rw http.ResponseWriter, req *request, q url.Values) {
	sel, err := parseSelection(req.namespace, q)
	if err != nil {
		writeStatus(rw, err)
		return
	}
	s.mu.Lock()
	list, err := s.listLocked(req.res, sel)
	s.mu.Unlock()
	if err != nil {
		writeStatus(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, list)
}

// listLocked lists the selected objects of a resource; the caller holds mu. Limits and continue
// tokens are ignored: the whole list is one page.
func (s *apiServer) listLocked(res *apiResource, sel *selection) (runtime.Object, error) {
	list, err := s.invoke(k8stesting.NewListAction(res.gvr, res.gvk(), sel.namespace, metav1.ListOptions{}))
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	kept := items[:0]
	for _, it := range items {
		if sel.matches(it) {
			setKind(it, res.gvk())
			kept = append(kept, it)
		}
	}
	if err := meta.SetList(list, kept); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	setKind(list, res.gvr.GroupVersion().WithKind(res.kind+"List"))
	return list, nil
}

// decodeBody reads the object of a create or update, in JSON or, as client-go sends Kubernetes
// types, protobuf.
func (s *apiServer) decodeBody(r *http.Request, req *request) (runtime.Object, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	want := req.res.gvk()
	into, err := s.w.Scheme.New(want)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	obj, err := s.decode(r.Header.Get("Content-Type"), body, want, into)
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	switch {
	case req.name != "" && m.GetName() != req.name:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%q) does not match the name on the URL (%q)", m.GetName(), req.name))
	case req.namespace != "" && m.GetNamespace() != "" && m.GetNamespace() != req.namespace:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the object (%q) does not match the namespace on the URL (%q)", m.GetNamespace(), req.namespace))
	}
	m.SetNamespace(req.namespace)
	if m.GetName() == "" && m.GetGenerateName() != "" && r.Method == http.MethodPost {
		s.mu.Lock()
		s.names++
		m.SetName(fmt.Sprintf("%s%05d", m.GetGenerateName(), s.names))
		s.mu.Unlock()
	}
	return obj, nil
}

// decode reads a request body of the given content type (JSON when unset) into a want object.
func (s *apiServer) decode(contentType string, body []byte, want schema.GroupVersionKind, into runtime.Object) (runtime.Object, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mediaType, err = runtime.ContentTypeJSON, nil
	}
	if err != nil {
		return nil, unsupportedMediaType(contentType)
	}
	info, ok := runtime.SerializerInfoForMediaType(s.codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		return nil, unsupportedMediaType(contentType)
	}
	obj, gvk, err := info.Serializer.Decode(body, &want, into)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is not a %s: %v", want.Kind, err))
	}
	if gvk != nil && gvk.Kind != want.Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is a %s, not a %s", gvk.Kind, want.Kind))
	}
	return obj, nil
}

// patchBody reads a patch and its type. Server-side apply is not served; strategic merge patches
// apply to Kubernetes types only, as on a real API server.
func (s *apiServer) patchBody(r *http.Request, req *request) (types.PatchType, []byte, error) {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	pt := types.PatchType(strings.TrimSpace(ct))
	switch pt {
	case types.JSONPatchType, types.MergePatchType:
	case types.StrategicMergePatchType:
		if !req.res.builtin {
			return "", nil, unsupportedMediaType(string(pt) + " (strategic merge patches do not apply to custom resources)")
		}
	default:
		return "", nil, unsupportedMediaType(string(pt))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return "", nil, apierrors.NewBadRequest(err.Error())
	}
	return pt, data, nil
}

func unsupportedMediaType(ct string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types by the simulated API server: application/json, %s, %s, %s (got %q)",
			types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, ct),
	}}
}

func (s *apiServer) deleteOptions(r *http.Request, q url.Values, res *apiResource) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return opts, apierrors.NewBadRequest(err.Error())
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if _, err := s.decode(r.Header.Get("Content-Type"), body, res.gvr.GroupVersion().WithKind("DeleteOptions"), &opts); err != nil {
			return opts, err
		}
	}
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("gracePeriodSeconds %q: %v", g, err))
		}
		opts.GracePeriodSeconds = &n
	}
	if len(opts.DryRun) > 0 {
		return opts, apierrors.NewBadRequest("dry run is not supported by the simulated API server")
	}
	return opts, nil
}

func (s *apiServer) delete(rw http.ResponseWriter, req *request, opts metav1.DeleteOptions) {
	s.mu.Lock()
	if req.res.gvr == kube.Pods && opts.GracePeriodSeconds == nil {
		// The API server's default: the pod's own grace period (30 s unless it says otherwise).
		grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
		if o, ok := s.w.Cluster.Store.Peek(kube.Pods, req.namespace, req.name); ok {
			if g := o.(*corev1.Pod).Spec.TerminationGracePeriodSeconds; g != nil {
				grace = *g
			}
		}
		opts.GracePeriodSeconds = &grace
	}
	_, err := s.api.Invokes(k8stesting.NewDeleteActionWithOptions(req.res.gvr, req.namespace, req.name, opts), nil)
	s.w.Cluster.ClearActions()
	s.mu.Unlock()
	if err != nil {
		writeStatus(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{Name: req.name, Group: req.res.gvr.Group, Kind: req.res.gvr.Resource}})
}

// setKind sets the apiVersion and kind an object is sent with (the store keeps what it was given).
func setKind(obj runtime.Object, gvk schema.GroupVersionKind) {
	if obj != nil {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
}

func writeJSON(rw http.ResponseWriter, code int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(apierrors.NewInternalError(err).ErrStatus)
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_, _ = rw.Write(append(b, '\n'))
}

// statusOf is the Status an error is answered with: an API error's own, else a 500.
func statusOf(err error) metav1.Status {
	var st metav1.Status
	var as apierrors.APIStatus
	if errors.As(err, &as) {
		st = as.Status()
	} else {
		st = apierrors.NewInternalError(err).ErrStatus
	}
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	return st
}

func writeStatus(rw http.ResponseWriter, err error) {
	st := statusOf(err)
	writeJSON(rw, int(st.Code), &st)
}

// servedResources lists the served resources, indented and wrapped for the help text.
func servedResources() string {
	var names []string
	for _, r := range apiResources {
		names = append(names, r.gvr.Resource)
	}
	sort.Strings(names)
	var b strings.Builder
	line := 0
	for i, n := range names {
		if i > 0 {
			b.WriteString(",")
			line++
		}
		if i == 0 || line+1+len(n) > 94 {
			b.WriteString("\n  ")
			line = 2
		} else {
			b.WriteString(" ")
			line++
		}
		b.WriteString(n)
		line += len(n)
	}
	return b.String()
}
