package elbv2

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// newWireFixture builds the fixture through the real SDK client over the Query protocol.
func newWireFixture(t *testing.T, cfg Config) (*fixture, *elbv2.Client, string) {
	x := &fixture{t: t, s: newSched(), net: newNet()}
	x.f = New(cfg, x.s, x.net, rand.New(rand.NewPCG(1, 2)))
	srv := httptest.NewServer(x.f.Handler())
	t.Cleanup(srv.Close)
	c := elbv2.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("lbc", "secret", "")},
		func(o *elbv2.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.Retryer = aws.NopRetryer{} // deterministic: no backoff sleeps
		})
	x.build(c)
	return x, c, srv.URL
}

// same fails unless the output over the wire equals the in-process one (metadata aside).
func same[O any](t *testing.T, what string, wire *O, wireErr error, local *O, localErr error) {
	t.Helper()
	if wireErr != nil || localErr != nil {
		t.Fatalf("%s: wire error %v, in-process error %v", what, wireErr, localErr)
	}
	for _, o := range []*O{wire, local} {
		if f := reflect.ValueOf(o).Elem().FieldByName("ResultMetadata"); f.IsValid() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	if !reflect.DeepEqual(wire, local) {
		w, _ := json.Marshal(wire)
		l, _ := json.Marshal(local)
		t.Fatalf("%s differs\nwire:       %s\nin-process: %s", what, w, l)
	}
}

func TestQueryProtocolAnswersAsTheInProcessAPI(t *testing.T) {
	x, c, _ := newWireFixture(t, Config{})
	ctx := context.Background()
	must(c.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(x.stable), Targets: targets("10.0.0.1", "10.0.0.2", "10.0.0.3")}))(t)
	must(c.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(x.canary), Targets: targets("10.0.1.1")}))(t)
	x.net.unhealthy[key("10.0.0.2", 8080)] = true
	x.s.runFor(time.Minute)
	must(c.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(x.stable), Targets: targets("10.0.0.3")}))(t)
	must(c.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{x.rule}, Tags: []types.Tag{tag("empty", ""), tag("x", "<&>")}}))(t)

	{
		in := &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(300)}
		w, we := c.DescribeLoadBalancers(ctx, in)
		l, le := x.f.DescribeLoadBalancers(ctx, in)
		same(t, "DescribeLoadBalancers", w, we, l, le)
		if w.LoadBalancers[0].CreatedTime == nil || *w.LoadBalancers[0].DNSName != x.dns {
			t.Fatalf("load balancer over the wire: %+v", w.LoadBalancers[0])
		}
	}
	{
		in := &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(x.lb)}
		w, we := c.DescribeListeners(ctx, in)
		l, le := x.f.DescribeListeners(ctx, in)
		same(t, "DescribeListeners", w, we, l, le)
	}
	{
		in := &elbv2.DescribeRulesInput{ListenerArn: aws.String(x.listener)}
		w, we := c.DescribeRules(ctx, in)
		l, le := x.f.DescribeRules(ctx, in)
		same(t, "DescribeRules", w, we, l, le)
		if len(w.Rules) != 2 || !*w.Rules[1].IsDefault {
			t.Fatalf("rules over the wire: %+v", w.Rules)
		}
	}
	for _, in := range []*elbv2.DescribeTargetGroupsInput{
		{LoadBalancerArn: aws.String(x.lb)}, {TargetGroupArns: []string{x.canary}}, {Names: []string{"k8s-default-stable-0a1b2c3d4e"}}, {},
	} {
		w, we := c.DescribeTargetGroups(ctx, in)
		l, le := x.f.DescribeTargetGroups(ctx, in)
		same(t, "DescribeTargetGroups", w, we, l, le)
	}
	{
		in := &elbv2.DescribeTagsInput{ResourceArns: []string{x.stable, x.canary, x.lb, x.rule}}
		w, we := c.DescribeTags(ctx, in)
		l, le := x.f.DescribeTags(ctx, in)
		same(t, "DescribeTags", w, we, l, le)
	}
	for _, in := range []*elbv2.DescribeTargetHealthInput{
		{TargetGroupArn: aws.String(x.stable)},
		{TargetGroupArn: aws.String(x.stable), Targets: targets("10.0.0.2", "10.0.0.9")},
	} {
		w, we := c.DescribeTargetHealth(ctx, in)
		l, le := x.f.DescribeTargetHealth(ctx, in)
		same(t, "DescribeTargetHealth", w, we, l, le)
	}
	{
		in := &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(x.stable)}
		w, we := c.DescribeTargetGroupAttributes(ctx, in)
		l, le := x.f.DescribeTargetGroupAttributes(ctx, in)
		same(t, "DescribeTargetGroupAttributes", w, we, l, le)
	}
	// The states came through: healthy, unhealthy with its reason, draining.
	out := must(c.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(x.stable)}))(t)
	var states []string
	for _, d := range out.TargetHealthDescriptions {
		states = append(states, string(d.TargetHealth.State)+"/"+string(d.TargetHealth.Reason))
	}
	if got := strings.Join(states, " "); got != "healthy/ unhealthy/Target.FailedHealthChecks draining/Target.DeregistrationInProgress" {
		t.Fatalf("states over the wire: %s", got)
	}
}

