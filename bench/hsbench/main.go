// Command hsbench measures haproxystats on a big configuration (4 HAProxy
// processes × 10 000 servers by default) and prints a table of figures
// against the targets of issue 8, also written as JSON. It is run by
// `make bench` through bench/run.sh; docs/performance.md has the table.
//
// It starts real haproxy, carbon-c-relay and the haproxystats binaries,
// binds only to 127.0.0.1, bounds every loop in count and time, and
// kills everything it started before it returns.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/graphite"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "pipeline" {
		fs := flag.NewFlagSet("pipeline", flag.ExitOnError)
		mode := fs.String("mode", modeMetrics, "metrics, encoder or stream")
		dir := fs.String("dir", "", "snapshot directory")
		n := fs.Int("n", 20, "measured iterations")
		fs.Parse(os.Args[2:])
		if err := runPipeline(*mode, *dir, *n); err != nil {
			fmt.Fprintln(os.Stderr, "hsbench pipeline:", err)
			os.Exit(1)
		}
		return
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, os.Args[1:])
	cancel()
	stopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hsbench:", err)
		os.Exit(1)
	}
}

type options struct {
	bin, haproxy, relay string
	out, goBench, work  string
	size                size
	iterations          int
	soak                time.Duration
	timeout             time.Duration
	only                map[string]bool
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("hsbench", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "bin", "directory of haproxystats-pull and haproxystats-process")
	fs.StringVar(&o.haproxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary")
	fs.StringVar(&o.relay, "relay", "/usr/bin/carbon-c-relay", "carbon-c-relay binary")
	fs.StringVar(&o.out, "out", "", "write the report as JSON to this file")
	fs.StringVar(&o.goBench, "gobench", "", "output of go test -bench to include in the JSON")
	fs.StringVar(&o.work, "work", "", "work directory (default: a new temporary one, removed at the end)")
	fs.IntVar(&o.size.Procs, "procs", 4, "HAProxy processes")
	fs.IntVar(&o.size.Frontends, "frontends", 50, "frontends per process (generated snapshots)")
	fs.IntVar(&o.size.Backends, "backends", 500, "backends per process (generated snapshots)")
	fs.IntVar(&o.size.ServersPerBackend, "servers-per-backend", 20, "servers per backend (generated snapshots)")
	fs.IntVar(&o.iterations, "n", 20, "measured snapshots or rounds per figure")
	fs.DurationVar(&o.soak, "soak", 0, "also run the soak test for this long (10m in the long form)")
	fs.DurationVar(&o.timeout, "timeout", 8*time.Minute, "bound of the whole run, soak excluded")
	only := fs.String("only", "pipeline,daemon,backlog,format,send,fleet,pull,logs", "phases to run, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.only = map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		o.only[strings.TrimSpace(p)] = true
	}
	for _, b := range []string{filepath.Join(o.bin, "haproxystats-pull"), filepath.Join(o.bin, "haproxystats-process"), o.haproxy, o.relay} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not found (make bench runs make deps build first): %w", b, err)
		}
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "hsbench-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.work)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout+o.soak)
	defer cancel()

	rep := newReport(o)
	step := func(what string) { fmt.Fprintf(os.Stderr, "== %s\n", what) }

	// The generated snapshot on disk.
	snap := filepath.Join(o.work, "snapshot")
	size, err := writeSnapshot(snap, o.size)
	if err != nil {
		return err
	}
	rows, err := countRows(snap)
	if err != nil {
		return err
	}
	rep.Snapshot = snapshotInfo{Rows: rows, Bytes: size}
	step(fmt.Sprintf("snapshot: %d processes × %d servers = %d show stat rows, %.1f MB", o.size.Procs, o.size.servers(), rows, float64(size)/(1<<20)))

	// 1. The pipeline in a child process, three ways.
	for _, mode := range []string{modeMetrics, modeEncoder, modeStream} {
		if !o.only["pipeline"] {
			break
		}
		step("pipeline " + mode)
		r, err := measurePipeline(ctx, self, snap, mode, o.iterations, nil)
		if err != nil {
			return err
		}
		rep.Pipelines = append(rep.Pipelines, r)
	}

	// 2. The real haproxystats-process as it runs (GOGC=50, which it
	// sets itself), then with Go's default GOGC=100 for comparison.
	// Then as shipped with [prometheus] on and scraped, and the same with
	// a soft memory limit (GOMEMLIMIT), which the tuning section of
	// docs/performance.md suggests.
	for _, run := range []struct {
		env  []string
		prom bool
	}{{nil, false}, {[]string{"GOGC=100"}, false}, {nil, true}, {[]string{"GOMEMLIMIT=28MiB"}, true}} {
		if !o.only["daemon"] {
			break
		}
		env := run.env
		step(fmt.Sprintf("haproxystats-process %s prometheus=%v", strings.Join(env, " "), run.prom))
		r, err := measureProcess(ctx, bin, o.work, snap, o.iterations/2, 8, 4, env, run.prom)
		if err != nil {
			return err
		}
		rep.Process = append(rep.Process, r)
	}

	// 3. Formatting and sending.
	if o.only["format"] {
		step("formatting")
		if rep.Format, err = measureFormat(snap, time.Second); err != nil {
			return err
		}
	}
	if o.only["send"] {
		step("sending into carbon-c-relay")
		if rep.Send, err = measureSend(ctx, o.relay, o.work, snap, 5); err != nil {
			return err
		}
	}

	// Local mode: a backlog of small snapshots after a Graphite outage.
	if o.only["backlog"] {
		step("haproxystats-process draining 200 small snapshots queued during a Graphite outage")
		if rep.Backlog, err = measureLocalBacklog(ctx, bin, o.relay, o.work, 200); err != nil {
			return err
		}
	}

	// Fleet mode: a backlog of small records, one consumer.
	if o.only["fleet"] {
		step("fleet: 1000 records (10 hosts × 100 rounds) drained by one consumer into carbon-c-relay")
		small, err := example13()
		if err != nil {
			return err
		}
		if rep.Fleet, err = measureFleet(ctx, bin, o.relay, o.work, small, 10, 100); err != nil {
			return err
		}
		step(fmt.Sprintf("fleet: 20 records of %d processes × %d servers (2 hosts × 10 rounds), one consumer", o.size.Procs, o.size.servers()))
		big, err := snapshotFiles(snap)
		if err != nil {
			return err
		}
		if rep.FleetBig, err = measureFleet(ctx, bin, o.relay, o.work, big, 2, 10); err != nil {
			return err
		}
		step("fleet: 50 hosts of one cluster shipping every second for 60 s, one consumer")
		if rep.FleetLive, err = measureFleetLive(ctx, bin, o.relay, o.work, 50, 60); err != nil {
			return err
		}
	}

	// 4. Pull against real haproxy.
	var h *haproxySet
	if o.only["pull"] || o.soak > 0 {
		step(fmt.Sprintf("haproxy: %d processes × %d servers (server-template, disabled, no checks)", o.size.Procs, o.size.servers()))
		if h, err = startHAProxy(ctx, o.haproxy, o.work, o.size); err != nil {
			return err
		}
	}
	if o.only["pull"] {
		step("pull rounds vs plain socket reads")
		if rep.Pull, err = measurePull(ctx, bin, o.work, h, o.iterations, 8*time.Second); err != nil {
			return err
		}
	}

	// 5. HAProxy's request logs into pull ([logs]).
	if o.only["logs"] {
		step("[logs]: haproxystats-pull receiving httplog lines of 10 000 servers over UDP")
		if rep.Logs, err = measureLogs(ctx, bin, o.work, 10000); err != nil {
			return err
		}
	}

	// 6. Soak, in the long form only.
	if o.soak > 0 {
		step(fmt.Sprintf("soak for %v at a 1 s interval", o.soak))
		r, err := soak(ctx, bin, o.work, h, o.soak, nil)
		if err != nil {
			return err
		}
		rep.Soak = &r
	}
	stopAll()

	rep.table()
	rep.print(os.Stdout)
	if b, err := os.ReadFile(o.goBench); err == nil {
		rep.GoBench = parseGoBench(string(b))
	}
	if o.out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Println("\nwritten to", o.out)
	}
	return nil
}

