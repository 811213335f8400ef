package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// soakSample is one look at both daemons.
type soakSample struct {
	Seconds   float64 `json:"s"`
	PullRSS   float64 `json:"pull_rss_mb"`
	ProcRSS   float64 `json:"process_rss_mb"`
	Queued    int     `json:"queued_snapshots"`
	SinkLines int64   `json:"lines_received"`
}

// soakResult says whether memory stayed flat.
type soakResult struct {
	Duration       string       `json:"duration"`
	Interval       string       `json:"pull_interval"`
	Snapshots      int64        `json:"snapshots_sent"`
	PullFlat       bool         `json:"pull_flat"`
	ProcFlat       bool         `json:"process_flat"`
	PullEarlyMB    float64      `json:"pull_early_median_mb"`
	PullLateMB     float64      `json:"pull_late_median_mb"`
	ProcEarlyMB    float64      `json:"process_early_median_mb"`
	ProcLateMB     float64      `json:"process_late_median_mb"`
	PullSlope      float64      `json:"pull_slope_mb_per_hour"`
	ProcSlope      float64      `json:"process_slope_mb_per_hour"`
	PullPeakMB     float64      `json:"pull_peak_rss_mb"`
	ProcPeakMB     float64      `json:"process_peak_rss_mb"`
	MaxQueued      int          `json:"max_queued_snapshots"`
	FinalQueued    int          `json:"final_queued_snapshots"`
	Samples        []soakSample `json:"samples"`
	FlatDefinition string       `json:"flat_definition"`
}

// soak runs real haproxy, haproxystats-pull every second and
// haproxystats-process into a null carbon for d, sampling the resident
// memory of both daemons every 5 s.
func soak(ctx context.Context, bin, work string, h *haproxySet, d time.Duration, env []string) (soakResult, error) {
	r := soakResult{
		Duration: d.String(), Interval: "1s",
		FlatDefinition: "after a 60 s warm-up, the median RSS of the last third is at most 10% (or 2 MB) above the median of the first third: a leak raises the level, a GC spike does not",
	}
	dir, err := os.MkdirTemp(work, "soak-")
	if err != nil {
		return r, err
	}
	carbon, err := newSink("haproxystats.TotalWallClockTime")
	if err != nil {
		return r, err
	}
	defer carbon.close()
	incoming := filepath.Join(dir, "incoming")
	if err := os.MkdirAll(incoming, 0o755); err != nil {
		return r, err
	}
	conf := filepath.Join(dir, "haproxystats.conf")
	text := pullConfig(dir, filepath.Join(h.dir, "sockets"), 1, "0.9") + processConfig(dir, carbon.port(), 4, 0)[len("[DEFAULT]\nloglevel = warning\n"):]
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return r, err
	}
	proc, err := start(filepath.Join(dir, "process.log"), env, filepath.Join(bin, "haproxystats-process"), "-f", conf)
	if err != nil {
		return r, err
	}
	defer stop(proc)
	pl, err := start(filepath.Join(dir, "pull.log"), env, filepath.Join(bin, "haproxystats-pull"), "-f", conf)
	if err != nil {
		return r, err
	}
	defer stop(pl)

	begin := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for time.Since(begin) < d {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-tick.C:
		}
		s := soakSample{Seconds: time.Since(begin).Seconds(), SinkLines: carbon.lines.Load()}
		kb, err := memKB(pl.Process.Pid, "VmRSS")
		if err != nil {
			return r, fmt.Errorf("haproxystats-pull: %w (log %s)", err, filepath.Join(dir, "pull.log"))
		}
		s.PullRSS = mb(kb)
		if kb, err = memKB(proc.Process.Pid, "VmRSS"); err != nil {
			return r, fmt.Errorf("haproxystats-process: %w (log %s)", err, filepath.Join(dir, "process.log"))
		}
		s.ProcRSS = mb(kb)
		s.Queued, _ = spool.Count(incoming)
		r.MaxQueued = max(r.MaxQueued, s.Queued)
		r.Samples = append(r.Samples, s)
		fmt.Fprintf(os.Stderr, "soak %4.0fs: pull %.1f MB, process %.1f MB, queued %d\n", s.Seconds, s.PullRSS, s.ProcRSS, s.Queued)
	}
	if kb, err := memKB(pl.Process.Pid, "VmHWM"); err == nil {
		r.PullPeakMB = mb(kb)
	}
	if kb, err := memKB(proc.Process.Pid, "VmHWM"); err == nil {
		r.ProcPeakMB = mb(kb)
	}
	r.FinalQueued = r.Samples[len(r.Samples)-1].Queued
	carbon.mu.Lock()
	r.Snapshots = int64(len(carbon.seen["haproxystats.TotalWallClockTime"]))
	carbon.mu.Unlock()

	var warm []soakSample
	for _, s := range r.Samples {
		if s.Seconds >= 60 {
			warm = append(warm, s)
		}
	}
	if len(warm) < 3 {
		warm = r.Samples
	}
	third := max(len(warm)/3, 1)
	early, late := warm[:third], warm[len(warm)-third:]
	// The median of a third is the level memory sits at; the maximum
	// of a third would be one GC cycle's spike (pull's RSS moves between
	// 16 and 27 MB from one sample to the next).
	level := func(ss []soakSample, f func(soakSample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	pullRSS := func(s soakSample) float64 { return s.PullRSS }
	procRSS := func(s soakSample) float64 { return s.ProcRSS }
	r.PullEarlyMB, r.PullLateMB = level(early, pullRSS), level(late, pullRSS)
	r.ProcEarlyMB, r.ProcLateMB = level(early, procRSS), level(late, procRSS)
	flat := func(e, l float64) bool { return l <= max(e*1.10, e+2) }
	r.PullFlat, r.ProcFlat = flat(r.PullEarlyMB, r.PullLateMB), flat(r.ProcEarlyMB, r.ProcLateMB)
	r.PullSlope, r.ProcSlope = slope(warm, pullRSS), slope(warm, procRSS)
	return r, nil
}

// slope is the least-squares slope of f over time, in MB per hour.
func slope(ss []soakSample, f func(soakSample) float64) float64 {
	n := float64(len(ss))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := s.Seconds/3600, f(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
