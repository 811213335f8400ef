package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// DecodedSize returns the size record b says it decompresses to, or -1
// when b does not say, cheaply: for version 1, its gzip trailer (modulo
// 4 GiB; -1 when b is too short to hold one); for version 2, the sum of
// the sizes its central directory declares (-1 when the directory is
// not one Open would accept). Open refuses a record that decompresses to
// more, as soon as it does: a small record that inflates to hundreds of
// MB (a decompression bomb) says so before it is read.
func DecodedSize(b []byte) int64 {
	switch {
	case len(b) == 0:
		return -1
	case b[0] == 1:
		if len(b) < 1+4 {
			return -1
		}
		return int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	case b[0] == 'P':
		d, err := readDir(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return -1
		}
		return d.total
	}
	return -1
}

// Decode parses a record of either version, checked as Open checks it,
// into memory.
//
// Deprecated: use Open, which holds no file in memory.
func Decode(b []byte) (Record, error) { return DecodeKeep(b, nil) }

// DecodeKeep is Decode, but the files keep says no to (keep nil: none)
// come without their Data (nil): their bytes are checked and dropped as
// they are decompressed, so that decoding a record of 15 MB for the one
// file wanted holds that file alone.
//
// Deprecated: use Open, then Reader.ReadFile for the files wanted.
func DecodeKeep(b []byte, keep func(name string) bool) (Record, error) {
	return DecodeKeepAt(bytes.NewReader(b), int64(len(b)), keep)
}

// DecodeKeepAt is DecodeKeep for a record of size bytes read from ra (a
// file, say), so that the record need not be in memory.
//
// Deprecated: use Open, then Reader.ReadFile for the files wanted.
func DecodeKeepAt(ra io.ReaderAt, size int64, keep func(name string) bool) (Record, error) {
	kept := map[string]*bytes.Buffer{}
	var r Reader
	err := r.open(ra, size, func(name string, size int64) io.Writer {
		if keep != nil && !keep(name) {
			return nil
		}
		// A reply of 10 000 servers (4 MB) is allocated once, not
		// grown to with garbage on the way; a size larger than the
		// data allocates at most preallocate.
		b := bytes.NewBuffer(make([]byte, 0, min(size, preallocate)))
		kept[name] = b
		return b
	})
	if err != nil {
		return Record{}, err
	}
	rec := Record{Host: r.host, Cluster: r.cluster, Epoch: r.epoch, Files: make([]spool.File, len(r.files))}
	for i, e := range r.files {
		rec.Files[i].Name = e.Name
		if b := kept[e.Name]; b != nil {
			rec.Files[i].Data = b.Bytes() // not nil, even empty: nil Data is "not kept"
		}
	}
	return rec, nil
}

// DecodeFileTo checks the record of size bytes in ra whole, as Open does,
// and writes the data of its file name to w as it goes: no file of the
// record is in memory. It returns the size of that file.
//
// Deprecated: use Open, then Reader.Open(name); DecodeFileTo inflates
// the whole record for each file.
func DecodeFileTo(ra io.ReaderAt, size int64, name string, w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	found := false
	var r Reader
	err := r.open(ra, size, func(n string, _ int64) io.Writer {
		if n != name {
			return nil
		}
		found = true
		return cw
	})
	if err != nil {
		return 0, err
	}
	if !found {
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
