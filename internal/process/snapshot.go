package process

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Snapshot is one snapshot: what a snapshot directory holds, or what a
// fleet record carries. Rendering works on it, so a snapshot read from
// the local spool and one received over Kafka go through the same code,
// which never knows where a reply's bytes are (blob.Reply): in memory,
// in the spool's file, or inflated from a record when read.
type Snapshot struct {
	Name  string       // for logs: the directory path, or host/epoch
	Time  int64        // the epoch of the round, in seconds
	Files []blob.Reply // every file, hidden ones included, sorted by name
}

// Release lets go of every reply.
func (s Snapshot) Release() {
	for _, f := range s.Files {
		f.Release()
	}
}

// loadSnapshot reads the snapshot directory dir: its small reply files
// (show info, typed or not, and show table) and the hidden .pull-stats
// and .manifest into memory, and opens its show stat replies, typed or
// not (those of 10 000 servers are 4 and 30 MB each), to be read a piece
// at a time; once open, they stay readable after the directory is
// removed, until the snapshot is released. If dir does not exist the
// error is spool.ErrVanished.
func loadSnapshot(dir string, maxSize int64) (Snapshot, error) {
	l, err := spool.Load(dir)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Name: dir, Time: l.Time}
	for _, k := range []spool.Kind{spool.Info, spool.Stat, spool.InfoTyped, spool.StatTyped, spool.Table, spool.Latency} {
		for _, name := range l.Names(k) {
			path := filepath.Join(dir, name)
			var b *blob.Blob
			if k == spool.Stat || k == spool.StatTyped {
				b, err = openReply(path, maxSize)
			} else {
				most := maxSize
				switch k {
				case spool.Table:
					most = dump.MaxTableReply
				case spool.Latency:
					most = spool.MaxLatencyFile
				}
				var data []byte
				data, err = readFile(path, most)
				if k == spool.Table && errors.Is(err, files.ErrTooBig) {
					continue // not a list of tables, which the round does without
				}
				b = blob.Bytes(data)
			}
			if err != nil {
				snap.Release()
				return Snapshot{}, &readError{err}
			}
			snap.Files = append(snap.Files, blob.NewReply(name, b))
		}
	}
	if l.PullStats != nil {
		snap.Files = append(snap.Files, blob.NewReply(spool.PullStatsFile, blob.Bytes(l.PullStats)))
	}
	if l.Partial {
		snap.Files = append(snap.Files, blob.NewReply(spool.ManifestFile, blob.Bytes(l.Manifest)))
	}
	slices.SortFunc(snap.Files, func(a, b blob.Reply) int { return strings.Compare(a.Name, b.Name) })
	return snap, nil
}

// openFile opens a file of a snapshot: files.Open, which opens regular
// files only and never blocks. This package's tests replace it to inject
// read errors.
var openFile = files.Open

// openReply opens the reply file at path as a blob, refusing one over
// max-reply-size (maxSize).
func openReply(path string, maxSize int64) (*blob.Blob, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = checkSize(path, st.Size(), maxSize)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return blob.File(f, st.Size()), nil
}

// checkSize refuses a reply file of size bytes over max-reply-size
// (maxSize; 0: no bound).
func checkSize(path string, size, maxSize int64) error {
	if err := files.CheckSize(path, size, maxSize); err != nil {
		return fmt.Errorf("max-reply-size: %w", err)
	}
	return nil
}

// readFile reads a reply file of a snapshot whole (openReply).
func readFile(path string, maxSize int64) ([]byte, error) {
	b, err := openReply(path, maxSize)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	return b.ReadAll()
}

// readError is a file of a snapshot that could not be read (as opposed
// to a reply that was read and rejected): the snapshot is retried or
// quarantined, never sent without it.
type readError struct{ err error }

func (e *readError) Error() string { return "read reply file: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// maxReadAttempts is how many times a snapshot whose files cannot be read
// for a reason that may pass (transient) is tried before it is
// quarantined.
const maxReadAttempts = 10

// transient reports whether a read error may go away by itself: the
// process or the system out of file descriptors or memory, an
// interrupted call, an I/O error of the disk. Others (permission, not a
// regular file) need an operator.
func transient(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EAGAIN, syscall.EINTR, syscall.EIO} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// fromWorkers reports whether the snapshot came through a master CLI:
// counter offsets then apply to each worker's values, which are held as
// metrics.
func (s Snapshot) fromWorkers() bool {
	return slices.ContainsFunc(s.Files, func(f blob.Reply) bool { return isWorker(f.Name) })
}

// isWorker reports whether a reply file came from a worker of a master
// CLI: its name is "<socket>@<pid>_<kind>".
func isWorker(name string) bool { return strings.Contains(filepath.Base(name), "@") }

// parseSites parses and combines the show stat replies, opening one at a
// time. With o.AllMetrics the Sites keep the extra columns
// (stats.ParseSitesAll). A reply that cannot be read fails them
// (*readError); one that is not a valid dump is listed in Rejected.
func parseSites(replies []blob.Reply, o *stats.Options) (*stats.Sites, error) {
	b := stats.Builder{}
	if o.AllMetrics || o.Exposed {
		b = stats.Builder{All: true, Natures: o.Natures, Log: o.Log}
	}
	if !o.AllMetrics && o.Exposed {
		b.Only = o.ExposedColumns // what the exposition needs, not every column
	}
	b.ExcludeStates = o.ExcludeServerStates
	for _, r := range replies {
		if err := add(&b, r); err != nil {
			return nil, &readError{err}
		}
	}
	return b.Sites()
}

// add adds the reply r to b. It returns only the errors of reading it: a
// reply that is not a valid dump is listed in b's rejections.
func add(b *stats.Builder, r blob.Reply) error {
	data, err := r.Open()
	if err != nil {
		return err
	}
	defer data.Release()
	var perr *stats.ParseError
	if err := b.Add(r.Name, data, data.Size()); err != nil && !errors.As(err, &perr) {
		return err
	}
	return nil
}

// replies returns the reply files of kind k, in name order.
func (s Snapshot) replies(k spool.Kind) []blob.Reply {
	var out []blob.Reply
	for _, f := range s.Files {
		if fk, _, ok := spool.KindOf(f.Name); ok && fk == k {
			out = append(out, f)
		}
	}
	return out
}

// inMemory returns the replies of kind k, small ones (show info, show
// table), read whole. One that cannot be read fails the snapshot
// (*readError).
func (s Snapshot) inMemory(k spool.Kind) ([]stats.File, error) {
	var out []stats.File
	for _, r := range s.replies(k) {
		data, err := r.ReadAll()
		if err != nil {
			return nil, &readError{err}
		}
		out = append(out, stats.File{Name: r.Name, Data: data})
	}
	return out, nil
}

// file returns the contents of the hidden file called name.
func (s Snapshot) file(name string) ([]byte, bool) {
	for _, f := range s.Files {
		if f.Name == name {
			data, err := f.ReadAll()
			return data, err == nil
		}
	}
	return nil, false
}
