package elbv2

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
)

// APIVersion is the ELBv2 API version of the Query protocol.
const APIVersion = "2015-12-01"

// handler decodes one action's parameters, calls the API and returns the SDK output.
type handler func(api API, ctx context.Context, form url.Values) (any, error)

// op adapts an API method (a method expression such as API.DescribeRules) to a handler.
func op[In, Out any](m func(API, context.Context, *In, ...func(*elbv2.Options)) (*Out, error)) handler {
	return func(api API, ctx context.Context, form url.Values) (any, error) {
		in := new(In)
		if err := decodeForm(form, in); err != nil {
			return nil, invalid("%s", err.Error())
		}
		return m(api, ctx, in)
	}
}

// handlers are the actions the Query protocol serves: every API operation.
var handlers = map[string]handler{
	"DescribeLoadBalancers":         op(API.DescribeLoadBalancers),
	"DescribeListeners":             op(API.DescribeListeners),
	"DescribeRules":                 op(API.DescribeRules),
	"DescribeTargetGroups":          op(API.DescribeTargetGroups),
	"DescribeTags":                  op(API.DescribeTags),
	"DescribeTargetHealth":          op(API.DescribeTargetHealth),
	"DescribeTargetGroupAttributes": op(API.DescribeTargetGroupAttributes),
	"CreateLoadBalancer":            op(API.CreateLoadBalancer),
	"DeleteLoadBalancer":            op(API.DeleteLoadBalancer),
	"CreateListener":                op(API.CreateListener),
	"ModifyListener":                op(API.ModifyListener),
	"DeleteListener":                op(API.DeleteListener),
	"CreateRule":                    op(API.CreateRule),
	"ModifyRule":                    op(API.ModifyRule),
	"DeleteRule":                    op(API.DeleteRule),
	"SetRulePriorities":             op(API.SetRulePriorities),
	"CreateTargetGroup":             op(API.CreateTargetGroup),
	"ModifyTargetGroup":             op(API.ModifyTargetGroup),
	"DeleteTargetGroup":             op(API.DeleteTargetGroup),
	"ModifyTargetGroupAttributes":   op(API.ModifyTargetGroupAttributes),
	"RegisterTargets":               op(API.RegisterTargets),
	"DeregisterTargets":             op(API.DeregisterTargets),
	"AddTags":                       op(API.AddTags),
	"RemoveTags":                    op(API.RemoveTags),
}

// Handler serves the Fake over HTTP in the AWS Query protocol, for the aws-sdk-go-v2 client with
// BaseEndpoint set to the server's URL. The SigV4 signature is not checked; the access key ID it
// names is the caller the calls are counted under (see WithCaller). The calls run on the HTTP
// server's goroutines, so the Scheduler must be safe for concurrent use; see HandlerVia.
func (f *Fake) Handler() http.Handler { return queryHandler{f: f} }

// HandlerVia is Handler for a Scheduler that is not safe for concurrent use (the simulation
// kernel): every API call is passed to run, which must execute it, e.g. on the simulation's
// goroutine between two events, before it returns.
func (f *Fake) HandlerVia(run func(call func())) http.Handler { return queryHandler{f: f, run: run} }

type queryHandler struct {
	f   *Fake
	run func(func())
}

func (h queryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := h.f.requestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	if err := r.ParseForm(); err != nil {
		writeError(w, reqID, &smithy.GenericAPIError{Code: "MalformedQueryString", Message: err.Error(), Fault: smithy.FaultClient})
		return
	}
	action := r.Form.Get("Action")
	hd, ok := handlers[action]
	if !ok {
		writeError(w, reqID, &smithy.GenericAPIError{Code: "InvalidAction",
			Message: fmt.Sprintf("The action %q is not valid for this web service", action), Fault: smithy.FaultClient})
		return
	}
	var out any
	var err error
	call := func() { out, err = hd(h.f.WithCaller(callerOf(r)), r.Context(), r.Form) }
	if h.run != nil {
		h.run(call)
	} else {
		call()
	}
	if err != nil {
		writeError(w, reqID, err)
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s"><%sResult>`, action, xmlNamespace, action)
	encodeResult(&b, out)
	fmt.Fprintf(&b, `</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, action, reqID, action)
	_, _ = w.Write(b.Bytes())
}

// callerOf is the access key ID of a SigV4 Authorization header ("" when unsigned).
func callerOf(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

func (f *Fake) requestID() string {
	f.lock()
	defer f.unlock()
	f.reqSeq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.reqSeq)
}

// writeError answers with AWS's error document; the SDK picks the typed exception by Code.
func writeError(w http.ResponseWriter, reqID string, err error) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		apiErr = &smithy.GenericAPIError{Code: "InternalFailure", Message: err.Error(), Fault: smithy.FaultServer}
	}
	status, kind := http.StatusBadRequest, "Sender"
	if apiErr.ErrorFault() == smithy.FaultServer {
		status, kind = http.StatusInternalServerError, "Receiver"
		if apiErr.ErrorCode() == "ServiceUnavailable" {
			status = http.StatusServiceUnavailable
		}
	}
	var b bytes.Buffer
	b.WriteString("<ErrorResponse xmlns=\"" + xmlNamespace + "\"><Error><Type>" + kind + "</Type><Code>")
	_ = xml.EscapeText(&b, []byte(apiErr.ErrorCode()))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(apiErr.ErrorMessage()))
	b.WriteString("</Message></Error><RequestId>" + reqID + "</RequestId></ErrorResponse>")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
