package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// processResult is what the real haproxystats-process did with
// snapshots fed one at a time, then with a backlog.
type processResult struct {
	Snapshots       int     `json:"snapshots"`
	LinesPerSnap    int64   `json:"lines_per_snapshot"`
	CPUMs           float64 `json:"cpu_ms_median"`       // /proc/<pid>/stat, 10 ms ticks
	WallMs          float64 `json:"wall_ms_median"`      // rename into src-dir → directory removed (all sent)
	SelfWallMs      float64 `json:"total_wall_clock_ms"` // its TotalWallClockTime self-metric, median
	PeakRSSMB       float64 `json:"peak_rss_mb"`         // VmHWM after the snapshots fed one at a time
	Backlog         int     `json:"backlog"`
	BacklogWallMs   float64 `json:"backlog_wall_ms_per_snapshot"`
	BacklogPeakMB   float64 `json:"backlog_peak_rss_mb"` // VmHWM after the backlog too
	Workers         int     `json:"workers"`
	EnvGOGC         string  `json:"gogc,omitempty"`
	EnvGOMEMLIMIT   string  `json:"gomemlimit,omitempty"`
	RelayConnection bool    `json:"relay_connected"`
	// Prometheus: a [prometheus] section, scraped every 500 ms during the
	// run (gzip, as Prometheus asks); Scrapes counts the answers of 200
	// with the snapshot's servers in them.
	Prometheus bool `json:"prometheus,omitempty"`
	Scrapes    int  `json:"scrapes,omitempty"`
}

// processConfig is the configuration of the measured haproxystats-process;
// promPort > 0 adds a [prometheus] section listening there.
func processConfig(dir string, sinkPort, workers, promPort int) string {
	prom := ""
	if promPort > 0 {
		prom = fmt.Sprintf("\n[prometheus]\nlisten = 127.0.0.1:%d\n", promPort)
	}
	return fmt.Sprintf(`[DEFAULT]
loglevel = warning

[process]
src-dir = %s
workers = %d
aggr-server-metrics = true

[graphite]
server = 127.0.0.1
port = %d
namespace = loadbalancers
prefix-hostname = true
max-lines-per-second = 0
`, filepath.Join(dir, "incoming"), workers, sinkPort) + prom
}

// scraper scrapes url every 500 ms with gzip until stop is closed, and
// counts the complete answers that hold a server.
func scraper(url string, stop <-chan struct{}, n *atomic.Int64) {
	client := &http.Client{Timeout: 30 * time.Second}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		resp, err := client.Get(url) // Go's client asks for gzip
		if err != nil {
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte("haproxy_server_bytes_in_total{")) {
			n.Add(1)
		}
	}
}

