package kind

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/kind/pkg/cluster"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"

	e2ecluster "github.com/rolloutlab/rolloutlab/e2e/cluster"
	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	engineaws "github.com/rolloutlab/rolloutlab/engine/aws"

	// istio.io/api ships Istio's CRDs in kubernetes/customresourcedefinitions.gen.yaml. This
	// import keeps the module in go.mod, at the version pinned there, so that `go mod download`
	// fetches the file installCRDs applies (istioCRDFile finds it in the module cache).
	_ "istio.io/api/label"
)

const (
	clusterName = "rolloutlab-e2e"

	// featureTags are the @cluster features without the ALB ones. Those need cmd/fake-aws: its
	// admission webhook (the AWS Load Balancer Controller's part) listens on the host's
	// loopback, which the API server inside kind's node container cannot call. The local tier
	// (e2e/, make e2e-local) runs them, its API server being a host process.
	featureTags = "@cluster && ~@alb && ~@wip"

	// defaultLocalStackImage: ELBv2 is not in LocalStack's community image (it is a Pro
	// service), so this is the Pro image of the last release before LocalStack moved to
	// calendar versions. It needs LOCALSTACK_AUTH_TOKEN. LOCALSTACK_IMAGE overrides it.
	defaultLocalStackImage = "localstack/localstack-pro:4.14.0"
)

