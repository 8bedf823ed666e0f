package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The analysis kinds of argoproj.io/v1alpha1: AnalysisTemplate, ClusterAnalysisTemplate and
// AnalysisRun, with the JSON of Argo Rollouts (v1.8), so templates and runs written for Argo
// decode unchanged. engine/analysis builds runs from templates and drives them.

// AnalysisTemplate describes how to analyse a rollout: the metrics to measure, how often, and what
// counts as success. It may be parameterised with args.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// AnalysisTemplateList is a list of AnalysisTemplates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []AnalysisTemplate `json:"items"`
}

// ClusterAnalysisTemplate is an AnalysisTemplate that is not namespaced: any rollout may use it
// with `clusterScope: true`. Its runs still live in the rollout's namespace.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisTemplateSpec is the content of an AnalysisTemplate or ClusterAnalysisTemplate.
type AnalysisTemplateSpec struct {
	// Metrics to measure. A template may have none when it only references other Templates.
	Metrics []Metric `json:"metrics,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// Args the metrics use as {{args.NAME}}; one without a value must be passed by the rollout.
	Args []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// DryRun metrics (names are regular expressions) are measured but never fail the run.
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// MeasurementRetention keeps more (or fewer) than the default 10 measurements per metric.
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// Templates are other templates whose metrics and args are merged into this one (Argo's
	// AnalysisTemplateRef: the same reference a Rollout's analysis uses).
	Templates []RolloutAnalysisTemplate `json:"templates,omitempty" patchStrategy:"merge" patchMergeKey:"templateName"`
}

// Metric is one measurement to take, repeatedly or once, and how to judge each value.
type Metric struct {
	Name string `json:"name"`
	// Interval between measurements ("30s", "5m"). Without it a single measurement is taken.
	Interval DurationString `json:"interval,omitempty"`
	// InitialDelay before the first measurement, counted from the run's start.
	InitialDelay DurationString `json:"initialDelay,omitempty"`
	// Count of measurements to take. Unset or 0: 1 without an interval, unlimited with one.
	// A string is allowed so that it can come from an arg ("{{args.count}}").
	Count *intstr.IntOrString `json:"count,omitempty"`
	// SuccessCondition is an expr-lang expression over `result`; true means Successful.
	SuccessCondition string `json:"successCondition,omitempty"`
	// FailureCondition is an expr-lang expression over `result`; true means Failed. With both
	// conditions set, a value that meets neither is Inconclusive.
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is the number of Failed measurements tolerated (default 0; -1 disables it).
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`
	// InconclusiveLimit is the number of Inconclusive measurements tolerated (default 0).
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit is the number of measurement errors in a row tolerated (default 4).
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`
	// ConsecutiveSuccessLimit, when above 0, ends the metric Successful after that many
	// Successful measurements in a row (default 0: disabled).
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`
	// Provider says where the measurement comes from.
	Provider MetricProvider `json:"provider"`
}

// DefaultConsecutiveErrorLimit is the number of measurement errors in a row a metric tolerates
// when consecutiveErrorLimit is unset.
const DefaultConsecutiveErrorLimit = 4

// MetricProvider is the system a metric is measured with; exactly one field is set.
//
// rolloutlab implements Prometheus and Web. The Job provider is decoded with its full type but is
// not run. The other providers Argo knows are kept as opaque JSON, so a template that uses them
// decodes and its run then ends in Error with a "not supported" message.
type MetricProvider struct {
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	Web        *WebMetric        `json:"web,omitempty"`
	// Job is not supported by rolloutlab yet.
	Job *JobMetric `json:"job,omitempty"`

	// Kayenta is not supported by rolloutlab; kept opaque.
	Kayenta *runtime.RawExtension `json:"kayenta,omitempty"`
	// Datadog is not supported by rolloutlab; kept opaque.
	Datadog *runtime.RawExtension `json:"datadog,omitempty"`
	// Wavefront is not supported by rolloutlab; kept opaque.
	Wavefront *runtime.RawExtension `json:"wavefront,omitempty"`
	// NewRelic is not supported by rolloutlab; kept opaque.
	NewRelic *runtime.RawExtension `json:"newRelic,omitempty"`
	// CloudWatch is not supported by rolloutlab; kept opaque.
	CloudWatch *runtime.RawExtension `json:"cloudWatch,omitempty"`
	// Graphite is not supported by rolloutlab; kept opaque.
	Graphite *runtime.RawExtension `json:"graphite,omitempty"`
	// Influxdb is not supported by rolloutlab; kept opaque.
	Influxdb *runtime.RawExtension `json:"influxdb,omitempty"`
	// SkyWalking is not supported by rolloutlab; kept opaque.
	SkyWalking *runtime.RawExtension `json:"skywalking,omitempty"`
	// Plugin (metric provider plugins, keyed by plugin name) is not supported by rolloutlab; kept opaque.
	Plugin *runtime.RawExtension `json:"plugin,omitempty"`
}

