package kafkasink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

const (
	topic = "haproxystats"
	host  = "lb-01_example_com"
)

// golden is the Graphite output of the worked example (BEHAVIOR.md §13)
// for one snapshot, 1500000000: what carbon receives for it.
const golden = "../stats/testdata/example13/default.golden"

func goldenLines(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// goldenMetrics parses the golden Graphite lines back into metrics.
func goldenMetrics(t testing.TB) []metric.Metric {
	t.Helper()
	var ms []metric.Metric
	for _, line := range goldenLines(t) {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad golden line %q", line)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, metric.Metric{Path: f[0], Value: v, Time: ts})
	}
	return ms
}

// newCluster starts an in-process Kafka broker on 127.0.0.1 with topic
// in 3 partitions.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	return haproxytest.Broker(t, topic, 3, opts...)
}

func testConfig(brokers []string) config.Kafka {
	k := config.DefaultKafka()
	k.Brokers = brokers
	k.Linger = 5 * time.Millisecond
	k.Timeout = time.Second
	return k
}

func newSink(t *testing.T, cfg config.Kafka) *Sink {
	t.Helper()
	s, err := New(cfg, host, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// consume reads topic from the start until done says it has enough, or
// fails the test after a minute.
func consume(t *testing.T, brokers []string, opts []kgo.Opt, done func([]*kgo.Record) bool) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var recs []*kgo.Record
	for !done(recs) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records in a minute, not enough", len(recs))
		}
		fs.EachError(func(topic string, p int32, err error) { t.Errorf("fetch %s/%d: %v", topic, p, err) })
		recs = append(recs, fs.Records()...)
	}
	return recs
}

// atLeast returns a done function for consume: n records.
func atLeast(n int) func([]*kgo.Record) bool {
	return func(recs []*kgo.Record) bool { return len(recs) >= n }
}

// lines splits the values of graphite-format records into lines.
func lines(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, strings.Split(strings.TrimSuffix(string(r.Value), "\n"), "\n")...)
	}
	return out
}

// allLines returns a done function for consume: every one of want among
// the lines of graphite-format records, duplicates allowed.
func allLines(want []string) func([]*kgo.Record) bool {
	return func(recs []*kgo.Record) bool {
		got := map[string]bool{}
		for _, l := range lines(recs) {
			got[l] = true
		}
		for _, l := range want {
			if !got[l] {
				return false
			}
		}
		return true
	}
}

func send(t *testing.T, s *Sink, ms []metric.Metric) error {
	t.Helper()
	return s.Send(context.Background(), ms)
}

// sendRefused sends ms through s, which must refuse them at its
// deadline: Send waits for acknowledgements no longer than its timeout.
// Its error says so, rather than a clock that a busy machine stretches.
func sendRefused(t *testing.T, s *Sink, ms []metric.Metric) error {
	t.Helper()
	err := send(t, s, ms)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, kgo.ErrRecordTimeout) {
		t.Errorf("Send refused with %v, not at the deadline of its timeout %v", err, s.cfg.Timeout)
	}
	return err
}

func checkKeys(t *testing.T, recs []*kgo.Record) {
	t.Helper()
	for _, r := range recs {
		if string(r.Key) != host {
			t.Errorf("record key %q, want %q", r.Key, host)
		}
		if r.Partition != recs[0].Partition {
			t.Errorf("records of one host in partitions %d and %d", recs[0].Partition, r.Partition)
		}
	}
}

