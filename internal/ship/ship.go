// Package ship is the shipper of fleet mode, on haproxystats-pull's
// side: it sends each committed snapshot of the spool to Kafka as a
// record (package record) and removes it once the brokers acknowledged
// it.
package ship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/backoff"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// Producer is what a Shipper produces through: kafka.Producer.
type Producer interface {
	// Produce returns nil once the broker acknowledged the record.
	Produce(ctx context.Context, key, value []byte) error
}

// DefaultCluster returns the cluster of a host when [fleet] cluster is
// not set: the domain part of its name (lb-01.ams.example.com →
// ams.example.com), or "default" for a name without a dot.
func DefaultCluster(hostname string) string {
	if _, domain, ok := strings.Cut(hostname, "."); ok && domain != "" {
		return domain
	}
	return "default"
}

// Shipper follows a spool directory and produces every committed
// snapshot, oldest first, as one Record keyed by the cluster name. A
// snapshot directory is removed only after the broker acknowledged its
// record; while the broker is down, the snapshots wait in the spool (whose
// size haproxystats-pull bounds with queue-size) and the shipper retries
// the oldest after a pause that doubles up to MaxRetryDelay.
type Shipper struct {
	dir, host, cluster string
	prod               Producer
	log                *slog.Logger

	RetryDelay    time.Duration // first pause after a refused produce
	MaxRetryDelay time.Duration // cap of the pause
	MaxReplySize  int64         // max-reply-size: a snapshot with a reply file over it is unusable

	// Counters since start.
	Shipped  atomic.Int64 // snapshots acknowledged and removed
	Bytes    atomic.Int64 // record bytes acknowledged
	Refused  atomic.Int64 // produce attempts that failed
	Unusable atomic.Int64 // snapshots that could not be read, moved to failed/ beside dir
}

// NewShipper returns a Shipper of the snapshots in dir, as host of
// cluster.
func NewShipper(dir, host, cluster string, prod Producer, log *slog.Logger) *Shipper {
	return &Shipper{dir: dir, host: host, cluster: cluster, prod: prod, log: log,
		RetryDelay: time.Second, MaxRetryDelay: 30 * time.Second, MaxReplySize: config.DefaultMaxReplySize}
}

// Run ships snapshots until ctx is done. The snapshot in flight when ctx
// ends stays on disk (it may also have reached the broker: at least once).
func (s *Shipper) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("ship: create %s: %w", s.dir, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	snapshots, err := spool.Watch(wctx, s.dir, s.log)
	if err != nil {
		return fmt.Errorf("ship: watch %s: %w", s.dir, err)
	}
	defer func() {
		cancel()
		for range snapshots { // let the watcher goroutine end
		}
	}()
	var pending []string // sorted by epoch, no duplicates
	add := func(p string) {
		i, found := slices.BinarySearchFunc(pending, p, byEpoch)
		if !found {
			pending = slices.Insert(pending, i, p)
		}
	}
	retry := backoff.Backoff{First: s.RetryDelay, Max: s.MaxRetryDelay}
	for {
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case p, ok := <-snapshots:
				if !ok {
					return nil
				}
				add(p)
			}
		}
	drain:
		for {
			select {
			case p, ok := <-snapshots:
				if !ok {
					return nil
				}
				add(p)
			default:
				break drain
			}
		}
		path := pending[0]
		err := s.ship(ctx, path)
		if err == nil || errors.Is(err, spool.ErrVanished) {
			pending = pending[1:]
			retry.Reset()
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		var unusable *unusableError
		if errors.As(err, &unusable) {
			s.Unusable.Add(1)
			if dst, qerr := spool.Quarantine(path, spool.LayoutOf(s.dir).Failed); qerr != nil {
				s.log.Error("snapshot cannot be shipped nor moved aside; left in place", "dir", path, "cause", err, "err", qerr)
			} else {
				s.log.Error("snapshot cannot be shipped, moved aside for inspection", "dir", path, "to", dst, "err", err)
			}
			pending = pending[1:]
			continue
		}
		s.Refused.Add(1)
		delay := retry.Next()
		s.log.Error("snapshot not acknowledged, it stays in the queue and will be retried", "dir", path, "waiting", len(pending), "retry_in", delay, "err", err)
		if !backoff.Sleep(ctx, delay) {
			return nil
		}
	}
}

type unusableError struct{ err error }

func (e *unusableError) Error() string { return e.err.Error() }
func (e *unusableError) Unwrap() error { return e.err }

// ship produces the snapshot at path and removes it once acknowledged.
func (s *Shipper) ship(ctx context.Context, path string) error {
	epoch, files, err := spool.ReadSnapshot(path, s.MaxReplySize)
	if err != nil {
		if errors.Is(err, spool.ErrVanished) {
			return err
		}
		return &unusableError{fmt.Errorf("read snapshot: %w", err)}
	}
	b, err := record.Encode(record.Record{Host: s.host, Cluster: s.cluster, Epoch: epoch, Files: files})
	if err != nil {
		return &unusableError{err}
	}
	start := time.Now()
	if err := s.prod.Produce(ctx, []byte(s.cluster), b); err != nil {
		return err
	}
	if err := spool.Remove(path); err != nil {
		s.log.Error("shipped snapshot cannot be removed; it will be shipped again at the next start", "dir", path, "err", err)
	}
	s.Shipped.Add(1)
	s.Bytes.Add(int64(len(b)))
	s.log.Info("snapshot shipped", "dir", path, "bytes", len(b), "took", time.Since(start))
	return nil
}

func byEpoch(a, b string) int {
	x, _ := spool.ParseName(filepath.Base(a))
	y, _ := spool.ParseName(filepath.Base(b))
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return strings.Compare(a, b)
}
