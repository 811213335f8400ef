package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/graphite"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// formatResult is the formatting throughput of Graphite lines.
type formatResult struct {
	Lines             int     `json:"lines_per_snapshot"`
	AppendLinePerSec  float64 `json:"appendline_lines_per_s"`    // metric.AppendLine over built metrics
	EncoderPerSec     float64 `json:"encoder_lines_per_s"`       // stats.Encoder from the aggregated tables
	RenderFormatPerSe float64 `json:"render_format_lines_per_s"` // Frontends/Backends/Servers + AppendLine
}

// measureFormat formats the lines of one snapshot over and over for at
// least d each way.
func measureFormat(snap string, d time.Duration) (formatResult, error) {
	var r formatResult
	files, err := readFiles(snap, spool.Stat)
	if err != nil {
		return r, err
	}
	s, err := stats.ParseSites(files)
	if err != nil {
		return r, err
	}
	const ts = 1500000000
	build := func(ms []metric.Metric) []metric.Metric {
		ms = s.Frontends(ms[:0], ts, &opts)
		ms = s.Backends(ms, ts, &opts)
		return s.Servers(ms, ts, &opts)
	}
	ms := build(nil)
	r.Lines = len(ms)
	rate := func(f func()) float64 {
		f() // warm up
		n := 0
		t := time.Now()
		for time.Since(t) < d {
			f()
			n++
		}
		return float64(n*r.Lines) / time.Since(t).Seconds()
	}
	var buf []byte
	r.AppendLinePerSec = rate(func() {
		buf = buf[:0]
		for _, m := range ms {
			buf = m.AppendLine(buf)
		}
	})
	e := stats.NewEncoder(nil)
	r.EncoderPerSec = rate(func() {
		e.Reset(nil)
		e.Frontends(s, ts, &opts)
		e.Backends(s, ts, &opts)
		e.Servers(s, ts, &opts)
	})
	r.RenderFormatPerSe = rate(func() {
		ms = build(ms)
		buf = buf[:0]
		for _, m := range ms {
			buf = m.AppendLine(buf)
		}
	})
	return r, nil
}

// sendResult is the Graphite sender's throughput into a null carbon and
// through a real carbon-c-relay that forwards to a null carbon.
type sendResult struct {
	Lines      int64      `json:"lines"`
	NullPerSec float64    `json:"null_lines_per_s"`
	Relay      []relayRun `json:"relay"`
}

// relayRun is one pass through carbon-c-relay.
type relayRun struct {
	Flags    string  `json:"flags"`
	Lines    int64   `json:"lines"`
	Received int64   `json:"received"`
	PerSec   float64 `json:"lines_per_s"` // until the last line came out of the relay
}

// graphiteConfig reads the sender settings from an INI text, the way an
// operator sets them: the given port, no rate cap, and a queue that holds
// every batch of the test (the default holds 1 000 000 lines).
func graphiteConfig(dir string, port int) (config.Graphite, error) {
	path := filepath.Join(dir, "graphite.conf")
	text := fmt.Sprintf("[graphite]\nserver = 127.0.0.1\nport = %d\nmax-lines-per-second = 0\nqueue-size = 20000000\n", port)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return config.Graphite{}, err
	}
	f, err := config.Load(path, true, "")
	if err != nil {
		return config.Graphite{}, err
	}
	cfg, _, err := f.Config(config.ProcessProgram)
	if err != nil {
		return config.Graphite{}, err
	}
	return cfg.Graphite, nil
}