// demoImages are the pod images of the @cluster features. kind's kubelet pulls them from
// Docker Hub; pulling them once before the features start keeps that time out of the
// scenarios' time limits.
var demoImages = []string{
	"docker.io/argoproj/rollouts-demo:blue",
	"docker.io/argoproj/rollouts-demo:yellow",
	"docker.io/argoproj/rollouts-demo:red",
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestFeaturesOnKind runs the @cluster godog features (see featureTags) against a kind
// cluster, exactly as e2e/ runs them against the local control plane: through the cluster
// driver, each scenario in its own namespace with its own controller process (the binaries
// built from this tree), the user's actions through the kubectl plugin. Unlike the local tier's
// KWOK, kind's kubelet really runs the pods.
func TestFeaturesOnKind(t *testing.T) {
	needDocker(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinaries(t, root)
	provider, kubeconfig := kindCluster(t)
	pullDemoImages(t, provider)
	installCRDs(t, kubeconfig, istioCRDFile(t), filepath.Join(root, "manifests", "crds"))

	// The features are a package of the root module: run them there (not through this module's
	// build list), as e2e/features_test.go does for the local tier.
	// -v: one "--- PASS: TestFeatures/<scenario>" line per scenario, counted below.
	cmd := exec.Command("go", "test", "./features/", "-count=1", "-timeout=60m", "-run", "^TestFeatures$", "-v")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"FEATURES_KUBECONFIG="+kubeconfig,
		"FEATURES_BIN="+bin,
		"FEATURES_FAKE_AWS=", // no fake-aws here (see featureTags)
		"GODOG_TAGS="+featureTags,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stdout, &out), os.Stderr
	start := time.Now()
	err = cmd.Run()
	passed := strings.Count(out.String(), "--- PASS: TestFeatures/")
	t.Logf("%d scenarios (%s) passed in %s on kind", passed, featureTags, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		t.Fatalf("the features failed on kind: %v", err)
	}
	if passed == 0 {
		t.Fatalf("no scenario ran: does any feature match %q?", featureTags)
	}
}

// TestLocalStackTargetHealth checks the AWS side that the controller's
// --aws-verify-target-group reads, on LocalStack's ELBv2: a target group of IP targets is
// created, targets are registered, and engine/aws.Registrations (the controller's own code)
// finds every one of them in DescribeTargetHealth, in a state ELBv2 defines.
func TestLocalStackTargetHealth(t *testing.T) {
	needDocker(t)
	token := os.Getenv("LOCALSTACK_AUTH_TOKEN")
	if token == "" {
		t.Skip("LOCALSTACK_AUTH_TOKEN is not set: ELBv2 is not in LocalStack's community image, and since March 2026 " +
			"every LocalStack image needs an auth token; set it (the nightly job reads the secret of that name) to run this check")
	}
	image := envOr("LOCALSTACK_IMAGE", defaultLocalStackImage)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	ctr, err := localstack.Run(ctx, image, testcontainers.WithEnv(map[string]string{
		"SERVICES":              "elbv2,ec2",
		"LOCALSTACK_AUTH_TOKEN": token,
	}))
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("starting LocalStack (%s): %v", image, err)
	}
	endpoint, err := ctr.PortEndpoint(ctx, "4566/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("LocalStack %s at %s", image, endpoint)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	c := elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.BaseEndpoint = aws.String(endpoint) })

	vpc, err := defaultVPC(ctx, cfg, endpoint)
	if err != nil {
		t.Fatalf("finding LocalStack's default VPC (a target group of IP targets needs one): %v", err)
	}
	checkTargetHealth(ctx, t, c, vpc)
}

// checkTargetHealth creates a target group of IP targets in vpc, registers two targets and
// checks that engine/aws.Registrations, the controller's reading of DescribeTargetHealth,
// finds both in a state ELBv2 defines, and that an unknown target group is ELBv2's typed error.
func checkTargetHealth(ctx context.Context, t *testing.T, c *elbv2.Client, vpc string) {
	t.Helper()
	created, err := c.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:       aws.String("rolloutlab-e2e-canary"),
		Protocol:   elbv2types.ProtocolEnumHttp,
		Port:       aws.Int32(8080),
		VpcId:      aws.String(vpc),
		TargetType: elbv2types.TargetTypeEnumIp,
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	if len(created.TargetGroups) != 1 || aws.ToString(created.TargetGroups[0].TargetGroupArn) == "" {
		t.Fatalf("CreateTargetGroup returned %d target groups, want 1 with an ARN", len(created.TargetGroups))
	}
	arn := aws.ToString(created.TargetGroups[0].TargetGroupArn)

	ips := []string{"172.31.0.11", "172.31.0.12"} // in the default VPC's 172.31.0.0/16
	var targets []elbv2types.TargetDescription
	for _, ip := range ips {
		targets = append(targets, elbv2types.TargetDescription{Id: aws.String(ip), Port: aws.Int32(8080)})
	}
	if _, err := c.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}

	svc, ep, binding := canary(arn, ips)
	regs, err := engineaws.Registrations(ctx, c, svc, ep, []*tgbv1.TargetGroupBinding{binding})
	if err != nil {
		t.Fatalf("reading the registrations as the controller does (DescribeTargetHealth): %v", err)
	}
	if len(regs) != 1 {
		t.Fatalf("got %d registrations, want 1 (the binding's)", len(regs))
	}
	reg := regs[0]
	if missing := reg.Missing(false); len(missing) > 0 {
		t.Errorf("registered but not in DescribeTargetHealth: %v (it described %v)", missing, reg.Targets)
	}
	if len(reg.Targets) != len(ips) {
		t.Errorf("DescribeTargetHealth described %d targets (%v), want the %d registered", len(reg.Targets), reg.Targets, len(ips))
	}
	states := elbv2types.TargetHealthStateEnum("").Values()
	for addr, state := range reg.Targets {
		if !slices.Contains(states, elbv2types.TargetHealthStateEnum(state)) {
			t.Errorf("target %s: health state %q is not one of ELBv2's %v", addr, state, states)
		}
	}

	// A target group that does not exist is the typed error the controller reports.
	missingARN := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/rolloutlab-e2e-missing/0123456789abcdef"
	_, err = c.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(missingARN)})
	var notFound *elbv2types.TargetGroupNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("DescribeTargetHealth of an unknown target group: got %v, want a TargetGroupNotFoundException", err)
	}
}

// needDocker skips the test unless a Docker engine is reachable: testcontainers' own health
// check first (localstack.Run panics without an engine), then `docker info`, which is what
// kind's docker provider shells out to. Where the tier must run (E2E_KIND_REQUIRED=1, set by
// the nightly job) a missing engine fails the test instead of skipping it.
func needDocker(t *testing.T) {
	t.Helper()
	reached := false
	if os.Getenv("E2E_KIND_REQUIRED") == "1" {
		t.Cleanup(func() {
			if !reached {
				t.Error("E2E_KIND_REQUIRED=1, and no Docker engine was reachable (see the skip message)")
			}
		})
	}
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("kind needs a Docker engine, and `docker info` failed: %v: %s", err, bytes.TrimSpace(out))
	}
	reached = true
}

