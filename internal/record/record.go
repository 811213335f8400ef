// Package record is the format in which haproxystats-pull ships a
// snapshot to Kafka and haproxystats-process reads it back (fleet mode).
package record

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// Version is the version of the record format Encode writes: the first
// byte of every record.
const Version = 1

// Bounds checked by Decode, so that a corrupt or hostile record cannot
// make the consumer allocate without limit.
const (
	maxFiles     = 4096      // files in one record
	maxName      = 1024      // bytes of a host, cluster or file name
	maxDecoded   = 256 << 20 // bytes of a decompressed record
	maxFileBytes = maxDecoded
	// maxSmallFile bounds every file but the show stat and show table
	// replies (a show info reply, typed or not, and the hidden files):
	// HAProxy's are a few KB. A show table reply has dump.MaxTableReply.
	maxSmallFile = 1 << 20
	preallocate  = 16 << 20 // bytes of a file allocated before its data is read
)

// fileLimit is the most bytes the file called name may hold.
func fileLimit(name string) uint64 {
	switch k, _, _ := spool.KindOf(name); {
	case strings.HasPrefix(name, "."), k != spool.Stat && k != spool.StatTyped && k != spool.Table:
		return maxSmallFile
	case k == spool.Table:
		return dump.MaxTableReply // as pull and process bound it
	}
	return maxFileBytes
}

// DecodedSize returns the size record b says it decompresses to (its
// gzip trailer, modulo 4 GiB), or -1 when b is too short to say. Decode
// refuses a record that decompresses to more, as soon as it does: a
// small record that inflates to hundreds of MB (a decompression bomb)
// says so before it is decoded.
func DecodedSize(b []byte) int64 {
	if len(b) < 1+4 {
		return -1
	}
	return int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
}

// ErrVersion is returned by Decode for a record whose version byte it
// does not know.
var ErrVersion = errors.New("record: unknown record version")

// Record is one snapshot of one host, as shipped to Kafka.
//
// Its encoding, version 1, is one byte 0x01 followed by a gzip stream of:
//
//	string host
//	string cluster
//	varint epoch                  (seconds, zig-zag, encoding/binary)
//	uvarint n                     (number of files)
//	n × { string name; bytes data }
//
// where string and bytes are a uvarint length then that many bytes. The
// files are the snapshot's reply files (<socket>_info, <socket>_stat,
// the typed dumps) and its hidden .pull-stats and .manifest, raw, in
// name order. A later version changes the first byte; Decode refuses
// versions it does not know with ErrVersion.
type Record struct {
	Host    string
	Cluster string
	Epoch   int64
	Files   []spool.File
}

