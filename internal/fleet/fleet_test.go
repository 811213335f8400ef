package fleet

import (
	"context"
	"fmt"
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
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/graphite"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/health"
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
	// A member that stops leaves the group, the killed one too, so its
	// partitions move at once; the session is long so that a busy
	// machine does not end a live member's, and move its partitions.
	k.SessionTimeout, k.RebalanceTimeout = 30*time.Second, time.Minute
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

// pullConfig returns the pull configuration of a load balancer whose
// sockets are in base/sockets.
func pullConfig(t *testing.T, base string, sockets []string) config.Pull {
	t.Helper()
	sockDir := filepath.Join(base, "sockets")
	if err := os.Mkdir(sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range sockets {
		haproxytest.UnixSocket(t, sockDir, s+".sock", reply(t, s+".sock_info"), reply(t, s+".sock_stat"))
	}
	return config.Pull{
		SocketDir: sockDir, Retries: 0, Timeout: 200 * time.Millisecond, Interval: 10 * time.Millisecond,
		PullTimeout: 500 * time.Millisecond, PullInterval: time.Second,
		BufferLimit: 6291456, Workers: 8, QueueSize: 60,
		DstDir: filepath.Join(base, "incoming"), TmpDstDir: filepath.Join(base, "incoming.tmp"),
	}
}

func startPuller(t *testing.T, host, cluster string, sockets []string, prod ship.Producer) *puller {
	t.Helper()
	cfg := pullConfig(t, t.TempDir(), sockets)
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

// roundPuller is a load balancer whose rounds the test pulls, one epoch
// at a time, with a shipper following its spool: the test, not the
// clock, says when a round is pulled (pull.Run's cadence has tests of
// its own).
type roundPuller struct {
	puller
	host string
	pl   *pull.Puller
}

func startRoundPuller(t *testing.T, host, cluster string, sockets []string, prod ship.Producer) *roundPuller {
	t.Helper()
	cfg := pullConfig(t, t.TempDir(), sockets)
	cfg.Timeout, cfg.PullTimeout = 5*time.Second, 10*time.Second // a failed round is pulled again anyway
	ctx, cancel := context.WithCancel(context.Background())
	p := &roundPuller{puller: puller{dst: cfg.DstDir, cancel: cancel}, host: host, pl: pull.New(cfg, discard)}
	if err := p.pl.Prepare(); err != nil {
		t.Fatal(err)
	}
	sh := ship.NewShipper(cfg.DstDir, host, cluster, prod, discard)
	sh.RetryDelay, sh.MaxRetryDelay = 100*time.Millisecond, 500*time.Millisecond
	p.wg.Go(func() { sh.Run(ctx) })
	t.Cleanup(p.stop)
	return p
}

// round pulls the round of epoch into the spool, again until it is
// committed (a round that fails is discarded by pull).
func (p *roundPuller) round(t *testing.T, epoch int64) {
	t.Helper()
	before := p.pl.Committed.Load()
	haproxytest.WaitFor(t, p.host+": round "+spool.Name(epoch)+" committed", time.Minute, nil, func() bool {
		p.pl.Round(context.Background(), time.Unix(epoch, 0))
		return p.pl.Committed.Load() > before
	})
}

// consumer is one haproxystats-process with source = kafka.
type consumer struct {
	c      *Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

// consumerOptions are what tests change in a consumer: Graphite's
// confirmation (graphite.ConfirmAfter, a second in the daemon; 20 ms
// when 0), the fleet grace (2 s when 0), and a trace of what it does
// under the name id.
type consumerOptions struct {
	confirm, grace time.Duration
	trace          *trace
	id             int
	health         *health.Monitor // told what the consumer does, as the daemon's is
}

func startConsumer(t *testing.T, brokers []string, carbonPort int) *consumer {
	t.Helper()
	return startConsumerWith(t, brokers, carbonPort, consumerOptions{})
}

func startConsumerWith(t *testing.T, brokers []string, carbonPort int, o consumerOptions) *consumer {
	t.Helper()
	if o.confirm == 0 {
		o.confirm = 20 * time.Millisecond
	}
	if o.grace == 0 {
		o.grace = 2 * time.Second
	}
	g := config.Default().Graphite
	g.Server, g.Port = "127.0.0.1", carbonPort
	sender := graphite.New(g, discard, graphite.WithConfirmAfter(o.confirm))
	proc := process.New(config.Process{SrcDir: filepath.Join(t.TempDir(), "incoming"), Workers: 1}, stats.Options{}, []process.Sink{sender}, discard)
	c := NewConsumer(proc, Paths{Namespace: "loadbalancers", PrefixHostname: true, FQDN: true}, time.Second, o.grace, 3, discard)
	c.PollInterval = 100 * time.Millisecond
	c.RetryDelay = 100 * time.Millisecond
	if o.health != nil {
		proc.Watch(o.health)
		c.Loop = o.health.Loop("fleet consumer")
		o.health.SetQueue("records behind", c.Lag)
		o.health.SetClusters(c.Clusters)
	}
	src, err := kafka.NewConsumer(kafkaConfig(brokers), kafka.ConsumerHooks{Revoked: c.Revoked, Lost: c.Lost}, discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.trace != nil {
		o.trace.attach(c, o.id)
		c.Attach(&tap{Source: src, tr: o.trace})
	} else {
		c.Attach(src)
	}
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

// held returns the records read and not committed, each with whether
// its per-host metrics were accepted by every sink.
func (c *Consumer) held() map[pos]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[pos]bool{}
	for p, recs := range c.pending {
		for _, r := range recs {
			out[pos{p, r.offset}] = r.hostDone
		}
	}
	return out
}

// pos is a record's place in the snapshot topic.
type pos struct {
	partition int32
	offset    int64
}

// snap is a host's snapshot: what a per-host line in carbon stands for.
type snap struct {
	host  string
	epoch int64
}

// trace is what the consumers of a test did, as the code reports it:
// what they read, the per-host deliveries every sink accepted, and the
// records they forgot without committing them (to a rebalance, or to the
// kill).
type trace struct {
	mu        sync.Mutex
	read      map[pos]snap        // guarded by mu
	delivered map[int]map[pos]int // consumer → record → deliveries accepted; guarded by mu
	abandoned map[int]map[pos]int // consumer → record → times forgotten uncommitted; guarded by mu
}

func newTrace() *trace {
	return &trace{read: map[pos]snap{}, delivered: map[int]map[pos]int{}, abandoned: map[int]map[pos]int{}}
}

// attach makes c report to tr as consumer id.
func (tr *trace) attach(c *Consumer, id int) {
	tr.delivered[id], tr.abandoned[id] = map[pos]int{}, map[pos]int{}
	c.delivered = func(key string) {
		f := strings.Split(key, "/")
		if len(f) != 3 || f[0] != "fleet" {
			return // a cluster bucket
		}
		p, _ := strconv.ParseInt(f[1], 10, 32)
		o, _ := strconv.ParseInt(f[2], 10, 64)
		tr.mu.Lock()
		tr.delivered[id][pos{int32(p), o}]++
		tr.mu.Unlock()
	}
	c.abandoned = func(p int32, o int64) {
		tr.mu.Lock()
		tr.abandoned[id][pos{p, o}]++
		tr.mu.Unlock()
	}
}

// tap is a Source that tells a trace what it reads.
type tap struct {
	Source
	tr *trace
}

func (s *tap) Poll(ctx context.Context) []kafka.Record {
	recs := s.Source.Poll(ctx)
	for _, r := range recs {
		d, err := record.Decode(r.Value)
		if err != nil {
			continue
		}
		s.tr.mu.Lock()
		s.tr.read[pos{r.Partition, r.Offset}] = snap{d.Host, d.Epoch}
		s.tr.mu.Unlock()
	}
	return recs
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

// waitGroupStable waits until the consumer group has members members,
// each with partitions, and no rebalance under way.
func waitGroupStable(t *testing.T, brokers []string, members int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var last status
	haproxytest.WaitFor(t, fmt.Sprintf("a stable group of %d members", members), time.Minute, &last, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{config.DefaultKafka().Group}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || len(resp.Groups) != 1 {
			last = status(fmt.Sprint(err))
			return false
		}
		g := resp.Groups[0]
		last = status(fmt.Sprintf("state %s, %d members", g.State, len(g.Members)))
		if g.State != "Stable" || len(g.Members) != members {
			return false
		}
		for _, m := range g.Members {
			var a kmsg.ConsumerMemberAssignment
			if a.ReadFrom(m.MemberAssignment) != nil || len(a.Topics) == 0 {
				last += ", a member without partitions"
				return false
			}
		}
		return true
	})
}

// heldRound reports whether held is records of round epoch alone, of
// every one of hosts and no other, each delivered (a host's record may
// be there twice when its shipper produced it twice).
func heldRound(tr *trace, held map[pos]bool, epoch int64, hosts []string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	seen := map[string]bool{}
	for p, delivered := range held {
		s, ok := tr.read[p]
		if !ok || !delivered || s.epoch != epoch || !slices.Contains(hosts, s.host) {
			return false
		}
		seen[s.host] = true
	}
	return len(seen) == len(hosts)
}

// status is what a wait saw last, shown by haproxytest.WaitFor.
type status string

func (s *status) String() string { return string(*s) }

// TestFleet runs three load balancers (hosts of cluster dc1) shipping to
// a fake broker and two process instances in one group sending to a fake
// carbon. The test pulls the rounds, and kills the instance that owns
// dc1's partition while it holds two records of a round delivered per
// host and not committed (their bucket waits for the third host). The
// other takes over. Every host's snapshots arrive; every duplicate in
// carbon is accounted for by what the code reports (a record in flight
// at the kill, or forgotten uncommitted at a rebalance, read again; a
// snapshot the shipper produced twice), exactly; and every cluster
// bucket has every host and is the sum of its hosts.
func TestFleet(t *testing.T) {
	kc, carbon, prod := newFleet(t)
	rec := &recorder{p: prod, epochs: map[string][]int64{}}
	tr := newTrace()
	// A grace far longer than the test: a bucket is emitted only when
	// every host reported, or by the records' time; never because a
	// host was slow on a busy machine.
	const grace = time.Hour
	var consumers []*consumer
	for i := range 2 {
		consumers = append(consumers, startConsumerWith(t, kc.ListenAddrs(), carbon.Port(), consumerOptions{grace: grace, trace: tr, id: i}))
	}
	// Both members have their partitions before the first record: no
	// rebalance moves dc1's partition while the hosts ship.
	waitGroupStable(t, kc.ListenAddrs(), 2)
	hosts := map[string][]string{
		"lb-a.dc1": {"admin1"},
		"lb-b.dc1": {"admin2"},
		"lb-c.dc1": {"admin1", "admin2"},
	}
	pullers := map[string]*roundPuller{}
	for h, socks := range hosts {
		pullers[h] = startRoundPuller(t, h, "dc1", socks, rec)
	}
	const metric = ".haproxy.frontend.www_example_com.stot"
	hostPath := func(h string) string { return "loadbalancers." + strings.ReplaceAll(h, ".", "_") + metric }
	clusterPath := "loadbalancers.dc1" + metric
	const fleetHosts = "loadbalancers.dc1.haproxy.haproxystats.FleetHosts"

	const t0 = 1500000000
	shippedBy := func(h string, epoch int64) bool {
		return slices.Contains(rec.shipped()[h], epoch)
	}
	// pullRound pulls round k on hosts and waits until the broker
	// acknowledged each: the records of a round precede the next one's.
	pullRound := func(k int, hosts ...string) {
		t.Helper()
		for _, h := range hosts {
			pullers[h].round(t, t0+int64(k))
		}
		for _, h := range hosts {
			haproxytest.WaitFor(t, h+": round "+strconv.Itoa(k)+" shipped", time.Minute, nil, func() bool { return shippedBy(h, t0+int64(k)) })
		}
	}
	all := slices.Sorted(maps.Keys(hosts))
	emitted := func(k int) bool {
		got := series(carbon.Lines(), fleetHosts)[t0+int64(k)]
		return len(got) > 0 && slices.Max(got) == 3
	}

	// Rounds before the kill, every bucket emitted with its 3 hosts.
	const killRound, rounds = 6, 10
	for k := range killRound {
		pullRound(k, all...)
	}
	haproxytest.WaitFor(t, "the buckets before the kill emitted with every host", time.Minute, nil, func() bool {
		for k := range killRound {
			if !emitted(k) {
				return false
			}
		}
		return true
	})
	// Round killRound of two hosts only: their records are delivered
	// per host and wait for the third host's, uncommitted. The owner is
	// killed when it holds just them (everything before committed).
	pullRound(killRound, "lb-a.dc1", "lb-b.dc1")
	owner := -1
	killed := []string{"lb-a.dc1", "lb-b.dc1"}
	haproxytest.WaitFor(t, "a consumer holding round "+strconv.Itoa(killRound)+" of two hosts, delivered, and nothing else uncommitted", time.Minute, nil, func() bool {
		for i, c := range consumers {
			if heldRound(tr, c.c.held(), t0+killRound, killed) {
				owner = i
				return true
			}
		}
		return false
	})
	crashed := consumers[owner].c.Crash() // the world stopped: nothing read, delivered nor committed after
	consumers[owner].stop()
	survivor := consumers[1-owner]

	// The rest of the rounds go to the survivor.
	pullRound(killRound, "lb-c.dc1")
	for k := killRound + 1; k < rounds; k++ {
		pullRound(k, all...)
	}
	for _, p := range pullers {
		p.stop()
	}
	shipped := rec.shipped()
	for _, p := range pullers {
		if n := p.queued(t); n != 0 {
			t.Errorf("%d snapshots left in a puller's queue", n)
		}
	}
	haproxytest.WaitFor(t, "every bucket emitted with every host, and every record committed", time.Minute, nil, func() bool {
		for k := range rounds {
			if !emitted(k) {
				return false
			}
		}
		return survivor.c.inFlight() == 0
	})
	survivor.stop() // the world stopped: every delivery is known

	// Each (host, epoch) is in carbon once per delivery the consumers
	// reported; wait for the lines still on their way, then count.
	tr.mu.Lock()
	deliveries := map[pos]int{}
	for _, d := range tr.delivered {
		for p, n := range d {
			deliveries[p] += n
		}
	}
	want := map[snap]int{}
	copies := map[snap]int{} // records of a snapshot in the topic
	for p, s := range tr.read {
		copies[s]++
		want[s] += deliveries[p]
	}
	// Why a record was delivered more than once: it was forgotten
	// uncommitted, after its delivery, by the consumer that delivered
	// it, and read again.
	explained := map[pos]int{}
	killDups, rebalanceDups := 0, 0
	for id, ab := range tr.abandoned {
		for p := range ab {
			if tr.delivered[id][p] == 0 {
				continue // forgotten before it reached carbon: read again, once in carbon
			}
			explained[p]++
			if id == owner && slices.ContainsFunc(crashed, func(r pendingAt) bool { return r.Partition == p.partition && r.Offset == p.offset }) {
				killDups++
			} else {
				rebalanceDups++
			}
		}
	}
	for p, n := range deliveries {
		if n != 1+explained[p] {
			t.Errorf("record %d/%d (%v) delivered %d times, %d of them explained by a consumer forgetting it uncommitted", p.partition, p.offset, tr.read[p], n, explained[p])
		}
	}
	for p, s := range tr.read {
		if deliveries[p] == 0 {
			t.Errorf("record %d/%d (%v) read and never delivered", p.partition, p.offset, s)
		}
	}
	tr.mu.Unlock()
	haproxytest.WaitFor(t, "every delivery in carbon", time.Minute, nil, func() bool {
		lines := carbon.Lines()
		for s, n := range want {
			if len(series(lines, hostPath(s.host))[s.epoch]) < n {
				return false
			}
		}
		return true
	})
	lines := carbon.Lines()

	total, dups, gaps, twice := 0, 0, 0, 0
	perHost := map[string]map[int64][]float64{}
	for h, epochs := range shipped {
		perHost[h] = series(lines, hostPath(h))
		total += len(epochs)
		for i := 1; i < len(epochs); i++ {
			if epochs[i] != epochs[i-1]+1 {
				gaps++
			}
		}
		for _, e := range epochs {
			n := len(perHost[h][e])
			if n == 0 {
				t.Errorf("%s/%d shipped, not in carbon", h, e)
			}
			if n > 1 {
				dups += n - 1
			}
			if n != want[snap{h, e}] {
				t.Errorf("%s/%d in carbon %d times, delivered %d times", h, e, n, want[snap{h, e}])
			}
			twice += copies[snap{h, e}] - 1
		}
	}
	inFlight, delivered := len(crashed), 0
	for _, r := range crashed {
		if r.Delivered {
			delivered++
		}
		if s := tr.read[pos{r.Partition, r.Offset}]; s.epoch != t0+killRound || !slices.Contains(killed, s.host) {
			t.Errorf("record %d/%d (%v) in flight at the kill, want only round %d of %v", r.Partition, r.Offset, s, killRound, killed)
		}
		if tr.abandoned[owner][pos{r.Partition, r.Offset}] == 0 {
			t.Errorf("record %d/%d in flight at the kill, not forgotten by the killed consumer", r.Partition, r.Offset)
		}
	}
	t.Logf("%d snapshots shipped by 3 hosts (%d skipped slots), all in carbon; %d per-host duplicates after the kill, survivor read %d records",
		total, gaps, dups, survivor.c.Records.Load())
	t.Logf("%d records in flight at the kill, %d of them delivered (not committed); duplicates: %d read again after the kill, %d after a rebalance, %d produced twice by a shipper",
		inFlight, delivered, killDups, rebalanceDups, twice)
	if gaps != 0 {
		t.Errorf("%d rounds missing: a host's metrics did not arrive once per round", gaps)
	}
	if total != 3*rounds {
		t.Errorf("%d snapshots shipped, want %d", total, 3*rounds)
	}
	if inFlight < 2 || delivered != inFlight || killDups != inFlight {
		t.Errorf("%d records in flight at the kill, %d delivered, %d read again: want those of round %d of %v, each delivered and read again", inFlight, delivered, killDups, killRound, killed)
	}
	if dups != killDups+rebalanceDups+twice {
		t.Errorf("%d duplicate host snapshots: %d in flight at the kill + %d forgotten at a rebalance + %d produced twice", dups, killDups, rebalanceDups, twice)
	}

	// Every bucket has all three hosts and is their sum, however many
	// times it was emitted.
	cluster := series(lines, clusterPath)
	hostsIn := series(lines, fleetHosts)
	checked := 0
	for k := range rounds {
		start := int64(t0 + k)
		if got := hostsIn[start]; len(got) == 0 || slices.Min(got) != 3 {
			t.Errorf("bucket %d (round %d): FleetHosts %v, want 3 each time it was emitted", start, k, got)
		}
		var want float64
		for h := range hosts {
			got := perHost[h][start]
			if len(got) == 0 {
				t.Errorf("bucket %d: %s has no value at %d", start, h, start)
				continue
			}
			want += got[0]
		}
		if len(cluster[start]) == 0 {
			t.Errorf("bucket %d: no %s", start, clusterPath)
		}
		for _, v := range cluster[start] {
			checked++
			if v != want {
				t.Errorf("bucket %d: cluster %s = %v, want the sum of the hosts %v", start, clusterPath, v, want)
			}
		}
	}
	t.Logf("%d cluster buckets, %d values checked against the per-host sum", len(cluster), checked)
	if len(cluster) != rounds {
		t.Errorf("%d cluster buckets, want %d", len(cluster), rounds)
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
	haproxytest.WaitFor(t, "4 snapshots queued during the outage", time.Minute, nil, func() bool { return p.queued(t) >= 4 })
	peak := p.queued(t)
	if n := len(rec.shipped()["lb-a.dc1"]); n != 0 {
		t.Fatalf("%d snapshots acknowledged during the outage", n)
	}
	fault.Remove()
	up := time.Now()
	haproxytest.WaitFor(t, "queue drained after recovery", time.Minute, nil, func() bool { return p.queued(t) == 0 })
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
	haproxytest.WaitFor(t, "records read back", time.Minute, nil, func() bool {
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
	haproxytest.WaitFor(t, "4 buckets emitted and every record committed", time.Minute, nil, func() bool { return a.c.Emitted.Load() == 4 && a.c.inFlight() == 0 })
	a.stop()
	// After the stop, a record that is no snapshot, in the same
	// partition (same key): the next member reads it, and counts it
	// rejected, after the 4 if it reads them again.
	if err := prod.Produce(context.Background(), []byte("ams.example.com"), []byte("not a snapshot record")); err != nil {
		t.Fatal(err)
	}
	b := startConsumer(t, kc.ListenAddrs(), carbon.Port())
	haproxytest.WaitFor(t, "the next member read the record produced after the stop", time.Minute, nil, func() bool { return b.c.Rejected.Load() == 1 })
	if n := b.c.Records.Load(); n != 1 {
		t.Errorf("the next member read %d records again after a clean stop", n-1)
	}
	const self = "loadbalancers.ams_example_com.haproxy.haproxystats."
	const stot = "loadbalancers.ams_example_com.haproxy.frontend.www_example_com.stot"
	haproxytest.WaitFor(t, "the lines of the 4 buckets in carbon", time.Minute, nil, func() bool {
		lines := carbon.Lines()
		return len(series(lines, stot)) >= 4 && len(series(lines, self+"FleetRecords")) >= 4 && len(series(lines, self+"FleetLag")) >= 4
	})
	if n := len(series(carbon.Lines(), stot)); n != 4 {
		t.Errorf("%d cluster buckets in carbon, want 4", n)
	}
	// The consumer's own figures: records read, and the lag of the
	// cluster's partition, 0 once the backlog of 4 was read.
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
// Graphite's confirmation after a delay. The deliveries overlap
// (before: one record, then one bucket, a delay each: 80 of them), and every
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
	// A grace far longer than the test: every bucket closes by the
	// records' time or with every host, never because reading the
	// backlog was slow.
	// A confirmation of 5 s, not the daemon's 1 s: deliveries that
	// overlap then do so even when a busy machine takes seconds to
	// render a record, and one at a time would take 400 s.
	c := startConsumerWith(t, kc.ListenAddrs(), carbon.Port(), consumerOptions{confirm: 5 * time.Second, grace: time.Hour})
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
	// Every bucket is closed as the backlog is read, the last ones too:
	// they have every host.
	haproxytest.WaitFor(t, "every bucket emitted with every host that shipped it", 2*time.Minute, nil, complete)
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
	t.Logf("backlog of %d records and %d buckets delivered in %v with a 5 s confirmation; up to %d deliveries in flight at once",
		c.c.Records.Load(), len(shipped), took.Round(10*time.Millisecond), peak)
	if peak < 2 {
		t.Errorf("at most %d delivery in flight: the confirmations did not overlap", peak)
	}
	haproxytest.WaitFor(t, "every record committed", time.Minute, nil, func() bool { return c.c.inFlight() == 0 })
}

// The health of a consumer: its loop alive, the newest record delivered,
// and, for the gauges, each cluster's last bucket with the hosts it went
// without.
func TestFleetHealth(t *testing.T) {
	kc, carbon, prod := newFleet(t)
	rec := &recorder{p: prod, epochs: map[string][]int64{}}
	m := health.New(health.Thresholds{MaxAge: time.Hour, MaxQueue: 1000, MaxSinksFailing: time.Hour, MaxStall: time.Hour})
	c := startConsumerWith(t, kc.ListenAddrs(), carbon.Port(), consumerOptions{health: m})
	waitGroupStable(t, kc.ListenAddrs(), 1)
	pullers := map[string]*roundPuller{}
	for _, h := range []string{"lb-a.dc1", "lb-b.dc1"} {
		pullers[h] = startRoundPuller(t, h, "dc1", []string{"admin1"}, rec)
	}
	const t0 = 1500000000
	const missing = "loadbalancers.dc1.haproxy.haproxystats.FleetHostsMissing"
	for k := range 4 {
		hosts := []string{"lb-a.dc1", "lb-b.dc1"}
		if k == 3 {
			hosts = hosts[:1] // lb-b.dc1 misses the last bucket
		}
		for _, h := range hosts {
			pullers[h].round(t, t0+int64(k))
			haproxytest.WaitFor(t, h+": round shipped", time.Minute, nil, func() bool { return slices.Contains(rec.shipped()[h], t0+int64(k)) })
		}
	}
	haproxytest.WaitFor(t, "the last bucket emitted without lb-b.dc1", time.Minute, nil, func() bool {
		got := series(carbon.Lines(), missing)[t0+3]
		return len(got) > 0 && got[0] == 1
	})
	var st health.Status
	haproxytest.WaitFor(t, "the monitor has the last bucket of dc1", time.Minute, nil, func() bool {
		st = m.Status()
		return len(st.Clusters) == 1 && st.Clusters[0] == health.Cluster{Name: "dc1", Hosts: 1, Missing: 1}
	})
	if !st.Live {
		t.Errorf("consumer not alive: %v", st.LiveReasons)
	}
	if want := time.Since(time.Unix(t0+3, 0)); st.NewestAge < want-time.Minute || st.NewestAge > want+time.Minute {
		t.Errorf("NewestAge = %v, want about %v: the newest record delivered is round 3", st.NewestAge, want)
	}
	if st.Queue < 0 || len(st.Sinks) != 1 || st.Sinks[0].Name != "graphite" {
		t.Errorf("Status = %+v", st)
	}
	c.stop()
	if got := m.Status(); len(got.Clusters) != 0 {
		t.Errorf("after the consumer left the group, the monitor still has %+v", got.Clusters)
	}
}
