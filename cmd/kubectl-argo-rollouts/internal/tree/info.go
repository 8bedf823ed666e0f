// Package tree turns a Rollout and the ReplicaSets and pods around it into the text of
// `kubectl argo rollouts get rollout` and `list rollouts`. It reads plain objects and returns
// strings: no client, no clock of its own (the caller passes "now" for ages), so the output is
// deterministic and testable.
package tree

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// Status icons, as Argo's plugin prints them.
const (
	IconWaiting     = "◷"
	IconProgressing = "◌"
	IconWarning     = "⚠"
	IconUnknown     = "?"
	IconOK          = "✔"
	IconBad         = "✖"
	IconPaused      = "॥"
	IconNeutral     = "•"
)

// Kind icons of the tree.
const (
	IconRollout    = "⟳"
	IconRevision   = "#"
	IconReplicaSet = "⧉"
	IconPod        = "□"
)

// Tags shown next to images and ReplicaSets.
const (
	TagCanary  = "canary"
	TagStable  = "stable"
	TagActive  = "active"
	TagPreview = "preview"
	TagPing    = "ping"
	TagPong    = "pong"
)

// RolloutInfo is everything `get rollout` shows about a rollout.
type RolloutInfo struct {
	Name      string
	Namespace string
	Created   time.Time

	Status  string // Healthy, Progressing, Paused, Degraded
	Message string
	Icon    string

	Strategy     string // Canary, BlueGreen
	Step         string // "1/8", canary only
	SetWeight    string
	ActualWeight string

	Desired, Current, Updated, Ready, Available int32

	// ReplicaSets owned by the rollout, newest revision first.
	ReplicaSets []ReplicaSetInfo
}

// ReplicaSetInfo is one ReplicaSet of the tree.
type ReplicaSetInfo struct {
	Name     string
	UID      types.UID
	Created  time.Time
	Revision int64
	Status   string // Healthy, Progressing, ScaledDown, ReplicaFailure
	Icon     string

	Stable, Canary, Active, Preview, Ping, Pong bool

	Replicas  int32 // status.replicas
	Available int32
	// ScaleDownDeadline is the scale-down-deadline annotation (RFC 3339), if any.
	ScaleDownDeadline string
	Images            []string
	Pods              []PodInfo
}

// PodInfo is one pod of the tree.
type PodInfo struct {
	Name     string
	Created  time.Time
	Status   string // Running, Pending, ImagePullBackOff, Terminating, ...
	Icon     string
	Ready    string // "1/1"
	Restarts int32
}

// ImageInfo is an image running in the rollout, with the roles of the ReplicaSets running it.
type ImageInfo struct {
	Image string
	Tags  []string
}

// NewRolloutInfo summarises ro. ReplicaSets and pods may include objects of other owners: only
// the ReplicaSets the rollout owns, and the pods those own, are kept.
func NewRolloutInfo(ro *v1alpha1.Rollout, replicaSets []*appsv1.ReplicaSet, pods []*corev1.Pod) *RolloutInfo {
	info := &RolloutInfo{
		Name:      ro.Name,
		Namespace: ro.Namespace,
		Created:   ro.CreationTimestamp.Time,
	}
	info.ReplicaSets = replicaSetInfos(ro, replicaSets, pods)

	if c := ro.Spec.Strategy.Canary; c != nil {
		info.Strategy = "Canary"
		if ro.Status.CurrentStepIndex != nil && len(c.Steps) > 0 {
			info.Step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(c.Steps))
		}
		// The weight the steps ask for, not the one served.
		info.SetWeight = strconv.Itoa(int(rollout.CurrentSetWeight(ro)))
		info.ActualWeight = actualWeight(ro, info)
	} else if ro.Spec.Strategy.BlueGreen != nil {
		info.Strategy = "BlueGreen"
	}

	phase, msg := rollout.ObservedPhase(ro)
	info.Status, info.Message = string(phase), msg
	info.Icon = rolloutIcon(info.Status)

	info.Desired = 1
	if ro.Spec.Replicas != nil {
		info.Desired = *ro.Spec.Replicas
	}
	info.Current = ro.Status.Replicas
	info.Updated = ro.Status.UpdatedReplicas
	info.Ready = ro.Status.ReadyReplicas
	info.Available = ro.Status.AvailableReplicas
	return info
}

