// Package process is the worker pool of haproxystats-process. It takes
// snapshot directories from the spool, oldest first, turns each into
// Graphite datapoints (package stats), hands them to every sink, and
// removes the directory only after every sink accepted all of them. A
// snapshot that cannot be processed is moved aside to a quarantine
// directory, never retried in a loop, never lost silently.
package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/backoff"
	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/counters"
	"github.com/haproxystats-go/haproxystats/internal/health"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Sink is a destination of the snapshots: Graphite, local-store, Kafka,
// Prometheus. It takes them in one of three forms, the first it
// implements of LinesSink, ExpositionSink and MetricsSink. Each form's
// method returns nil only once the sink has accepted the whole snapshot
// (for a network sink: written and flushed, or acknowledged); it is
// called concurrently by the workers.
type Sink interface {
	Name() string
}

// MetricsSink takes a snapshot as metrics in memory.
type MetricsSink interface {
	Sink
	Send(ctx context.Context, ms []metric.Metric) error
}

// LinesSink takes a snapshot as Graphite lines, rendered as it writes
// them (metric.Lines). When every sink is a LinesSink or an
// ExpositionSink, a snapshot is never held in memory as metrics.
type LinesSink interface {
	Sink
	SendLines(ctx context.Context, l metric.Lines) error
}

// ExpositionSink takes a snapshot as its parsed rows, which it walks
// itself (the Prometheus endpoint). A Processor with one keeps in the
// parsed rows the show stat columns it names (every column with
// all-metrics), beyond those of the metric lists.
type ExpositionSink interface {
	Sink
	Expose(ctx context.Context, x *stats.Exposition) error
	Columns() []string
}

// Reporter is implemented by sinks that have counters worth sending as
// self-statistics; each name becomes PREFIX.haproxystats.<name>.
type Reporter interface {
	Report() map[string]float64
}

// A FailureReporter is a sink that knows since when it has been failing,
// and says the zero time while it works; FailingSince must not block.
// The Graphite sender is one: while carbon is away it waits instead of
// refusing, so only it can tell. For the other sinks a refusal tells.
type FailureReporter interface {
	FailingSince() time.Time
}

// Processor runs the worker pool.
type Processor struct {
	cfg config.Process
	// opts is the template of every snapshot's options (the exclusions
	// are read per snapshot); Reconfigure replaces it and the exclusion
	// files. Guarded by optsMu.
	opts     stats.Options
	excludes [2]string // exclude-frontends, exclude-backends; guarded by optsMu
	optsMu   sync.RWMutex
	sinks    []Sink
	log      *slog.Logger
	q        *queue

	// ShutdownTimeout bounds how long the snapshots in hand may take to
	// reach the sinks after ctx is done; what is not accepted by then
	// stays on disk for the next start.
	ShutdownTimeout time.Duration
	// MaxReplySize is max-reply-size: a reply file over it is not read,
	// and its snapshot is quarantined.
	MaxReplySize int64
	// RetryDelay is the first pause before a snapshot that a sink refused
	// is tried again; it doubles up to a minute.
	RetryDelay time.Duration

	// Counters since start, reported as self-statistics.
	Processed atomic.Int64 // snapshots delivered to every sink and removed
	Failed    atomic.Int64 // snapshots quarantined
	Rejected  atomic.Int64 // reply files rejected as corrupt or truncated
	Retries   atomic.Int64 // deliveries retried after a sink refused

	ReadRetries atomic.Int64 // snapshots retried after a transient read error
	NonFinite   atomic.Int64 // datapoints dropped because their value was not finite

	counters    *counters.Tracker // offsets that keep counters monotonic across reloads
	natureStore *natureStore      // field natures learned from typed dumps (all-metrics)
	streams     bool              // no sink is a MetricsSink: snapshots go as lines
	lineSinks   int               // the sinks that are LinesSinks
	// slot is held from the parsing of a snapshot that goes as lines
	// until every sink wrote it once: the parsed replies of one snapshot
	// at a time are in memory, however many workers wait for sinks.
	slot chan struct{}
	// inFlight bounds the snapshots handed to their sinks and not yet
	// delivered (MaxDeliveries).
	inFlight chan struct{}
	// health is told what the workers do and what the sinks answer
	// (Watch); nil: nothing is.
	health *health.Monitor

	mu       sync.Mutex
	accepted map[string]map[string]bool // snapshot → sinks that accepted it; guarded by mu
	attempts map[string]int             // snapshot → failed deliveries and reads, for the backoff; guarded by mu
	reads    map[string]int             // snapshot → transient read failures; guarded by mu
}

