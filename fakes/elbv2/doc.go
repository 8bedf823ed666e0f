// Package elbv2 is an in-memory Elastic Load Balancing v2 (Application Load Balancer) model for
// the simulation: load balancers, listeners, rules, target groups, tags and targets whose health
// evolves on the virtual clock. It answers the aws-sdk-go-v2 elasticloadbalancingv2 calls in
// process (Fake satisfies API and engine/aws.ELBv2) and over HTTP in the AWS Query protocol
// (Handler), so the real SDK client, and a controller built on it, can use it too.
//
// What it models, because the rollout incidents live there:
//   - target states as DescribeTargetHealth reports them: initial until one passing check,
//     healthy/unhealthy after the threshold counts of checks run every interval, draining for
//     the deregistration delay, unused when no rule in effect forwards to the group;
//   - a control plane that accepts rule and listener changes at once and a data plane that uses
//     them only after Config.RulePropagation (Argo issue #4595);
//   - a data plane (Send, Request) that routes by rule priority and forward weights, fails open
//     when no target is healthy and answers 503 when there is nothing to send to;
//   - account-wide token-bucket throttling per API class, forced throttling and injected errors.
//
// What AWS does that it does not (its limits):
//   - only application load balancers with HTTP/HTTPS listeners and instance or ip target groups;
//     no network or gateway load balancers, lambda or alb targets, certificates, trust stores,
//     load balancer attributes, capacity reservations, rule transforms;
//   - no unhealthy.draining or unavailable states, administrative overrides or anomaly detection;
//   - one health checker per target group checks every target at the same instant, and a check
//     reports at once (no HealthCheckTimeoutSeconds wait); Target.Timeout only when the Network
//     implements Prober; health-check path and matcher are recorded, not used;
//   - stickiness is recorded and validated, not applied: every request picks a target group by
//     weight and a healthy target at random; slow start and routing algorithms are not modelled;
//   - rule conditions other than path-pattern, host-header and http-header never match, and
//     RegexValues are ignored;
//   - deregistering from a target group no rule uses, or with a zero delay, removes the target
//     at once; connection draining does not end early when a target has no connections;
//   - a target registered in a group is initial at once (no registration latency) and a group
//     is in use only through rules in effect, so targets read unused while a rule change that
//     starts using the group propagates;
//   - validation is close to AWS's but not identical (messages differ; unknown Query parameters
//     are ignored; subnets and VPC are optional and invented when missing); quotas other than
//     DescribeTags' 20 ARNs, 5 target groups per forward action and 50 tags are not enforced;
//   - deleting a listener or a load balancer reaches the data plane at once (a deleted rule
//     propagates like any rule change);
//   - over HTTP, the signature is not checked, unknown parameters are ignored and every client
//     error is HTTP 400 (as ELBv2 does), server faults 500 or 503.
//
// All time comes from the sched.Scheduler and all randomness from the *rand.Rand given to New
// (and to Send), so a simulation replays exactly. The Fake is safe for concurrent use (the HTTP
// server calls it from its goroutines), but the Scheduler it calls then must be too (or use
// HandlerVia), and the Network must not call back into the Fake.
package elbv2