// Encode returns the encoding of r.
func Encode(r Record) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte(Version)
	zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("record: encode: %w", err)
	}
	w := bufio.NewWriter(zw)
	var tmp [binary.MaxVarintLen64]byte
	putBytes := func(p []byte) {
		w.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(p)))])
		w.Write(p)
	}
	putBytes([]byte(r.Host))
	putBytes([]byte(r.Cluster))
	w.Write(tmp[:binary.PutVarint(tmp[:], r.Epoch)])
	w.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(r.Files)))])
	for _, f := range r.Files {
		putBytes([]byte(f.Name))
		putBytes(f.Data)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("record: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("record: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Decode parses a record written by Encode. It refuses unknown versions
// (ErrVersion), truncated or trailing data, empty or oversized names,
// names with '/', more than 4096 files, a file other than a show stat or
// show table reply over 1 MiB, and more decompressed data than 256 MiB
// or than the record's gzip trailer says (DecodedSize).
func Decode(b []byte) (Record, error) { return DecodeKeep(b, nil) }

// DecodeKeep is Decode, but the files keep says no to (keep nil: none)
// come without their Data (nil): their bytes are checked and dropped as
// they are decompressed, so that decoding a record of 15 MB for the one
// file wanted holds that file alone.
func DecodeKeep(b []byte, keep func(name string) bool) (Record, error) {
	if len(b) == 0 {
		return Record{}, errors.New("record: decode: empty record")
	}
	return decode(b[0], bytes.NewReader(b[1:]), DecodedSize(b), keep, "", nil)
}

// DecodeKeepAt is DecodeKeep for a record of size bytes read from ra (a
// file, read 64 KiB at a time), so that the record need not be in
// memory.
func DecodeKeepAt(ra io.ReaderAt, size int64, keep func(name string) bool) (Record, error) {
	return decodeAt(ra, size, keep, "", nil)
}

// DecodeFileTo decodes the record of size bytes in ra, checked whole as
// Decode checks it, and writes the data of its file name to w instead of
// keeping it: no file of the record is in memory. It returns the size of
// that file.
func DecodeFileTo(ra io.ReaderAt, size int64, name string, w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	rec, err := decodeAt(ra, size, func(string) bool { return false }, name, cw)
	if err != nil {
		return 0, err
	}
	if !slices.ContainsFunc(rec.Files, func(f spool.File) bool { return f.Name == name }) {
		return 0, fmt.Errorf("record: %s not in the record", name)
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// decodeAt is decode for the record of size bytes in ra.
func decodeAt(ra io.ReaderAt, size int64, keep func(name string) bool, toName string, to io.Writer) (Record, error) {
	if size == 0 {
		return Record{}, errors.New("record: decode: empty record")
	}
	var version [1]byte
	if _, err := ra.ReadAt(version[:], 0); err != nil {
		return Record{}, fmt.Errorf("record: decode: %w", err)
	}
	claimed := int64(-1)
	if size >= 1+4 {
		var trailer [4]byte
		if _, err := ra.ReadAt(trailer[:], size-4); err != nil {
			return Record{}, fmt.Errorf("record: decode: %w", err)
		}
		claimed = int64(binary.LittleEndian.Uint32(trailer[:]))
	}
	return decode(version[0], bufio.NewReaderSize(io.NewSectionReader(ra, 1, size-1), 64<<10), claimed, keep, toName, to)
}

// decode decodes a record of version version whose gzip stream is body,
// which says it decompresses to claimed bytes (-1: unknown); the data of
// file toName goes to to, when to is not nil.
func decode(version byte, body io.Reader, claimed int64, keep func(name string) bool, toName string, to io.Writer) (Record, error) {
	if version != Version {
		return Record{}, fmt.Errorf("%w %d", ErrVersion, version)
	}
	zr, err := gzip.NewReader(body)
	if err != nil {
		return Record{}, fmt.Errorf("record: decode: %w", err)
	}
	zr.Multistream(false)
	limit := int64(maxDecoded)
	if claimed >= 0 {
		// gzip checks the trailer only at the end: a stream that
		// inflates past it is refused when it does, not after.
		limit = min(limit, claimed)
	}
	lr := &io.LimitedReader{R: zr, N: limit + 1}
	r := bufio.NewReader(lr)
	fail := func(what string, err error) (Record, error) {
		if lr.N <= 0 {
			return Record{}, fmt.Errorf("record: decode %s: more than %d bytes decompressed (at most %d, and what the gzip trailer says)", what, limit, maxDecoded)
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, fmt.Errorf("record: decode %s: %w", what, err)
	}
	readBytes := func(most uint64) ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > most {
			return nil, fmt.Errorf("length %d above %d", n, most)
		}
		// A reply of 10 000 servers (4 MB) is allocated once, not grown
		// to from 1 MB with 3 MB of garbage on the way; a length field
		// larger than the data, or than the trailer says, still
		// allocates at most preallocate, and at most what it says.
		p := make([]byte, 0, min(n, preallocate, uint64(limit)))
		p, err = readN(r, p, int(n))
		return p, err
	}
	copyBytes := func(w io.Writer, most uint64) error {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		if n > most {
			return fmt.Errorf("length %d above %d", n, most)
		}
		if _, err := io.CopyN(w, r, int64(n)); err != nil {
			return err
		}
		return nil
	}
	name := func(what string, empty bool) (string, error) {
		p, err := readBytes(maxName)
		if err != nil {
			return "", err
		}
		if !empty && len(p) == 0 {
			return "", fmt.Errorf("empty %s", what)
		}
		if strings.ContainsAny(string(p), "/\x00") {
			return "", fmt.Errorf("%s %q holds '/' or NUL", what, p)
		}
		return string(p), nil
	}
	var rec Record
	if rec.Host, err = name("host", false); err != nil {
		return fail("host", err)
	}
	if rec.Cluster, err = name("cluster", false); err != nil {
		return fail("cluster", err)
	}
	if rec.Epoch, err = binary.ReadVarint(r); err != nil {
		return fail("epoch", err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return fail("file count", err)
	}
	if n > maxFiles {
		return fail("file count", fmt.Errorf("%d files, at most %d", n, maxFiles))
	}
	rec.Files = make([]spool.File, 0, n)
	for range n {
		fn, err := name("file name", false)
		if err != nil {
			return fail("file name", err)
		}
		if keep != nil && !keep(fn) {
			w := io.Discard
			if to != nil && fn == toName {
				w = to
			}
			if err := copyBytes(w, fileLimit(fn)); err != nil {
				return fail("file "+fn, err)
			}
			rec.Files = append(rec.Files, spool.File{Name: fn})
			continue
		}
		data, err := readBytes(fileLimit(fn))
		if err != nil {
			return fail("file "+fn, err)
		}
		if data == nil {
			data = []byte{} // read, and empty: nil Data is "not read"
		}
		rec.Files = append(rec.Files, spool.File{Name: fn, Data: data})
	}
	if _, err := r.ReadByte(); err == nil {
		return fail("end", errors.New("trailing data"))
	} else if !errors.Is(err, io.EOF) {
		return fail("end", err)
	}
	if lr.N <= 0 {
		return fail("size", nil)
	}
	if !slices.IsSortedFunc(rec.Files, func(a, b spool.File) int { return strings.Compare(a.Name, b.Name) }) {
		slices.SortStableFunc(rec.Files, func(a, b spool.File) int { return strings.Compare(a.Name, b.Name) })
	}
	return rec, nil
}

// readN appends n bytes from r to p, growing it as data arrives, so that
// a length field larger than the data does not allocate it all upfront.
func readN(r io.Reader, p []byte, n int) ([]byte, error) {
	for len(p) < n {
		if len(p) == cap(p) {
			p = slices.Grow(p, min(n-len(p), max(len(p), 4096)))
		}
		m := min(cap(p), n)
		k, err := io.ReadFull(r, p[len(p):m])
		p = p[:len(p)+k]
		if err != nil {
			return p, err
		}
	}
	return p, nil
}
