package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// Helpers that read YAML nodes by hand, so every error can name the file, line and field.

// fieldError is an error at a place in a scenario file.
type fieldError struct {
	line int
	path string
	msg  string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.line, e.path, e.msg)
}

func errAt(n *yaml.Node, path, format string, args ...any) error {
	return &fieldError{line: n.Line, path: path, msg: fmt.Sprintf(format, args...)}
}

type entry struct {
	key   string
	knode *yaml.Node
	value *yaml.Node
}

// fields reads a mapping node, rejecting duplicate keys and keys outside allowed.
func fields(n *yaml.Node, path string, allowed ...string) ([]entry, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, path, "want a mapping of %s", strings.Join(allowed, ", "))
	}
	seen := map[string]bool{}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return nil, errAt(k, path, "%q given twice", k.Value)
		}
		seen[k.Value] = true
		if !contains(allowed, k.Value) {
			return nil, errAt(k, join(path, k.Value), "unknown field (known: %s)", strings.Join(allowed, ", "))
		}
		out = append(out, entry{k.Value, k, v})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errAt(n, path, "want a string")
	}
	return n.Value, nil
}

func strList(n *yaml.Node, path string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(n, path, "want a string or a list of strings")
	}
	var out []string
	for i, c := range n.Content {
		s, err := str(c, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func integer(n *yaml.Node, path string) (int64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, errAt(n, path, "want a whole number")
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, errAt(n, path, "want a whole number, got %q", n.Value)
	}
	return v, nil
}

func boolean(n *yaml.Node, path string) (bool, error) {
	if n.Kind != yaml.ScalarNode {
		return false, errAt(n, path, "want true or false")
	}
	switch n.Value {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errAt(n, path, "want true or false, got %q", n.Value)
}

func duration(n *yaml.Node, path string) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, errAt(n, path, "want a duration like 30s or 5m")
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d < 0 {
		return 0, errAt(n, path, "want a duration like 30s or 5m, got %q", n.Value)
	}
	return d, nil
}

func delay(n *yaml.Node, path string) (dist.Delay, error) {
	if n.Kind != yaml.ScalarNode {
		return dist.Delay{}, errAt(n, path, "want a delay like 2s or 1s..3s")
	}
	d, err := dist.ParseDelay(n.Value)
	if err != nil {
		return dist.Delay{}, errAt(n, path, "%v", err)
	}
	return d, nil
}
