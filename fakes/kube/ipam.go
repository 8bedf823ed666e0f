package kube

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/types"
)

// IPAM hands out pod IPs like the host-local plugin: sequentially, wrapping around, skipping
// addresses in use. Released addresses are reused only after the rest of the range, which is how a
// stale load-balancer target can come to point at a different pod.
type IPAM struct {
	base  netip.Addr
	size  int
	next  int
	inUse map[int]types.NamespacedName
	byPod map[types.NamespacedName]int
}

// NewIPAM allocates from 10.244.0.0/16.
func NewIPAM() *IPAM {
	return &IPAM{base: netip.MustParseAddr("10.244.0.0"), size: 1 << 16, next: 2,
		inUse: map[int]types.NamespacedName{}, byPod: map[types.NamespacedName]int{}}
}

// Allocate returns the pod's IP, allocating one if it has none.
func (a *IPAM) Allocate(pod types.NamespacedName) (string, error) {
	if i, ok := a.byPod[pod]; ok {
		return a.addr(i), nil
	}
	for tries := 0; tries < a.size; tries++ {
		i := a.next
		if a.next++; a.next >= a.size {
			a.next = 2 // .0 is the network, .1 the gateway
		}
		if _, used := a.inUse[i]; used {
			continue
		}
		a.inUse[i] = pod
		a.byPod[pod] = i
		return a.addr(i), nil
	}
	return "", fmt.Errorf("pod IP range exhausted")
}

// Release frees the pod's IP.
func (a *IPAM) Release(pod types.NamespacedName) {
	if i, ok := a.byPod[pod]; ok {
		delete(a.byPod, pod)
		delete(a.inUse, i)
	}
}

// Owner says which pod holds an IP now.
func (a *IPAM) Owner(ip string) (types.NamespacedName, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !netip.PrefixFrom(a.base, 16).Contains(addr) {
		return types.NamespacedName{}, false
	}
	b, x := a.base.As4(), addr.As4()
	i := (int(x[2])-int(b[2]))<<8 | (int(x[3]) - int(b[3]))
	p, ok := a.inUse[i]
	return p, ok
}

func (a *IPAM) addr(i int) string {
	b := a.base.As4()
	b[2] += byte(i >> 8)
	b[3] += byte(i & 0xff)
	return netip.AddrFrom4(b).String()
}
