package process

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Snapshot is one snapshot in memory: what a snapshot directory holds,
// or what a fleet record carries. Rendering works on it, so a snapshot
// read from the local spool and one received over Kafka go through the
// same code.
type Snapshot struct {
	Name  string       // for logs: the directory path, or host/epoch
	Time  int64        // the epoch of the round, in seconds
	Files []stats.File // every file, hidden ones included, sorted by name
	// Load, when not nil, reads a show stat reply among Files that has
	// no Data: the snapshot is in memory elsewhere, in another form (a
	// fleet record, decoded again), so that only one reply need be
	// decoded at a time.
	Load func(name string) ([]byte, error)
	// Open, when not nil, is preferred to Load where the reply can be
	// read in pieces (the show stat replies rendered as lines): it gives
	// the reply as size bytes of a file (closed once read), so that it
	// is not in memory.
	Open func(name string) (f io.ReaderAt, size int64, err error)

	// dir is the directory the Files without Data are read from, when
	// they are needed: the typed show stat dumps of a snapshot being
	// processed, and its show stat replies when streamed.
	dir      string
	streamed bool  // the show stat replies stay on disk: sites reads them one at a time
	maxSize  int64 // max-reply-size: a reply file over it is not read
}

// loadSnapshot reads the snapshot directory dir: its reply files (show
// info, show stat, the typed dumps) and the hidden .pull-stats and
// .manifest; if dir does not exist the error is spool.ErrVanished. lazy
// leaves the typed show stat dumps on disk (those of 10 000 servers are
// 30 MB each, read only to learn field natures, line by line), and
// stream leaves the show stat replies (most of a large snapshot) on disk for
// sites to read one at a time, unless the snapshot came through a master
// CLI: counter offsets then need every worker's reply in memory
// (Processor.workers).
func loadSnapshot(dir string, lazy, stream bool, maxSize int64) (Snapshot, error) {
	l, err := spool.Load(dir)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Name: dir, Time: l.Time, dir: dir, maxSize: maxSize}
	stream = stream && !slices.ContainsFunc(l.Names(spool.Info), isWorker) && !slices.ContainsFunc(l.Names(spool.Stat), isWorker)
	for _, k := range []struct {
		kind   spool.Kind
		onDisk bool
	}{{spool.Info, false}, {spool.Stat, stream}, {spool.InfoTyped, false}, {spool.StatTyped, lazy}, {spool.Table, false}} {
		for _, name := range l.Names(k.kind) {
			f := stats.File{Name: name}
			if !k.onDisk {
				most := maxSize
				if k.kind == spool.Table {
					most = dump.MaxTableReply
				}
				f.Data, err = readFile(filepath.Join(dir, name), most)
				if k.kind == spool.Table && errors.Is(err, files.ErrTooBig) {
					continue // not a list of tables, which the round does without
				}
				if err != nil {
					return Snapshot{}, &readError{err}
				}
			}
			snap.Files = append(snap.Files, f)
		}
	}
	snap.streamed = stream
	if l.PullStats != nil {
		snap.Files = append(snap.Files, stats.File{Name: spool.PullStatsFile, Data: l.PullStats})
	}
	if l.Partial {
		snap.Files = append(snap.Files, stats.File{Name: spool.ManifestFile, Data: l.Manifest})
	}
	slices.SortFunc(snap.Files, func(a, b stats.File) int { return strings.Compare(a.Name, b.Name) })
	return snap, nil
}

// openFile opens a file of a snapshot: files.Open, which opens regular
// files only and never blocks. This package's tests replace it to inject
// read errors.
var openFile = files.Open

// readFile reads a file of a snapshot whole; an empty one gives an
// empty, not nil, slice: nil Data means "not read yet".
func readFile(path string, maxSize int64) ([]byte, error) {
	return readInto(make([]byte, 0), path, maxSize)
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

// isWorker reports whether a reply file came from a worker of a master
// CLI: its name is "<socket>@<pid>_<kind>".
func isWorker(name string) bool { return strings.Contains(filepath.Base(name), "@") }

// sites parses and combines the show stat replies files, reading those
// without Data from the snapshot's directory one at a time, so that only
// one is in memory at once. With o.AllMetrics the Sites keep the extra
// columns (stats.ParseSitesAll).
func (s Snapshot) sites(files []stats.File, o *stats.Options) (*stats.Sites, error) {
	return sitesFrom(s.dir, files, o, s.maxSize, s.elsewhere())
}

// elsewhere is where the replies of a snapshot that is not in a
// directory are read from: Snapshot.Open, or Snapshot.Load.
type elsewhere struct {
	load func(string) ([]byte, error)
	open func(string) (io.ReaderAt, int64, error)
}

func (s Snapshot) elsewhere() elsewhere { return elsewhere{load: s.Load, open: s.Open} }

// some reports whether the replies are read from elsewhere.
func (e elsewhere) some() bool { return e.load != nil || e.open != nil }

// sitesFrom is Snapshot.sites for replies in dir, or read from there.
func sitesFrom(dir string, files []stats.File, o *stats.Options, maxSize int64, there elsewhere) (*stats.Sites, error) {
	b := stats.Builder{}
	if o.AllMetrics || o.Exposed {
		b = stats.Builder{All: true, Natures: o.Natures, Log: o.Log}
	}
	if !o.AllMetrics && o.Exposed {
		b.Only = o.ExposedColumns // what the exposition needs, not every column
	}
	b.ExcludeStates = o.ExcludeServerStates
	// A reply on disk is read 64 KiB at a time, twice (checked, then
	// aggregated): its 4 MB for 10 000 servers are never in memory,
	// where they would be beside the rows parsed so far.
	for _, f := range files {
		switch {
		case f.Data == nil && dir != "":
			if err := addFile(&b, dir, f.Name, maxSize); err != nil {
				return nil, &readError{err}
			}
			continue
		case f.Data == nil && there.open != nil:
			if err := addOpened(&b, f.Name, there.open); err != nil {
				return nil, &readError{err}
			}
			continue
		case f.Data == nil && there.load != nil:
			data, err := there.load(f.Name)
			if err != nil {
				return nil, &readError{err}
			}
			f.Data = data
		}
		b.Add(f)
	}
	return b.Sites()
}

// addFile adds the reply dir/name to b, read from the file. It returns
// only the errors of reading it: a reply that is not a valid dump is
// listed in b's rejections.
func addFile(b *stats.Builder, dir, name string, maxSize int64) error {
	path := filepath.Join(dir, name)
	f, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return b.AddFile(name, f, func(size int64) error { return files.CheckSize(path, size, maxSize) })
}

// addOpened adds the reply name, given by open, to b, and closes it.
// It returns only the errors of reading it, as addFile does.
func addOpened(b *stats.Builder, name string, open func(string) (io.ReaderAt, int64, error)) error {
	r, size, err := open(name)
	if err != nil {
		return err
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	return b.AddRead(name, r, size)
}

// readInto reads the file at path into buf, grown as needed, and returns
// it.
func readInto(buf []byte, path string, maxSize int64) ([]byte, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return files.ReadOpen(f, path, buf, maxSize)
}

// files returns the reply files of kind k, in name
// order.
func (s Snapshot) files(k spool.Kind) []stats.File {
	var out []stats.File
	for _, f := range s.Files {
		if fk, _, ok := spool.KindOf(f.Name); ok && fk == k {
			out = append(out, f)
		}
	}
	return out
}

// file returns the contents of the file called name.
func (s Snapshot) file(name string) ([]byte, bool) {
	for _, f := range s.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}
