package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/backoff"
	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/counters"
	"github.com/haproxystats-go/haproxystats/internal/health"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Source is what a Consumer reads records from: kafka.Consumer.
type Source interface {
	Poll(ctx context.Context) []kafka.Record
	AllowRebalance()
	Commit(ctx context.Context, offsets map[int32]kafka.Offset) error
	Close()
}

// Paths says how the Graphite prefixes are built: per host as in local
// mode ([graphite] namespace, prefix-hostname, fqdn), per cluster as
// <namespace>.<cluster>.haproxy.
type Paths struct {
	Namespace      string
	PrefixHostname bool
	FQDN           bool
}

// HostPrefix returns the prefix of host's metrics.
func (p Paths) HostPrefix(host string) string {
	return metric.Prefix(p.Namespace, p.PrefixHostname, p.FQDN, host)
}

// ClusterPrefix returns the prefix of cluster's aggregates.
func (p Paths) ClusterPrefix(cluster string) string {
	return p.Namespace + "." + metric.Sanitize(cluster) + ".haproxy"
}

// The window of record times the daemon accepts: a backlog of a year
// (far past any topic's retention), and clocks an hour apart.
const (
	DefaultMaxAge   = 365 * 24 * time.Hour
	DefaultMaxAhead = time.Hour
)

// Consumer renders the records of the snapshot topic: every record as
// its host's snapshot, and every bucket of a cluster as one snapshot
// made of all its hosts' replies. It reads and renders the records of a
// partition in order, and hands them to the sinks without waiting for
// the previous ones to be accepted: up to MaxInFlight deliveries (host
// snapshots and cluster buckets) wait for their sinks at once, so that
// the sinks' confirmations overlap. It commits the offset after a
// record only when it and every record before it in the partition had
// their per-host metrics accepted by every sink and their bucket
// emitted (or were late, or unusable): a consumer that crashes leaves
// those records to the next owner of the partition.
//
// A sink that refuses is retried, doubling the pause up to a minute,
// while the consumer holds the records of its partitions.
type Consumer struct {
	src   Source
	proc  *process.Processor
	paths Paths
	log   *slog.Logger

	// PollInterval bounds one poll, so that buckets are emitted on time.
	PollInterval time.Duration
	// RetryDelay is the first pause before a refused delivery is retried.
	RetryDelay time.Duration
	// MaxInFlight bounds the deliveries waiting for their sinks at once
	// ([kafka] records-in-flight); MaxInFlightMetrics bounds their lines
	// (one delivery may always go).
	MaxInFlight        int
	MaxInFlightMetrics int64
	// Spill keeps the records while their bucket and their lines need
	// them, and the show stat replies inflated from them while they are
	// read: from Spill.Threshold bytes (DefaultSpillSize) in files with
	// no name in Spill.Dir (beside the spool; "": in memory).
	Spill blob.Spill
	// MaxAge and MaxAhead, when not 0, refuse a record whose time is
	// older or further ahead than that of the consumer's clock (counted
	// in Rejected): its lines would reach Graphite stamped 1, 2036 or
	// ±2⁶³. The daemon sets DefaultMaxAge and DefaultMaxAhead.
	MaxAge, MaxAhead time.Duration
	// Loop, when not nil, is told what Run does, for the health probes:
	// busy polling, rendering and committing, waiting when the sinks
	// hold it up. Run calls its Done when it returns.
	Loop *health.Loop

	// Counters since start, reported under each cluster's prefix.
	Records  atomic.Int64 // records read
	Rejected atomic.Int64 // records that could not be decoded or rendered
	Emitted  atomic.Int64 // cluster buckets delivered
	Late     atomic.Int64 // snapshots that arrived after their bucket was emitted
	Replaced atomic.Int64 // snapshots of a host its bucket already had one of

	mu       sync.Mutex
	buckets  Buckets                      // guarded by mu
	pending  map[int32][]*pendingRecord   // partition → records not committed, in offset order; guarded by mu
	parts    map[string]int32             // cluster → its partition; guarded by mu
	trackers map[string]*counters.Tracker // host → counter offsets (memory only); guarded by mu
	crashed  bool                         // guarded by mu; tests: read, deliver and commit nothing more
	lag      map[int32]int64              // partition → records behind its end after the last one read; guarded by mu
	lagSum   atomic.Int64                 // the sum of lag, for readers that must not wait for mu
	rate     rateMeter                    // records read per second; guarded by mu
	gens     map[int32]int                // partition → times it was forgotten: a delivery of an older one marks nothing; guarded by mu

	// clusters is each cluster's last bucket emitted, for the health
	// gauges; guarded by clustersMu, not mu, which the probes must not
	// wait for.
	clusters   map[string]health.Cluster
	clustersMu sync.Mutex

	flight     flight         // the deliveries waiting for their sinks
	deliveries sync.WaitGroup // one per delivery in flight

	// commitMu is held from computing offsets to commit until the
	// broker's answer is known and the pending records it covers are
	// forgotten, so that Crash sees no commit half done.
	commitMu sync.Mutex

	// Tests only, nil otherwise: opened is called with every record
	// opened; delivered is called with the key of
	// every delivery all sinks accepted (even for a partition forgotten
	// meanwhile), abandoned with each pending record forgotten
	// uncommitted (a new owner reads it again).
	delivered func(key string)
	opened    func(*hostRecord)
	abandoned func(partition int32, offset int64)
}

