// Package kafkasink is the Kafka sink of haproxystats-process: it
// produces the metrics of every snapshot to [kafka] topic and reports a
// snapshot as delivered only once the brokers acknowledged every record
// of it. The client options it shares with the fleet's clients (brokers,
// TLS, SASL, compression) come from package kafka.
//
// Records are keyed by the host name, as it appears in the Graphite
// paths, so that all the metrics of one host go to one partition, in
// order. Two value formats exist (config.Kafka.Format):
//
//   - graphite: the value is Graphite plaintext lines, "<path> <value>
//     <timestamp>\n" each, as sent to carbon; a snapshot is cut into as
//     few records as fit in min(batch-bytes/2, 512 KiB) each;
//   - json: one record per metric, {"path":…,"value":…,"timestamp":…,"host":…}.
//
// Delivery is at least once: a snapshot that is not acknowledged in full
// within the timeout is refused (it stays on disk and the process daemon
// sends it again later), and the records of it that did reach the broker
// appear twice.
package kafkasink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

const (
	// maxRecordBytes bounds the value of a graphite-format record.
	maxRecordBytes = 512 << 10
	// maxBufferedBytes bounds the record bytes the client holds, waiting
	// for acknowledgement, across all Sends; a Send that would go beyond
	// it waits for room, within its timeout. Records of refused Sends
	// that the client still holds count too (see Send).
	maxBufferedBytes = 64 << 20
	// maxBufferedRecords is the same bound in records (json format).
	maxBufferedRecords = 100_000
)

// Sink produces metrics to Kafka. Its methods may be called concurrently,
// except Close, which must come after the last Send.
type Sink struct {
	cfg   config.Kafka
	host  string
	key   []byte
	chunk int // largest value of a graphite record, in bytes
	cl    *kgo.Client
	log   *slog.Logger

	// enqueue is a one-slot semaphore held while the records of one Send
	// are handed to the client, so that the records of one snapshot are
	// contiguous in the partition. A channel rather than a mutex, so that
	// a Send waiting for it still gives up at its deadline.
	enqueue chan struct{}

	// Counters since start, reported as self-statistics.
	produced  atomic.Int64 // records acknowledged
	bytes     atomic.Int64 // key and value bytes of the acknowledged records
	errs      atomic.Int64 // records that failed
	refused   atomic.Int64 // Sends that returned an error
	latencyNS atomic.Int64 // duration of the last successful Send

	smu     sync.Mutex
	stuck   int           // records of refused Sends the client still holds; guarded by smu
	settled chan struct{} // closed when stuck drops to 0; guarded by smu
}

// New returns a Sink for cfg. host is the host name part of the Graphite
// prefix (see HostKey): it is the key of every record and the "host" of
// json records. New does not connect: the client connects on the first
// Send, and reconnects by itself after a broker outage.
//
// Idempotent producing (no duplicates from the client's own retries) is
// on when acks is all; Kafka allows it with no other acks, so it is off
// for leader and none.
func New(cfg config.Kafka, host string, log *slog.Logger) (*Sink, error) {
	opts, err := kafka.ClientOpts(cfg, log)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.AllowAutoTopicCreation(), // only where the brokers allow it (auto.create.topics.enable)
		kgo.ProducerBatchMaxBytes(int32(cfg.BatchBytes)),
		kgo.ProducerLinger(cfg.Linger),
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		kgo.MaxBufferedBytes(maxBufferedBytes),
		kgo.MaxBufferedRecords(maxBufferedRecords),
		// A produce error such as NOT_LEADER waits for fresh metadata
		// before the retry; the default 5 s would use half of the
		// default timeout, while leader elections take about a second.
		kgo.MetadataMinAge(time.Second),
	)
	switch cfg.Acks {
	case "all", "":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("kafka: unknown acks %q", cfg.Acks)
	}
	codec, err := kafka.Compression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if cfg.Format != "graphite" && cfg.Format != "json" {
		return nil, fmt.Errorf("kafka: unknown format %q", cfg.Format)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &Sink{
		cfg:     cfg,
		host:    host,
		key:     []byte(host),
		chunk:   min(cfg.BatchBytes/2, maxRecordBytes),
		cl:      cl,
		log:     log,
		enqueue: make(chan struct{}, 1),
	}, nil
}