// New returns a Processor with options o (Prefix, lists, grouping) that
// sends to sinks.
func New(cfg config.Process, o stats.Options, sinks []Sink, log *slog.Logger) *Processor {
	o.Log = log
	o.AllMetrics = o.AllMetrics || cfg.AllMetrics
	layout := spool.LayoutOf(cfg.SrcDir)
	tracker, err := counters.Open(layout.CountersState)
	if err != nil {
		log.Error("counter offsets lost: starting from zero", "err", err)
		tracker, _ = counters.Open("")
	}
	natures, err := openNatures(layout.NaturesState)
	if err != nil {
		log.Warn("field natures learned before are lost: the built-in table applies until typed dumps arrive", "err", err)
		natures = &natureStore{path: layout.NaturesState} // rewritten at the next learning
	}
	streams, lineSinks := true, 0
	for _, s := range sinks {
		switch s := s.(type) {
		case LinesSink:
			lineSinks++
		case ExpositionSink:
			o.Exposed = true
			if o.ExposedColumns == nil {
				o.ExposedColumns = map[string]bool{}
			}
			for _, c := range s.Columns() {
				o.ExposedColumns[c] = true
			}
		default:
			streams = false
		}
	}
	return &Processor{
		cfg: cfg, opts: o, excludes: [2]string{cfg.ExcludeFrontends, cfg.ExcludeBackends}, sinks: sinks, log: log, q: newQueue(), counters: tracker, natureStore: natures, streams: streams, lineSinks: lineSinks, slot: make(chan struct{}, 1),
		inFlight:        make(chan struct{}, MaxDeliveries),
		ShutdownTimeout: 10 * time.Second,
		RetryDelay:      time.Second,
		MaxReplySize:    config.DefaultMaxReplySize,
		accepted:        map[string]map[string]bool{},
		attempts:        map[string]int{},
		reads:           map[string]int{},
	}
}

// Watch makes m the Monitor of p's workers, sinks and deliveries, and
// adds to it the sinks that deliver (all but ExpositionSinks, which
// never refuse). Call it before Run, Render and Deliver.
func (p *Processor) Watch(m *health.Monitor) {
	p.health = m
	for _, s := range p.sinks {
		if _, ok := s.(ExpositionSink); ok {
			continue
		}
		var failing func() time.Time
		if r, ok := s.(FailureReporter); ok {
			failing = r.FailingSince
		}
		m.AddSink(s.Name(), failing)
	}
}

// Queued returns how many snapshots of src-dir the workers know of and
// have not finished with: waiting, in hand, or waiting for a retry. It
// does not wait for the workers.
func (p *Processor) Queued() int { return p.q.held() }

// options returns the options template in force.
func (p *Processor) options() stats.Options {
	p.optsMu.RLock()
	defer p.optsMu.RUnlock()
	return p.opts
}

func (p *Processor) exclusions() (frontends, backends string) {
	p.optsMu.RLock()
	defer p.optsMu.RUnlock()
	return p.excludes[0], p.excludes[1]
}

// Reconfigure makes o (prefix, metric lists, optional blocks, grouping)
// and cfg's exclusion files and all-metrics those of the next snapshots,
// as a reload asks. What the sinks need of the options (the columns an
// ExpositionSink keeps) stays as it was.
func (p *Processor) Reconfigure(cfg config.Process, o stats.Options) {
	p.optsMu.Lock()
	defer p.optsMu.Unlock()
	o.Log = p.opts.Log
	o.AllMetrics = o.AllMetrics || cfg.AllMetrics
	o.Exposed, o.ExposedColumns = p.opts.Exposed, p.opts.ExposedColumns
	p.opts = o
	p.excludes = [2]string{cfg.ExcludeFrontends, cfg.ExcludeBackends}
}

