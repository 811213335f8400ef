package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// maxSnapshotBytes bounds one snapshot record and one fetch: a record
// holds a whole compressed snapshot. The topic's max.message.bytes must
// allow the largest snapshot (see the fleet documentation).
const maxSnapshotBytes = 64 << 20

// Producer produces snapshot records (package record), as package ship
// ships them, to [kafka] snapshot-topic, one at a time, each acknowledged before Produce
// returns. It is safe for concurrent use.
type Producer struct {
	cfg config.Kafka
	cl  *kgo.Client
}

// NewProducer returns a Producer for cfg. It does not connect: the
// client connects on the first Produce and reconnects by itself.
func NewProducer(cfg config.Kafka, log *slog.Logger) (*Producer, error) {
	opts, err := ClientOpts(cfg, log)
	if err != nil {
		return nil, err
	}
	codec, err := Compression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(cfg.SnapshotTopic),
		kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchMaxBytes(maxSnapshotBytes),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		kgo.RequiredAcks(kgo.AllISRAcks()), // a snapshot is removed from disk on the ack: all replicas
		kgo.ProducerBatchCompression(codec),
		kgo.MetadataMinAge(time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &Producer{cfg: cfg, cl: cl}, nil
}

// Produce produces one record with key and value and returns nil once
// every in-sync replica acknowledged it. It gives up after [kafka]
// timeout or when ctx is done. A record given up on may still be
// delivered later by the client: the caller produces it again, so the
// topic may hold it twice (at least once).
func (p *Producer) Produce(ctx context.Context, key, value []byte) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	r := &kgo.Record{Key: key, Value: value}
	if err := p.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		if errors.Is(err, kerr.UnknownTopicID) {
			p.cl.PurgeTopicsFromProducing(p.cfg.SnapshotTopic)
		}
		return fmt.Errorf("kafka: produce to %s: %w", p.cfg.SnapshotTopic, err)
	}
	return nil
}

// Close closes the client; records not acknowledged are dropped (their
// snapshots are still on disk).
func (p *Producer) Close() { p.cl.Close() }

// Record is one record read from the snapshot topic.
type Record struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Key, Value  []byte
	// HighWatermark is the partition's end as the fetch that brought the
	// record saw it: the records after this one are the consumer's lag.
	HighWatermark int64
}

// Offset is the position to commit for a partition: the offset of the
// next record to read, and the leader epoch of the last one read.
type Offset struct {
	At    int64
	Epoch int32
}

// ConsumerHooks are called by the client during a rebalance, never while
// the caller processes the records of a Poll (rebalances are blocked
// until AllowRebalance).
type ConsumerHooks struct {
	// Revoked is called with the partitions taken away, and on Close with
	// all of them; it may Commit.
	Revoked func(ctx context.Context, partitions []int32)
	// Lost is called with partitions lost without a clean revocation
	// (session expired): committing is no longer possible.
	Lost func(partitions []int32)
}

// Consumer reads [kafka] snapshot-topic in consumer group [kafka] group,
// with automatic commits off: the caller commits what it finished.
// Poll, AllowRebalance, Commit and Close are called by one goroutine,
// except that the hooks may Commit.
type Consumer struct {
	cfg config.Kafka
	cl  *kgo.Client
	log *slog.Logger
}

// fetchBytes bounds what one fetch brings beyond its first record: a few
// thousand small snapshots, or one of 10 000 servers.
const fetchBytes = 8 << 20

// NewConsumer returns a Consumer joining the group.
func NewConsumer(cfg config.Kafka, hooks ConsumerHooks, log *slog.Logger) (*Consumer, error) {
	opts, err := ClientOpts(cfg, log)
	if err != nil {
		return nil, err
	}
	c := &Consumer{cfg: cfg, log: log}
	topicParts := func(m map[string][]int32) []int32 { return m[cfg.SnapshotTopic] }
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.SnapshotTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// A fetch is at least one record however big (Kafka returns the
		// first batch whole), and at most about fetchBytes more: the
		// client does not buffer a backlog of big snapshots ahead.
		kgo.FetchMaxBytes(fetchBytes),
		kgo.FetchMaxPartitionBytes(fetchBytes),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			if hooks.Revoked != nil {
				hooks.Revoked(ctx, topicParts(m))
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if hooks.Lost != nil {
				hooks.Lost(topicParts(m))
			}
		}),
	)
	if cfg.SessionTimeout > 0 {
		// A heartbeat every tenth of the session, at most every 3 s
		// (Kafka's default heartbeat.interval.ms), so that a few lost
		// heartbeats do not end a live member's session.
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout), kgo.HeartbeatInterval(min(3*time.Second, cfg.SessionTimeout/10)))
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	c.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return c, nil
}

// Poll waits until records are available or ctx is done and returns
// them, partition by partition, in offset order within each. Fetch
// errors are logged; the client retries by itself. After Poll, the
// caller must call AllowRebalance once it has processed the records.
func (c *Consumer) Poll(ctx context.Context) []Record {
	fs := c.cl.PollRecords(ctx, 1000)
	for _, e := range fs.Errors() {
		if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, kgo.ErrClientClosed) {
			continue
		}
		c.log.Warn("fetching snapshots", "topic", e.Topic, "partition", e.Partition, "err", e.Err)
	}
	var out []Record
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		for _, r := range p.Records {
			out = append(out, Record{Partition: r.Partition, Offset: r.Offset, LeaderEpoch: r.LeaderEpoch, Key: r.Key, Value: r.Value, HighWatermark: p.HighWatermark})
		}
	})
	return out
}

// AllowRebalance lets a rebalance blocked since the last Poll proceed.
func (c *Consumer) AllowRebalance() { c.cl.AllowRebalance() }

// Commit commits offsets, partition → next offset to read, and waits for
// the answer.
func (c *Consumer) Commit(ctx context.Context, offsets map[int32]Offset) error {
	if len(offsets) == 0 {
		return nil
	}
	m := map[int32]kgo.EpochOffset{}
	for p, o := range offsets {
		m[p] = kgo.EpochOffset{Epoch: o.Epoch, Offset: o.At}
	}
	var cerr error
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.SnapshotTopic: m},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
						cerr = fmt.Errorf("partition %d: %w", p.Partition, err)
					}
				}
			}
		})
	if cerr != nil {
		return fmt.Errorf("kafka: commit offsets of %s in group %s: %w", c.cfg.SnapshotTopic, c.cfg.Group, cerr)
	}
	return nil
}

// Close leaves the group (the Revoked hook runs first) and closes the
// client.
func (c *Consumer) Close() { c.cl.CloseAllowingRebalance() }