// Type names the provider that is set ("prometheus", "web", ...), the first one in field order
// when several are; "" when none is.
func (p MetricProvider) Type() string {
	if names := p.Types(); len(names) > 0 {
		return names[0]
	}
	return ""
}

// Types names every provider that is set, by its JSON field name.
func (p MetricProvider) Types() []string {
	var names []string
	add := func(set bool, name string) {
		if set {
			names = append(names, name)
		}
	}
	add(p.Prometheus != nil, "prometheus")
	add(p.Web != nil, "web")
	add(p.Job != nil, "job")
	add(p.Kayenta != nil, "kayenta")
	add(p.Datadog != nil, "datadog")
	add(p.Wavefront != nil, "wavefront")
	add(p.NewRelic != nil, "newRelic")
	add(p.CloudWatch != nil, "cloudWatch")
	add(p.Graphite != nil, "graphite")
	add(p.Influxdb != nil, "influxdb")
	add(p.SkyWalking != nil, "skywalking")
	add(p.Plugin != nil, "plugin")
	return names
}

// PrometheusMetric is an instant PromQL query.
type PrometheusMetric struct {
	// Address of the Prometheus server, e.g. http://prometheus.example.com:9090.
	Address string `json:"address,omitempty"`
	// Query is the PromQL expression; {{args.NAME}} placeholders are substituted first.
	Query string `json:"query,omitempty"`
	// Authentication for Amazon Managed Prometheus (SigV4) or OAuth2. A struct, so Argo always
	// emits it. rolloutlab does not support either yet.
	Authentication PrometheusAuth `json:"authentication,omitempty"`
	// Timeout of the query in seconds (default 30).
	Timeout *int64 `json:"timeout,omitempty"`
	// Insecure skips TLS verification of the server.
	Insecure bool `json:"insecure,omitempty"`
	// Headers added to every query request (e.g. X-Scope-Org-ID).
	Headers []WebMetricHeader `json:"headers,omitempty" patchStrategy:"merge" patchMergeKey:"key"`
}

// PrometheusAuth holds the ways of authenticating to Prometheus.
type PrometheusAuth struct {
	Sigv4  Sigv4Config  `json:"sigv4,omitempty"`
	OAuth2 OAuth2Config `json:"oauth2,omitempty"`
}

// IsEmpty tells whether no authentication is configured.
func (a PrometheusAuth) IsEmpty() bool {
	return a.Sigv4 == (Sigv4Config{}) && a.OAuth2.TokenURL == "" && a.OAuth2.ClientID == "" &&
		a.OAuth2.ClientSecret == "" && len(a.OAuth2.Scopes) == 0
}

// Sigv4Config signs Prometheus queries for Amazon Managed Prometheus.
type Sigv4Config struct {
	Region  string `json:"region,omitempty"`
	Profile string `json:"profile,omitempty"`
	RoleARN string `json:"roleArn,omitempty"`
}

// OAuth2Config obtains a bearer token with the client-credentials flow.
type OAuth2Config struct {
	TokenURL     string   `json:"tokenUrl,omitempty"`
	ClientID     string   `json:"clientId,omitempty"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
}

// WebMetric is an HTTP request whose JSON answer (or the part JSONPath selects) is the result.
type WebMetric struct {
	// Method is GET (default), POST or PUT.
	Method WebMetricMethod `json:"method,omitempty"`
	URL    string          `json:"url"`
	// Headers of the request.
	Headers []WebMetricHeader `json:"headers,omitempty" patchStrategy:"merge" patchMergeKey:"key"`
	// Body of a POST or PUT request.
	Body string `json:"body,omitempty"`
	// TimeoutSeconds of the request (default 10).
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`
	// JSONPath selects the result in the answer (default "{$}", the whole document).
	JSONPath string `json:"jsonPath,omitempty"`
	// Insecure skips TLS verification of the server.
	Insecure bool `json:"insecure,omitempty"`
	// JSONBody is a JSON body for a POST or PUT request; it sets Content-Type: application/json.
	JSONBody json.RawMessage `json:"jsonBody,omitempty"`
}

// WebMetricMethod is the HTTP method of a web metric.
type WebMetricMethod string

const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetricHeader is one HTTP header.
type WebMetricHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// JobMetric runs a Kubernetes Job whose success or failure is the measurement. rolloutlab decodes
// it but does not run it yet.
type JobMetric struct {
	Metadata metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec     batchv1.JobSpec   `json:"spec"`
}

// Argument is a template or run argument. In a template, one without Value or ValueFrom must be
// passed by the rollout.
type Argument struct {
	Name      string         `json:"name"`
	Value     *ArgumentValue `json:"value,omitempty"`
	ValueFrom *ValueFrom     `json:"valueFrom,omitempty"`
}

// ArgumentValue is the value of an argument, a string. It also decodes from a JSON number or
// boolean, kept as written: Argo's own docs write `value: 9090`, which its CRD schema would
// reject. It always encodes as a string.
type ArgumentValue string