// sendAll sends batches copies of ms through one Sender to port, all at
// once as the daemon's workers do (a Send returns only graphite.ConfirmAfter
// after its lines were written, so one at a time would measure that
// wait), and waits until got reports every line, or until it stops
// growing for two seconds. It returns the lines seen and how long they
// took to arrive.
func sendAll(ctx context.Context, dir string, port int, ms []metric.Metric, batches int, got func() int64) (int64, time.Duration, error) {
	cfg, err := graphiteConfig(dir, port)
	if err != nil {
		return 0, 0, err
	}
	s := graphite.New(cfg, slog.New(slog.DiscardHandler))
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(cctx)
	}()
	want := got() + int64(len(ms)*batches)
	errs := make(chan error, batches)
	t := time.Now()
	for range batches {
		go func() { errs <- s.Send(ctx, ms) }()
	}
	last, lastChange := got(), time.Now()
	waitFor(ctx, 150*time.Second, "every line", func() bool {
		n := got()
		if n != last {
			last, lastChange = n, time.Now()
		}
		return n >= want || time.Since(lastChange) > 2*time.Second
	})
	n := got()
	took := time.Since(t)
	if n < want {
		took = lastChange.Sub(t) // not the idle wait
	}
	for range batches {
		if err := <-errs; err != nil {
			return n, took, err
		}
	}
	return n - (want - int64(len(ms)*batches)), took, nil
}

// measureSend sends batches snapshots' worth of lines into a null carbon,
// then through carbon-c-relay with its default settings (one snapshot:
// it is slow) and with a bigger queue and batch (batches snapshots).
func measureSend(ctx context.Context, relay, work, snap string, batches int) (sendResult, error) {
	var r sendResult
	dir, err := os.MkdirTemp(work, "relay-")
	if err != nil {
		return r, err
	}
	ms, err := renderMetrics(snap, 1500000000)
	if err != nil {
		return r, err
	}
	r.Lines = int64(len(ms) * batches)

	null, err := newSink()
	if err != nil {
		return r, err
	}
	n, took, err := sendAll(ctx, dir, null.port(), ms, batches, null.lines.Load)
	null.close()
	if err != nil {
		return r, err
	}
	r.NullPerSec = float64(n) / took.Seconds()

	for _, run := range []struct {
		flags   []string
		batches int
	}{{nil, 1}, {[]string{"-q", "1000000", "-b", "25000"}, batches}} {
		rr, err := throughRelay(ctx, relay, dir, ms, run.batches, run.flags)
		if err != nil {
			return r, err
		}
		r.Relay = append(r.Relay, rr)
	}
	return r, nil
}

// throughRelay sends batches copies of ms through carbon-c-relay started
// with flags (plus -s: no statistics of its own in the stream) into a
// null carbon.
func throughRelay(ctx context.Context, relay, dir string, ms []metric.Metric, batches int, flags []string) (relayRun, error) {
	rr := relayRun{Flags: strings.Join(append([]string{"-s"}, flags...), " "), Lines: int64(len(ms) * batches)}
	out, err := newSink()
	if err != nil {
		return rr, err
	}
	defer out.close()
	port, stopRelay, err := startRelay(ctx, relay, dir, out.port(), flags)
	if err != nil {
		return rr, err
	}
	defer stopRelay()
	n, took, err := sendAll(ctx, dir, port, ms, batches, out.lines.Load)
	if err != nil {
		return rr, err
	}
	rr.Received = n
	rr.PerSec = float64(n) / took.Seconds()
	return rr, nil
}

// startRelay starts carbon-c-relay with flags (plus -s: no statistics of
// its own in the stream) forwarding everything to 127.0.0.1:to, and
// returns the port it listens on and how to stop it.
func startRelay(ctx context.Context, relay, dir string, to int, flags []string) (int, func(), error) {
	port, err := freePort()
	if err != nil {
		return 0, nil, err
	}
	conf := filepath.Join(dir, "relay.conf")
	text := fmt.Sprintf("listen type linemode 127.0.0.1:%d proto tcp ;\ncluster null forward 127.0.0.1:%d ;\nmatch * send to null stop ;\n", port, to)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return 0, nil, err
	}
	logFile := filepath.Join(dir, "relay.log")
	os.Remove(logFile)
	args := append([]string{"-f", conf, "-s", "-l", logFile}, flags...)
	cmd, err := start(filepath.Join(dir, "relay.out"), nil, relay, args...)
	if err != nil {
		return 0, nil, err
	}
	if err := waitFor(ctx, 10*time.Second, "carbon-c-relay to start", func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "startup sequence complete")
	}); err != nil {
		stop(cmd)
		return 0, nil, err
	}
	return port, func() { stop(cmd) }, nil
}