// Run queues every snapshot path received from snapshots and processes
// them with cfg.Workers workers until ctx is done. Then it stops taking
// snapshots, lets the workers finish the ones in hand within
// ShutdownTimeout, and returns. Snapshots not finished stay in src-dir.
func (p *Processor) Run(ctx context.Context, snapshots <-chan string) error {
	p.cleanSent()
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	var deliveries sync.WaitGroup
	for i := range p.cfg.Workers {
		log := p.log.With("worker", i+1)
		loop := p.health.Loop(fmt.Sprintf("worker %d", i+1))
		wg.Go(func() {
			defer loop.Done()
			p.worker(workCtx, log, &deliveries, loop)
		})
	}
	intake := make(chan struct{})
	go func() {
		defer close(intake)
		for {
			select {
			case <-ctx.Done():
				return
			case path, ok := <-snapshots:
				if !ok {
					return
				}
				if p.q.push(path) {
					p.log.Debug("putting snapshot in queue", "dir", path)
				}
			}
		}
	}()
	<-ctx.Done()
	<-intake
	p.log.Info("shutting down: finishing the snapshots in hand", "waiting", p.q.waiting(), "timeout", p.ShutdownTimeout)
	p.q.close()
	timer := time.AfterFunc(p.ShutdownTimeout, cancelWork)
	defer timer.Stop()
	wg.Wait()
	deliveries.Wait()
	return nil
}

// MaxDeliveries is how many snapshots may wait at once for their sinks'
// confirmation (the Graphite sender's is a second) while the workers go
// on with the next ones. Each holds no table, only a reference to its
// directory: its lines are rendered again from disk if a sink writes
// them again.
const MaxDeliveries = 128

// worker takes snapshots from the queue. It hands each to a delivery of
// its own and moves on once the snapshot's lines were written by every
// sink, not when they are confirmed, so that confirmations overlap: a
// backlog drains at the sinks' pace, not at workers per second. A
// snapshot whose metrics are held in memory (a sink takes no lines)
// keeps the worker until it is delivered, as before. loop says what the
// worker does: idle while it waits for a snapshot, waiting while the
// sinks hold it up, busy while it renders (handle).
func (p *Processor) worker(ctx context.Context, log *slog.Logger, deliveries *sync.WaitGroup, loop *health.Loop) {
	for {
		loop.Idle()
		path, ok := p.q.pop()
		if !ok {
			return
		}
		loop.Waiting() // for room among the deliveries
		p.inFlight <- struct{}{}
		next := make(chan struct{})
		deliveries.Go(func() {
			defer func() { <-p.inFlight }()
			p.handle(ctx, path, log.With("dir", path), next, loop)
		})
		<-next
	}
}

// handle processes one snapshot and decides its fate: removed once every
// sink accepted it, put back for a later try when a sink refused it,
// quarantined when it cannot be processed at all. It closes next when
// the worker may take the next snapshot; until then it says on loop
// what the worker waits for.
func (p *Processor) handle(ctx context.Context, path string, log *slog.Logger, next chan struct{}, loop *health.Loop) {
	loop.Waiting() // for the sinks to write the previous snapshot
	p.slot <- struct{}{}
	var once, onceNext sync.Once
	free := func() { once.Do(func() { <-p.slot }) }
	moveOn := func() { onceNext.Do(func() { close(next) }) }
	defer moveOn()
	defer free()
	loop.Busy()
	lines, exp, err := p.render(path, log)
	loop.Waiting() // for the sinks, until moveOn
	l, _ := lines.(*snapLines)
	if l != nil {
		l.written = func() { free(); moveOn() }
	} else {
		free() // metrics in memory: held until delivered, whatever the slot
	}
	switch {
	case errors.Is(err, spool.ErrVanished):
		log.Warn("snapshot vanished before it was processed")
		p.forget(path)
		return
	case errors.Is(err, errEmpty):
		log.Warn("snapshot has no reply files, removing it")
		p.remove(path, log)
		return
	case transient(err) && p.readFailure(path) <= maxReadAttempts:
		p.ReadRetries.Add(1)
		p.retryLater(ctx, path, err, log, "a file of the snapshot cannot be read for now, it stays on disk and will be retried")
		return
	case err != nil:
		p.quarantine(path, err, log)
		return
	}
	if err := p.dispatch(ctx, path, lines, exp); err != nil {
		if l != nil {
			l.Release() // the directory stays where it is
		}
		p.Retries.Add(1)
		p.retryLater(ctx, path, err, log, "a sink refused the snapshot, it stays on disk and will be retried")
		return
	}
	p.health.Delivered(lines.Time())
	if l != nil {
		p.retire(path, l, log)
	} else {
		p.remove(path, log)
	}
	p.Processed.Add(1)
	log.Info("finished with snapshot", "metrics", lines.Len())
}

