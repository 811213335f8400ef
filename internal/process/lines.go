package process

import (
	"io"
	"log/slog"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// snapLines is a snapshot's datapoints as Graphite lines that are
// rendered as a sink writes them (stats.Encoder), never held as metrics:
// for 40 000 servers that is the difference between hundreds of MB and a
// few. It holds the parsed show stat replies (stats.Sites) while the
// snapshot is in hand. Once it is delivered (Processor.retire) a sink
// that kept it (the Graphite sender, for its replay window) renders it
// again from the replies on disk, in SentDir, which stay there until the
// last holder calls Release.
type snapLines struct {
	ts    int64
	o     stats.Options
	infos []stats.File
	stat  []stats.File // the show stat replies, without Data
	steps []step       // what WriteTo writes, in order
	n     int          // lines

	// writers is how many sinks will write the lines; once each has
	// written them from the parsed replies, those are dropped and
	// written is called.
	writers int
	written func()

	mu      sync.Mutex
	wrote   int          // guarded by mu; first writes done from sites
	dir     string       // guarded by mu; where the replies are
	sites   *stats.Sites // guarded by mu; nil once every sink wrote the lines
	refs    int          // guarded by mu; holders: the processor, and each sink that kept it
	retired bool         // guarded by mu; dir is in SentDir, removed with the last holder
}

// A step is one part of the lines: one of the four blocks of the stats
// package, or one self-statistic.
type step struct {
	block block
	m     metric.Metric // for selfStat
}

type block uint8

const (
	selfStat block = iota
	daemonBlock
	frontendBlock
	backendBlock
	serverBlock
)

// Len returns how many lines WriteTo writes.
func (l *snapLines) Len() int { return l.n }

// Time returns the snapshot's time.
func (l *snapLines) Time() int64 { return l.ts }

// WriteTo renders the lines into w in pieces of about stats.FlushSize
// bytes. Concurrent calls are safe: the Sites are read-only.
func (l *snapLines) WriteTo(w io.Writer) (int64, error) {
	l.mu.Lock()
	sites, dir := l.sites, l.dir
	l.mu.Unlock()
	fromMemory := sites != nil
	if sites == nil && l.needsSites() {
		var err error
		if sites, err = sitesFrom(dir, l.stat, &l.o); err != nil {
			return 0, &metric.SourceError{Err: err}
		}
	}
	cw := &countWriter{w: w}
	if err := l.encode(stats.NewEncoder(cw), sites); err != nil {
		if cw.err != nil {
			return cw.n, cw.err
		}
		return cw.n, &metric.SourceError{Err: err}
	}
	if fromMemory {
		l.mu.Lock()
		l.wrote++
		done := l.wrote == l.writers
		if done {
			l.sites = nil // a later write parses the replies again
		}
		l.mu.Unlock()
		if done && l.written != nil {
			l.written()
		}
	}
	return cw.n, nil
}

// encode gives every step to e.
func (l *snapLines) encode(e *stats.Encoder, sites *stats.Sites) error {
	for _, s := range l.steps {
		var err error
		switch s.block {
		case selfStat:
			err = e.Metric(s.m)
		case daemonBlock:
			err = e.Daemon(l.infos, l.ts, &l.o)
		case frontendBlock:
			err = e.Frontends(sites, l.ts, &l.o)
		case backendBlock:
			err = e.Backends(sites, l.ts, &l.o)
		case serverBlock:
			err = e.Servers(sites, l.ts, &l.o)
		}
		if err != nil {
			return err
		}
	}
	return e.Flush()
}

func (l *snapLines) needsSites() bool {
	for _, s := range l.steps {
		if s.block >= frontendBlock {
			return true
		}
	}
	return false
}

// Retain adds a holder.
func (l *snapLines) Retain() {
	l.mu.Lock()
	l.refs++
	l.mu.Unlock()
}

// Release lets go of the lines; when the last holder does, a delivered
// snapshot's directory is removed.
func (l *snapLines) Release() {
	l.mu.Lock()
	l.refs--
	remove := l.refs == 0 && l.retired
	dir := l.dir
	l.mu.Unlock()
	if remove {
		if err := spool.Remove(dir); err != nil {
			l.o.Log.Error("failed to remove delivered snapshot", "dir", dir, "err", err)
		}
	}
}

// countWriter passes writes on to w and keeps their total and first
// error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// linesOut is the output of build for a snapLines: it records the steps
// and counts their lines without formatting them.
type linesOut struct {
	l     *snapLines
	count *stats.Encoder
}

func (o *linesOut) daemon(infos []stats.File, ts int64, opts *stats.Options) error {
	if err := o.count.Daemon(infos, ts, opts); err != nil {
		return err
	}
	o.l.infos = infos
	o.l.steps = append(o.l.steps, step{block: daemonBlock})
	return nil
}

func (o *linesOut) frontends(s *stats.Sites, ts int64, opts *stats.Options) {
	o.sites(frontendBlock, o.count.Frontends, s, ts, opts)
}

func (o *linesOut) backends(s *stats.Sites, ts int64, opts *stats.Options) {
	o.sites(backendBlock, o.count.Backends, s, ts, opts)
}

func (o *linesOut) servers(s *stats.Sites, ts int64, opts *stats.Options) {
	o.sites(serverBlock, o.count.Servers, s, ts, opts)
}

func (o *linesOut) sites(b block, count func(*stats.Sites, int64, *stats.Options) error, s *stats.Sites, ts int64, opts *stats.Options) {
	count(s, ts, opts) // a counter has no writer to fail
	o.l.sites = s
	o.l.steps = append(o.l.steps, step{block: b})
}

func (o *linesOut) self(m metric.Metric) {
	o.count.Metric(m)
	o.l.steps = append(o.l.steps, step{block: selfStat, m: m})
}

// renderLines turns snap, whose show stat replies are still on disk, into
// lines that are rendered as they are written.
func (p *Processor) renderLines(snap Snapshot, log *slog.Logger) (*snapLines, error) {
	l := &snapLines{ts: snap.Time, dir: snap.dir, stat: snap.files(spool.Stat), refs: 1, writers: len(p.sinks)}
	out := &linesOut{l: l, count: stats.NewCounter()}
	o, err := p.build(snap, p.opts.Prefix, true, out, nil, log)
	if err != nil {
		return nil, err
	}
	l.o = *o
	l.n = out.count.Lines()
	return l, nil
}
