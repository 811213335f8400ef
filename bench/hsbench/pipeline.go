package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// The pipelines measured in a child process, from the snapshot files on
// disk to Graphite bytes ready to send.
const (
	// modeMetrics is what haproxystats-process does when a sink needs
	// metrics (Kafka, Prometheus) or for a master CLI's workers: stats
	// builds []metric.Metric, the Graphite sender formats them with
	// AppendLine.
	modeMetrics = "metrics"
	// modeEncoder formats the lines directly with stats.Encoder into one
	// buffer per snapshot.
	modeEncoder = "encoder"
	// modeStream reads and aggregates one reply file at a time, 64 KiB
	// at a time (stats.Builder.AddFrom), and hands the lines to a
	// writer in 64 KiB pieces, so that the tables, a window of a reply
	// and one piece of lines are all it holds: what haproxystats-process
	// does when every sink takes lines (Graphite, local-store), less its
	// line-counting pass.
	modeStream = "stream"
)

// pipelineResult is what a child reports.
type pipelineResult struct {
	Mode        string  `json:"mode"`
	Iterations  int     `json:"iterations"`
	Rows        int     `json:"rows"`
	Lines       int     `json:"lines"`
	Bytes       int     `json:"bytes"`
	WallMs      float64 `json:"wall_ms_median"`
	CPUMs       float64 `json:"cpu_ms_median"` // GC included: it runs on other threads too
	AllocsPerRw float64 `json:"allocs_per_row"`
	AllocMB     float64 `json:"alloc_mb"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

var opts = stats.Options{Prefix: "loadbalancers.lb-01_example_com.haproxy", AggrServers: true}

// runPipeline is the child: it processes the snapshot in dir n times
// (after two warm-up runs) and prints a pipelineResult as JSON.
func runPipeline(mode, dir string, n int) error {
	rows, err := countRows(dir)
	if err != nil {
		return err
	}
	var step func(ts int64) (lines, size int, err error)
	switch mode {
	case modeMetrics:
		step = func(ts int64) (int, int, error) {
			ms, err := renderMetrics(dir, ts)
			if err != nil {
				return 0, 0, err
			}
			buf := formatBatch(ms)
			return len(ms), len(buf), nil
		}
	case modeEncoder:
		step = func(ts int64) (int, int, error) {
			e := stats.NewEncoder(nil)
			if err := encode(e, dir, ts); err != nil {
				return 0, 0, err
			}
			return e.Lines(), len(e.Bytes()), nil
		}
	case modeStream:
		var w countWriter
		step = func(ts int64) (int, int, error) {
			w.n = 0
			e := stats.NewEncoder(&w)
			if err := encodeStream(e, dir, ts); err != nil {
				return 0, 0, err
			}
			return e.Lines(), w.n, nil
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	ts := int64(1500000000)
	for range 2 {
		if _, _, err := step(ts); err != nil {
			return err
		}
		ts++
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	walls := make([]time.Duration, 0, n)
	cpus := make([]time.Duration, 0, n)
	lines, size := 0, 0
	for range n {
		c, t := selfCPU(), time.Now()
		if lines, size, err = step(ts); err != nil {
			return err
		}
		walls = append(walls, time.Since(t))
		cpus = append(cpus, selfCPU()-c)
		ts++
	}
	runtime.ReadMemStats(&after)
	hwm, _ := memKB(os.Getpid(), "VmHWM")
	r := pipelineResult{
		Mode: mode, Iterations: n, Rows: rows, Lines: lines, Bytes: size,
		WallMs:      ms(median(walls)),
		CPUMs:       ms(median(cpus)),
		AllocsPerRw: float64(after.Mallocs-before.Mallocs) / float64(n) / float64(rows),
		AllocMB:     float64(after.TotalAlloc-before.TotalAlloc) / float64(n) / (1 << 20),
		PeakRSSMB:   mb(hwm),
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// readFiles reads the reply files of a snapshot, as haproxystats-process does.
func readFiles(dir string, k spool.Kind) ([]stats.File, error) {
	paths, err := spool.Files(dir, k)
	if err != nil {
		return nil, err
	}
	files := make([]stats.File, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, stats.File{Name: filepath.Base(p), Data: b})
	}
	return files, nil
}

// selfMetrics are the timing and counter lines the daemon adds.
var selfMetrics = []string{
	"WallClockTimeHAProxy", "WallClockTimeFrontends", "WallClockTimeBackends",
	"WallClockTimeServers", "WallClockTimeAllStats", "SnapshotsWaiting",
	"SnapshotsFailed", "FilesRejected", "DeliveryRetries", "GraphiteLinesSent",
	"GraphiteLinesDropped", "GraphiteConnectFailures", "GraphiteLinesQueued",
	"TotalWallClockTime",
}

// renderMetrics is internal/process's render, without the logging.
func renderMetrics(dir string, ts int64) ([]metric.Metric, error) {
	infos, err := readFiles(dir, spool.Info)
	if err != nil {
		return nil, err
	}
	statFiles, err := readFiles(dir, spool.Stat)
	if err != nil {
		return nil, err
	}
	ms, err := stats.Daemon(nil, infos, ts, &opts)
	if err != nil {
		return nil, err
	}
	s, err := stats.ParseSites(statFiles)
	if err != nil {
		return nil, err
	}
	ms = s.Frontends(ms, ts, &opts)
	ms = s.Backends(ms, ts, &opts)
	ms = s.Servers(ms, ts, &opts)
	for _, name := range selfMetrics {
		ms = append(ms, metric.Metric{Path: opts.Prefix + ".haproxystats." + name, Value: 0.012345, Time: ts})
	}
	return ms, nil
}

// formatBatch is internal/graphite's newBatch: one buffer of lines.
func formatBatch(ms []metric.Metric) []byte {
	n := 0
	for i := range ms {
		n += len(ms[i].Path) + 36
	}
	buf := make([]byte, 0, n)
	for _, m := range ms {
		buf = m.AppendLine(buf)
	}
	return buf
}

// encode is renderMetrics and formatBatch in one, with stats.Encoder.
func encode(e *stats.Encoder, dir string, ts int64) error {
	infos, err := readFiles(dir, spool.Info)
	if err != nil {
		return err
	}
	statFiles, err := readFiles(dir, spool.Stat)
	if err != nil {
		return err
	}
	if err := e.Daemon(infos, ts, &opts); err != nil {
		return err
	}
	s, err := stats.ParseSites(statFiles)
	if err != nil {
		return err
	}
	return encodeSites(e, s, ts)
}

// encodeStream is encode holding one reply file at a time: each is read,
// added to a stats.Builder and dropped, and the lines go to e's writer in
// 64 KiB pieces.
func encodeStream(e *stats.Encoder, dir string, ts int64) error {
	infos, err := readFiles(dir, spool.Info)
	if err != nil {
		return err
	}
	if err := e.Daemon(infos, ts, &opts); err != nil {
		return err
	}
	paths, err := spool.Files(dir, spool.Stat)
	if err != nil {
		return err
	}
	var b stats.Builder
	for _, p := range paths {
		if err := addFrom(&b, p); err != nil {
			return err
		}
	}
	s, err := b.Sites()
	if err != nil {
		return err
	}
	return encodeSites(e, s, ts)
}

// addFrom adds the reply at path to b as haproxystats-process does: read
// from the file 64 KiB at a time (stats.Builder.Add).
func addFrom(b *stats.Builder, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return b.Add(filepath.Base(path), f, st.Size())
}

// measurePipeline runs the child for mode and returns its result.
func measurePipeline(ctx context.Context, self, dir, mode string, n int, env []string) (pipelineResult, error) {
	cmd := exec.CommandContext(ctx, self, "pipeline", "-mode", mode, "-dir", dir, "-n", fmt.Sprint(n))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var r pipelineResult
	if err != nil {
		return r, fmt.Errorf("pipeline %s: %w", mode, err)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("pipeline %s: %w in %q", mode, err, out)
	}
	if r.Lines == 0 {
		return r, errors.New("pipeline " + mode + ": no lines")
	}
	return r, nil
}

// encodeSites writes the site blocks and the self-statistics, then
// flushes e.
func encodeSites(e *stats.Encoder, s *stats.Sites, ts int64) error {
	e.Frontends(s, ts, &opts)
	e.Backends(s, ts, &opts)
	e.Servers(s, ts, &opts)
	for _, name := range selfMetrics {
		e.Metric(metric.Metric{Path: opts.Prefix + ".haproxystats." + name, Value: 0.012345, Time: ts})
	}
	return e.Flush()
}
