package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// Watches. The store calls the hub synchronously after every write (under the world's lock); the
// hub keeps the recent changes, so that a watch may resume from a resourceVersion a list or an
// earlier watch returned, and queues each change for the open watches that select it. Each watch
// stream drains its queue in its own goroutine, as newline-separated JSON watch events — what
// client-go's watch decoder reads. A watch from a resourceVersion older than the history gets the
// API server's 410 Expired error event, and the client lists again.

// historyLimit is how many changes the hub keeps for resuming watches.
const historyLimit = 4096

// maxQueued is how many events an open watch may fall behind before its stream is closed (the
// client watches again from the last resourceVersion it saw).
const maxQueued = 10000

type watchHub struct {
	store *kube.Store
	byGVR map[schema.GroupVersionResource]*apiResource
	limit int
	// history holds every change to a served resource after resourceVersion base, oldest first.
	history  []*change
	base     uint64
	watchers map[*watcher]struct{}
}

// change is a watch event: a copy of the object as written, with its apiVersion and kind set.
type change struct {
	res *apiResource // nil for the events a watch makes up (initial state, bookmark, error)
	rv  uint64
	typ watch.EventType
	obj runtime.Object

	once sync.Once
	raw  []byte
}

// encode returns the event as one line of JSON (encoded once, whichever watch sends it first).
func (c *change) encode() []byte {
	c.once.Do(func() {
		obj, err := json.Marshal(c.obj)
		if err != nil {
			obj, _ = json.Marshal(apierrors.NewInternalError(err).ErrStatus)
			c.typ = watch.Error
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"type":%q,"object":`, c.typ)
		b.Write(obj)
		b.WriteString("}\n")
		c.raw = b.Bytes()
	})
	return c.raw
}

func newWatchHub(store *kube.Store, resources []*apiResource) *watchHub {
	h := &watchHub{store: store, byGVR: map[schema.GroupVersionResource]*apiResource{}, limit: historyLimit,
		base: store.ResourceVersion(), watchers: map[*watcher]struct{}{}}
	for _, r := range resources {
		h.byGVR[r.gvr] = r
	}
	store.Watch(h.onChange)
	return h
}

// onChange records a write and queues it for the watches that select it. It runs in the writer's
// goroutine, which holds the world's lock.
func (h *watchHub) onChange(ch kube.Change) {
	res := h.byGVR[ch.GVR]
	if res == nil {
		return
	}
	obj := ch.Object.DeepCopyObject()
	setKind(obj, res.gvk())
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	rv, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
	if ch.Type == watch.Deleted { // the deletion has a resourceVersion of its own
		rv = h.store.ResourceVersion()
		m.SetResourceVersion(strconv.FormatUint(rv, 10))
	}
	c := &change{res: res, rv: rv, typ: ch.Type, obj: obj}
	h.history = append(h.history, c)
	if len(h.history) > h.limit {
		drop := len(h.history) - h.limit/2
		h.base = h.history[drop-1].rv
		h.history = append([]*change(nil), h.history[drop:]...)
	}
	for w := range h.watchers {
		if w.res == res && w.sel.matches(obj) {
			w.push(c)
		}
	}
}

// watcher is an open watch stream.
type watcher struct {
	res *apiResource
	sel *selection

	mu       sync.Mutex
	queue    []*change
	overflow bool
	wake     chan struct{}
}

func (w *watcher) push(c *change) {
	w.mu.Lock()
	if len(w.queue) >= maxQueued {
		w.overflow = true
	} else {
		w.queue = append(w.queue, c)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) take() ([]*change, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q, w.overflow
}

// watch serves ?watch=true: the initial state when asked for (resourceVersion "" or "0", or
// sendInitialEvents=true, which ends it with the initial-events-end bookmark), else the changes
// after resourceVersion; then every change until the client goes, timeoutSeconds pass or the
// server stops.
func (s *apiServer) watch(rw http.ResponseWriter, r *http.Request, req *request, q url.Values) {
	sel, err := parseSelection(req.namespace, q)
	if err != nil {
		writeStatus(rw, err)
		return
	}
	initial := q.Get("sendInitialEvents") == "true"
	if initial && q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan) {
		writeStatus(rw, apierrors.NewBadRequest("sendInitialEvents requires resourceVersionMatch=NotOlderThan"))
		return
	}
	var timeout <-chan time.Time
	if ts := q.Get("timeoutSeconds"); ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || n < 0 {
			writeStatus(rw, apierrors.NewBadRequest(fmt.Sprintf("timeoutSeconds %q is not a number of seconds", ts)))
			return
		}
		if n > 0 {
			t := time.NewTimer(time.Duration(n) * time.Second)
			defer t.Stop()
			timeout = t.C
		}
	}
	w := &watcher{res: req.res, sel: sel, wake: make(chan struct{}, 1)}
	rv := q.Get("resourceVersion")
	s.mu.Lock()
	expired := false
	switch {
	case initial || rv == "" || rv == "0":
		list, err := s.listLocked(req.res, sel)
		if err != nil {
			s.mu.Unlock()
			writeStatus(rw, err)
			return
		}
		items, _ := meta.ExtractList(list)
		for _, it := range items {
			w.queue = append(w.queue, &change{typ: watch.Added, obj: it})
		}
		if initial {
			lm, _ := meta.ListAccessor(list)
			w.queue = append(w.queue, s.bookmark(req.res, lm.GetResourceVersion()))
		}
	default:
		from, err := strconv.ParseUint(rv, 10, 64)
		if err != nil {
			s.mu.Unlock()
			writeStatus(rw, apierrors.NewBadRequest(fmt.Sprintf("resourceVersion %q is not one this server gave", rv)))
			return
		}
		if from < s.hub.base {
			expired = true
			st := apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", from, s.hub.base)).ErrStatus
			st.Kind, st.APIVersion = "Status", "v1"
			w.queue = append(w.queue, &change{typ: watch.Error, obj: &st})
			break
		}
		for _, c := range s.hub.history {
			if c.res == req.res && c.rv > from && sel.matches(c.obj) {
				w.queue = append(w.queue, c)
			}
		}
	}
	if !expired {
		s.hub.watchers[w] = struct{}{}
		defer func() {
			s.mu.Lock()
			delete(s.hub.watchers, w)
			s.mu.Unlock()
		}()
	}
	s.mu.Unlock()

	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(rw)
	if err := rc.Flush(); err != nil {
		return
	}
	for {
		events, overflow := w.take()
		for _, c := range events {
			if _, err := rw.Write(c.encode()); err != nil {
				return
			}
		}
		if len(events) > 0 {
			if err := rc.Flush(); err != nil {
				return
			}
		}
		if overflow || expired {
			return
		}
		select {
		case <-w.wake:
		case <-r.Context().Done():
			return
		case <-s.stopping:
			return
		case <-timeout:
			return
		}
	}
}

// bookmark is the event that ends the initial events of a watch-list (sendInitialEvents=true).
func (s *apiServer) bookmark(res *apiResource, rv string) *change {
	obj, err := s.w.Scheme.New(res.gvk())
	if err != nil {
		st := apierrors.NewInternalError(err).ErrStatus
		return &change{typ: watch.Error, obj: &st}
	}
	setKind(obj, res.gvk())
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(rv)
	m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	return &change{typ: watch.Bookmark, obj: obj}
}
