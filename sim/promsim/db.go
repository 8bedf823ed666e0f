// Package promsim is the simulation's Prometheus: an in-memory store of the series the simulated
// traffic produces, and the Prometheus HTTP API's instant query endpoint served from it by the
// real PromQL engine, at virtual time. An analysis provider's Prometheus client reaches it
// through an http.RoundTripper, without a network.
package promsim

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// DB holds float series, each a list of samples in time order.
type DB struct {
	series map[string]*Series
}

// Series is one series of a DB: its labels and samples in time order.
type Series struct {
	lset    labels.Labels
	samples []chunks.Sample
}

// NewDB returns an empty store.
func NewDB() *DB { return &DB{series: map[string]*Series{}} }

// Add appends a sample; samples of a series must come in time order.
func (db *DB) Add(t time.Time, lset labels.Labels, v float64) { db.Series(lset).Append(t, v) }

// Series returns the series with these labels, created empty if new: a handle to append to
// without looking it up again.
func (db *DB) Series(lset labels.Labels) *Series {
	key := lset.String()
	s := db.series[key]
	if s == nil {
		s = &Series{lset: lset}
		db.series[key] = s
	}
	return s
}

// Append adds a sample; a sample not later than the last one is dropped.
func (s *Series) Append(t time.Time, v float64) {
	ms := t.UnixMilli()
	if n := len(s.samples); n > 0 && s.samples[n-1].T() >= ms {
		return
	}
	s.samples = append(s.samples, sample{t: ms, f: v})
}

// Len is the number of series.
func (db *DB) Len() int { return len(db.series) }

// Querier implements storage.Queryable.
func (db *DB) Querier(mint, maxt int64) (storage.Querier, error) {
	return querier{db: db, mint: mint, maxt: maxt}, nil
}

type querier struct {
	db         *DB
	mint, maxt int64
}

func (q querier) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var out []storage.Series
	for _, key := range q.db.sortedKeys() {
		s := q.db.series[key]
		if !matchesAll(s.lset, ms) {
			continue
		}
		var in []chunks.Sample
		for _, smp := range s.samples {
			if smp.T() >= q.mint && smp.T() <= q.maxt {
				in = append(in, smp)
			}
		}
		if len(in) > 0 {
			out = append(out, storage.NewListSeries(s.lset, in))
		}
	}
	return &seriesSet{list: out, i: -1}
}

func (q querier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]bool{}
	for _, s := range q.db.series {
		if v := s.lset.Get(name); v != "" && matchesAll(s.lset, ms) {
			seen[v] = true
		}
	}
	return sortedSet(seen), nil, nil
}

func (q querier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]bool{}
	for _, s := range q.db.series {
		if matchesAll(s.lset, ms) {
			s.lset.Range(func(l labels.Label) { seen[l.Name] = true })
		}
	}
	return sortedSet(seen), nil, nil
}

func (q querier) Close() error { return nil }

func (db *DB) sortedKeys() []string {
	keys := make([]string, 0, len(db.series))
	for k := range db.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series                { return s.list[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// sample is one float sample.
type sample struct {
	t int64
	f float64
}

func (s sample) T() int64                      { return s.t }
func (s sample) ST() int64                     { return 0 }
func (s sample) F() float64                    { return s.f }
func (s sample) H() *histogram.Histogram       { return nil }
func (s sample) FH() *histogram.FloatHistogram { return nil }
func (s sample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sample) Copy() chunks.Sample           { return s }