// buildBinaries builds the controller and the kubectl plugin from this tree, in the root
// module, into a directory for FEATURES_BIN.
func buildBinaries(t *testing.T, root string) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/rollouts-controller", "./cmd/kubectl-argo-rollouts")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the controller and the plugin: %v\n%s", err, out)
	}
	return bin
}

// kindCluster creates the kind cluster (KIND_NODE_IMAGE chooses the node image) and returns
// the path of its kubeconfig. The cluster is deleted when the test ends, unless KEEP_KIND=1;
// a cluster of that name left by such a run is reused. When the test fails, kind's logs are
// collected into KIND_LOGS_DIR (or a temporary directory).
func kindCluster(t *testing.T) (*cluster.Provider, string) {
	t.Helper()
	p := cluster.NewProvider(cluster.ProviderWithLogger(kindcmd.NewLogger()))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	existing, err := p.List()
	if err != nil {
		t.Fatalf("listing kind clusters: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dir := os.Getenv("KIND_LOGS_DIR")
			if dir == "" {
				dir, _ = os.MkdirTemp("", "rolloutlab-kind-logs-")
			}
			if err := p.CollectLogs(clusterName, dir); err != nil {
				t.Logf("collecting kind's logs: %v", err)
			} else {
				t.Logf("kind's logs are in %s", dir)
			}
		}
		if os.Getenv("KEEP_KIND") == "1" {
			t.Logf("KEEP_KIND=1: the kind cluster %s is kept (kind export kubeconfig --name %[1]s; kind delete cluster --name %[1]s)", clusterName)
			return
		}
		if err := p.Delete(clusterName, kubeconfig); err != nil {
			t.Errorf("deleting the kind cluster %s: %v", clusterName, err)
		}
	})
	if slices.Contains(existing, clusterName) {
		t.Logf("reusing the kind cluster %s (KIND_NODE_IMAGE does not apply to it)", clusterName)
		if err := p.ExportKubeConfig(clusterName, kubeconfig, false); err != nil {
			t.Fatalf("writing the kubeconfig of %s: %v", clusterName, err)
		}
		return p, kubeconfig
	}
	opts := []cluster.CreateOption{
		cluster.CreateWithKubeconfigPath(kubeconfig),
		cluster.CreateWithWaitForReady(5 * time.Minute),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	}
	if img := os.Getenv("KIND_NODE_IMAGE"); img != "" {
		opts = append(opts, cluster.CreateWithNodeImage(img))
	}
	start := time.Now()
	if err := p.Create(clusterName, opts...); err != nil {
		t.Fatalf("creating the kind cluster %s: %v", clusterName, err)
	}
	t.Logf("kind cluster %s ready in %s", clusterName, time.Since(start).Round(time.Second))
	return p, kubeconfig
}

// pullDemoImages pulls the features' pod images on every node of the cluster.
func pullDemoImages(t *testing.T, p *cluster.Provider) {
	t.Helper()
	nodes, err := p.ListNodes(clusterName)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("listing the nodes of %s: %d nodes, %v", clusterName, len(nodes), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, n := range nodes {
		for _, img := range demoImages {
			var out bytes.Buffer
			if err := n.CommandContext(ctx, "crictl", "pull", img).SetStdout(&out).SetStderr(&out).Run(); err != nil {
				t.Fatalf("pulling %s on node %s (is Docker Hub reachable?): %v\n%s", img, n, err, out.Bytes())
			}
		}
	}
}

// istioCRDFile is Istio's CRD file in the module cache, from the istio.io/api version that
// go.mod pins (downloaded if it is not there yet).
func istioCRDFile(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "istio.io/api")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m struct{ Version, Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &m)
	}
	if err != nil || m.Error != "" || m.Dir == "" {
		t.Fatalf("go mod download -json istio.io/api: %v %s\n%s%s", err, m.Error, out, stderr.Bytes())
	}
	t.Logf("Istio's CRDs from istio.io/api %s", m.Version)
	return filepath.Join(m.Dir, "kubernetes", "customresourcedefinitions.gen.yaml")
}