var errEmpty = errors.New("no reply files")

// render turns the snapshot at path into its datapoints: a *snapLines
// that renders them as the sinks write them, when no sink needs metrics
// and no counter offsets apply, or else metrics in memory; and, when a
// sink is an ExpositionSink, the exposition (else nil).
func (p *Processor) render(path string, log *slog.Logger) (metric.Lines, *stats.Exposition, error) {
	snap, err := loadSnapshot(path, p.MaxReplySize)
	if err != nil {
		return nil, nil, err
	}
	defer snap.Release() // the lines hold what they read again
	if p.streams && !snap.fromWorkers() {
		l, err := p.renderLines(snap, p.options().Prefix, true, nil, log)
		if err != nil {
			return nil, nil, err // not a nil *snapLines in an interface
		}
		x := p.exposition(l.r, l.sites)
		l.exp = x
		return l, x, nil
	}
	ms, r, sites, err := p.renderSnapshot(snap, p.options().Prefix, p.counters, true, nil, log)
	if err != nil {
		return nil, nil, err
	}
	return metric.Slice(ms), p.exposition(r, sites), nil
}

// exposition is what an ExpositionSink gets of a rendering; nil when no
// sink is one.
func (p *Processor) exposition(r *rendering, sites *stats.Sites) *stats.Exposition {
	if !p.options().Exposed {
		return nil
	}
	x := &stats.Exposition{Time: r.ts, Infos: r.infos, Sites: sites, StickTables: r.tables, Options: &r.o, Latency: r.lat}
	for _, s := range r.steps {
		if s.block == selfStat {
			x.Self = append(x.Self, stats.Sample{Name: s.name, Value: s.v})
		}
	}
	return x
}

// workers renders, for a snapshot taken through a master CLI (reply
// files named "<socket>@<pid>_info"), each worker's counters alone, so
// that counters.Tracker can keep the sums monotonic when a worker exits.
// It returns nil for other snapshots.
func (p *Processor) workers(infos []stats.File, statFiles []blob.Reply, ts int64, o *stats.Options) []counters.Worker {
	byID := map[string]*counters.Worker{}
	var ids []string
	add := func(name, suffix string) (*counters.Worker, bool) {
		id := strings.TrimSuffix(name, suffix)
		if !isWorker(id) {
			return nil, false
		}
		w := byID[id]
		if w == nil {
			w = &counters.Worker{ID: id, Values: map[string]float64{}}
			byID[id] = w
			ids = append(ids, id)
		}
		return w, true
	}
	keep := func(w *counters.Worker, ms []metric.Metric) {
		for _, m := range ms {
			if isCounter(o.Natures, m.Path) {
				w.Values[m.Path] = m.Value
			}
		}
	}
	quiet := *o
	quiet.Log = slog.New(slog.DiscardHandler)
	for _, f := range infos {
		if w, ok := add(f.Name, spool.InfoSuffix); ok {
			ms, _ := stats.Daemon(nil, []stats.File{f}, ts, &quiet)
			keep(w, ms)
		}
	}
	for _, f := range statFiles {
		w, ok := add(f.Name, spool.StatSuffix)
		if !ok {
			continue
		}
		sites, err := parseSites([]blob.Reply{f}, &quiet)
		if err != nil {
			continue
		}
		ms := sites.Frontends(nil, ts, &quiet)
		ms = sites.Backends(ms, ts, &quiet)
		keep(w, sites.Servers(ms, ts, &quiet))
	}
	if len(ids) == 0 {
		return nil
	}
	out := make([]counters.Worker, len(ids))
	for i, id := range ids {
		out[i] = *byID[id]
	}
	return out
}

// isCounter reports whether the datapoint at path is a counter whose sum
// counters.Tracker keeps monotonic: its last component is a per-process
// cumulative counter by its nature (learned from typed dumps, or the
// built-in table), and it is not a per-process value
// (daemon.process.<n>.*), which belongs to one worker anyway.
func isCounter(n *stats.Natures, path string) bool {
	return n.Counter(path[strings.LastIndexByte(path, '.')+1:]) && !strings.Contains(path, ".daemon.process.")
}

// maxExcludeSize bounds an exclusion file: a million names of 16 bytes.
const maxExcludeSize = 16 << 20

