// Package analysis runs Argo Rollouts analysis: it builds an AnalysisRun from a rollout's analysis
// and its templates, and drives the run with Argo's semantics.
//
// Everything here is deterministic and takes time as an argument; nothing reads a clock.
//
//   - Building (build.go, args.go): NewRun resolves the rollout's args (values, pod-template
//     hashes, fieldRefs), the templates and the templates they reference, and merges them into
//     one AnalysisRun. ResolveMetric substitutes {{args.NAME}} into a metric at measurement time.
//   - Checking (validate.go): MetricLimits reads a metric's count, interval and limits with Argo's
//     defaults; ValidateMetrics applies Argo's rules; DryRunMetrics and RetentionLimits match the
//     dryRun and measurementRetention rules (regular expressions) to metric names.
//   - Judging (evaluate.go): EvaluateResult applies a metric's successCondition and
//     failureCondition, expr-lang expressions over `result`, with Argo's helpers.
//   - The state machine (state.go): Due says which metrics need a measurement at a given time,
//     RecordMeasurement counts a measurement, Assess moves metric and run phases (limits, dry-run,
//     termination), TrimMeasurements applies measurementRetention and NextReconcile says when
//     the run next needs attention. Each is a function of the run, its metrics and now.
//   - Step (step.go) is one reconciliation of a run: it chains the above and takes the due
//     measurements through Providers. It is the only part that does I/O, and only through them.
//   - Providers (provider.go, prometheus.go, web.go): Prometheus (an instant query through
//     client_golang's HTTP API client) and Web (an HTTP JSON endpoint and a JSONPath).
//
// Where rolloutlab departs from Argo it says so in the function's documentation.
package analysis