func TestDescribeLoadBalancersPagesOverTheWire(t *testing.T) {
	x, c, _ := newWireFixture(t, Config{})
	ctx := context.Background()
	must(c.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("second"), Scheme: types.LoadBalancerSchemeEnumInternal}))(t)
	p := elbv2.NewDescribeLoadBalancersPaginator(c, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(1)})
	var dns []string
	for p.HasMorePages() {
		out := must(p.NextPage(ctx))(t)
		for _, lb := range out.LoadBalancers {
			dns = append(dns, *lb.DNSName)
		}
	}
	if len(dns) != 2 || dns[0] != x.dns || !strings.HasPrefix(dns[1], "internal-second-") {
		t.Fatalf("paged DNS names %v", dns)
	}
}

func TestModifyRuleWithWeightsRoundTrips(t *testing.T) {
	x, c, _ := newWireFixture(t, Config{})
	ctx := context.Background()
	action := x.forward(80, 20)
	action.ForwardConfig.TargetGroupStickinessConfig = &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(3600)}
	out := must(c.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule), Actions: []types.Action{action},
		Conditions: []types.RuleCondition{{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{
			HttpHeaderName: aws.String("X-Canary"), Values: []string{"a", "b"}}}}}))(t)
	local := must(x.f.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{x.rule}}))(t)
	if !reflect.DeepEqual(out.Rules, local.Rules) {
		t.Fatalf("ModifyRule answered %+v, the model holds %+v", out.Rules, local.Rules)
	}
	got := out.Rules[0].Actions[0].ForwardConfig
	if weightOf(got.TargetGroups, x.canary) != 20 || weightOf(got.TargetGroups, x.stable) != 80 ||
		*got.TargetGroupStickinessConfig.DurationSeconds != 3600 || *got.TargetGroupStickinessConfig.Enabled != true {
		t.Fatalf("forward config %+v", got)
	}
	if h := out.Rules[0].Conditions[0].HttpHeaderConfig; *h.HttpHeaderName != "X-Canary" || !reflect.DeepEqual(h.Values, []string{"a", "b"}) {
		t.Fatalf("header condition %+v", h)
	}
	// And the data plane follows it.
	x.healthyTargets(x.canary, "10.0.1.1")
	resp := x.f.Send(HTTPRequest{Host: x.dns, Headers: map[string]string{"X-Canary": "b"}}, rand.New(rand.NewPCG(1, 1)))
	if resp.RuleArn != x.rule {
		t.Fatalf("request with the header: %+v, want rule 1", resp)
	}
}

