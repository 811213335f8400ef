package fleet

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/graphite"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/pull"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/ship"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

const snapshotTopic = "haproxystats-snapshots"

// discard is the tests' logger; FLEET_DEBUG=1 shows the logs.
var discard = func() *slog.Logger {
	if os.Getenv("FLEET_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}()

// newFleet starts a broker, a fake carbon, and a producer to the broker.
func newFleet(t *testing.T) (*kfake.Cluster, *haproxytest.Carbon, *kafka.Producer) {
	t.Helper()
	kc := newCluster(t)
	carbon := haproxytest.NewCarbon(t)
	prod, err := kafka.NewProducer(kafkaConfig(kc.ListenAddrs()), discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return kc, carbon, prod
}

func newCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, snapshotTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func kafkaConfig(brokers []string) config.Kafka {
	k := config.DefaultKafka()
	k.Brokers = brokers
	k.Timeout = 2 * time.Second
	k.SessionTimeout, k.RebalanceTimeout = 6*time.Second, 12*time.Second // a killed member's partitions move within seconds
	return k
}

// recorder is a ship.Producer that remembers what the broker acknowledged.
type recorder struct {
	p      *kafka.Producer
	mu     sync.Mutex
	epochs map[string][]int64 // host → epochs acknowledged; guarded by mu
}

func (r *recorder) Produce(ctx context.Context, key, value []byte) error {
	if err := r.p.Produce(ctx, key, value); err != nil {
		return err
	}
	rec, err := record.Decode(value)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.epochs[rec.Host] = append(r.epochs[rec.Host], rec.Epoch)
	r.mu.Unlock()
	return nil
}

func (r *recorder) shipped() map[string][]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]int64{}
	for h, e := range r.epochs {
		out[h] = append([]int64(nil), e...)
	}
	return out
}

func reply(t *testing.T, name string) []byte { return haproxytest.Example(t, name) }

// puller is one load balancer: fake sockets, haproxystats-pull's loop
// and a shipper, until stop.
type puller struct {
	dst    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startPuller(t *testing.T, host, cluster string, sockets []string, prod ship.Producer) *puller {
	t.Helper()
	base := t.TempDir()
	sockDir := filepath.Join(base, "sockets")
	if err := os.Mkdir(sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range sockets {
		haproxytest.UnixSocket(t, sockDir, s+".sock", reply(t, s+".sock_info"), reply(t, s+".sock_stat"))
	}
	cfg := config.Pull{
		SocketDir: sockDir, Retries: 0, Timeout: 200 * time.Millisecond, Interval: 10 * time.Millisecond,
		PullTimeout: 500 * time.Millisecond, PullInterval: time.Second,
		BufferLimit: 6291456, Workers: 8, QueueSize: 60,
		DstDir: filepath.Join(base, "incoming"), TmpDstDir: filepath.Join(base, "incoming.tmp"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &puller{dst: cfg.DstDir, cancel: cancel}
	pl := pull.New(cfg, discard)
	if err := pl.Prepare(); err != nil {
		t.Fatal(err)
	}
	sh := ship.NewShipper(cfg.DstDir, host, cluster, prod, discard)
	sh.RetryDelay, sh.MaxRetryDelay = 100*time.Millisecond, 500*time.Millisecond
	p.wg.Go(func() { pl.Run(ctx) })
	p.wg.Go(func() { sh.Run(ctx) })
	t.Cleanup(p.stop)
	return p
}

func (p *puller) stop() { p.cancel(); p.wg.Wait() }

// queued returns the snapshots waiting in the puller's spool.
func (p *puller) queued(t *testing.T) int {
	n, err := spool.Count(p.dst)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// consumer is one haproxystats-process with source = kafka.
type consumer struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

func startConsumer(t *testing.T, brokers []string, carbonPort int) *consumer {
	t.Helper()
	return startConsumerConfirming(t, brokers, carbonPort, 20*time.Millisecond)
}

// startConsumerConfirming is startConsumer with a Graphite sender that
// confirms a delivery after confirm (graphite.ConfirmAfter, a second, in
// the daemon).
func startConsumerConfirming(t *testing.T, brokers []string, carbonPort int, confirm time.Duration) *consumer {
	t.Helper()
	g := config.Default().Graphite
	g.Server, g.Port = "127.0.0.1", carbonPort
	sender := graphite.New(g, discard, graphite.WithConfirmAfter(confirm))
	proc := process.New(config.Process{SrcDir: filepath.Join(t.TempDir(), "incoming"), Workers: 1}, stats.Options{}, []process.Sink{sender}, discard)
	c := NewConsumer(proc, Paths{Namespace: "loadbalancers", PrefixHostname: true, FQDN: true}, time.Second, 2*time.Second, 3, discard)
	c.PollInterval = 100 * time.Millisecond
	c.RetryDelay = 100 * time.Millisecond
	src, err := kafka.NewConsumer(kafkaConfig(brokers), kafka.ConsumerHooks{Revoked: c.Revoked, Lost: c.Lost}, discard)
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(src)
	ctx, cancel := context.WithCancel(context.Background())
	cs := &consumer{c: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(cs.done)
		c.Run(ctx)
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		sender.Close(sctx)
	}()
	t.Cleanup(cs.stop)
	return cs
}

func (c *consumer) stop() { c.cancel(); <-c.done }

// inFlight returns the records read and not committed.
func (c *Consumer) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, recs := range c.pending {
		n += len(recs)
	}
	return n
}

// series holds the carbon lines of one metric path: timestamp → values.
func series(lines []string, path string) map[int64][]float64 {
	out := map[int64][]float64{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != path {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		ts, _ := strconv.ParseInt(f[2], 10, 64)
		out[ts] = append(out[ts], v)
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFleet runs three pullers (hosts of cluster dc1) shipping to a fake
// broker and two process instances in one group sending to a fake
// carbon. The instance that owns dc1's partition is killed mid-stream
// without committing; the other takes over. Every host's snapshots
// arrive, duplicates only among those in flight at the kill, and every
// complete cluster bucket is the sum of its hosts.
func TestFleet(t *testing.T) {
	kc, carbon, prod := newFleet(t)
	rec := &recorder{p: prod, epochs: map[string][]int64{}}

	consumers := []*consumer{startConsumer(t, kc.ListenAddrs(), carbon.Port()), startConsumer(t, kc.ListenAddrs(), carbon.Port())}
	hosts := map[string][]string{
		"lb-a.dc1": {"admin1"},
		"lb-b.dc1": {"admin2"},
		"lb-c.dc1": {"admin1", "admin2"},
	}
	var pullers []*puller
	for h, socks := range hosts {
		pullers = append(pullers, startPuller(t, h, "dc1", socks, rec))
	}
	const metric = ".haproxy.frontend.www_example_com.stot"
	hostPath := func(h string) string { return "loadbalancers." + strings.ReplaceAll(h, ".", "_") + metric }
	clusterPath := "loadbalancers.dc1" + metric

	// Let the cluster run until buckets are emitted, then kill the owner.
	waitFor(t, "first complete cluster buckets", 30*time.Second, func() bool {
		return len(series(carbon.Lines(), clusterPath)) >= 5
	})
	// Kill the owner of the cluster's partition while it holds records
	// not committed: delivered per host, their bucket not emitted yet.
	// Whichever consumer has such records is the owner; under load the
	// window is short, so poll both rather than guess once.
	owner := -1
	waitFor(t, "records in flight", 30*time.Second, func() bool {
		for i, c := range consumers {
			if c.c.inFlight() > 0 {
				owner = i
				return true
			}
		}
		return false
	})
	inFlight := consumers[owner].c.Crash() // counted at the kill: nothing is read after it
	consumers[owner].stop()
	killedAt := time.Now()
	linesAtKill := len(series(carbon.Lines(), hostPath("lb-a.dc1")))
	time.Sleep(5 * time.Second)
	for _, p := range pullers {
		p.stop()
	}
	shipped := rec.shipped()
	for _, p := range pullers {
		if n := p.queued(t); n != 0 {
			t.Errorf("%d snapshots left in a puller's queue", n)
		}
	}
	// Everything shipped reaches carbon through the survivor.
	survivor := consumers[1-owner]
	waitFor(t, "every shipped snapshot in carbon", 30*time.Second, func() bool {
		lines := carbon.Lines()
		for h, epochs := range shipped {
			got := series(lines, hostPath(h))
			for _, e := range epochs {
				if len(got[e]) == 0 {
					return false
				}
			}
		}
		return true
	})
	// Let the last buckets pass their grace.
	time.Sleep(3 * time.Second)
	lines := carbon.Lines()

	total, dups, gaps := 0, 0, 0
	perHost := map[string]map[int64][]float64{}
	for h, epochs := range shipped {
		perHost[h] = series(lines, hostPath(h))
		total += len(epochs)
		for i := 1; i < len(epochs); i++ {
			if epochs[i] != epochs[i-1]+1 {
				gaps++ // a pull slot skipped (a slow round under -race)
			}
		}
		for _, e := range epochs {
			if n := len(perHost[h][e]); n > 1 {
				dups += n - 1
			}
		}
	}
	t.Logf("%d snapshots shipped by 3 hosts (%d skipped slots), all in carbon; %d per-host duplicates after the kill (lb-a had %d snapshots in carbon at the kill), survivor read %d records",
		total, gaps, dups, linesAtKill, survivor.c.Records.Load())
	if gaps > 3 {
		t.Errorf("%d pull slots skipped: a host's metrics did not arrive once per interval", gaps)
	}
	t.Logf("%d records in flight (delivered, not committed) at the kill", inFlight)
	if dups > inFlight+3 { // + a margin
		t.Errorf("%d duplicate host snapshots: more than the %d in flight at the kill", dups, inFlight)
	}
	if total < 3*8 {
		t.Errorf("only %d snapshots shipped", total)
	}

	// Every bucket with all three hosts is their sum; per interval every
	// host arrived once (not counting the re-read at the takeover).
	cluster := series(lines, clusterPath)
	hostsIn := series(lines, "loadbalancers.dc1.haproxy.haproxystats.FleetHosts")
	complete, checked := 0, 0
	for start, vs := range cluster {
		if len(hostsIn[start]) == 0 || hostsIn[start][0] != 3 {
			continue
		}
		complete++
		var want float64
		for h := range hosts {
			got := perHost[h][start]
			if len(got) == 0 {
				t.Errorf("bucket %d has 3 hosts but %s has no value at %d", start, h, start)
				continue
			}
			want += got[0]
		}
		for _, v := range vs {
			checked++
			if v != want {
				t.Errorf("bucket %d: cluster %s = %v, want the sum of the hosts %v", start, clusterPath, v, want)
			}
		}
	}
	t.Logf("%d cluster buckets, %d with all 3 hosts, %d values checked against the per-host sum; kill to end %v",
		len(cluster), complete, checked, time.Since(killedAt).Round(time.Second))
	// After the takeover every bucket is emitted, with every host that
	// shipped that round: the survivor replays the records the killed
	// owner did not commit, and closes their buckets by the records' time.
	byRound := map[int64]int{} // distinct hosts: a snapshot shipped twice (at least once) is one host
	for _, epochs := range shipped {
		for _, e := range slices.Compact(slices.Sorted(slices.Values(epochs))) {
			byRound[e]++
		}
	}
	after, partial := 0, 0
	for e, n := range byRound {
		if e < killedAt.Unix() {
			continue
		}
		after++
		if got := hostsIn[e]; len(got) == 0 || slices.Max(got) != float64(n) {
			partial++
			t.Errorf("bucket %d after the takeover: FleetHosts %v, want %d (the hosts that shipped it)", e, got, n)
		}
	}
	t.Logf("%d buckets after the takeover, %d without every host", after, partial)
	if after < 3 {
		t.Errorf("only %d rounds shipped after the kill", after)
	}
	if complete < len(cluster)/2 || complete < 5 {
		t.Errorf("only %d of %d buckets had every host", complete, len(cluster))
	}
}

// TestShipOutage takes the broker away from a shipping puller: the
// snapshots wait in the local queue, then all arrive after recovery.
func TestShipOutage(t *testing.T) {
	kc := newCluster(t)
	prod, err := kafka.NewProducer(kafkaConfig(kc.ListenAddrs()), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	rec := &recorder{p: prod, epochs: map[string][]int64{}}
	fault := kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
	p := startPuller(t, "lb-a.dc1", "dc1", []string{"admin1"}, rec)
	waitFor(t, "4 snapshots queued during the outage", 20*time.Second, func() bool { return p.queued(t) >= 4 })
	peak := p.queued(t)
	if n := len(rec.shipped()["lb-a.dc1"]); n != 0 {
		t.Fatalf("%d snapshots acknowledged during the outage", n)
	}
	fault.Remove()
	up := time.Now()
	waitFor(t, "queue drained after recovery", 20*time.Second, func() bool { return p.queued(t) == 0 })
	drained := time.Since(up)
	p.stop()
	epochs := rec.shipped()["lb-a.dc1"]
	t.Logf("outage: %d snapshots queued, all %d shipped %v after recovery", peak, len(epochs), drained.Round(10*time.Millisecond))
	if len(epochs) < peak {
		t.Errorf("%d snapshots shipped, %d were queued", len(epochs), peak)
	}
	for i := 1; i < len(epochs); i++ {
		if epochs[i] <= epochs[i-1] {
			t.Errorf("shipped out of order: %v", epochs)
		}
	}
	// Read them back from the topic: every epoch once or more.
	got := map[int64]bool{}
	cl, err := kafka.NewConsumer(kafkaConfig(kc.ListenAddrs()), kafka.ConsumerHooks{}, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waitFor(t, "records read back", 10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		for _, r := range cl.Poll(ctx) {
			if d, err := record.Decode(r.Value); err == nil {
				got[d.Epoch] = true
			}
		}
		cl.AllowRebalance()
		return len(got) >= len(epochs)
	})
}

// TestStopCommits stops a consumer cleanly after it emitted everything:
// the next member of the group reads nothing again.
func TestStopCommits(t *testing.T) {
	kc, carbon, prod := newFleet(t)
	for i := range 4 {
		r := record.Record{Host: "lb-01.ams.example.com", Cluster: "ams.example.com", Epoch: 1500000000, Files: haproxytest.ExampleSnapshot(t)}
		r.Epoch += int64(i)
		b, err := record.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := prod.Produce(context.Background(), []byte(r.Cluster), b); err != nil {
			t.Fatal(err)
		}
	}
	a := startConsumer(t, kc.ListenAddrs(), carbon.Port())
	waitFor(t, "4 buckets emitted", 20*time.Second, func() bool { return a.c.Emitted.Load() == 4 && a.c.inFlight() == 0 })
	a.stop()
	b := startConsumer(t, kc.ListenAddrs(), carbon.Port())
	time.Sleep(3 * time.Second)
	if n := b.c.Records.Load(); n != 0 {
		t.Errorf("the next member read %d records again after a clean stop", n)
	}
	if n := len(series(carbon.Lines(), "loadbalancers.ams_example_com.haproxy.frontend.www_example_com.stot")); n != 4 {
		t.Errorf("%d cluster buckets in carbon, want 4", n)
	}
	// The consumer's own figures: records read, and the lag of the
	// cluster's partition, 0 once the backlog of 4 was read.
	const self = "loadbalancers.ams_example_com.haproxy.haproxystats."
	records, lag := series(carbon.Lines(), self+"FleetRecords"), series(carbon.Lines(), self+"FleetLag")
	if len(records) == 0 || len(lag) == 0 {
		t.Fatalf("no FleetRecords (%v) or FleetLag (%v) in the cluster buckets", records, lag)
	}
	last := slices.Max(slices.Collect(maps.Keys(lag))) // the last bucket
	var most float64
	for _, vs := range records {
		most = max(most, slices.Max(vs))
	}
	if most != 4 {
		t.Errorf("FleetRecords reached %v, want 4", most)
	}
	for ts, vs := range lag {
		if slices.Max(vs) > 3 || ts == last && slices.Min(vs) != 0 {
			t.Errorf("FleetLag at %d = %v, want at most 3, and 0 in the last bucket", ts, vs)
		}
	}
}

// TestBacklogReplay reads a backlog of 60 records (3 hosts × 20 rounds,
// one round skipped by one host) shipped while no consumer ran, with
// Graphite's real one-second confirmation. The deliveries overlap
// (before: one record, then one bucket, a second each: 80 s), and every
// bucket is emitted while the backlog is read, each with every host
// that shipped that round, closed by the records' time rather than
// after grace.
func TestBacklogReplay(t *testing.T) {
	kc, carbon, prod := newFleet(t)
	hosts := []string{"lb-a.dc1", "lb-b.dc1", "lb-c.dc1"}
	const rounds, skipped, t0 = 20, 7, 1500000000
	shipped := map[int64]int{} // round → hosts that shipped it
	for i := range rounds {
		for _, h := range hosts {
			if h == "lb-c.dc1" && i == skipped {
				continue // a slow round of lb-c
			}
			r := record.Record{Host: h, Cluster: "dc1", Epoch: t0 + int64(i), Files: haproxytest.ExampleSnapshot(t)}
			b, err := record.Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := prod.Produce(context.Background(), []byte(r.Cluster), b); err != nil {
				t.Fatal(err)
			}
			shipped[r.Epoch]++
		}
	}
	start := time.Now()
	c := startConsumerConfirming(t, kc.ListenAddrs(), carbon.Port(), time.Second)
	const fleetHosts = "loadbalancers.dc1.haproxy.haproxystats.FleetHosts"
	complete := func() bool {
		got := series(carbon.Lines(), fleetHosts)
		for e, n := range shipped {
			if len(got[e]) == 0 || slices.Max(got[e]) != float64(n) {
				return false
			}
		}
		return true
	}
	// The last rounds have no later records to close them: they wait
	// for grace (2 s here). The others are closed as the backlog is read.
	waitFor(t, "every bucket emitted with every host that shipped it", 40*time.Second, complete)
	took := time.Since(start)
	got := series(carbon.Lines(), fleetHosts)
	if n := got[t0+skipped]; len(n) == 0 || n[0] != 2 {
		t.Errorf("round %d, skipped by lb-c: FleetHosts %v, want 2", skipped, n)
	}
	for _, h := range hosts {
		path := "loadbalancers." + strings.ReplaceAll(h, ".", "_") + ".haproxy.frontend.www_example_com.stot"
		if n := len(series(carbon.Lines(), path)); n < rounds-1 {
			t.Errorf("%s: %d snapshots in carbon", h, n)
		}
	}
	if late := c.c.Late.Load(); late != 0 {
		t.Errorf("%d snapshots late in a backlog read at once", late)
	}
	peak := c.c.peakInFlight()
	t.Logf("backlog of %d records and %d buckets delivered in %v with a 1 s confirmation; up to %d deliveries in flight at once",
		c.c.Records.Load(), len(shipped), took.Round(10*time.Millisecond), peak)
	if peak < 2 {
		t.Errorf("at most %d delivery in flight: the confirmations did not overlap", peak)
	}
	waitFor(t, "every record committed", 10*time.Second, func() bool { return c.c.inFlight() == 0 })
}
