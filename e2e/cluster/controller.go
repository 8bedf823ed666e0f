package cluster

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Controller is one rollouts-controller process run against a cluster.
type Controller struct {
	MetricsPort, HealthzPort int

	cmd  *exec.Cmd
	done chan struct{}
	out  syncBuffer
}

// StartController runs the controller binary with --kubeconfig, free loopback ports for
// /metrics and /healthz, and args; prefix starts each line of its output.
func StartController(binary, kubeconfig, prefix string, args ...string) (*Controller, error) {
	c := &Controller{done: make(chan struct{})}
	for _, p := range []*int{&c.MetricsPort, &c.HealthzPort} {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		_, port, _ := strings.Cut(addr, ":")
		*p, _ = strconv.Atoi(port)
	}
	args = append([]string{"--kubeconfig", kubeconfig,
		"--metricsPort", strconv.Itoa(c.MetricsPort), "--healthzPort", strconv.Itoa(c.HealthzPort)}, args...)
	c.cmd = exec.Command(binary, args...)
	w := &prefixWriter{buf: &c.out, prefix: prefix}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the rollout controller: %w", err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	return c, nil
}

// Kill stops the process at once (SIGKILL: it neither releases its lease nor finishes what it
// was doing) and waits until it is gone.
func (c *Controller) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// Pid is the process's id.
func (c *Controller) Pid() int { return c.cmd.Process.Pid }

// Output is what the process printed so far.
func (c *Controller) Output() string { return c.out.String() }

// RSSMiB is the process's resident memory.
func (c *Controller) RSSMiB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Pid()))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no VmRSS in /proc/%d/status", c.Pid())
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb / 1024, nil
}

// FreeAddr is a loopback address with a port nothing listens on now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// syncBuffer collects a process's output from its copying goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// prefixWriter starts each line written with a prefix.
type prefixWriter struct {
	buf    *syncBuffer
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	if w.prefix == "" {
		return w.buf.Write(p)
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line != "" {
			out.WriteString(w.prefix + line)
		}
	}
	_, _ = w.buf.Write(out.Bytes())
	return len(p), nil
}