// openExclude opens an exclusion file: a regular file (through a symlink
// if the operator made one), opened without blocking, so that a FIFO or
// a device put in its place cannot hang or flood every worker, and at
// most maxExcludeSize bytes.
func openExclude(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s is a %v, not a regular file", path, fi.Mode().Type())
	case fi.Size() > maxExcludeSize:
		err = fmt.Errorf("%s has %d bytes, more than the %d an exclusion file may have", path, fi.Size(), maxExcludeSize)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readExclude reads an exclusion file: one name per line, '#' lines
// ignored, names sanitised. It is read for every snapshot so that edits
// apply without a restart. An unreadable file excludes nothing.
func readExclude(path string, log *slog.Logger) map[string]bool {
	if path == "" {
		return nil
	}
	f, err := openExclude(path)
	if err != nil {
		log.Error("failed to read exclusion file, excluding nothing", "file", path, "err", err)
		return nil
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(io.LimitReader(f, maxExcludeSize))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[metric.Sanitize(line)] = true
	}
	if err := sc.Err(); err != nil {
		log.Error("failed to read exclusion file", "file", path, "err", err)
	}
	return names
}

// dispatch hands the datapoints to every sink that has not accepted this
// snapshot yet, all at once, and reports the first refusal. Sinks that
// take lines get lines, those that take the exposition get x; the others
// need metrics, which lines are then (render makes snapLines only when no
// sink needs metrics).
func (p *Processor) dispatch(ctx context.Context, path string, lines metric.Lines, x *stats.Exposition) error {
	p.mu.Lock()
	done := p.accepted[path]
	p.mu.Unlock()
	errs := make([]error, len(p.sinks))
	var wg sync.WaitGroup
	for i, s := range p.sinks {
		if done[s.Name()] {
			continue
		}
		wg.Go(func() {
			var err error
			switch s := s.(type) {
			case LinesSink:
				err = s.SendLines(ctx, lines)
			case ExpositionSink:
				if x == nil {
					break // metrics from Deliver: nothing to expose
				}
				err = s.Expose(ctx, x)
				if l, ok := lines.(*snapLines); ok {
					l.wroteOnce() // the parsed replies may go once every sink has them
				}
			case MetricsSink:
				if ms, ok := lines.(metric.Slice); ok {
					err = s.Send(ctx, ms)
				} else {
					err = errors.New("sink takes metrics, not lines") // render prevents this
				}
			default:
				err = errors.New("sink takes no form of snapshot")
			}
			if err != nil {
				if ctx.Err() == nil { // not a refusal: shutting down
					p.health.Refused(s.Name())
				}
				errs[i] = fmt.Errorf("%s: %w", s.Name(), err)
				return
			}
			p.health.Accepted(s.Name())
			p.mu.Lock()
			if p.accepted[path] == nil {
				p.accepted[path] = map[string]bool{}
			}
			p.accepted[path][s.Name()] = true
			p.mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readFailure counts a transient read failure of the snapshot at path
// and returns how many there were. Refusals by sinks count apart: a
// snapshot that waited out a long carbon outage still gets every read
// retry.
func (p *Processor) readFailure(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads[path]++
	return p.reads[path]
}

// retryLater keeps a refused snapshot on disk and queues it again after a
// pause that doubles with each failure, up to a minute, with jitter. On
// shutdown it simply stays on disk.
func (p *Processor) retryLater(ctx context.Context, path string, err error, log *slog.Logger, why string) {
	p.mu.Lock()
	p.attempts[path]++
	n := p.attempts[path]
	p.mu.Unlock()
	if ctx.Err() != nil {
		log.Warn("snapshot not delivered before shutdown, it stays queued on disk", "err", err)
		p.forget(path)
		return
	}
	retry := backoff.Backoff{First: p.RetryDelay, Max: time.Minute}
	delay := retry.Pause(n)
	log.Error(why, "err", err, "retry_in", delay, "attempt", n)
	time.AfterFunc(delay, func() { p.q.requeue(path) })
}

func (p *Processor) remove(path string, log *slog.Logger) {
	if err := spool.Remove(path); err != nil {
		log.Error("failed to remove snapshot", "err", err)
	}
	p.forget(path)
}

func (p *Processor) quarantine(path string, cause error, log *slog.Logger) {
	p.Failed.Add(1)
	dst, err := spool.Quarantine(path, p.failedDir())
	if err != nil {
		// Keep it where it is and known, so this run does not try it
		// again; the next start will, and say so again.
		log.Error("snapshot cannot be processed and cannot be moved aside; left in place", "cause", cause, "err", err)
		return
	}
	log.Error("snapshot cannot be processed, moved aside for inspection", "to", dst, "err", cause)
	p.forget(path)
}

// failedDir is where snapshots that cannot be processed are moved
// (spool.Layout).
func (p *Processor) failedDir() string { return spool.LayoutOf(p.cfg.SrcDir).Failed }

// retire finishes with a delivered snapshot rendered as lines: its
// directory is removed, and a sink that kept the lines (the Graphite
// sender, for its replay window) renders them again from the replies
// they hold, open, until it lets go of them (snapLines.Release).
func (p *Processor) retire(path string, l *snapLines, log *slog.Logger) {
	l.mu.Lock()
	l.sites = nil
	l.mu.Unlock()
	l.Release()
	p.remove(path, log)
}

// sentDir is where versions before 0.6 kept delivered snapshots
// while a sink might still write them again (spool.Layout); cleanSent
// empties it.
func (p *Processor) sentDir() string { return spool.LayoutOf(p.cfg.SrcDir).Sent }

// cleanSent removes the delivered snapshots left in sentDir by an
// earlier version: only directories named like snapshots.
func (p *Processor) cleanSent() {
	entries, err := os.ReadDir(p.sentDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if _, ok := spool.ParseName(e.Name()); ok && e.IsDir() {
			if err := spool.Remove(filepath.Join(p.sentDir(), e.Name())); err != nil {
				p.log.Error("failed to remove delivered snapshot", "dir", e.Name(), "err", err)
			}
		}
	}
}

func (p *Processor) forget(path string) {
	p.mu.Lock()
	delete(p.accepted, path)
	delete(p.attempts, path)
	delete(p.reads, path)
	p.mu.Unlock()
	p.q.done(path)
}

// Render turns snap, a snapshot from elsewhere than the spool (a fleet
// record, a cluster bucket), into its datapoints under the Graphite
// prefix prefix, with the same code and options as the workers use for
// local snapshots: lines rendered as each sink writes them (the lines
// hold the show stat replies, to render them again for a Graphite
// replay, and the parsed replies only until every sink wrote them),
// unless a sink takes metrics or the snapshot came through a master CLI,
// where they are metrics in memory (metric.Slice) with the counter
// offsets of tracker (nil: none). self adds the self-statistics (the
// puller's counters, the processor's and the sinks'); cluster aggregates
// go without. extra are self-statistics added after the snapshot's own.
// It is safe for concurrent use; it returns ctx's error when ctx ends
// while it waits for the sinks to write the previous snapshot.
func (p *Processor) Render(ctx context.Context, snap Snapshot, prefix string, tracker *counters.Tracker, self bool, extra []stats.Sample, log *slog.Logger) (metric.Lines, error) {
	if p.streams && !snap.fromWorkers() {
		// As for the workers' snapshots: the parsed replies of one
		// snapshot at a time, from its parsing until every sink wrote
		// it once (or let go of it).
		select {
		case p.slot <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		l, err := p.renderLines(snap, prefix, self, extra, log)
		if err != nil {
			<-p.slot
			return nil, err // not a nil *snapLines in an interface
		}
		l.writers = p.lineSinks // Deliver gives no exposition
		l.written = func() { <-p.slot }
		return l, nil
	}
	ms, _, _, err := p.renderSnapshot(snap, prefix, tracker, self, extra, log)
	if err != nil {
		return nil, err
	}
	return metric.Slice(ms), nil
}

// Deliver hands l, from Render, to every sink, as the workers do for a
// local snapshot, and returns nil once every sink accepted all of it.
// key names the delivery: when a sink refused, a later Deliver with the
// same key skips the sinks that already accepted. It is safe for
// concurrent use with distinct keys. An ExpositionSink gets nothing: l
// holds no exposition.
func (p *Processor) Deliver(ctx context.Context, key string, l metric.Lines) error {
	if err := p.dispatch(ctx, key, l, nil); err != nil {
		return err
	}
	p.health.Delivered(l.Time())
	p.mu.Lock()
	delete(p.accepted, key)
	p.mu.Unlock()
	return nil
}
