package fleet

import (
	"bufio"
	"bytes"
	"io"
	"os"

	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/record"
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
// c.SpillDir when it is at least c.SpillSize bytes or says it inflates
// to that (record.DecodedSize: its replies are then read through files
// too, never inflated on the heap), else a copy in memory (value holds
// on to the client's whole fetch). A file that cannot be made or
// written keeps the record in memory (spill).
func (c *Consumer) keep(value []byte) *rawRecord {
	if c.SpillDir != "" && max(int64(len(value)), record.DecodedSize(value)) >= c.SpillSize {
		f, n, ok := c.spill(func(w io.Writer) (int64, error) {
			n, err := w.Write(value)
			return int64(n), err
		})
		if ok {
			return &rawRecord{f: f, size: n}
		}
	}
	return &rawRecord{b: append([]byte(nil), value...), size: int64(len(value))}
}

// opener returns what reads a show stat reply of raw's record for
// process.Snapshot.Open, when the record is in a file (nil when it is in
// memory: its replies are small, or no file could be written, and
// hostLoader reads them; a bucket of both kinds uses loadReply). The reply is written, as it is decoded, to a
// file with no name in c.SpillDir, so that it (4 MB for 10 000 servers)
// is never on the heap; where that file cannot be made or written, it is
// decoded into memory.
func (c *Consumer) opener(raw *rawRecord) func(string) (io.ReaderAt, int64, error) {
	if raw.f == nil {
		return nil
	}
	return func(name string) (io.ReaderAt, int64, error) {
		f, n, ok := c.spill(func(w io.Writer) (int64, error) { return raw.decodeFileTo(name, w) })
		if ok {
			return f, n, nil
		}
		return loadReply(raw, name)
	}
}

// loadReply is the reply name of raw's record decoded into memory
// (hostLoader), as process.Snapshot.Open gives it.
func loadReply(raw *rawRecord, name string) (io.ReaderAt, int64, error) {
	data, err := hostLoader(raw)(name)
	return bytes.NewReader(data), int64(len(data)), err
}

// spill writes, with write, a file with no name in c.SpillDir, and
// returns it and the bytes written. When the file cannot be made or
// written it returns false, and the log says so once until a file is
// written again (inMemory).
func (c *Consumer) spill(write func(io.Writer) (int64, error)) (*os.File, int64, bool) {
	f, err := files.UnnamedFile(c.SpillDir)
	if err == nil {
		bw := bufio.NewWriterSize(f, 64<<10)
		var n int64
		if n, err = write(bw); err == nil {
			if err = bw.Flush(); err == nil {
				c.spillFailed.Store(false)
				return f, n, true
			}
		}
		f.Close()
	}
	c.inMemory(err)
	return nil, 0, false
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
