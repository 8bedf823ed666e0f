// Package awslbc models the AWS Load Balancer Controller (LBC): the component between the
// Kubernetes objects Argo Rollouts writes (Ingress annotations, Service selectors) and the AWS
// load balancer, where the ALB 502/503 races of Argo issues #1283, #2864, #3333 and #4433 live.
//
// It does what the real controller does where those incidents depend on it:
//   - Ingress reconcile: one internet-facing ALB per Ingress of its class, an HTTP:80 listener,
//     one rule per path (use-annotation backends take the weighted forward action of
//     <prefix>/actions.<name>), one ip target group per Service port with the LBC's health
//     checks, tags and deregistration delay, a TargetGroupBinding per target group, and the load
//     balancer's DNS name in the Ingress status. Resources are found again by name and tags on
//     every reconcile, so a restarted controller needs no memory of them. It deploys in the
//     LBC's order (target groups, load balancer, listener, rules, then bindings; deletions in
//     reverse), so a weight can point at a group whose targets are not registered yet;
//     Config.TargetsBeforeRules is the what-if that registers them first.
//   - TargetGroupBinding reconcile: the Service's ready endpoints, plus not-ready ones whose
//     containers are ready (the pods held back by a readiness gate), are registered; terminating
//     and vanished ones are deregistered (they drain in the ELBv2 fake); the readiness-gate
//     condition of each gated pod follows its target's health, and the binding is requeued every
//     15 s while a gated target is not healthy yet.
//   - the pod readiness-gate webhook, which injects gates only into pods created after a
//     matching Service and binding exist (#1283), and fails open while the controller is down.
//   - reconcile lag (a heavy-tailed delay), missed reconciles caught by the 10 h resync,
//     outages (a restart lists the world again), client-side token buckets on the virtual
//     clock, and exponential back-off on AWS errors and throttling.
//
// What the real controller does that this model does not:
//   - IngressGroups (group.name/group.order), IngressClass/IngressClassParams objects, the
//     namespace label the webhook needs, Service-type LoadBalancers (NLBs), Gateway API;
//   - HTTPS listeners, certificates, listen-ports, SSL redirect, security groups, subnets, WAF,
//     Shield, load balancer attributes, conditions.* annotations, actions other than forward,
//     instance targets, custom health-check ports/protocols/matchers (paths, intervals and
//     thresholds are read from the annotations);
//   - finalizers: an Ingress or binding deletion is known from the watch, and the stacks the
//     controller created are remembered in memory in their place;
//   - the binding checkpoint annotation and the targets cache: every binding reconcile reads
//     the target health from AWS;
//   - reconciles take no virtual time, so the 3 concurrent workers per kind never limit
//     anything; each kind is one queue whose keys are coalesced and serialized;
//   - the AWS SDK's own retries: an AWS error fails the reconcile at once and the work queue's
//     back-off (1 s doubling up to 16m40s) stands in for both;
//   - a resync with nothing missed is not run (it would only spend API calls).
//
// Time comes only from the sched.Scheduler and randomness only from the *rand.Rand given to New,
// so the same inputs and seed replay exactly.
package awslbc