// flight bounds the deliveries in flight, by count and by metrics.
type flight struct {
	mu      sync.Mutex
	cond    *sync.Cond
	n       int
	metrics int64
	peak    int // the most deliveries in flight at once, for tests
}

// acquire waits until a delivery of m metrics may start (limit deliveries
// and maxMetrics metrics in flight, a first one always) or ctx ends.
func (f *flight) acquire(ctx context.Context, m int64, limit int, maxMetrics int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	stop := context.AfterFunc(ctx, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer stop()
	for f.n > 0 && (f.n >= limit || f.metrics+m > maxMetrics) {
		if ctx.Err() != nil {
			return false
		}
		f.cond.Wait()
	}
	f.n++
	f.peak = max(f.peak, f.n)
	f.metrics += m
	return true
}

func (f *flight) release(m int64) {
	f.mu.Lock()
	f.n--
	f.metrics -= m
	if f.cond != nil {
		f.cond.Broadcast()
	}
	f.mu.Unlock()
}

// rateMeter is a rate of a counter, measured over at least a second.
type rateMeter struct {
	at    time.Time
	count int64
	rate  float64
}

// update returns the rate of count as of now.
func (m *rateMeter) update(count int64, now time.Time) float64 {
	if m.at.IsZero() {
		m.at, m.count = now, count
	} else if d := now.Sub(m.at); d >= time.Second {
		m.rate = float64(count-m.count) / d.Seconds()
		m.at, m.count = now, count
	}
	return m.rate
}

type pendingRecord struct {
	offset   int64
	epoch    int32
	cluster  string
	bucket   int64
	hostDone bool // per-host metrics accepted by every sink (or unusable)
	noBucket bool // not part of a bucket (late or unusable)
}

// NewConsumer returns a Consumer that renders with proc (whose sinks
// receive everything), grouping snapshots into buckets of interval,
// waiting grace for missing hosts, which are those seen in the last
// window buckets. Call Attach with its source before Run.
func NewConsumer(proc *process.Processor, paths Paths, interval, grace time.Duration, window int, log *slog.Logger) *Consumer {
	return &Consumer{
		proc: proc, paths: paths, log: log,
		PollInterval: 500 * time.Millisecond,
		RetryDelay:   time.Second,
		MaxInFlight:  DefaultMaxInFlight,
		// One snapshot of 10 000 servers, or thousands of small ones: a
		// line in flight holds little (the parsed replies until the
		// sinks wrote them, the record to write them again), a metric
		// about 100 bytes.
		MaxInFlightMetrics: 1 << 20,
		Spill:              blob.Spill{Threshold: DefaultSpillSize, What: "big records and their show stat replies", Log: log},
		buckets:            Buckets{Interval: interval, Grace: grace, Window: window},
		pending:            map[int32][]*pendingRecord{},
		parts:              map[string]int32{},
		trackers:           map[string]*counters.Tracker{},
		lag:                map[int32]int64{},
		clusters:           map[string]health.Cluster{},
		gens:               map[int32]int{},
	}
}

// DefaultMaxInFlight is the default of [kafka] records-in-flight.
const DefaultMaxInFlight = 512

// Attach sets the source; its hooks are Revoked and Lost.
func (c *Consumer) Attach(src Source) { c.src = src }

// Run consumes until ctx is done, waits for the deliveries in flight,
// then leaves the group: the partitions are revoked, and what is
// committable is committed first.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.Loop.Done()
	defer c.src.Close()
	defer c.deliveries.Wait()
	for ctx.Err() == nil {
		c.Loop.Busy() // a poll is bounded by PollInterval, then the records
		pctx, cancel := context.WithTimeout(ctx, c.PollInterval)
		recs := c.src.Poll(pctx)
		cancel()
		c.mu.Lock()
		for i := range recs {
			if c.crashed || !c.handle(ctx, &recs[i]) {
				break // shutting down (or killed, in tests): the rest stays uncommitted
			}
			recs[i] = kafka.Record{} // what still needs it holds it
		}
		if !c.crashed {
			c.emitDue(ctx, time.Now())
		}
		c.mu.Unlock()
		if ctx.Err() == nil { // else Revoked commits them as the client leaves
			c.commitDone(ctx, nil)
		}
		c.src.AllowRebalance()
	}
	return nil
}