// measureProcess runs bin/haproxystats-process against a null carbon and
// feeds it copies of the snapshot in snap: n one at a time, each only
// after the previous one was sent and removed, then backlog at once.
func measureProcess(ctx context.Context, bin, work, snap string, n, backlog, workers int, env []string, prom bool) (r processResult, err error) {
	r = processResult{Snapshots: n, Backlog: backlog, Workers: workers, Prometheus: prom}
	for _, kv := range env {
		if v, ok := cutEnv(kv, "GOGC"); ok {
			r.EnvGOGC = v
		}
		if v, ok := cutEnv(kv, "GOMEMLIMIT"); ok {
			r.EnvGOMEMLIMIT = v
		}
	}
	dir, err := os.MkdirTemp(work, "process-")
	if err != nil {
		return r, err
	}
	incoming, stage := filepath.Join(dir, "incoming"), filepath.Join(dir, "stage")
	for _, d := range []string{incoming, stage} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return r, err
		}
	}
	carbon, err := newSink("haproxystats.TotalWallClockTime")
	if err != nil {
		return r, err
	}
	defer carbon.close()
	promPort := 0
	if prom {
		if promPort, err = freePort(); err != nil {
			return r, err
		}
	}
	conf := filepath.Join(dir, "haproxystats.conf")
	if err := os.WriteFile(conf, []byte(processConfig(dir, carbon.port(), workers, promPort)), 0o644); err != nil {
		return r, err
	}
	cmd, err := start(filepath.Join(dir, "process.log"), env, filepath.Join(bin, "haproxystats-process"), "-f", conf)
	if err != nil {
		return r, err
	}
	defer stop(cmd)
	pid := cmd.Process.Pid
	if err := waitFor(ctx, 10*time.Second, "haproxystats-process to connect to carbon", func() bool { return carbon.conns.Load() > 0 }); err != nil {
		return r, fmt.Errorf("%w (log: %s)", err, filepath.Join(dir, "process.log"))
	}
	r.RelayConnection = true
	if prom {
		var scrapes atomic.Int64
		stopScraper := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			scraper(fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort), stopScraper, &scrapes)
		}()
		defer func() {
			close(stopScraper)
			<-done
			r.Scrapes = int(scrapes.Load())
		}()
	}

	ts := int64(1600000000)
	// feed stages count copies of snap and renames them into incoming at
	// once; it returns their paths.
	feed := func(count int) ([]string, error) {
		var paths []string
		for range count {
			name := strconv.FormatInt(ts, 10)
			ts++
			if err := copyDir(snap, filepath.Join(stage, name)); err != nil {
				return nil, err
			}
			paths = append(paths, name)
		}
		for i, name := range paths {
			dst := filepath.Join(incoming, name)
			if err := os.Rename(filepath.Join(stage, name), dst); err != nil {
				return nil, err
			}
			paths[i] = dst
		}
		return paths, nil
	}
	gone := func(paths []string) func() bool {
		return func() bool {
			for _, p := range paths {
				if exists(p) {
					return false
				}
			}
			return true
		}
	}

	// Warm-up: one snapshot, not counted.
	paths, err := feed(1)
	if err != nil {
		return r, err
	}
	if err := waitFor(ctx, 60*time.Second, "the warm-up snapshot", gone(paths)); err != nil {
		return r, err
	}
	lines0 := carbon.lines.Load()
	var walls, selfWalls, cpus []time.Duration
	for range n {
		paths, err := feed(1)
		if err != nil {
			return r, err
		}
		cpu0, err := cpuTime(pid)
		if err != nil {
			return r, err
		}
		t := time.Now()
		if err := waitFor(ctx, 60*time.Second, "a snapshot to be processed", gone(paths)); err != nil {
			return r, err
		}
		walls = append(walls, time.Since(t))
		snapTS, _ := strconv.ParseInt(filepath.Base(paths[0]), 10, 64)
		// The directory is removed once the lines are written to the
		// socket; the sink may still be reading them.
		waitFor(ctx, 10*time.Second, "the snapshot's last line", func() bool {
			_, ok := carbon.value("haproxystats.TotalWallClockTime", snapTS)
			return ok
		})
		if v, ok := carbon.value("haproxystats.TotalWallClockTime", snapTS); ok {
			selfWalls = append(selfWalls, time.Duration(v*float64(time.Second)))
		}
		cpu1, err := cpuTime(pid)
		if err != nil {
			return r, err
		}
		cpus = append(cpus, cpu1-cpu0)
	}
	hwm, err := memKB(pid, "VmHWM")
	if err != nil {
		return r, err
	}
	r.LinesPerSnap = (carbon.lines.Load() - lines0) / int64(n)
	r.CPUMs = ms(median(cpus))
	r.WallMs = ms(median(walls))
	r.SelfWallMs = ms(median(selfWalls))
	r.PeakRSSMB = mb(hwm)

	if backlog > 0 {
		paths, err := feed(backlog)
		if err != nil {
			return r, err
		}
		t := time.Now()
		if err := waitFor(ctx, 120*time.Second, "the backlog to be processed", gone(paths)); err != nil {
			return r, err
		}
		r.BacklogWallMs = ms(time.Since(t)) / float64(backlog)
		hwm, err := memKB(pid, "VmHWM")
		if err != nil {
			return r, err
		}
		r.BacklogPeakMB = mb(hwm)
	}
	return r, nil
}

func cutEnv(kv, key string) (string, bool) {
	if len(kv) > len(key) && kv[:len(key)+1] == key+"=" {
		return kv[len(key)+1:], true
	}
	return "", false
}