// HostKey returns the host name part of the Graphite prefix that
// metric.Prefix builds from hostname: with fqdn the whole name with dots
// replaced by '_', without it the part before the first dot. It is the
// same whether or not prefix-hostname puts it in the paths.
func HostKey(fqdn bool, hostname string) string {
	if fqdn {
		return metric.Sanitize(hostname)
	}
	short, _, _ := strings.Cut(hostname, ".")
	return short
}

// Name returns "kafka".
func (s *Sink) Name() string { return "kafka" }

// Send produces ms, the metrics of one snapshot, and returns nil only
// once the brokers acknowledged every record (with acks none: once they
// were written to the connection). It gives up after the configured
// timeout or when ctx is done, whichever comes first, and then returns an
// error saying how many records were not acknowledged.
//
// The records of a refused call may stay in the client: while a broker is
// unreachable, the client cannot tell whether a request it had sent was
// written, and keeps those records until it can. As long as it holds such
// records, Send waits for them to be settled (delivered or failed) before
// it produces anything, and refuses when its time runs out first: a long
// outage therefore holds in memory the records of the Sends under way when
// it began, not a copy per retry.
//
// Send may be called concurrently; the records of one call are enqueued
// together, so they are contiguous in the partition.
func (s *Sink) Send(ctx context.Context, ms []metric.Metric) error {
	if len(ms) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if n, err := s.waitSettled(ctx); err != nil {
		s.refused.Add(1)
		return fmt.Errorf("kafka: %d records of an earlier refused delivery are still unacknowledged: %w", n, err)
	}
	recs := s.records(ms)
	d := &delivery{sink: s, left: len(recs), done: make(chan struct{})}
	start := time.Now()
	select {
	case s.enqueue <- struct{}{}:
	case <-ctx.Done():
		s.refused.Add(1)
		return fmt.Errorf("kafka: %d records to topic %s not produced: %w", len(recs), s.cfg.Topic, context.Cause(ctx))
	}
	for _, r := range recs {
		s.cl.Produce(ctx, r, d.promise)
	}
	<-s.enqueue
	select {
	case <-d.done:
	case <-ctx.Done():
	}
	left, failed, first := d.finish()
	switch {
	case failed > 0:
		s.refused.Add(1)
		if errors.Is(first, kerr.UnknownTopicID) {
			// The topic was deleted and recreated (or the cluster
			// replaced): the client does not adopt the new topic ID by
			// itself, so that nothing meant for the old topic lands in
			// the new one unnoticed. Our records say what they are; let
			// the next Send start afresh with the new topic.
			s.log.Warn("the topic was recreated; producing to the new one from the next delivery on", "topic", s.cfg.Topic)
			s.enqueue <- struct{}{}
			s.cl.PurgeTopicsFromProducing(s.cfg.Topic)
			<-s.enqueue
		}
		return fmt.Errorf("kafka: %d of %d records to topic %s failed: %w", failed, len(recs), s.cfg.Topic, first)
	case left > 0:
		s.refused.Add(1)
		return fmt.Errorf("kafka: %d of %d records to topic %s not acknowledged: %w", left, len(recs), s.cfg.Topic, context.Cause(ctx))
	}
	s.latencyNS.Store(int64(time.Since(start)))
	return nil
}

// waitSettled waits until the client holds no record of a refused
// delivery, or ctx is done; then it returns how many it still holds and
// ctx's cause.
func (s *Sink) waitSettled(ctx context.Context) (int, error) {
	for {
		s.smu.Lock()
		n, settled := s.stuck, s.settled
		s.smu.Unlock()
		if n == 0 {
			return 0, nil
		}
		select {
		case <-settled:
		case <-ctx.Done():
			return n, context.Cause(ctx)
		}
	}
}

// addStuck adds n (possibly negative) to the records of refused
// deliveries still held, and wakes waitSettled when none are left.
func (s *Sink) addStuck(n int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.stuck == 0 && n > 0 {
		s.settled = make(chan struct{})
	}
	s.stuck += n
	if s.stuck == 0 && n < 0 {
		close(s.settled)
	}
}

