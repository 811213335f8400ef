package process

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/counters"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// rendering is how one snapshot renders: the blocks of package stats in
// their order (daemon, frontends, backends, servers), with the
// self-statistics measured while they were first walked between and
// after them. Walking it into any stats.Target gives the same
// datapoints: the metrics in memory, the line count, the Graphite lines
// of each sink, and the lines again for a Graphite replay.
type rendering struct {
	ts      int64
	o       stats.Options
	infos   []stats.File // the show info replies
	tables  []stats.StickTable
	steps   []step
	self    [1]string // the heads of the self-statistics: the prefix
	missing []string  // the sockets a partial snapshot misses
	// lat is the latency histograms of the snapshot's log lines (nil
	// without), rendered with percentiles.
	lat         *latency.Set
	percentiles []percentile
}

// A step is one part of a rendering: a block of package stats, or one
// self-statistic.
type step struct {
	block block
	name  string  // selfStat
	v     float64 // selfStat
}

type block uint8

const (
	selfStat block = iota
	daemonBlock
	tableBlock
	frontendBlock
	backendBlock
	serverBlock
	latencyBlock
)

// walk gives every step to t; sites are the parsed show stat replies
// (nil when there are no site blocks). It stops early when t has failed
// (an Encoder whose writer returned an error): the rest would be dropped.
func (r *rendering) walk(t stats.Target, sites *stats.Sites) error {
	failed, _ := t.(interface{ Err() error })
	for _, s := range r.steps {
		if failed != nil && failed.Err() != nil {
			return nil
		}
		if err := r.walkStep(t, sites, s); err != nil {
			return err
		}
	}
	return nil
}

func (r *rendering) walkStep(t stats.Target, sites *stats.Sites, s step) error {
	switch s.block {
	case selfStat:
		t.Row(stats.Row{Block: stats.SelfBlock, Heads: r.self[:], Time: r.ts})
		t.Value(s.name, s.v)
	case daemonBlock:
		return stats.WalkDaemon(t, r.infos, r.ts, &r.o)
	case tableBlock:
		stats.WalkStickTables(t, r.tables, r.ts, &r.o)
	case frontendBlock:
		sites.WalkFrontends(t, r.ts, &r.o)
	case backendBlock:
		sites.WalkBackends(t, r.ts, &r.o)
	case serverBlock:
		sites.WalkServers(t, r.ts, &r.o)
	case latencyBlock:
		r.walkLatency(t)
	}
	return nil
}

// addSelf adds extra to r as self-statistics after those r has, walking
// each into t as build walked the others.
func (r *rendering) addSelf(t stats.Target, extra []stats.Sample) {
	for _, s := range extra {
		st := step{block: selfStat, name: s.Name, v: s.Value}
		r.walkStep(t, nil, st) // a self-statistic cannot fail
		r.steps = append(r.steps, st)
	}
}

// needsSites reports whether the rendering has site blocks.
func (r *rendering) needsSites() bool {
	return slices.ContainsFunc(r.steps, func(s step) bool { return s.block >= frontendBlock && s.block <= serverBlock })
}

// renderer builds a rendering while it walks it into a target for the
// first time, timing the blocks.
type renderer struct {
	r        *rendering
	t        stats.Target
	sites    *stats.Sites
	withSelf bool
}

// add walks s into the target and records it.
func (b *renderer) add(s step) error {
	if err := b.r.walkStep(b.t, b.sites, s); err != nil {
		return err
	}
	b.r.steps = append(b.r.steps, s)
	return nil
}

// self adds a self-statistic, when self-statistics are wanted.
func (b *renderer) self(name string, v float64) {
	if b.withSelf {
		b.add(step{block: selfStat, name: name, v: v}) // a self-statistic cannot fail
	}
}

// timed adds the self-statistic name: the seconds since since, to the µs
// (ms would read 0 on small configurations).
func (b *renderer) timed(name string, since time.Time) {
	b.self(name, math.Round(time.Since(since).Seconds()*1e6)/1e6)
}

