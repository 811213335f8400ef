package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/logformat"
	"github.com/haproxystats-go/haproxystats/internal/logrecv"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// unparsedEvery is how often at most an unparsable log line is logged,
// as a sample of what arrives: a flood of them must not flood the log.
const unparsedEvery = time.Minute

// logs is pull's side of [logs]: the sockets HAProxy's request logs
// arrive on, and the histograms of the lines received since the last
// round that committed them. The sockets' goroutines add to set under
// mu; a round takes set and leaves an empty one (spare) in its place,
// so that receiving goes on while the round writes.
type logs struct {
	cfg    config.Logs
	log    *slog.Logger
	listen *logrecv.Listener

	mu    sync.Mutex
	set   *latency.Set // the lines received since the last take
	spare *latency.Set // empty; set's successor at the next take

	parsed, unparsed atomic.Uint64
	seriesDropped    atomic.Uint64 // of the sets taken and committed
	lastSample       atomic.Int64  // UnixNano of the last unparsed line logged
}

// openLogs checks [logs] and binds its sockets: an error names the
// option and the value, so that a wrong listen or format stops pull at
// start.
func openLogs(cfg config.Logs, log *slog.Logger) (*logs, error) {
	addrs, err := logrecv.ParseList(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("[logs] listen: %w", err)
	}
	if _, err := logformat.New(cfg.Format); err != nil {
		return nil, fmt.Errorf("[logs] format: %w", err)
	}
	l, err := logrecv.Listen(addrs, logrecv.Options{ReceiveBuffer: cfg.ReceiveBuffer, SocketMode: os.FileMode(cfg.SocketMode), Log: log})
	if err != nil {
		return nil, fmt.Errorf("[logs] listen: %w", err)
	}
	return &logs{cfg: cfg, log: log, listen: l, set: latency.NewSet(cfg.MaxSeries), spare: latency.NewSet(cfg.MaxSeries)}, nil
}

// serveLogs opens the sockets of [logs], when there is one, and
// receives log lines until the function it returns is called: that one
// stops receiving and commits the lines received until then in a
// snapshot of their own, so that a restart loses none that was read.
func (p *Puller) serveLogs() (stop func(), err error) {
	if p.cfg.Logs == nil {
		return func() {}, nil
	}
	if p.logs, err = openLogs(*p.cfg.Logs, p.log); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.logs.serve(ctx) }()
	return func() {
		cancel()
		if err := <-served; err != nil {
			p.log.Error("receiving logs failed", "err", err)
		}
		p.commitLogs(time.Now(), "shutdown")
	}, nil
}

// serve receives log lines until ctx is done.
func (g *logs) serve(ctx context.Context) error {
	return g.listen.Serve(ctx, func(int) logrecv.Handler {
		parsers := g.parsers()
		var line latency.Line
		return func(msg []byte) {
			ok := false
			for _, p := range parsers {
				if ok = p.Parse(msg, &line); ok {
					break
				}
			}
			if !ok {
				g.unparsed.Add(1)
				g.sample(msg)
				return
			}
			g.parsed.Add(1)
			g.mu.Lock()
			g.set.Add(&line)
			g.mu.Unlock()
		}
	})
}

// parsers are the parsers of one socket: format's, then, for a custom
// log-format, the standard ones (auto), so that the frontends that keep
// option httplog or tcplog are understood beside the custom one.
func (g *logs) parsers() []*logformat.Parser {
	p, _ := logformat.New(g.cfg.Format) // checked by openLogs
	out := []*logformat.Parser{p}
	if g.cfg.Format != config.DefaultLogsFormat {
		auto, _ := logformat.New(config.DefaultLogsFormat)
		out = append(out, auto)
	}
	return out
}

// sample logs msg, an unparsable line, unless one was logged less than
// unparsedEvery ago.
func (g *logs) sample(msg []byte) {
	now := time.Now().UnixNano()
	last := g.lastSample.Load()
	if now-last < int64(unparsedEvery) || !g.lastSample.CompareAndSwap(last, now) {
		return
	}
	const most = 300
	g.log.Warn("log line not understood (one sample a minute at most; LogLinesUnparsed counts them all)", "format", g.cfg.Format, "line", string(msg[:min(len(msg), most)]), "bytes", len(msg))
}

// take returns the lines received since the last take, and starts the
// next set. The caller writes it, then gives it to done or to putBack.
func (g *logs) take() *latency.Set {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.set
	g.set, g.spare = g.spare, nil
	return s
}

// done is the end of a set taken and committed: it is emptied, to be
// the next one.
func (g *logs) done(s *latency.Set) {
	g.seriesDropped.Add(s.SeriesDropped())
	s.Reset()
	g.mu.Lock()
	g.spare = s
	g.mu.Unlock()
}

// putBack is the end of a set taken but not committed: its lines go
// with the next round.
func (g *logs) putBack(s *latency.Set) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s.Merge(g.set) // what came while the round wrote
	g.set.Reset()
	g.set, g.spare = s, g.set
}

// counters are the self-statistics of the logs: cumulative since pull
// started, as the rounds' are.
func (g *logs) counters(into map[string]float64, taken *latency.Set) {
	c := g.listen.Counters()
	into["LogLinesReceived"] = float64(c.Received)
	into["LogLinesParsed"] = float64(g.parsed.Load())
	into["LogLinesUnparsed"] = float64(g.unparsed.Load())
	into["LogLinesDropped"] = float64(c.Dropped)
	into["LogLinesTruncated"] = float64(c.Truncated)
	dropped := g.seriesDropped.Load()
	if taken != nil {
		dropped += taken.SeriesDropped()
	}
	into["LogSeriesDropped"] = float64(dropped)
}

// write writes s into the round's directory dir, synced, unless it
// holds nothing.
func writeLatency(dir string, s *latency.Set) error {
	if s.Empty() {
		return nil
	}
	path := filepath.Join(dir, spool.LatencyFile)
	if err := files.WriteSynced(path, os.O_EXCL, 0o644, s); err != nil {
		return &writeError{fmt.Errorf("write %s: %w", path, err)}
	}
	return nil
}

// commitLogs commits, as a snapshot of its own stamped now, the log
// lines a round could not carry: one whose stats were discarded (a
// socket failed), or the last ones at shutdown. Nothing is committed
// when no line came.
func (p *Puller) commitLogs(now time.Time, why string) {
	if p.logs == nil {
		return
	}
	s := p.logs.take()
	if s.Empty() {
		p.logs.done(s)
		return
	}
	ts := max(now.Unix(), p.lastCommitted+1) // a name of its own, even within the second of a round
	name := spool.Name(ts)
	tmp := filepath.Join(p.cfg.TmpDstDir, name)
	err := os.RemoveAll(tmp)
	if err == nil {
		err = os.Mkdir(tmp, 0o755)
	}
	if err == nil {
		err = writeLatency(tmp, s)
	}
	if err == nil {
		err = spool.WritePullStats(tmp, p.pullStats(p.Committed.Load(), s)) // not a round
	}
	var dst string
	if err == nil {
		dst, err = spool.Commit(tmp, p.cfg.DstDir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		p.logs.putBack(s)
		if !errors.Is(err, spool.ErrExists) {
			p.log.Error("cannot commit the log lines' histograms; they go with the next round", "dir", tmp, "err", err)
		}
		return
	}
	p.lastCommitted = ts
	p.logs.done(s)
	p.log.Info("latency histograms stored in a snapshot of their own", "dir", dst, "why", why)
}

// logsString is [logs] as a reload compares it: it needs a restart.
func logsString(l *config.Logs) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("%+v", *l)
}