// UnmarshalJSON accepts a string, a number or a boolean.
func (v *ArgumentValue) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*v = ArgumentValue(s)
		return nil
	}
	var scalar any
	if err := json.Unmarshal(data, &scalar); err != nil {
		return err
	}
	switch scalar.(type) {
	case float64, bool:
		*v = ArgumentValue(data)
		return nil
	}
	return fmt.Errorf("argument value must be a string, number or boolean, not %s", data)
}

// String returns the value; "" for a nil value.
func (v *ArgumentValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

// ValueFrom takes an argument's value from a Secret or from a field of the run's owner.
type ValueFrom struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
	FieldRef     *FieldRef     `json:"fieldRef,omitempty"`
}

// SecretKeyRef selects a key of a Secret in the run's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// AnalysisRun is one execution of the metrics of one or more templates: it measures until every
// metric completes, then ends Successful, Failed, Error or Inconclusive.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              AnalysisRunSpec   `json:"spec"`
	Status            AnalysisRunStatus `json:"status,omitempty"`
}

// AnalysisRunList is a list of AnalysisRuns.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []AnalysisRun `json:"items"`
}

// AnalysisRunSpec is what a run measures. Metrics keep their {{args.NAME}} placeholders; they are
// substituted from Args at each measurement.
type AnalysisRunSpec struct {
	Metrics []Metric   `json:"metrics" patchStrategy:"merge" patchMergeKey:"name"`
	Args    []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// Terminate stops the run early (the rollout completed, or was aborted).
	Terminate            bool                   `json:"terminate,omitempty"`
	DryRun               []DryRun               `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// TTLStrategy deletes the run some time after it completes.
	TTLStrategy *TTLStrategy `json:"ttlStrategy,omitempty"`
}

// TTLStrategy says how long a completed run is kept.
type TTLStrategy struct {
	SecondsAfterCompletion *int32 `json:"secondsAfterCompletion,omitempty"`
	SecondsAfterSuccess    *int32 `json:"secondsAfterSuccess,omitempty"`
	SecondsAfterFailure    *int32 `json:"secondsAfterFailure,omitempty"`
}

// AnalysisRunStatus is the progress and outcome of a run.
type AnalysisRunStatus struct {
	Phase   AnalysisPhase `json:"phase"`
	Message string        `json:"message,omitempty"`
	// MetricResults has one entry per metric measured at least once, in the order first measured.
	MetricResults []MetricResult `json:"metricResults,omitempty"`
	StartedAt     *metav1.Time   `json:"startedAt,omitempty"`
	// RunSummary counts the metrics (dry-run ones excluded) by outcome.
	RunSummary RunSummary `json:"runSummary,omitempty"`
	// DryRunSummary counts the dry-run metrics by outcome.
	DryRunSummary *RunSummary `json:"dryRunSummary,omitempty"`
	// CompletedAt is when the run reached a completed phase.
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// RunSummary counts metrics by their outcome.
type RunSummary struct {
	Count        int32 `json:"count,omitempty"`
	Successful   int32 `json:"successful,omitempty"`
	Failed       int32 `json:"failed,omitempty"`
	Inconclusive int32 `json:"inconclusive,omitempty"`
	Error        int32 `json:"error,omitempty"`
}

// MetricResult is the recent measurements of one metric and counters over all of them.
type MetricResult struct {
	Name  string        `json:"name"`
	Phase AnalysisPhase `json:"phase"`
	// Measurements holds the latest measurements (10 unless measurementRetention says otherwise).
	Measurements []Measurement `json:"measurements,omitempty"`
	Message      string        `json:"message,omitempty"`
	// Count of measurements that did not error: Successful + Failed + Inconclusive.
	Count        int32 `json:"count,omitempty"`
	Successful   int32 `json:"successful,omitempty"`
	Failed       int32 `json:"failed,omitempty"`
	Inconclusive int32 `json:"inconclusive,omitempty"`
	Error        int32 `json:"error,omitempty"`
	// ConsecutiveError counts errors in a row; any other outcome resets it.
	ConsecutiveError int32 `json:"consecutiveError,omitempty"`
	// DryRun tells that the metric runs in dry-run mode.
	DryRun bool `json:"dryRun,omitempty"`
	// Metadata from the provider, e.g. the resolved Prometheus query.
	Metadata map[string]string `json:"metadata,omitempty"`
	// ConsecutiveSuccess counts Successful measurements in a row; any other outcome resets it.
	ConsecutiveSuccess int32 `json:"consecutiveSuccess,omitempty"`
}

// Measurement is one value of a metric and its judgement.
type Measurement struct {
	Phase      AnalysisPhase `json:"phase"`
	Message    string        `json:"message,omitempty"`
	StartedAt  *metav1.Time  `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time  `json:"finishedAt,omitempty"`
	// Value as text: "0.97", "[0.97,0.5]", "NaN", a JSON document for web metrics.
	Value    string            `json:"value,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// ResumeAt is when an in-flight measurement (of an asynchronous provider) is next checked.
	ResumeAt *metav1.Time `json:"resumeAt,omitempty"`
}

// Completed tells whether the phase is final: Successful, Failed, Error or Inconclusive.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}
