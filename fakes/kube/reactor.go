package kube

import (
	"encoding/json"
	"fmt"
	"reflect"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// Fault decides whether an API call fails. It sees every action before the store does; a non-nil
// error is returned to the caller and nothing is written.
type Fault func(k8stesting.Action) error

// Reactor answers client-go fake actions from a Store.
type Reactor struct {
	store  *Store
	faults []Fault
	calls  map[string]int
}

// NewReactor serves the store to fake clientsets.
func NewReactor(s *Store) *Reactor { return &Reactor{store: s, calls: map[string]int{}} }

// AddFault registers a fault hook (evaluated in order; the first error wins).
func (r *Reactor) AddFault(f Fault) { r.faults = append(r.faults, f) }

// Calls returns how many API calls each verb+resource received, e.g. "update replicasets".
func (r *Reactor) Calls() map[string]int { return r.calls }

// Install makes fake answer every action from the store. Any reactors already on the fake (the
// client-go default tracker) are dropped. The fake's action log is not needed: keep it empty with
// Fake.ClearActions, since the fake copies every action into it.
func (r *Reactor) Install(fake *k8stesting.Fake) {
	fake.ReactionChain = []k8stesting.Reactor{&k8stesting.SimpleReactor{Verb: "*", Resource: "*", Reaction: r.React}}
	fake.WatchReactionChain = nil
}

// React implements k8stesting.ReactionFunc.
func (r *Reactor) React(action k8stesting.Action) (bool, runtime.Object, error) {
	r.calls[action.GetVerb()+" "+action.GetResource().Resource]++
	for _, f := range r.faults {
		if err := f(action); err != nil {
			return true, nil, err
		}
	}
	gvr := action.GetResource()
	ns := action.GetNamespace()
	switch a := action.(type) {
	case k8stesting.GetActionImpl:
		obj, err := r.store.Get(gvr, ns, a.GetName())
		return true, obj, err
	case k8stesting.ListActionImpl:
		kind := a.GetKind()
		kind.Kind += "List"
		obj, err := r.store.List(gvr, kind, ns)
		return true, obj, err
	case k8stesting.CreateActionImpl:
		if a.GetSubresource() != "" {
			return true, nil, apierrors.NewBadRequest(fmt.Sprintf("create of subresource %q is not supported by the simulated API server", a.GetSubresource()))
		}
		obj, err := r.store.Create(gvr, ns, a.GetObject())
		return true, obj, err
	case k8stesting.UpdateActionImpl:
		obj, err := r.store.Update(gvr, ns, a.GetObject(), a.GetSubresource())
		return true, obj, err
	case k8stesting.DeleteActionImpl:
		return true, nil, r.store.Delete(gvr, ns, a.GetName(), a.DeleteOptions.GracePeriodSeconds)
	case k8stesting.PatchActionImpl:
		obj, err := r.patch(a)
		return true, obj, err
	default:
		return true, nil, apierrors.NewMethodNotSupported(gvr.GroupResource(), action.GetVerb())
	}
}

// patch applies a JSON, merge or strategic-merge patch to the stored object and writes the result
// through Update, so patches get the same subresource and generation rules as updates.
func (r *Reactor) patch(a k8stesting.PatchActionImpl) (runtime.Object, error) {
	gvr := a.GetResource()
	cur, err := r.store.Get(gvr, a.GetNamespace(), a.GetName())
	if err != nil {
		return nil, err
	}
	// A patch of the status subresource can only change the status: patch just that part, which
	// spares encoding the whole object (a Rollout's pod template) on every status write.
	var doc any = cur
	if a.GetSubresource() == "status" && hasField(cur, "Status") {
		doc = map[string]any{"status": field(cur, "Status")}
	}
	orig, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var patched []byte
	switch a.GetPatchType() {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(a.GetPatch())
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		patched, err = p.Apply(orig)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	case types.MergePatchType:
		patched, err = mergepatch.Apply(orig, a.GetPatch())
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(orig, a.GetPatch(), cur)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("patch type %s is not supported by the simulated API server", a.GetPatchType()))
	}
	next := reflect.New(reflect.TypeOf(cur).Elem()).Interface().(runtime.Object)
	if err := json.Unmarshal(patched, next); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if doc != any(cur) {
		status := next
		next = cur.DeepCopyObject()
		copyField(next, status, "Status")
	}
	// A patch applies to what is stored now unless it names a resourceVersion itself (a
	// precondition, also for the status subresource, whose patched metadata is dropped above).
	nm, _ := meta.Accessor(next)
	cm, _ := meta.Accessor(cur)
	var pm struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(a.GetPatch(), &pm)
	if rv := pm.Metadata.ResourceVersion; rv != "" {
		nm.SetResourceVersion(rv)
	} else {
		nm.SetResourceVersion(cm.GetResourceVersion())
	}
	return r.store.Update(gvr, a.GetNamespace(), next, a.GetSubresource())
}