// build renders snap under the Graphite prefix into t: the daemon
// statistics, the sites, then the self-statistics when withSelf. It
// returns the rendering, to walk again, and the parsed show stat replies
// (nil when none was usable). A panic in the stats code is turned into
// an error, so one bad snapshot cannot take the daemon down.
func (p *Processor) build(snap Snapshot, prefix string, withSelf bool, t stats.Target, log *slog.Logger) (r *rendering, sites *stats.Sites, err error) {
	defer func() {
		if x := recover(); x != nil {
			r, sites, err = nil, nil, fmt.Errorf("panic while processing: %v\n%s", x, debug.Stack())
		}
	}()
	start := time.Now()
	infos, err := snap.inMemory(spool.Info)
	if err != nil {
		return nil, nil, err
	}
	statFiles := snap.replies(spool.Stat)
	lat := p.latencyOf(snap, log)
	if len(infos) == 0 && len(statFiles) == 0 && lat == nil {
		return nil, nil, errEmpty
	}
	r = &rendering{ts: snap.Time, o: p.snapshotOptions(snap, prefix, infos, log), infos: infos, self: [1]string{prefix}, lat: lat, percentiles: percentilesOf(p.cfg.Logs)}
	b := &renderer{r: r, t: t, withSelf: withSelf}
	if len(infos) == 0 && len(statFiles) == 0 {
		// The log lines of a round whose stats were discarded, or of
		// pull's shutdown: the histograms and the self-statistics.
		r.o.NonFinite = nil
		b.add(step{block: latencyBlock}) // cannot fail
		p.addSelf(b, snap, start, log)
		return r, nil, nil
	}
	daemon := p.addDaemon(b, infos, len(statFiles) > 0, log)
	if r.o.StickTables || r.o.Exposed { // Graphite's sticktable-metrics, or the endpoint
		tables, err := snap.inMemory(spool.Table)
		if err != nil {
			return nil, nil, err
		}
		r.tables = stats.StickTables(tables)
	}
	if r.o.StickTables && len(r.tables) > 0 {
		b.add(step{block: tableBlock}) // cannot fail
	}
	sitesOK, err := p.addSites(b, statFiles, log)
	if err != nil {
		return nil, nil, err
	}
	if !daemon && !sitesOK && lat == nil {
		return nil, nil, errors.New("no usable statistics in any reply file")
	}
	if lat != nil {
		t := time.Now()
		b.add(step{block: latencyBlock}) // cannot fail
		b.timed("WallClockTimeLatency", t)
	}
	if n := r.o.NonFinite.Load(); n > 0 {
		p.NonFinite.Add(n)
		log.Warn("datapoints with a value that is not finite dropped (a sum overflowed)", "count", n)
	}
	r.o.NonFinite = nil // counted once, not again at every walk
	p.addSelf(b, snap, start, log)
	return r, b.sites, nil
}

// snapshotOptions are the options of one snapshot: the processor's, with
// the prefix, the field natures of its HAProxy versions and the
// exclusion files as they are now.
func (p *Processor) snapshotOptions(snap Snapshot, prefix string, infos []stats.File, log *slog.Logger) stats.Options {
	o := p.options()
	excludeFrontends, excludeBackends := p.exclusions()
	o.Prefix = prefix
	o.Log = log
	o.Natures = p.natures(snap, infos, log)
	o.ExcludeFrontends = readExclude(excludeFrontends, log)
	o.ExcludeBackends = readExclude(excludeBackends, log)
	o.NonFinite = new(atomic.Int64)
	return o
}

// addDaemon adds the daemon block and its timing; it reports whether the
// show info replies gave any.
func (p *Processor) addDaemon(b *renderer, infos []stats.File, haveStats bool, log *slog.Logger) bool {
	if len(infos) == 0 {
		if haveStats { // stats pages only: they have no show info
			log.Debug("snapshot has no show info reply: no daemon statistics")
		} else {
			log.Warn("snapshot doesn't contain any files with HAProxy daemon statistics")
		}
		return false
	}
	t := time.Now()
	err := b.add(step{block: daemonBlock})
	if err != nil {
		log.Error("failed to parse daemon statistics", "err", err)
	}
	b.timed("WallClockTimeHAProxy", t)
	return err == nil
}

// addSites parses the show stat replies and adds the frontend, backend
// and server blocks, each with its timing; it reports whether any reply
// was usable. Rejected replies are counted and logged. A reply that
// cannot be read fails the snapshot (*readError): sending the others'
// sums without it would make every summed counter dip.
func (p *Processor) addSites(b *renderer, statFiles []blob.Reply, log *slog.Logger) (bool, error) {
	if len(statFiles) == 0 {
		log.Warn("snapshot doesn't contain any files with site statistics")
		return false, nil
	}
	sites, err := parseSites(statFiles, &b.r.o)
	var unreadable *readError
	if errors.As(err, &unreadable) {
		return false, err
	}
	if sites != nil {
		for _, r := range sites.Rejected {
			p.Rejected.Add(1)
			log.Error("reply file rejected", "file", r.Name, "err", r.Err)
		}
	}
	if err != nil {
		log.Error("failed to process statistics for sites", "err", err)
		return false, nil
	}
	b.sites = sites
	for _, s := range []struct {
		block block
		timer string
	}{{frontendBlock, "WallClockTimeFrontends"}, {backendBlock, "WallClockTimeBackends"}, {serverBlock, "WallClockTimeServers"}} {
		t := time.Now()
		b.add(step{block: s.block}) // only the daemon block can fail
		b.timed(s.timer, t)
	}
	return true, nil
}

