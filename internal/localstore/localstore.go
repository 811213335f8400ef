// Package localstore is the local-store sink of haproxystats-process, for
// debugging: it writes each snapshot's Graphite lines, exactly as they are
// sent to carbon, to <dir>/<timestamp>/stats. Nothing is ever removed, so
// use it only for a short time.
//
// Unlike the original, each file holds all the lines of its own snapshot,
// TotalWallClockTime included (see Store.Send).
package localstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// Store writes metrics under one directory. It has no state besides the
// directory, so it is safe for concurrent use by calls for different
// snapshots; calls for the same snapshot must not run concurrently.
type Store struct {
	dir string
}

// New returns a Store that writes under cfg.Dir, created when first needed.
func New(cfg config.LocalStore) *Store {
	return &Store{dir: cfg.Dir}
}

// Send writes ms as Graphite lines to <dir>/<ts>/stats, where ts is
// ms[0].Time; every metric of one call must carry that time. It creates the
// directories as needed (mode 0755, before umask) and appends when the file
// already exists, so a snapshot may be written in several calls: the
// process daemon sends a snapshot's TotalWallClockTime after its other
// lines. A snapshot retried after a crash is written twice: its lines
// appear twice in the file. Send returns nil only after the file was
// synced to disk. Errors name the path.
func (s *Store) Send(ctx context.Context, ms []metric.Metric) error {
	if len(ms) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ts := ms[0].Time
	for _, m := range ms {
		if m.Time != ts {
			return fmt.Errorf("local-store: metrics of one snapshot with times %d and %d", ts, m.Time)
		}
	}
	return s.SendLines(ctx, metric.Slice(ms))
}

// SendLines writes the lines of l to <dir>/<ts>/stats, where ts is
// l.Time(), as Send does.
func (s *Store) SendLines(ctx context.Context, l metric.Lines) error {
	if l.Len() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Join(s.dir, strconv.FormatInt(l.Time(), 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local-store: make directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "stats")
	if err := files.WriteSynced(path, os.O_APPEND, 0o644, l); err != nil {
		return wrap("write", path, err)
	}
	return nil
}

// wrap adds what was done to which file, without repeating the path that
// an *fs.PathError already names.
func wrap(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return fmt.Errorf("local-store: %s %s: %w", op, path, err)
}

// Name identifies the sink in logs and errors.
func (s *Store) Name() string { return "local-store" }