func TestGraphiteFormat(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.BatchBytes = 4096 // records of at most 2048 bytes: several for this snapshot
	s := newSink(t, cfg)
	ms := goldenMetrics(t)
	if err := send(t, s, ms); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	recs := consume(t, c.ListenAddrs(), nil, func(recs []*kgo.Record) bool {
		n := 0
		for _, r := range recs {
			n += len(r.Value)
		}
		return n >= len(want)
	})
	for _, r := range recs {
		if len(r.Value) > 2048 {
			t.Errorf("record of %d bytes, want at most batch-bytes/2 = 2048", len(r.Value))
		}
		if !bytes.HasSuffix(r.Value, []byte("\n")) {
			t.Errorf("record does not end with a whole line: %q", r.Value[max(0, len(r.Value)-40):])
		}
		got = append(got, r.Value...)
	}
	if len(recs) < 2 {
		t.Errorf("%d records, want the snapshot cut into several", len(recs))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("records differ from the Graphite lines of the snapshot:\n got %q\nwant %q", got, want)
	}
	checkKeys(t, recs)
	r := s.Report()
	if r["KafkaRecordsProduced"] != float64(len(recs)) || r["KafkaBytesProduced"] != float64(len(want)+len(recs)*len(host)) ||
		r["KafkaProduceErrors"] != 0 || r["KafkaSnapshotsRefused"] != 0 || r["KafkaProduceLatencyLastSeconds"] <= 0 {
		t.Errorf("Report() = %v after %d records, %d bytes", r, len(recs), len(want))
	}
}

func TestJSONFormat(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.Format = "json"
	s := newSink(t, cfg)
	ms := goldenMetrics(t)
	if err := send(t, s, ms); err != nil {
		t.Fatal(err)
	}
	want := goldenLines(t)
	recs := consume(t, c.ListenAddrs(), nil, atLeast(len(want)))
	if len(recs) != len(want) {
		t.Fatalf("%d records, want one per metric, %d", len(recs), len(want))
	}
	checkKeys(t, recs)
	for i, r := range recs {
		line, h := jsonLine(t, r)
		if line != want[i] {
			t.Errorf("record %d = %s, as a Graphite line %q, want %q", i, r.Value, line, want[i])
		}
		if h != host {
			t.Errorf("record %d host %q, want %q", i, h, host)
		}
	}
	if got, want := string(recs[0].Value), `{"path":"loadbalancers.lb-01_example_com.haproxy.backend.app.TotalServers","value":2,"timestamp":1500000000,"host":"lb-01_example_com"}`; got != want {
		t.Errorf("first record\n got %s\nwant %s", got, want)
	}
}

