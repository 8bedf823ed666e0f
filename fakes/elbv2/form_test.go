package elbv2

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestDecodeFormReadsNestedListsAndScalars(t *testing.T) {
	form, _ := url.ParseQuery("Action=ModifyRule&RuleArn=r" +
		"&Actions.member.1.Type=forward&Actions.member.1.Order=1" +
		"&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=a" +
		"&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=80" +
		"&Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn=b" +
		"&Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight=20" +
		"&Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=true" +
		"&Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key=k" +
		"&Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value=v" +
		"&Conditions=")
	var in elbv2.ModifyRuleInput
	if err := decodeForm(form, &in); err != nil {
		t.Fatal(err)
	}
	want := elbv2.ModifyRuleInput{RuleArn: aws.String("r"), Conditions: []types.RuleCondition{},
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, Order: aws.Int32(1),
			AuthenticateOidcConfig: &types.AuthenticateOidcActionConfig{AuthenticationRequestExtraParams: map[string]string{"k": "v"}},
			ForwardConfig: &types.ForwardActionConfig{
				TargetGroups: []types.TargetGroupTuple{
					{TargetGroupArn: aws.String("a"), Weight: aws.Int32(80)},
					{TargetGroupArn: aws.String("b"), Weight: aws.Int32(20)},
				},
				TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true)},
			}}}}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("decoded %+v\nwant    %+v", in, want)
	}
}

func TestDecodeFormRejectsBadValues(t *testing.T) {
	for _, q := range []string{
		"Port=eighty", "Port=99999999999", "Tags.member.1.Key=a&Tags.member.3.Key=b", "Tags.member.x.Key=a",
		"Tags.member.01.Key=a", "Name.sub=x", "Tags.member.1.Key.deeper=x",
	} {
		form, _ := url.ParseQuery(q)
		var in elbv2.CreateTargetGroupInput
		if err := decodeForm(form, &in); err == nil {
			t.Errorf("%s: decoded %+v, want an error", q, in)
		}
	}
}

// FuzzDecodeForm feeds arbitrary query strings to the decoder for the inputs with the deepest
// shapes; it must never panic.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight=20",
		"Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=80",
		"Conditions.member.1.HttpHeaderConfig.Values.member.1=a&Conditions=",
		"Actions.member.1.AuthenticateCognitoConfig.AuthenticationRequestExtraParams.entry.1.key=k",
		"PageSize=-1&Names.member.1=x&Marker=",
		"Tags.member.1.Key=a&Tags.member.1=&Tags.member.1.Key.member.1=b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		for _, in := range []any{&elbv2.ModifyRuleInput{}, &elbv2.CreateRuleInput{}, &elbv2.CreateListenerInput{},
			&elbv2.RegisterTargetsInput{}, &elbv2.CreateTargetGroupInput{}, &elbv2.DescribeLoadBalancersInput{},
			&elbv2.SetRulePrioritiesInput{}, &elbv2.AddTagsInput{}} {
			_ = decodeForm(form, in)
		}
	})
}

// FuzzHandler sends arbitrary actions and parameters to a populated Fake over the Query
// protocol: every answer is well-formed XML with a 2xx, 4xx or 5xx status, and nothing panics.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{
		"Action=ModifyRule&RuleArn=RULE&Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=TG",
		"Action=RegisterTargets&TargetGroupArn=TG&Targets.member.1.Id=10.0.0.1",
		"Action=DescribeTargetHealth&TargetGroupArn=TG&Targets.member.1.Id=10.0.0.1",
		"Action=CreateRule&ListenerArn=LISTENER&Priority=3&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=/x&Actions.member.1.Type=fixed-response&Actions.member.1.FixedResponseConfig.StatusCode=503",
		"Action=SetRulePriorities&RulePriorities.member.1.RuleArn=RULE&RulePriorities.member.1.Priority=2",
		"Action=DeleteLoadBalancer&LoadBalancerArn=LB",
		"Action=DescribeTags&ResourceArns.member.1=TG&ResourceArns.member.2=LB",
		"Action=ModifyTargetGroupAttributes&TargetGroupArn=TG&Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		x := &fixture{t: t, s: newSched(), net: newNet()}
		x.f = New(DefaultConfig(), x.s, x.net, rand.New(rand.NewPCG(1, 2)))
		x.build(x.f)
		q = strings.NewReplacer("RULE", x.rule, "TG", x.stable, "LISTENER", x.listener, "LB", x.lb).Replace(q)
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(q))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		x.f.Handler().ServeHTTP(rec, req)
		if c := rec.Code; c != 200 && c != 400 && c != 500 && c != 503 {
			t.Fatalf("status %d for %q", c, q)
		}
		if !strings.HasSuffix(rec.Body.String(), "Response>") {
			t.Fatalf("unterminated answer %q", rec.Body.String())
		}
		x.s.runFor(600e9) // let health checks, drains and propagation run on whatever was built
		_ = x.f.Snapshot()
	})
}