// delivery tracks the records of one Send. Its promise may run after Send
// returned (records still held by the client); then it counts them off the
// sink's stuck records.
type delivery struct {
	sink      *Sink
	mu        sync.Mutex
	left      int   // records without an outcome; guarded by mu
	failed    int   // records that failed; guarded by mu
	err       error // the first failure; guarded by mu
	abandoned bool  // Send returned; guarded by mu
	done      chan struct{}
}

// finish marks the delivery as over for Send and returns its outcome;
// records still without one become the sink's stuck records.
func (d *delivery) finish() (left, failed int, first error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.abandoned = true
	if d.left > 0 {
		d.sink.addStuck(d.left)
	}
	return d.left, d.failed, d.err
}

func (d *delivery) promise(r *kgo.Record, err error) {
	if err != nil {
		d.sink.errs.Add(1)
	} else {
		d.sink.produced.Add(1)
		d.sink.bytes.Add(int64(len(r.Key) + len(r.Value)))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.failed++
		if d.err == nil {
			d.err = err
		}
	}
	d.left--
	if d.abandoned {
		d.sink.addStuck(-1)
	}
	if d.left == 0 {
		close(d.done)
	}
}

// records turns ms into records in the configured format.
func (s *Sink) records(ms []metric.Metric) []*kgo.Record {
	if s.cfg.Format == "json" {
		return s.jsonRecords(ms)
	}
	return s.graphiteRecords(ms)
}

// graphiteRecords cuts the Graphite lines of ms into values of at most
// s.chunk bytes (a single longer line gets a record of its own).
func (s *Sink) graphiteRecords(ms []metric.Metric) []*kgo.Record {
	var recs []*kgo.Record
	var buf, line []byte
	flush := func() {
		if len(buf) > 0 {
			recs = append(recs, &kgo.Record{Key: s.key, Value: buf})
			buf = nil
		}
	}
	for _, m := range ms {
		line = m.AppendLine(line[:0])
		if len(buf)+len(line) > s.chunk {
			flush()
		}
		if buf == nil {
			buf = make([]byte, 0, min(s.chunk, 64*len(ms)))
		}
		buf = append(buf, line...)
	}
	flush()
	return recs
}

// jsonMetric is the value of a json-format record. Value is the number
// as in the Graphite line: decimal, no exponent.
type jsonMetric struct {
	Path      string      `json:"path"`
	Value     json.Number `json:"value"`
	Timestamp int64       `json:"timestamp"`
	Host      string      `json:"host"`
}

func (s *Sink) jsonRecords(ms []metric.Metric) []*kgo.Record {
	recs := make([]*kgo.Record, 0, len(ms))
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	var num []byte
	for _, m := range ms {
		b.Reset()
		num = metric.AppendValue(num[:0], m.Value)
		if err := enc.Encode(jsonMetric{Path: m.Path, Value: json.Number(num), Timestamp: m.Time, Host: s.host}); err != nil {
			// Only NaN and infinities fail, which package stats never
			// emits (metric.Valid); JSON has no way to write them.
			s.log.Error("cannot encode metric as JSON, skipping it", "path", m.Path, "err", err)
			continue
		}
		recs = append(recs, &kgo.Record{Key: s.key, Value: bytes.Clone(bytes.TrimSuffix(b.Bytes(), []byte("\n")))})
	}
	return recs
}

// Report returns the sink's counters as self-statistics, named as they
// appear under PREFIX.haproxystats.
func (s *Sink) Report() map[string]float64 {
	return map[string]float64{
		"KafkaRecordsProduced":           float64(s.produced.Load()),
		"KafkaBytesProduced":             float64(s.bytes.Load()),
		"KafkaProduceErrors":             float64(s.errs.Load()),
		"KafkaSnapshotsRefused":          float64(s.refused.Load()),
		"KafkaRecordsBuffered":           float64(s.cl.BufferedProduceRecords()),
		"KafkaProduceLatencyLastSeconds": math.Round(time.Duration(s.latencyNS.Load()).Seconds()*1e6) / 1e6,
	}
}

// Close waits, within ctx, for the records still buffered to be
// acknowledged, then closes the client. Records not acknowledged by then
// are dropped; their snapshots were refused by Send, so they are still on
// disk.
func (s *Sink) Close(ctx context.Context) error {
	err := s.cl.Flush(ctx)
	s.cl.Close()
	if err != nil {
		return fmt.Errorf("kafka: flush at close: %w", err)
	}
	return nil
}