type snapshotInfo struct {
	Rows  int   `json:"stat_rows"`
	Bytes int64 `json:"bytes"`
}

// report is the JSON document.
type report struct {
	Time      string           `json:"time"`
	GoVersion string           `json:"go"`
	CPUs      int              `json:"cpus"`
	CPUModel  string           `json:"cpu_model"`
	HAProxy   string           `json:"haproxy"`
	Relay     string           `json:"carbon_c_relay"`
	Size      size             `json:"size"`
	Snapshot  snapshotInfo     `json:"snapshot"`
	Rows      []row            `json:"table"`
	Pipelines []pipelineResult `json:"pipelines"`
	Process   []processResult  `json:"process_daemon"`
	Fleet     fleetResult      `json:"fleet"`
	FleetBig  fleetResult      `json:"fleet_big"`
	FleetLive liveResult       `json:"fleet_live"`
	Backlog   backlogResult    `json:"local_backlog"`
	Format    formatResult     `json:"format"`
	Send      sendResult       `json:"send"`
	Pull      pullResult       `json:"pull"`
	Logs      logsResult       `json:"logs"`
	Soak      *soakResult      `json:"soak,omitempty"`
	GoBench   []goBench        `json:"go_benchmarks,omitempty"`
}

// row is one line of the table.
type row struct {
	Measure string  `json:"measure"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Target  string  `json:"target,omitempty"`
	Met     *bool   `json:"met,omitempty"`
}

func newReport(o options) *report {
	r := &report{
		Time: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
		CPUs: runtime.NumCPU(), Size: o.size,
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				r.CPUModel = strings.TrimSpace(strings.TrimLeft(v, "\t :"))
				break
			}
		}
	}
	r.HAProxy = firstLine(o.haproxy, "-v")
	r.Relay = firstLine(o.relay, "-v")
	return r
}

func firstLine(bin string, args ...string) string {
	out, _ := exec.Command(bin, args...).CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// table turns the results into rows with targets.
func (r *report) table() {
	add := func(measure string, v float64, unit, target string, ok func(float64) bool) {
		rw := row{Measure: measure, Value: v, Unit: unit, Target: target}
		if ok != nil {
			m := ok(v)
			rw.Met = &m
		}
		r.Rows = append(r.Rows, rw)
	}
	atMost := func(x float64) func(float64) bool { return func(v float64) bool { return v <= x } }
	atLeast := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	names := map[string]string{
		modeMetrics: "metrics in memory: the path with a Kafka or Prometheus sink",
		modeEncoder: "stats.Encoder, one buffer",
		modeStream:  "stats.Builder + stats.Encoder streamed 64 KiB: the Graphite/local-store path",
	}
	for _, p := range r.Pipelines {
		add("process CPU/snapshot, files → Graphite bytes ("+names[p.Mode]+")", p.CPUMs, "ms", "≤ 150", atMost(150))
	}
	for _, p := range r.Pipelines {
		add("process wall/snapshot ("+names[p.Mode]+")", p.WallMs, "ms", "", nil)
	}
	for _, p := range r.Pipelines {
		add("allocations per stat row ("+names[p.Mode]+")", p.AllocsPerRw, "allocs", "O(1), ≤ 1", atMost(1))
	}
	for _, p := range r.Pipelines {
		add("bytes allocated per stat row ("+names[p.Mode]+")", p.AllocMB*(1<<20)/float64(p.Rows), "B", "", nil)
	}
	for _, p := range r.Pipelines {
		add("peak RSS, pipeline alone ("+names[p.Mode]+")", p.PeakRSSMB, "MB", "≤ 40", atMost(40))
	}
	for _, p := range r.Process {
		env := "as shipped: GOGC=50"
		if p.EnvGOGC != "" {
			env = "GOGC=" + p.EnvGOGC
		}
		if p.EnvGOMEMLIMIT != "" {
			env += " GOMEMLIMIT=" + p.EnvGOMEMLIMIT
		}
		if p.Prometheus {
			env += ", [prometheus] on, scraped every 0.5 s"
			add("haproxystats-process: complete scrapes during the run ("+env+")", float64(p.Scrapes), "", "≥ 1", atLeast(1))
		}
		add("haproxystats-process CPU/snapshot, incl. sending ("+env+")", p.CPUMs, "ms", "≤ 150", atMost(150))
		add("haproxystats-process wall/snapshot, queued → removed, incl. graphite.ConfirmAfter "+graphite.ConfirmAfter.String()+" ("+env+")", p.WallMs, "ms", "", nil)
		add("haproxystats-process TotalWallClockTime self-metric ("+env+")", p.SelfWallMs, "ms", "", nil)
		add("haproxystats-process peak RSS, one snapshot at a time ("+env+")", p.PeakRSSMB, "MB", "≤ 40", atMost(40))
		add(fmt.Sprintf("haproxystats-process peak RSS, backlog of %d, %d workers (%s)", p.Backlog, p.Workers, env), p.BacklogPeakMB, "MB", "≤ 40", atMost(40))
	}
	if b := r.Backlog; b.Snapshots > 0 {
		what := fmt.Sprintf("haproxystats-process draining %d snapshots of the worked example's size queued during a Graphite outage, into carbon-c-relay", b.Snapshots)
		add(what+", first to last removed", b.SnapsPerSec, "snapshots/s", "≥ 100", atLeast(100))
		add(what+", start to last removed (the first waits a 1 s confirmation)", b.Seconds, "s", "", nil)
	}
	if f := r.Fleet; f.Records > 0 {
		what := fmt.Sprintf("fleet: one consumer draining %d records (%d hosts × %d rounds, the worked example's size) into carbon-c-relay", f.Records, f.Hosts, f.Rounds)
		add(what+", records/s", f.RecordsPerSec, "records/s", "≥ 200", atLeast(200))
		add(what+", buckets with every host", float64(f.Complete), "", fmt.Sprintf("= %d", f.Buckets), atLeast(float64(f.Buckets)))
		add(what+", peak RSS", f.PeakRSSMB, "MB", "", nil)
	}
	if f := r.FleetBig; f.Records > 0 {
		what := fmt.Sprintf("fleet: one consumer draining %d records of the 4 × 10 000-server snapshot (%d hosts × %d rounds)", f.Records, f.Hosts, f.Rounds)
		add(what+", records/s", f.RecordsPerSec, "records/s", "", nil)
		add(what+", buckets with every host", float64(f.Complete), "", fmt.Sprintf("= %d", f.Buckets), atLeast(float64(f.Buckets)))
		add(what+", peak RSS", f.PeakRSSMB, "MB", "≤ 60", atMost(60))
	}
	if l := r.FleetLive; l.Buckets > 0 {
		what := fmt.Sprintf("fleet: %d hosts of one cluster at 1 s for %d s (%d records/s), one consumer", l.Hosts, l.Seconds, l.Hosts)
		add(what+", buckets with every host", float64(l.Complete), "", fmt.Sprintf("= %d", l.Buckets), atLeast(float64(l.Buckets)))
		add(what+", lag (round produced → aggregate in carbon), median", l.LagP50, "s", "", nil)
		add(what+", lag, max", l.LagMax, "s", "< 3", atMost(3))
	}
	if r.Pull.Rounds > 0 {
		add("haproxystats-pull round wall time (internal/pull)", r.Pull.PullMs, "ms", "", nil)
		add("plain Go socket reader, same replies", r.Pull.PlainMs, "ms", "", nil)
		add("pull / plain read", r.Pull.Ratio, "×", "≤ 1.2", atMost(1.2))
		add("haproxystats-pull binary, logged round time (1 s interval)", r.Pull.DaemonTookMs, "ms", "", nil)
		add("haproxystats-pull binary, CPU/round", r.Pull.DaemonCPUMs, "ms", "", nil)
		add("haproxystats-pull binary, peak RSS", r.Pull.DaemonPeakRSSMB, "MB", "≤ 40", atMost(40))
	}
	if l := r.Logs; l.Servers > 0 {
		what := fmt.Sprintf("[logs] haproxystats-pull (pull-interval 10 s, the default), httplog lines of %d bytes, %d servers", l.LineBytes, l.Servers)
		add(fmt.Sprintf("%s: CPU at %d lines/s, %% of one core", what, l.Rate), l.CPUPct, "%", "≤ 10", atMost(10))
		add(what+": peak RSS", l.PeakRSSMB, "MB", "≤ 40", atMost(40))
		add(fmt.Sprintf("%s: received, paced at %d lines/s (one sender in hsbench, which reached %.0f)", what, l.PeakRate, l.PeakSent), l.PeakRecvd, "lines/s", "≥ 300000", atLeast(300000))
		add(fmt.Sprintf("%s: dropped by the kernel at that rate", what), l.PeakDrops, "lines", "0", atMost(0))
		add(fmt.Sprintf("%s: flood of %d lines from one sender, received per second of sending", what, l.FloodSent), l.FloodRecvd, "lines/s", "", nil)
		add(fmt.Sprintf("%s: flood of %d lines, dropped by the kernel and counted", what, l.FloodSent), l.FloodDrops, "lines", "", nil)
	}
	if r.Format.Lines > 0 {
		add("Graphite formatting, metric.AppendLine", r.Format.AppendLinePerSec/1e6, "M lines/s", "≥ 5", atLeast(5))
		add("Graphite formatting, stats.Encoder (values computed too)", r.Format.EncoderPerSec/1e6, "M lines/s", "≥ 5", atLeast(5))
		add("build metrics + AppendLine (metrics in memory)", r.Format.RenderFormatPerSe/1e6, "M lines/s", "≥ 5", atLeast(5))
	}
	if r.Send.Lines > 0 {
		add("graphite.Sender into a null carbon", r.Send.NullPerSec/1e6, "M lines/s", "", nil)
	}
	for _, rr := range r.Send.Relay {
		add("graphite.Sender through carbon-c-relay "+rr.Flags+", until forwarded", rr.PerSec/1e6, "M lines/s", "", nil)
		add("lines lost by carbon-c-relay "+rr.Flags, float64(rr.Lines-rr.Received), "lines", "0", atMost(0))
	}
	if s := r.Soak; s != nil {
		b2f := func(b bool) float64 {
			if b {
				return 1
			}
			return 0
		}
		add("soak: haproxystats-pull RSS flat (1 = yes)", b2f(s.PullFlat), "", "1", atLeast(1))
		add("soak: haproxystats-process RSS flat (1 = yes)", b2f(s.ProcFlat), "", "1", atLeast(1))
		add("soak: haproxystats-pull median RSS, first third", s.PullEarlyMB, "MB", "", nil)
		add("soak: haproxystats-pull median RSS, last third", s.PullLateMB, "MB", "", nil)
		add("soak: haproxystats-process median RSS, first third", s.ProcEarlyMB, "MB", "", nil)
		add("soak: haproxystats-process median RSS, last third", s.ProcLateMB, "MB", "", nil)
		add("soak: haproxystats-pull peak RSS", s.PullPeakMB, "MB", "≤ 40", atMost(40))
		add("soak: haproxystats-process peak RSS", s.ProcPeakMB, "MB", "≤ 40", atMost(40))
		add("soak: haproxystats-pull RSS trend", s.PullSlope, "MB/h", "", nil)
		add("soak: haproxystats-process RSS trend", s.ProcSlope, "MB/h", "", nil)
		add("soak: snapshots still queued at the end", float64(s.FinalQueued), "", "≤ 2", atMost(2))
	}
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nhaproxystats benchmark, %s, %s, %d CPUs (%s)\n", r.Time, r.GoVersion, r.CPUs, r.CPUModel)
	fmt.Fprintf(w, "%s; %s\n", r.HAProxy, r.Relay)
	fmt.Fprintf(w, "size: %d processes × %d servers (%d backends × %d, %d frontends): %d show stat rows, %.1f MB per snapshot\n\n",
		r.Size.Procs, r.Size.servers(), r.Size.Backends, r.Size.ServersPerBackend, r.Size.Frontends, r.Snapshot.Rows, float64(r.Snapshot.Bytes)/(1<<20))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tfigure\ttarget\tmet")
	for _, rw := range r.Rows {
		met := ""
		if rw.Met != nil {
			met = "no"
			if *rw.Met {
				met = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\n", rw.Measure, num(rw.Value), rw.Unit, rw.Target, met)
	}
	tw.Flush()
}

func num(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e9:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// goBench is one line of go test -bench output.
type goBench struct {
	Name    string             `json:"name"`
	N       int64              `json:"n"`
	Metrics map[string]float64 `json:"metrics"`
}

func parseGoBench(out string) []goBench {
	var bs []goBench
	pkg := ""
	for line := range strings.Lines(out) {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := goBench{Name: pkg + "." + f[0], Metrics: map[string]float64{}}
		fmt.Sscan(f[1], &b.N)
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err == nil {
				b.Metrics[f[i+1]] = v
			}
		}
		bs = append(bs, b)
	}
	return bs
}