func TestTypedErrorsArriveTyped(t *testing.T) {
	x, c, _ := newWireFixture(t, Config{})
	for _, tc := range notFoundCalls(c) {
		if err := tc.call(); err == nil || !errors.As(err, tc.want) {
			t.Errorf("%s over the wire: %v (%T), want %T", tc.name, err, err, reflect.ValueOf(tc.want).Elem().Interface())
		}
	}
	ctx := context.Background()
	_, err := c.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(x.canary)})
	if !errors.As(err, new(*types.ResourceInUseException)) {
		t.Errorf("DeleteTargetGroup in use: %v, want ResourceInUse", err)
	}
	_, err = c.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(x.listener), Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(x.stable)}}})
	if !errors.As(err, new(*types.PriorityInUseException)) {
		t.Errorf("CreateRule on a used priority: %v, want PriorityInUse", err)
	}
	_, err = c.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: make([]string, 21)})
	if errorCode(err) != "ValidationError" || httpStatus(err) != 400 {
		t.Errorf("DescribeTags with 21 ARNs: %v, want ValidationError (400)", err)
	}
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestThrottlingAndFaultsOverTheWire(t *testing.T) {
	x, c, _ := newWireFixture(t, Config{})
	ctx := context.Background()
	in := &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(x.stable)}
	x.f.SetThrottled(true)
	_, err := c.DescribeTargetHealth(ctx, in)
	if !isThrottle(err) || errorCode(err) != "Throttling" || httpStatus(err) != 400 {
		t.Fatalf("throttled: %v (status %d), want a 400 Throttling the SDK sees as a throttle", err, httpStatus(err))
	}
	x.f.SetThrottled(false)
	x.f.SetErrorRate("DescribeTargetHealth", 1000, "InternalFailure")
	_, err = c.DescribeTargetHealth(ctx, in)
	if errorCode(err) != "InternalFailure" || httpStatus(err) != 500 {
		t.Fatalf("injected: %v (status %d), want a 500 InternalFailure", err, httpStatus(err))
	}
	for _, s := range x.f.Calls() {
		if s.Op == "DescribeTargetHealth" && (s.Caller != "lbc" || s.Throttled != 1 || s.Injected != 1) {
			t.Fatalf("calls %+v, want one throttled and one injected under the access key 'lbc'", s)
		}
	}
}

func TestRawQueryProtocol(t *testing.T) {
	x, _, u := newWireFixture(t, Config{})
	post := func(form url.Values) (int, string) {
		resp, err := http.PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(url.Values{"Action": {"DescribeTargetHealth"}, "Version": {APIVersion}, "TargetGroupArn": {x.stable}})
	if code != 200 || !strings.HasPrefix(body, `<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>`) {
		t.Fatalf("%d %s", code, body)
	}
	code, body = post(url.Values{"Action": {"Explode"}})
	if code != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Fatalf("unknown action: %d %s", code, body)
	}
	code, body = post(url.Values{"Action": {"RegisterTargets"}, "TargetGroupArn": {x.stable}, "Targets.member.2.Id": {"10.0.0.1"}})
	if code != 400 || !strings.Contains(body, "<Code>ValidationError</Code>") || !strings.Contains(body, "Targets.member.1 is missing") {
		t.Fatalf("a gap in a list: %d %s", code, body)
	}
}

func TestHandlerViaRunsEveryCallThroughRun(t *testing.T) {
	x := newFixture(t, Config{})
	var mu sync.Mutex
	runs := 0
	srv := httptest.NewServer(x.f.HandlerVia(func(call func()) {
		mu.Lock() // stands for "on the simulation's goroutine"
		defer mu.Unlock()
		runs++
		call()
	}))
	defer srv.Close()
	resp, err := http.PostForm(srv.URL, url.Values{"Action": {"DescribeRules"}, "ListenerArn": {x.listener}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || runs != 1 || !strings.Contains(string(b), x.rule) {
		t.Fatalf("status %d after %d runs: %s", resp.StatusCode, runs, b)
	}
}