// handle renders one record for its host, puts it into its bucket, and
// starts its delivery. It returns false when ctx ended before the
// delivery could start. Called with mu held.
func (c *Consumer) handle(ctx context.Context, r *kafka.Record) bool {
	c.Records.Add(1)
	c.lag[r.Partition] = max(0, r.HighWatermark-r.Offset-1)
	c.sumLag()
	pr := &pendingRecord{offset: r.Offset, epoch: r.LeaderEpoch}
	c.pending[r.Partition] = append(c.pending[r.Partition], pr)
	log := c.log.With("partition", r.Partition, "offset", r.Offset)
	// The fetch's bytes are let go once the record is copied: with
	// records of 10 000 servers a fetch is 6.7 MB.
	rec, err := c.open(r.Value)
	r.Value, r.Key = nil, nil // the key is a slice of the fetch too
	if err != nil {
		c.Rejected.Add(1)
		log.Error("snapshot record cannot be decoded, skipping it", "err", err)
		pr.hostDone, pr.noBucket = true, true
		return true
	}
	defer rec.release() // the lines and the bucket hold what they need
	if now := time.Now(); c.MaxAge > 0 && rec.epoch < now.Add(-c.MaxAge).Unix() || c.MaxAhead > 0 && rec.epoch > now.Add(c.MaxAhead).Unix() {
		c.Rejected.Add(1)
		log.Error("snapshot record's time is too far from this host's clock, skipping it", "host", rec.host, "epoch", rec.epoch, "max_age", c.MaxAge, "max_ahead", c.MaxAhead)
		pr.hostDone, pr.noBucket = true, true
		return true
	}
	head := record.Record{Host: rec.host, Cluster: rec.cluster, Epoch: rec.epoch}
	pr.cluster, pr.bucket = rec.cluster, c.buckets.Bucket(head)
	c.parts[rec.cluster] = r.Partition
	name := rec.host + "/" + spool.Name(rec.epoch)
	log = log.With("snapshot", name)
	tracker := c.trackers[rec.host]
	if tracker == nil {
		tracker, _ = counters.Open("") // in memory: a new owner starts from zero
		c.trackers[rec.host] = tracker
	}
	snap := process.Snapshot{Name: name, Time: rec.epoch, Files: rec.files}
	d, err := c.render(ctx, snap, c.paths.HostPrefix(rec.host), tracker, true, nil, log)
	if err != nil && ctx.Err() != nil {
		return false // shutting down: the record stays uncommitted
	}
	if err != nil {
		c.Rejected.Add(1)
		log.Error("snapshot cannot be processed, skipping it", "err", err)
		pr.hostDone, pr.noBucket = true, true
		return true
	}
	replaced := c.buckets.Replaced
	if !c.buckets.Add(head, retained(rec.files), time.Now()) {
		c.Late.Add(1)
		pr.noBucket = true
		log.Warn("snapshot arrived after its cluster bucket was emitted: counted, not merged", "cluster", rec.cluster, "bucket", pr.bucket)
	} else if c.buckets.Replaced != replaced {
		c.Replaced.Add(1)
		log.Warn("a second snapshot of the host for its cluster bucket: counted, the newer one merged", "cluster", rec.cluster, "bucket", pr.bucket)
	}
	key := "fleet/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
	return c.start(ctx, r.Partition, key, d, log, func() {
		pr.hostDone = true
		log.Debug("host snapshot delivered", "lines", d.Len())
	})
}

