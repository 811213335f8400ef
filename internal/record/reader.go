package record

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
)

// Entry is one file of a record.
type Entry struct {
	Name string
	Size int64 // bytes, decompressed
}

// Reader reads a record of either version through an io.ReaderAt, one
// file at a time, without holding the record's files in memory.
//
// Open checks the whole record once; each Reader.Open then inflates one
// file: in version 2 that file's member alone, in version 1 (which has
// no index) the stream from its start through that file. Inflations
// counts both kinds of pass.
//
// The io.ReaderAt given to Open must stay readable, and unchanged, for
// as long as the Reader is used. A Reader may be used by several
// goroutines at once.
type Reader struct {
	version int
	host    string
	cluster string
	epoch   int64
	files   []Entry // in name order

	ra   io.ReaderAt
	size int64

	zfiles  []*zip.File // version 2: zfiles[i] is the member of files[i]
	offsets []int64     // version 1: where files[i]'s name starts in the decompressed stream

	inflations atomic.Int64 // passes over compressed data
	inflated   atomic.Int64 // bytes decompressed, all passes together
}

// visitFunc is given, as Open checks a record, each file's name and size
// (a hint, for what to allocate: at most what the record says, and at
// most a bound), before its data; it returns where that data goes, or
// nil to drop it.
type visitFunc func(name string, size int64) io.Writer

// Open reads and checks the record of size bytes in ra, whole: it
// inflates each of its files once, and discards them (this is the one
// pass counted by Inflations). It refuses, with an error starting with
// "record:",
//   - a record whose first byte is neither 0x01 (version 1) nor 'P'
//     (version 2, a ZIP archive), with ErrVersion;
//   - an empty or truncated record, or one with data after its end;
//   - a host or cluster that is empty, over 1024 bytes, or holds '/' or
//     NUL; more than 4096 files; a file name that is empty, over 1024
//     bytes or holds '/' or NUL; two files of one name;
//   - a file over its bound (1 MiB but for show stat and show table
//     replies), and more than 256 MiB decompressed in all (for version 1,
//     or more than its gzip trailer says: DecodedSize);
//   - in version 2, anything its encoder does not write: a first entry
//     other than a stored .record of host, cluster and epoch (and nothing
//     else); files out of name order; names with '\', or "." or "..";
//     compression other than store and deflate; encryption; zip64; a
//     ZIP comment; bytes between entries; a local header, data
//     descriptor or archive/zip reading that differs from the central
//     directory; a member that inflates to other than the size and CRC
//     its directory entry declares.
//
// The bounds of version 2 are checked on the central directory before
// anything is inflated, and each member's inflation stops at the size it
// declares: a small record claiming many entries, or a member inflating
// far past its size, costs little.
func Open(ra io.ReaderAt, size int64) (*Reader, error) {
	r := new(Reader)
	if err := r.open(ra, size, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// open is Open, filling r in, with visit (when not nil) told of each
// file as it is checked.
func (r *Reader) open(ra io.ReaderAt, size int64, visit visitFunc) error {
	r.ra, r.size = ra, size
	if size <= 0 {
		return errors.New("record: open: empty record")
	}
	var first [1]byte
	if err := readAt(ra, first[:], 0); err != nil {
		return fmt.Errorf("record: open: %w", err)
	}
	switch first[0] {
	case 1:
		r.version = 1
		r.inflations.Add(1)
		return r.openV1(visit)
	case 'P':
		r.version = 2
		r.inflations.Add(1)
		return r.openV2(visit)
	}
	return fmt.Errorf("%w: first byte %#02x", ErrVersion, first[0])
}

// Version returns the version of the record: 1 or 2.
func (r *Reader) Version() int { return r.version }

// Host returns the host the record's snapshot was taken on.
func (r *Reader) Host() string { return r.host }

// Cluster returns the cluster of the record's host.
func (r *Reader) Cluster() string { return r.cluster }

// Epoch returns the time of the record's snapshot, in seconds since the
// Unix epoch.
func (r *Reader) Epoch() int64 { return r.epoch }

// Files returns the record's files in name order, the hidden ones
// (.pull-stats, .manifest) included. The slice is the caller's.
func (r *Reader) Files() []Entry { return slices.Clone(r.files) }

// Inflations returns how many passes over compressed data the Reader has
// made: one for Open's check, and one for each Reader.Open since.
func (r *Reader) Inflations() int64 { return r.inflations.Load() }

// Open returns the bytes of the record's file called name, decompressed
// as they are read: for version 2, that file's member alone is inflated;
// for version 1, the stream from its start. Reading more bytes than
// the file's Entry.Size is an error (only a version 2 member can try to),
// and so is reading fewer, or bytes other than Open checked (version 2
// checks the CRC at the end). A name not in the record gives an error
// that wraps fs.ErrNotExist. The caller closes what Open returns.
func (r *Reader) Open(name string) (io.ReadCloser, error) {
	i, ok := slices.BinarySearchFunc(r.files, name, func(e Entry, name string) int { return strings.Compare(e.Name, name) })
	if !ok {
		return nil, fmt.Errorf("record: open %s: %w", name, fs.ErrNotExist)
	}
	r.inflations.Add(1)
	var rc io.ReadCloser
	var err error
	if r.version == 1 {
		rc, err = r.openV1File(i)
	} else {
		rc, err = r.openEntry(r.zfiles[i])
	}
	if err != nil {
		return nil, fmt.Errorf("record: open %s: %w", name, err)
	}
	return &fileReader{rc: rc, name: name}, nil
}

// ReadFile returns the bytes of the record's file called name, as Open
// gives them.
func (r *Reader) ReadFile(name string) ([]byte, error) {
	rc, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	i, _ := slices.BinarySearchFunc(r.files, name, func(e Entry, name string) int { return strings.Compare(e.Name, name) })
	// One byte more than the file, so that its end is read into room
	// already there: the reader says EOF, or that there is too much.
	b := make([]byte, 0, r.files[i].Size+1)
	for {
		n, err := rc.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return nil, err
		case len(b) == cap(b):
			return nil, fmt.Errorf("record: read %s: more than its %d bytes", name, r.files[i].Size)
		}
	}
}

// fileReader is a file of a record as Reader.Open gives it: its errors
// but io.EOF say which file.
type fileReader struct {
	rc   io.ReadCloser
	name string
}

func (f *fileReader) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("record: read %s: %w", f.name, err)
	}
	return n, err
}

func (f *fileReader) Close() error { return f.rc.Close() }

// readAt fills p from ra at off; an io.EOF that comes with p full is no
// error.
func readAt(ra io.ReaderAt, p []byte, off int64) error {
	n, err := ra.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// counter counts the bytes read from r into n.
type counter struct {
	r io.Reader
	n *atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