// actualWeight is the canary's share of traffic: 100 once the steps are done; without a traffic
// router the canary's share of available pods (rounded down, as Argo does); with one, the weight
// last written to the router.
func actualWeight(ro *v1alpha1.Rollout, info *RolloutInfo) string {
	if step, _ := rollout.CurrentStep(ro); step == nil {
		return "100"
	}
	if ro.Status.AvailableReplicas <= 0 {
		return "0"
	}
	if ro.Spec.Strategy.Canary.TrafficRouting != nil {
		if w := ro.Status.Canary.Weights; w != nil {
			return strconv.Itoa(int(w.Canary.Weight))
		}
		return info.SetWeight
	}
	weight := "0"
	for _, rs := range info.ReplicaSets {
		if rs.Canary {
			weight = strconv.Itoa(int(rs.Available * 100 / ro.Status.AvailableReplicas))
		}
	}
	return weight
}

// Revisions lists the revisions of the tree, newest first.
func (r *RolloutInfo) Revisions() []int64 {
	seen := map[int64]bool{}
	var revs []int64
	for _, rs := range r.ReplicaSets {
		if !seen[rs.Revision] {
			seen[rs.Revision] = true
			revs = append(revs, rs.Revision)
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] > revs[j] })
	return revs
}

// Images lists the images of the ReplicaSets that have pods, sorted, each with the roles of the
// ReplicaSets running it.
func (r *RolloutInfo) Images() []ImageInfo {
	tags := map[string]map[string]bool{}
	for _, rs := range r.ReplicaSets {
		if rs.Replicas <= 0 {
			continue
		}
		for _, img := range rs.Images {
			if tags[img] == nil {
				tags[img] = map[string]bool{}
			}
			for _, t := range rs.tags() {
				tags[img][t] = true
			}
		}
	}
	images := make([]ImageInfo, 0, len(tags))
	for img, set := range tags {
		info := ImageInfo{Image: img}
		for t := range set {
			info.Tags = append(info.Tags, t)
		}
		sort.Strings(info.Tags)
		images = append(images, info)
	}
	sort.Slice(images, func(i, j int) bool { return images[i].Image < images[j].Image })
	return images
}

// tags are the roles of a ReplicaSet, in the order the INFO column shows them.
func (rs *ReplicaSetInfo) tags() []string {
	var tags []string
	if rs.Stable {
		tags = append(tags, TagStable)
	}
	switch {
	case rs.Canary:
		tags = append(tags, TagCanary)
	case rs.Active:
		tags = append(tags, TagActive)
	case rs.Preview:
		tags = append(tags, TagPreview)
	}
	if rs.Ping {
		tags = append(tags, TagPing)
	}
	if rs.Pong {
		tags = append(tags, TagPong)
	}
	return tags
}

func replicaSetInfos(ro *v1alpha1.Rollout, replicaSets []*appsv1.ReplicaSet, pods []*corev1.Pod) []ReplicaSetInfo {
	var infos []ReplicaSetInfo
	for _, rs := range replicaSets {
		if !ownedBy(rs.OwnerReferences, ro.UID) {
			continue
		}
		info := ReplicaSetInfo{
			Name:              rs.Name,
			UID:               rs.UID,
			Created:           rs.CreationTimestamp.Time,
			Status:            replicaSetHealth(rs),
			Replicas:          rs.Status.Replicas,
			Available:         rs.Status.AvailableReplicas,
			ScaleDownDeadline: rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey],
		}
		info.Icon = replicaSetIcon(info.Status)
		info.Revision, _ = strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		if c := ro.Spec.Strategy.Canary; c != nil {
			stableIsPing := ro.Status.Canary.StablePingPong != v1alpha1.PPPong
			switch hash {
			case ro.Status.StableRS:
				info.Stable = true
				if c.PingPong != nil {
					info.Ping, info.Pong = stableIsPing, !stableIsPing
				}
			case ro.Status.CurrentPodHash:
				info.Canary = true
				if c.PingPong != nil {
					info.Ping, info.Pong = !stableIsPing, stableIsPing
				}
			}
		}
		if ro.Spec.Strategy.BlueGreen != nil {
			info.Stable = hash == ro.Status.StableRS
			switch hash {
			case ro.Status.BlueGreen.ActiveSelector:
				info.Active = true
			case ro.Status.BlueGreen.PreviewSelector:
				info.Preview = true
			}
		}
		for _, c := range rs.Spec.Template.Spec.Containers {
			info.Images = append(info.Images, c.Image)
		}
		for _, pod := range pods {
			if ownedBy(pod.OwnerReferences, rs.UID) {
				info.Pods = append(info.Pods, newPodInfo(pod))
			}
		}
		sort.SliceStable(info.Pods, func(i, j int) bool {
			a, b := info.Pods[i], info.Pods[j]
			if !a.Created.Equal(b.Created) {
				return a.Created.Before(b.Created)
			}
			return a.Name < b.Name
		})
		infos = append(infos, info)
	}
	sort.SliceStable(infos, func(i, j int) bool {
		if infos[i].Revision != infos[j].Revision {
			return infos[i].Revision > infos[j].Revision
		}
		return infos[i].Name < infos[j].Name
	})
	return infos
}