// render renders snap under prefix (process.Processor.Render): lines
// rendered as they are written, or metrics when a sink needs them, with the
// counter offsets of tracker (nil: none) when it is held as metrics.
// extra are self-statistics added after the snapshot's own. Called with
// mu held, it lets go of it meanwhile: Render waits until the sinks
// wrote the previous snapshot, so that one snapshot's parsed replies at
// a time are in memory, and a rebalance need not wait for that.
func (c *Consumer) render(ctx context.Context, snap process.Snapshot, prefix string, tracker *counters.Tracker, self bool, extra []stats.Sample, log *slog.Logger) (metric.Lines, error) {
	c.mu.Unlock()
	c.Loop.Waiting() // Render waits for the sinks first, then renders
	l, err := c.proc.Render(ctx, snap, prefix, tracker, self, extra, log)
	c.Loop.Busy()
	c.mu.Lock()
	return l, err
}

// retained returns files, each with a reference of its own.
func retained(files []blob.Reply) []blob.Reply {
	out := make([]blob.Reply, len(files))
	for i, f := range files {
		out[i] = f.Retain()
	}
	return out
}

// start hands d to the sinks in a delivery of its own, once the
// deliveries in flight leave room, and calls done with mu held when the
// sinks accepted it, unless partition was forgotten meanwhile. It
// returns false when ctx ended first. Called with mu held: a delivery
// that finishes takes mu after it released its room.
func (c *Consumer) start(ctx context.Context, partition int32, key string, d metric.Lines, log *slog.Logger, done func()) bool {
	n := int64(d.Len())
	c.mu.Unlock() // deliveries that finish need mu; room is what we wait for
	c.Loop.Waiting()
	ok := c.flight.acquire(ctx, n, max(1, c.MaxInFlight), c.MaxInFlightMetrics)
	c.Loop.Busy()
	c.mu.Lock()
	if !ok || c.crashed {
		if ok {
			c.flight.release(n)
		}
		return false
	}
	gen := c.gens[partition]
	c.deliveries.Go(func() {
		delivered := c.deliver(ctx, key, d, log)
		c.flight.release(n)
		if !delivered {
			return
		}
		if c.delivered != nil {
			c.delivered(key)
		}
		c.mu.Lock()
		if c.gens[partition] == gen {
			done()
		}
		c.mu.Unlock()
	})
	return true
}

// deliver hands d to every sink, retrying a refusal after a pause that
// doubles up to a minute, until accepted (true) or ctx ends (false).
func (c *Consumer) deliver(ctx context.Context, key string, d metric.Lines, log *slog.Logger) bool {
	retry := backoff.Backoff{First: c.RetryDelay, Max: time.Minute}
	if r, ok := d.(metric.Retained); ok {
		defer r.Release() // the sinks that keep the lines took their own hold
	}
	for {
		err := c.proc.Deliver(ctx, key, d)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.proc.Retries.Add(1)
		delay := retry.Next()
		log.Error("a sink refused, retrying", "retry_in", delay, "err", err)
		if !backoff.Sleep(ctx, delay) {
			return false
		}
	}
}

