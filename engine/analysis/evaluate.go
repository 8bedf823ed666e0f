package analysis

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// EvaluateResult judges one measured value with the metric's conditions, as Argo does:
//
//   - no condition: Successful;
//   - only successCondition: Successful when it holds, Failed otherwise;
//   - only failureCondition: Failed when it holds, Successful otherwise;
//   - both: Failed when failureCondition holds, else Successful when successCondition holds,
//     else Inconclusive.
//
// A condition that does not compile, fails at run time (result[0] of an empty vector) or is not a
// boolean gives Error.
func EvaluateResult(result any, metric v1alpha1.Metric) (v1alpha1.AnalysisPhase, error) {
	success, failure := false, false
	var err error
	if metric.SuccessCondition != "" {
		if success, err = EvalCondition(result, metric.SuccessCondition); err != nil {
			return v1alpha1.AnalysisPhaseError, err
		}
	}
	if metric.FailureCondition != "" {
		if failure, err = EvalCondition(result, metric.FailureCondition); err != nil {
			return v1alpha1.AnalysisPhaseError, err
		}
	}
	switch {
	case metric.SuccessCondition == "" && metric.FailureCondition == "":
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case metric.FailureCondition == "":
		failure = !success
	case metric.SuccessCondition == "":
		success = !failure
	}
	switch {
	case failure:
		return v1alpha1.AnalysisPhaseFailed, nil
	case success:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	}
	return v1alpha1.AnalysisPhaseInconclusive, nil
}

// EvalCondition evaluates an expr-lang (github.com/expr-lang/expr) expression with `result` bound
// to the measured value: a float64 (Prometheus scalar), a []float64 (Prometheus vector), or any
// JSON value (web metric: float64, string, bool, nil, []any, map[string]any).
//
// Besides expr's builtins (len, abs, all, any, filter, ...), the helpers of Argo's docs are there:
// isNaN(x), isInf(x), asInt(x), asFloat(x) (numbers or numeric strings), isNil(x) and
// default(x, d) (d when x is nil). Departures from Argo: isNil and default look at their
// argument (Argo's look at the whole result whatever they are given, which agrees for the
// documented default(result, 0)), and expr's now() is disabled and dates are in UTC, so a
// condition cannot depend on the wall clock.
func EvalCondition(result any, condition string) (bool, error) {
	env := map[string]any{
		"result":  derefValue(result),
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   isNil,
		"default": func(v, def any) any {
			if isNil(v) {
				return def
			}
			return v
		},
	}
	program, err := expr.Compile(condition, expr.Env(env), expr.DisableBuiltin("now"), expr.Timezone("UTC"))
	if err != nil {
		return false, unwrapFileError(err)
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, unwrapFileError(err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

// unwrapFileError drops expr's source excerpt, keeping the one-line message (as Argo does).
func unwrapFileError(err error) error {
	if fe, ok := err.(*file.Error); ok {
		return fmt.Errorf("%s", fe.Message)
	}
	return err
}

func asInt(in any) (int64, error) {
	switch v := in.(type) {
	case string:
		return strconv.ParseInt(v, 10, 64)
	case float64:
		return int64(v), nil
	case float32:
		return int64(v), nil
	}
	rv := reflect.ValueOf(in)
	switch {
	case rv.CanInt():
		return rv.Int(), nil
	case rv.CanUint():
		return int64(rv.Uint()), nil
	}
	return 0, fmt.Errorf("asInt() not supported on %T %v", in, in)
}

func asFloat(in any) (float64, error) {
	switch v := in.(type) {
	case string:
		return strconv.ParseFloat(v, 64)
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	}
	rv := reflect.ValueOf(in)
	switch {
	case rv.CanInt():
		return float64(rv.Int()), nil
	case rv.CanUint():
		return float64(rv.Uint()), nil
	}
	return 0, fmt.Errorf("asFloat() not supported on %T %v", in, in)
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// derefValue lets a provider pass a pointer (nil for "no value").
func derefValue(v any) any {
	if isNil(v) {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		return rv.Elem().Interface()
	}
	return v
}