func ownedBy(refs []metav1.OwnerReference, uid types.UID) bool {
	if uid == "" {
		return false
	}
	for _, ref := range refs {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

// replicaSetHealth: Progressing until the ReplicaSet controller has seen the latest spec and all
// pods are available, ReplicaFailure when it cannot create pods, ScaledDown at zero replicas.
func replicaSetHealth(rs *appsv1.ReplicaSet) string {
	if rs.Generation > rs.Status.ObservedGeneration {
		return "Progressing"
	}
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return string(appsv1.ReplicaSetReplicaFailure)
		}
	}
	if rs.Spec.Replicas != nil && rs.Status.AvailableReplicas < *rs.Spec.Replicas {
		return "Progressing"
	}
	if rs.Spec.Replicas != nil && *rs.Spec.Replicas == 0 {
		return "ScaledDown"
	}
	return "Healthy"
}

// newPodInfo computes a pod's status as `kubectl get pods` shows it (the STATUS column): the
// reason of the first failing init container, else of the last container not running, else the
// phase; Terminating once deleted.
func newPodInfo(pod *corev1.Pod) PodInfo {
	info := PodInfo{Name: pod.Name, Created: pod.CreationTimestamp.Time}
	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	sidecar := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		sidecar[c.Name] = c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	}
	var restarts int32
	initializing := false
	for i, c := range pod.Status.InitContainerStatuses {
		restarts += c.RestartCount
		if c.State.Terminated != nil && c.State.Terminated.ExitCode == 0 {
			continue
		}
		if sidecar[c.Name] && c.Started != nil && *c.Started {
			if c.Ready {
				continue // a native sidecar, up
			}
			break // a sidecar starting: the pod is not initialising, it shows its phase
		}
		switch {
		case c.State.Terminated != nil:
			switch {
			case c.State.Terminated.Reason != "":
				reason = "Init:" + c.State.Terminated.Reason
			case c.State.Terminated.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", c.State.Terminated.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", c.State.Terminated.ExitCode)
			}
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + c.State.Waiting.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}
	ready := 0
	if !initializing {
		restarts = 0
		running := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := pod.Status.ContainerStatuses[i]
			restarts += c.RestartCount
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				reason = c.State.Waiting.Reason
			case c.State.Terminated != nil && c.State.Terminated.Reason != "":
				reason = c.State.Terminated.Reason
			case c.State.Terminated != nil && c.State.Terminated.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", c.State.Terminated.Signal)
			case c.State.Terminated != nil:
				reason = fmt.Sprintf("ExitCode:%d", c.State.Terminated.ExitCode)
			case c.Ready && c.State.Running != nil:
				running = true
				ready++
			}
		}
		if reason == "Completed" && running {
			reason = "Running"
		}
	}
	if pod.DeletionTimestamp != nil {
		if pod.Status.Reason == "NodeLost" {
			reason = "Unknown"
		} else {
			reason = "Terminating"
		}
	}
	info.Status = reason
	info.Icon = podIcon(reason)
	info.Ready = fmt.Sprintf("%d/%d", ready, len(pod.Spec.Containers))
	info.Restarts = restarts
	return info
}

func rolloutIcon(status string) string {
	switch status {
	case "Progressing":
		return IconProgressing
	case "Error", "InvalidSpec":
		return IconWarning
	case "Paused":
		return IconPaused
	case "Healthy":
		return IconOK
	case "Degraded":
		return IconBad
	case "Unknown":
		return IconUnknown
	case "ScaledDown":
		return IconNeutral
	}
	return " "
}

func replicaSetIcon(status string) string {
	switch status {
	case "Progressing":
		return IconProgressing
	case "Healthy":
		return IconOK
	case string(appsv1.ReplicaSetReplicaFailure):
		return IconBad
	case "ScaledDown":
		return IconNeutral
	}
	return " "
}

func podIcon(status string) string {
	switch {
	case strings.HasPrefix(status, "Init:"):
		return IconProgressing
	case strings.HasPrefix(status, "Signal:"), strings.HasPrefix(status, "ExitCode:"):
		return IconBad
	case strings.HasSuffix(status, "Error"), strings.HasPrefix(status, "Err"):
		return IconWarning
	}
	switch status {
	case "Pending", "Terminating", "ContainerCreating":
		return IconProgressing
	case "Running", "Completed":
		return IconOK
	case "Failed", "InvalidImageName", "CrashLoopBackOff":
		return IconBad
	case "ImagePullBackOff", "RegistryUnavailable":
		return IconWarning
	case "Unknown":
		return IconUnknown
	}
	return " "
}
