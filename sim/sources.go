package sim

import "sort"

// DefaultSource is the name of the main client load (World.Traffic) among the named sources.
const DefaultSource = "clients"

// Named traffic sources are clients that run alongside the main load (World.Traffic), each at its
// own rate, with its own headers, and counted on its own: testers sending a canary header while
// everyone else calls the site plainly. Starting a source under a name that runs replaces it and
// its counts start again; every request any source ever sent stays in RequestTotals.

// StartTrafficSource starts (or restarts) the named source cfg.Name; DefaultSource or no name
// is the main load (StartTraffic).
func (w *World) StartTrafficSource(cfg TrafficConfig) error {
	if cfg.Name == "" || cfg.Name == DefaultSource {
		cfg.Name = ""
		return w.StartTraffic(cfg)
	}
	w.StopTrafficSource(cfg.Name)
	// StartTraffic builds the load with the frontend its config asks for; set the main load
	// aside meanwhile, so that it neither stops nor passes its counts on.
	main := w.Traffic
	w.Traffic = nil
	err := w.StartTraffic(cfg)
	t := w.Traffic
	w.Traffic = main
	if err != nil {
		return err
	}
	t.rand = w.Kernel.Stream("traffic/" + cfg.Name) // its own draws, not a copy of the main load's
	if w.sources == nil {
		w.sources = map[string]*Traffic{}
	}
	w.sources[cfg.Name] = t
	w.allSources = append(w.allSources, t)
	return nil
}

// StopTrafficSource stops a named source (DefaultSource or "": the main load); its requests stay
// counted.
func (w *World) StopTrafficSource(name string) {
	if name == "" || name == DefaultSource {
		if w.Traffic != nil {
			w.Traffic.Stop()
		}
		return
	}
	if t := w.sources[name]; t != nil {
		t.Stop()
		delete(w.sources, name)
	}
}

// TrafficSource is the running source of that name (DefaultSource: the main load), nil if none.
func (w *World) TrafficSource(name string) *Traffic {
	if name == "" || name == DefaultSource {
		return w.Traffic
	}
	return w.sources[name]
}

// TrafficSources names the named sources running now, sorted (the main load not included).
func (w *World) TrafficSources() []string {
	out := make([]string, 0, len(w.sources))
	for n := range w.sources {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RequestTotals counts every request sent so far, by the main load and every named source
// (running, stopped or replaced); nil when no client ever ran.
func (w *World) RequestTotals() *TrafficStats {
	if len(w.allSources) == 0 {
		if w.Traffic == nil {
			return nil
		}
		return &w.Traffic.Stats
	}
	total := TrafficStats{}
	if w.Traffic != nil {
		total = mergeStats(total, w.Traffic.Stats)
	}
	for _, t := range w.allSources {
		total = mergeStats(total, t.Stats)
	}
	return &total
}

// mergeStats adds b's counts to a copy of a.
func mergeStats(a, b TrafficStats) TrafficStats {
	out := TrafficStats{Total: a.Total + b.Total, Failed: a.Failed + b.Failed,
		ByCode: map[int]int{}, ByVersion: map[string]int{}, ByBackend: map[string]map[int]int{}, FailedSeconds: map[int64]int{}}
	for _, s := range []TrafficStats{a, b} {
		for c, n := range s.ByCode {
			out.ByCode[c] += n
		}
		for v, n := range s.ByVersion {
			out.ByVersion[v] += n
		}
		for be, codes := range s.ByBackend {
			if out.ByBackend[be] == nil {
				out.ByBackend[be] = map[int]int{}
			}
			for c, n := range codes {
				out.ByBackend[be][c] += n
			}
		}
		for sec, n := range s.FailedSeconds {
			out.FailedSeconds[sec] += n
		}
		if s.FirstFailure != 0 && (out.FirstFailure == 0 || s.FirstFailure < out.FirstFailure) {
			out.FirstFailure = s.FirstFailure
		}
		if s.LastFailure > out.LastFailure {
			out.LastFailure = s.LastFailure
		}
	}
	// The per-second series, merged in time order.
	bySec := map[int64]map[int]int{}
	for _, s := range []TrafficStats{a, b} {
		for _, sc := range s.PerSecond {
			if bySec[sc.T] == nil {
				bySec[sc.T] = map[int]int{}
			}
			for c, n := range sc.ByCode {
				bySec[sc.T][c] += n
			}
		}
	}
	secs := make([]int64, 0, len(bySec))
	for t := range bySec {
		secs = append(secs, t)
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i] < secs[j] })
	for _, t := range secs {
		out.PerSecond = append(out.PerSecond, SecondCounts{T: t, ByCode: bySec[t]})
	}
	return out
}