// installCRDs server-side applies Istio's CRD file and every file of rolloutlab's CRD
// directory, then waits until each CRD is Established and the API server serves the resources
// the controller and the features use.
func installCRDs(t *testing.T, kubeconfig, istioFile, ourDir string) {
	t.Helper()
	c, err := e2ecluster.Connect(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := filepath.Glob(filepath.Join(ourDir, "*.yaml"))
	if err != nil || len(ours) == 0 {
		t.Fatalf("no CRD files in %s (%v)", ourDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var names []string
	for _, f := range append([]string{istioFile}, ours...) {
		applied, err := applyCRDs(ctx, c, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) == 0 {
			t.Fatalf("%s holds no CRD", f)
		}
		names = append(names, applied...)
	}
	want := map[string][]string{
		// v1alpha3 is the controller's --istio-api-version default
		"networking.istio.io/v1alpha3": {"virtualservices", "destinationrules"},
		"networking.istio.io/v1":       {"virtualservices", "destinationrules"},
		"argoproj.io/v1alpha1":         {"rollouts", "analysistemplates", "clusteranalysistemplates", "analysisruns"},
	}
	err = poll(ctx, func() error {
		for _, name := range names {
			if err := established(ctx, c.Dynamic, name); err != nil {
				return err
			}
		}
		for gv, resources := range want {
			c.Discovery.Invalidate()
			list, err := c.Discovery.ServerResourcesForGroupVersion(gv)
			if err != nil {
				return fmt.Errorf("%s is not served: %w", gv, err)
			}
			for _, r := range resources {
				if !slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool { return a.Name == r }) {
					return fmt.Errorf("%s %s is not served", gv, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("installing the CRDs: %v", err)
	}
	t.Logf("%d CRDs established", len(names))
}

// applyCRDs server-side applies every document of a file, each of which must be a CRD, and
// returns their names.
func applyCRDs(ctx context.Context, c *e2ecluster.Clients, file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	objs, err := e2ecluster.Decode(file, data)
	if err != nil {
		return nil, err
	}
	var names []string
	for i, u := range objs {
		if u.GetKind() != "CustomResourceDefinition" {
			return nil, fmt.Errorf("%s: document %d is a %s, not a CustomResourceDefinition", file, i+1, u.GetKind())
		}
		if err := c.Apply(ctx, u, "", "rolloutlab-e2e-kind"); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		names = append(names, u.GetName())
	}
	return names, nil
}

// established is nil when the CRD's Established condition is True.
func established(ctx context.Context, dyn dynamic.Interface, name string) error {
	u, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
			return nil
		}
	}
	return fmt.Errorf("the CRD %s is not Established", name)
}

// poll calls cond every second until it returns nil, or returns its last error when ctx ends.
func poll(ctx context.Context, cond func() error) error {
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// canary is a Service whose ready endpoints are ips (port 8080) and its TargetGroupBinding to
// the target group arn, as the AWS Load Balancer Controller would have them.
func canary(arn string, ips []string) (*corev1.Service, *corev1.Endpoints, *tgbv1.TargetGroupBinding) {
	meta := metav1.ObjectMeta{Namespace: "default", Name: "canary"}
	svc := &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
	}}
	subset := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: "http", Port: 8080}}}
	for _, ip := range ips {
		subset.Addresses = append(subset.Addresses, corev1.EndpointAddress{IP: ip})
	}
	ep := &corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{subset}}
	targetType := tgbv1.TargetTypeIP
	binding := &tgbv1.TargetGroupBinding{ObjectMeta: meta, Spec: tgbv1.TargetGroupBindingSpec{
		TargetGroupARN: arn,
		TargetType:     &targetType,
		ServiceRef:     tgbv1.ServiceReference{Name: svc.Name, Port: intstr.FromInt32(80)},
	}}
	return svc, ep, binding
}

// defaultVPC asks LocalStack's EC2 API for the default VPC's id. It is one signed Query
// request, which keeps the large EC2 client module out of this test.
func defaultVPC(ctx context.Context, cfg aws.Config, endpoint string) (string, error) {
	form := url.Values{
		"Action":           {"DescribeVpcs"},
		"Version":          {"2016-11-15"},
		"Filter.1.Name":    {"isDefault"},
		"Filter.1.Value.1": {"true"},
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", cfg.Region, time.Now()); err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("DescribeVpcs: %s: %s", resp.Status, data)
	}
	var out struct {
		VPCs []string `xml:"vpcSet>item>vpcId"`
	}
	if err := xml.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("DescribeVpcs: %w: %s", err, data)
	}
	if len(out.VPCs) == 0 {
		return "", fmt.Errorf("DescribeVpcs found no default VPC: %s", data)
	}
	return out.VPCs[0], nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
