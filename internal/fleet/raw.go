package fleet

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// A rawRecord is a record as read from the topic (record.Encode's form), kept
// for its cluster bucket and for the sinks that write its lines again
// (Graphite's replay window, 10 s after the one-second confirmation):
// with records of 10 000 servers, 6.7 MB each, that is a dozen records
// at once. A big one is kept in a file with no name beside the spool,
// so that its bytes are in the page cache, which the kernel can drop,
// and not on the heap; a small one, or one that cannot be written, in
// memory. The file is closed when the rawRecord is no longer reachable (the
// last lines that read it were let go): *os.File closes itself then.
type rawRecord struct {
	b    []byte   // in memory; nil when in f
	f    *os.File // nil: in memory
	size int64
}

// DefaultSpillSize is the size from which a record is kept in a file.
const DefaultSpillSize = 1 << 20

// keep returns value, a record as read, as a rawRecord: in a file in
// c.SpillDir when it is at least c.SpillSize bytes, else a copy in
// memory (value holds on to the client's whole fetch). A file that
// cannot be made or written keeps the record in memory (inMemory).
func (c *Consumer) keep(value []byte) *rawRecord {
	if c.SpillDir == "" || int64(len(value)) < c.SpillSize {
		return &rawRecord{b: append([]byte(nil), value...), size: int64(len(value))}
	}
	f, err := spool.UnnamedFile(c.SpillDir)
	if err == nil {
		if _, err = f.Write(value); err != nil {
			f.Close()
			err = fmt.Errorf("writing a record to %s: %w", c.SpillDir, err)
		}
	}
	if err != nil {
		c.inMemory(err)
		return &rawRecord{b: append([]byte(nil), value...), size: int64(len(value))}
	}
	c.spillFailed.Store(false)
	return &rawRecord{f: f, size: int64(len(value))}
}

// opener returns what reads a show stat reply of raw's record for
// process.Snapshot.Open: the reply written, as it is decoded, to a file
// with no name in c.SpillDir, so that it (4 MB for 10 000 servers) is
// never on the heap. Where that file cannot be made or written, the
// reply is decoded into memory (hostLoader; inMemory).
// nil when c.SpillDir is "".
func (c *Consumer) opener(raw *rawRecord) func(string) (io.ReaderAt, int64, error) {
	if c.SpillDir == "" {
		return nil
	}
	return func(name string) (io.ReaderAt, int64, error) {
		f, err := spool.UnnamedFile(c.SpillDir)
		if err == nil {
			bw := bufio.NewWriterSize(f, 64<<10)
			var n int64
			if n, err = raw.decodeFileTo(name, bw); err == nil {
				if err = bw.Flush(); err == nil {
					c.spillFailed.Store(false)
					return f, n, nil
				}
			}
			f.Close()
		}
		c.inMemory(err)
		data, err := hostLoader(raw)(name)
		return bytes.NewReader(data), int64(len(data)), err
	}
}

// inMemory logs, once until a file is written again, that err keeps
// records and replies in memory.
func (c *Consumer) inMemory(err error) {
	if !c.spillFailed.Swap(true) {
		c.log.Warn("big records and their show stat replies are kept in memory until a file can be written", "err", err)
	}
}

// decodeFileTo writes the data of the record's file name to w
// (record.DecodeFileTo) and returns its size.
func (r *rawRecord) decodeFileTo(name string, w io.Writer) (int64, error) {
	if r.f != nil {
		return record.DecodeFileTo(r.f, r.size, name, w)
	}
	return record.DecodeFileTo(bytes.NewReader(r.b), r.size, name, w)
}

// decode decodes the record, the files keep says no to without their
// Data (record.DecodeKeep).
func (r *rawRecord) decode(keep func(name string) bool) (record.Record, error) {
	if r.f != nil {
		return record.DecodeKeepAt(r.f, r.size, keep)
	}
	return record.DecodeKeep(r.b, keep)
}