// addSelf adds the self-statistics that follow the blocks: the puller's
// counters, the sockets a partial snapshot misses, the processor's
// counters and the sinks', and the total time since start.
func (p *Processor) addSelf(b *renderer, snap Snapshot, start time.Time, log *slog.Logger) {
	manifest, partial := snap.file(spool.ManifestFile)
	b.r.missing = spool.ParseManifest(manifest)
	b.timed("WallClockTimeAllStats", start)
	pulled, _ := snap.file(spool.PullStatsFile)
	pullStats := spool.ParsePullStats(pulled)
	for _, name := range slices.Sorted(maps.Keys(pullStats)) {
		b.self(name, pullStats[name])
	}
	if partial {
		if len(b.r.missing) > 0 {
			log.Warn("partial snapshot: some sockets are missing", "missing", b.r.missing)
		}
		b.self("SocketsMissing", float64(len(b.r.missing)))
	}
	b.self("SnapshotsWaiting", float64(p.q.waiting()))
	b.self("SnapshotsFailed", float64(p.Failed.Load()))
	b.self("FilesRejected", float64(p.Rejected.Load()))
	b.self("DeliveryRetries", float64(p.Retries.Load()))
	b.self("ReadRetries", float64(p.ReadRetries.Load()))
	b.self("ValuesNonFinite", float64(p.NonFinite.Load()))
	if b.withSelf && p.health != nil {
		// The health of the daemon as the snapshot is rendered: what
		// /readyz and the endpoint's gauges say.
		st := p.health.Status()
		b.self("Ready", boolValue(st.Ready))
		b.self("NewestSnapshotAge", math.Round(st.NewestAge.Seconds()*1e3)/1e3)
		b.self("QueueSnapshots", float64(st.Queue))
		b.self("SinksFailingSeconds", math.Round(st.SinksFailing.Seconds()*1e3)/1e3)
	}
	if b.withSelf {
		for _, s := range p.sinks {
			if r, ok := s.(Reporter); ok {
				report := r.Report()
				for _, name := range slices.Sorted(maps.Keys(report)) {
					b.self(name, report[name])
				}
			}
		}
	}
	b.timed("TotalWallClockTime", start)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// renderSnapshot turns snap into its metrics. tracker, when not nil,
// keeps the counters of a master CLI's workers monotonic.
// It also returns the rendering and the parsed show stat replies.
// extra are self-statistics added after the snapshot's own.
func (p *Processor) renderSnapshot(snap Snapshot, prefix string, tracker *counters.Tracker, withSelf bool, extra []stats.Sample, log *slog.Logger) ([]metric.Metric, *rendering, *stats.Sites, error) {
	c := stats.NewCollector(nil)
	r, sites, err := p.build(snap, prefix, withSelf, c, log)
	if err != nil {
		return nil, nil, nil, err
	}
	r.addSelf(c, extra)
	ms := c.Done()
	if tracker == nil {
		return ms, r, sites, nil
	}
	if workers := p.workers(r.infos, snap.replies(spool.Stat), snap.Time, &r.o); workers != nil {
		if len(r.missing) > 0 {
			tracker.Offset(ms) // a missing worker may still be alive
		} else if err := tracker.Apply(snap.Time, workers, ms); err != nil {
			log.Warn("cannot persist counter offsets", "err", err)
		}
	}
	return ms, r, sites, nil
}

// renderLines turns snap into lines that are rendered as they are
// written, under prefix. The lines hold the show stat replies, to parse
// them again for a later write (a Graphite replay). extra are
// self-statistics added after the snapshot's own (all of them when self
// is false).
func (p *Processor) renderLines(snap Snapshot, prefix string, self bool, extra []stats.Sample, log *slog.Logger) (*snapLines, error) {
	var count stats.Counter
	r, sites, err := p.build(snap, prefix, self, &count, log)
	if err != nil {
		return nil, err
	}
	r.addSelf(&count, extra)
	stat := snap.replies(spool.Stat)
	for i := range stat {
		stat[i] = stat[i].Retain()
	}
	return &snapLines{r: r, n: count.Lines(), stat: stat, sites: sites, refs: 1, writers: len(p.sinks)}, nil
}
