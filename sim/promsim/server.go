package promsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// Server answers GET or POST /api/v1/query like a Prometheus server whose data is the DB.
// Queries without a time parameter run at Now().
type Server struct {
	db     *DB
	engine *promql.Engine
	now    func() time.Time
	// Down, when set, makes every query fail with 503 (a provider outage).
	Down bool
	// Slow, when set, makes every query run past its timeout: Prometheus answers 503 with
	// errorType "timeout", as it does when --query.timeout is exceeded. (Queries take no virtual
	// time, so a slow query that still finishes in time is not modelled.)
	Slow bool
	// Queries counts the queries answered.
	Queries int
}

// NewServer serves db; now is the virtual clock.
func NewServer(db *DB, now func() time.Time) *Server {
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	return &Server{db: db, engine: eng, now: now}
}

// RoundTrip implements http.RoundTripper: the request never leaves the process.
func (s *Server) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/api/v1/query") {
		return respond(req, http.StatusNotFound, map[string]any{"status": "error", "errorType": "not_found", "error": "only /api/v1/query is served"}), nil
	}
	if s.Down {
		return respond(req, http.StatusServiceUnavailable, map[string]any{"status": "error", "errorType": "unavailable", "error": "prometheus is down (simulated)"}), nil
	}
	if s.Slow {
		return respond(req, http.StatusServiceUnavailable, map[string]any{"status": "error", "errorType": "timeout", "error": "query timed out in query execution (simulated)"}), nil
	}
	form, err := params(req)
	if err != nil {
		return respond(req, http.StatusBadRequest, apiError("bad_data", err)), nil
	}
	at := s.now()
	if t := form.Get("time"); t != "" {
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return respond(req, http.StatusBadRequest, apiError("bad_data", fmt.Errorf("invalid time %q", t))), nil
		}
		at = time.UnixMilli(int64(math.Round(f * 1000)))
	}
	s.Queries++
	body, code := s.query(req.Context(), form.Get("query"), at)
	return respond(req, code, body), nil
}

// Query evaluates an instant query at t and returns the API response body and status code.
func (s *Server) query(ctx context.Context, qs string, t time.Time) (map[string]any, int) {
	q, err := s.engine.NewInstantQuery(ctx, s.db, nil, qs, t)
	if err != nil {
		return apiError("bad_data", err), http.StatusBadRequest
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return apiError("execution", res.Err), http.StatusUnprocessableEntity
	}
	data := map[string]any{"resultType": string(res.Value.Type())}
	switch v := res.Value.(type) {
	case promql.Scalar:
		data["result"] = []any{float64(v.T) / 1000, formatFloat(v.V)}
	case promql.Vector:
		out := []any{}
		for _, smp := range v {
			out = append(out, map[string]any{"metric": smp.Metric.Map(), "value": []any{float64(smp.T) / 1000, formatFloat(smp.F)}})
		}
		data["result"] = out
	case promql.Matrix:
		out := []any{}
		for _, ser := range v {
			var pts []any
			for _, p := range ser.Floats {
				pts = append(pts, []any{float64(p.T) / 1000, formatFloat(p.F)})
			}
			out = append(out, map[string]any{"metric": ser.Metric.Map(), "values": pts})
		}
		data["result"] = out
	case promql.String:
		data["result"] = []any{float64(v.T) / 1000, v.V}
	default:
		return apiError("execution", fmt.Errorf("unexpected result type %s", parser.ValueType(res.Value.Type()))), http.StatusUnprocessableEntity
	}
	return map[string]any{"status": "success", "data": data}, http.StatusOK
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func params(req *http.Request) (url.Values, error) {
	form := req.URL.Query()
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		post, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, err
		}
		for k, vs := range post {
			form[k] = append(form[k], vs...)
		}
	}
	return form, nil
}

func apiError(kind string, err error) map[string]any {
	return map[string]any{"status": "error", "errorType": kind, "error": err.Error()}
}

func respond(req *http.Request, code int, body map[string]any) *http.Response {
	b, _ := json.Marshal(body)
	return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: req}
}