// jsonLine decodes a json-format record strictly and returns it as the
// Graphite line of the same text (path, value, timestamp), and its host.
func jsonLine(t *testing.T, r *kgo.Record) (line, host string) {
	t.Helper()
	var m struct {
		Path      string      `json:"path"`
		Value     json.Number `json:"value"`
		Timestamp json.Number `json:"timestamp"`
		Host      string      `json:"host"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Value))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("record %q: %v", r.Value, err)
	}
	if dec.More() {
		t.Fatalf("record %q: more than one JSON value", r.Value)
	}
	return m.Path + " " + m.Value.String() + " " + m.Timestamp.String(), m.Host
}

// jsonLines returns a function that turns json-format records into
// Graphite lines.
func jsonLines(t *testing.T) func([]*kgo.Record) []string {
	return func(recs []*kgo.Record) []string {
		out := make([]string, len(recs))
		for i, r := range recs {
			out[i], _ = jsonLine(t, r)
		}
		return out
	}
}

// TestOptions produces with every acks word and compression codec and
// reads the records back.
func TestOptions(t *testing.T) {
	c := newCluster(t)
	ms := goldenMetrics(t)[:10]
	want := goldenLines(t)[:10]
	n := 0
	for _, acks := range []string{"all", "leader", "none"} {
		for _, comp := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
			cfg := testConfig(c.ListenAddrs())
			cfg.Acks, cfg.Compression = acks, comp
			s := newSink(t, cfg)
			if err := send(t, s, ms); err != nil {
				t.Fatalf("acks %s compression %s: %v", acks, comp, err)
			}
			n++
		}
	}
	got := lines(consume(t, c.ListenAddrs(), nil, func(recs []*kgo.Record) bool { return len(lines(recs)) >= n*len(want) }))
	for i, l := range got {
		if l != want[i%len(want)] {
			t.Fatalf("line %d = %q, want %q", i, l, want[i%len(want)])
		}
	}
}

// TestOutage makes the broker fail every produce request, in two ways,
// during a Send: Send must refuse the snapshot within its timeout. Once
// the broker is back, the same Send delivers every metric.
func TestOutage(t *testing.T) {
	tests := []struct {
		name  string
		fatal bool // refused at once, not at Send's deadline
		down  func(c *kfake.Cluster) (up func())
	}{
		{"broker answers with an error", false, func(c *kfake.Cluster) func() {
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
			return h.Remove
		}},
		{"broker answers with a fatal error", true, func(c *kfake.Cluster) func() {
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.CorruptMessage, Count: -1})
			return h.Remove
		}},
		{"broker drops the connection", false, func(c *kfake.Cluster) func() {
			var up atomic.Bool
			c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				if up.Load() {
					return nil, nil, false // handled by the broker as usual
				}
				c.KeepControl()
				return nil, errors.New("broker down"), true // closes the connection
			})
			return func() { up.Store(true) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t)
			s := newSink(t, testConfig(c.ListenAddrs()))
			ms := goldenMetrics(t)
			if err := send(t, s, ms[:1]); err != nil { // connected, producer id known
				t.Fatal(err)
			}
			up := tt.down(c)
			refuse := sendRefused
			if tt.fatal {
				refuse = send
			}
			err := refuse(t, s, ms)
			if err == nil {
				t.Fatal("Send = nil while the broker refuses produce requests")
			}
			t.Log(err)
			if r := s.Report(); r["KafkaSnapshotsRefused"] != 1 {
				t.Errorf("KafkaSnapshotsRefused = %v, want 1", r["KafkaSnapshotsRefused"])
			}
			up()
			haproxytest.WaitFor(t, "Send accepted after the broker is back", time.Minute, nil, func() bool {
				if err = send(t, s, ms); err != nil {
					t.Logf("retry: %v", err)
				}
				return err == nil
			})
			recs := consume(t, c.ListenAddrs(), nil, allLines(goldenLines(t)))
			checkKeys(t, recs)
		})
	}
}

// TestBrokerRestart closes the broker and starts a new one on the same
// port: Send refuses while nothing listens, without piling up a copy of
// the snapshot per retry in memory, then delivers to the new broker.
func TestBrokerRestart(t *testing.T) {
	c := newCluster(t)
	addrs := c.ListenAddrs()
	cfg := testConfig(addrs)
	cfg.Format = "json" // one record per metric, to count them
	s := newSink(t, cfg)
	ms := goldenMetrics(t)
	if err := send(t, s, ms[:1]); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for range 3 {
		if err := sendRefused(t, s, ms); err == nil {
			t.Fatal("Send = nil with no broker")
		}
	}
	if r := s.Report(); r["KafkaSnapshotsRefused"] != 3 || r["KafkaRecordsBuffered"] > float64(len(ms)) {
		t.Errorf("after 3 refused deliveries of %d records: %v; want 3 refused, at most %d buffered", len(ms), r, len(ms))
	}
	_, port, _ := strings.Cut(addrs[0], ":")
	p, _ := strconv.Atoi(port)
	c2 := newCluster(t, kfake.Ports(p))
	haproxytest.WaitFor(t, "Send accepted by the restarted broker", time.Minute, nil, func() bool {
		err := send(t, s, ms)
		if err != nil {
			t.Logf("retry: %v", err)
		}
		return err == nil
	})
	recs := consume(t, c2.ListenAddrs(), nil, func(recs []*kgo.Record) bool { return allLines(goldenLines(t))(toGraphite(t, recs)) })
	seen := map[string]int{}
	for _, l := range jsonLines(t)(recs) {
		if seen[l]++; seen[l] > 2 {
			t.Errorf("%q delivered %d times", l, seen[l])
		}
	}
}

// toGraphite turns json-format records into graphite-format ones, one
// line each.
func toGraphite(t *testing.T, recs []*kgo.Record) []*kgo.Record {
	out := make([]*kgo.Record, len(recs))
	for i, l := range jsonLines(t)(recs) {
		out[i] = &kgo.Record{Value: []byte(l + "\n")}
	}
	return out
}

// TestSendCanceled ends the context of a Send while the broker refuses
// its records, with a timeout an hour away: Send returns with the
// context's error. (A Send that waited for anything but its context
// would still be waiting.)
func TestSendCanceled(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.Timeout = time.Hour
	s := newSink(t, cfg)
	refused := make(chan struct{})
	var once sync.Once
	var up atomic.Bool // once Send returned, so that Close need not wait an hour
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if up.Load() {
			return nil, nil, false
		}
		c.KeepControl()
		once.Do(func() { close(refused) })
		return nil, errors.New("broker down"), true // closes the connection; the client retries
	})
	ms := goldenMetrics(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, ms) }()
	haproxytest.WaitFor(t, "a produce request refused", time.Minute, nil, func() bool {
		select {
		case <-refused:
			return true
		default:
			return false
		}
	})
	cancel()
	var err error
	haproxytest.WaitFor(t, "Send returning once its context ended (its timeout an hour away)", time.Minute, nil, func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	})
	up.Store(true)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send = %v after its context was canceled, want context.Canceled", err)
	}
}

// TestSASL checks that the sink's client takes the security settings of
// [kafka] (kafka.ClientOpts): every mechanism, and TLS, is tested with
// the options in package kafka.
func TestSASL(t *testing.T) {
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "hs", "secret"))
	cfg := testConfig(c.ListenAddrs())
	cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = "PLAIN", "hs", "secret"
	ms := goldenMetrics(t)[:5]
	if err := send(t, newSink(t, cfg), ms); err != nil {
		t.Fatal(err)
	}
	cfg.SASLPassword = "wrong"
	if err := send(t, newSink(t, cfg), ms); err == nil {
		t.Error("Send with a wrong password = nil")
	}
}

func TestHostKey(t *testing.T) {
	f := func(fqdn bool, hostname, want string) {
		t.Helper()
		if got := HostKey(fqdn, hostname); got != want {
			t.Errorf("HostKey(%v, %q) = %q, want %q", fqdn, hostname, got, want)
		}
		if p := metric.Prefix("ns", true, fqdn, hostname); p != "ns."+want+".haproxy" {
			t.Errorf("metric.Prefix has host part of %q, HostKey %q", p, want)
		}
	}
	f(true, "lb-01.example.com", "lb-01_example_com")
	f(false, "lb-01.example.com", "lb-01")
	f(false, "lb-01", "lb-01")
}

func TestGraphiteChunks(t *testing.T) {
	s := &Sink{key: []byte(host), chunk: 100}
	long := metric.Metric{Path: strings.Repeat("a", 150), Value: 1, Time: 1}
	short := metric.Metric{Path: "b", Value: 2, Time: 1} // "b 2 1\n": 6 bytes
	recs := s.graphiteRecords([]metric.Metric{short, long, short, short})
	var sizes []int
	for _, r := range recs {
		sizes = append(sizes, len(r.Value))
	}
	if want := []int{6, 155, 12}; !slices.Equal(sizes, want) {
		t.Errorf("record sizes %v, want %v", sizes, want)
	}
}

// TestConcurrentSends sends several snapshots at once, as the process
// daemon's workers do: each is delivered whole, its records contiguous in
// the host's partition.
func TestConcurrentSends(t *testing.T) {
	c := newCluster(t)
	cfg := testConfig(c.ListenAddrs())
	cfg.BatchBytes = 4096
	s := newSink(t, cfg)
	base := goldenMetrics(t)
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		ms := slices.Clone(base)
		for j := range ms {
			ms[j].Time += int64(10 * i)
		}
		wg.Go(func() { errs <- s.Send(context.Background(), ms) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := n * len(base)
	recs := consume(t, c.ListenAddrs(), nil, func(recs []*kgo.Record) bool { return len(lines(recs)) >= total })
	checkKeys(t, recs)
	var runs []string // snapshot time of each run of records
	count := map[string]int{}
	for _, r := range recs {
		ls := lines([]*kgo.Record{r})
		for _, l := range ls {
			count[l]++
		}
		ts := ls[0][strings.LastIndexByte(ls[0], ' ')+1:]
		if len(runs) == 0 || runs[len(runs)-1] != ts {
			runs = append(runs, ts)
		}
	}
	if len(runs) != n {
		t.Errorf("records of %d snapshots in %d runs %v, want each snapshot contiguous", n, len(runs), runs)
	}
	if len(count) != total {
		t.Errorf("%d distinct lines, want %d", len(count), total)
	}
	for l, k := range count {
		if k != 1 {
			t.Errorf("line %q %d times", l, k)
		}
	}
}