// emitDue renders the buckets due at now and starts their deliveries;
// each is marked emitted once its sinks accepted it. Called with mu
// held.
func (c *Consumer) emitDue(ctx context.Context, now time.Time) {
	for _, bk := range c.buckets.Due(now) {
		log := c.log.With("cluster", bk.Cluster, "bucket", bk.Start)
		d, err := c.aggregate(ctx, bk, log)
		if err != nil && ctx.Err() != nil {
			return // shutting down: not emitted, its records stay uncommitted
		}
		if err != nil {
			log.Error("cluster bucket cannot be processed, skipping it", "err", err)
			c.buckets.Done(bk)
			continue
		}
		part, owned := c.parts[bk.Cluster]
		if !owned {
			continue // its partition went away meanwhile
		}
		bk.Release() // rendered: the lines hold what they read again
		ok := c.start(ctx, part, "cluster/"+bk.Cluster+"/"+spool.Name(bk.Start), d, log, func() {
			c.buckets.Done(bk)
			c.Emitted.Add(1)
			missing := len(bk.Expect) - len(bk.Hosts)
			c.clustersMu.Lock()
			c.clusters[bk.Cluster] = health.Cluster{Name: bk.Cluster, Hosts: len(bk.Hosts), Missing: max(missing, 0)}
			c.clustersMu.Unlock()
			log.Info("cluster bucket emitted", "hosts", len(bk.Hosts), "expected", len(bk.Expect), "metrics", d.Len())
			if missing > 0 {
				log.Warn("cluster bucket emitted without every host", "missing", missing)
			}
		})
		if !ok {
			return // not marked emitted: its records stay uncommitted
		}
	}
}

// aggregate renders the union of the replies of bk's hosts as one
// snapshot: the aggregation across hosts is the one across processes.
// File names get their host as a prefix ("<host>~admin.sock_stat"); the
// show stat replies are inflated from their records one at a time, as
// they are read.
func (c *Consumer) aggregate(ctx context.Context, bk *Bucket, log *slog.Logger) (metric.Lines, error) {
	hosts := make([]string, 0, len(bk.Hosts))
	for h := range bk.Hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	snap := process.Snapshot{Name: bk.Cluster + "/" + spool.Name(bk.Start), Time: bk.Start}
	for _, h := range hosts {
		for _, f := range bk.Files[h] {
			if strings.HasPrefix(f.Name, ".") {
				continue // the puller's counters and manifest are per host
			}
			r := f.Retain()
			r.Name = h + "~" + f.Name
			snap.Files = append(snap.Files, r)
		}
	}
	defer snap.Release()
	slices.SortFunc(snap.Files, func(a, b blob.Reply) int { return strings.Compare(a.Name, b.Name) })
	missing := 0
	for _, h := range bk.Expect {
		if _, ok := bk.Hosts[h]; !ok {
			missing++
		}
	}
	extra := []stats.Sample{
		{Name: "FleetHosts", Value: float64(len(bk.Hosts))},
		{Name: "FleetHostsMissing", Value: float64(missing)},
		{Name: "FleetLateSnapshots", Value: float64(c.Late.Load())},
		{Name: "FleetSnapshotsReplaced", Value: float64(c.Replaced.Load())},
		{Name: "FleetRecordsRejected", Value: float64(c.Rejected.Load())},
		{Name: "FleetLag", Value: float64(c.lag[c.parts[bk.Cluster]])},
		{Name: "FleetRecords", Value: float64(c.Records.Load())},
		{Name: "FleetRecordsPerSecond", Value: math.Round(c.rate.update(c.Records.Load(), time.Now())*100) / 100},
	}
	return c.render(ctx, snap, c.paths.ClusterPrefix(bk.Cluster), nil, false, extra, log)
}

// committable returns, for the partitions in parts (nil: all), the
// offset after the longest prefix of pending records that are done.
// Called with mu held.
func (c *Consumer) committable(parts []int32) map[int32]kafka.Offset {
	out := map[int32]kafka.Offset{}
	for p, recs := range c.pending {
		if parts != nil && !slices.Contains(parts, p) {
			continue
		}
		n := 0
		for _, r := range recs {
			if !r.hostDone || !r.noBucket && !c.buckets.Emitted(r.cluster, r.bucket) {
				break
			}
			n++
		}
		if n > 0 {
			last := recs[n-1]
			out[p] = kafka.Offset{At: last.offset + 1, Epoch: last.epoch}
		}
	}
	return out
}

// commitDone commits what is done of partitions (nil: all) and, once
// the broker accepted it, forgets the pending records it covers. A
// commit that fails leaves them pending: the next commit, or the one
// when the partitions are revoked, covers them again. A crashed
// consumer commits nothing.
func (c *Consumer) commitDone(ctx context.Context, parts []int32) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	var offsets map[int32]kafka.Offset
	if !c.crashed {
		offsets = c.committable(parts)
	}
	c.mu.Unlock()
	if len(offsets) == 0 {
		return
	}
	if err := c.src.Commit(ctx, offsets); err != nil {
		// The records are done; a new owner will read them again.
		c.log.Warn("offsets not committed: their snapshots may be processed twice", "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, o := range offsets {
		recs := c.pending[p]
		n := 0
		for n < len(recs) && recs[n].offset < o.At {
			n++
		}
		c.pending[p] = recs[n:]
	}
}

// Revoked commits what is done of partitions and forgets them and their
// clusters' open buckets. The client calls it before the partitions go
// to another member, and when the consumer leaves the group.
func (c *Consumer) Revoked(_ context.Context, partitions []int32) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.commitDone(ctx, partitions)
	c.mu.Lock()
	c.forget(partitions)
	c.mu.Unlock()
}

// Lost forgets partitions lost without a revocation (nothing can be
// committed for them any more).
func (c *Consumer) Lost(partitions []int32) {
	c.mu.Lock()
	c.forget(partitions)
	c.mu.Unlock()
}

// forget drops the state of partitions; the deliveries in flight for
// them mark nothing when they finish. Called with mu held.
func (c *Consumer) forget(partitions []int32) {
	for _, p := range partitions {
		c.gens[p]++
		if c.abandoned != nil {
			for _, r := range c.pending[p] {
				c.abandoned(p, r.offset)
			}
		}
		delete(c.pending, p)
		delete(c.lag, p)
		for cl, cp := range c.parts {
			if cp == p {
				c.buckets.Drop(cl)
				delete(c.parts, cl)
				c.clustersMu.Lock()
				delete(c.clusters, cl) // another consumer reports it now
				c.clustersMu.Unlock()
			}
		}
	}
	c.sumLag()
}

// sumLag stores the sum of lag for Lag. Called with mu held.
func (c *Consumer) sumLag() {
	var n int64
	for _, l := range c.lag {
		n += l
	}
	c.lagSum.Store(n)
}

// Lag returns how many records of its partitions were behind their ends
// when it read the last one of each: the consumer's queue, for the
// health probes. It does not wait for the consumer.
func (c *Consumer) Lag() int { return int(c.lagSum.Load()) }

// Clusters returns, for the health gauges, each cluster of its
// partitions whose bucket it emitted: the hosts the last one had, and
// those it went without. It does not wait for the consumer.
func (c *Consumer) Clusters() []health.Cluster {
	c.clustersMu.Lock()
	defer c.clustersMu.Unlock()
	out := make([]health.Cluster, 0, len(c.clusters))
	for _, cl := range c.clusters {
		out = append(out, cl)
	}
	slices.SortFunc(out, func(a, b health.Cluster) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// String describes the consumer's state, for logs.
func (c *Consumer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, recs := range c.pending {
		n += len(recs)
	}
	return fmt.Sprintf("fleet consumer: %d records pending, %d buckets open", n, c.buckets.Open())
}
