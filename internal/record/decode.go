package record

import (
	"bytes"
	"encoding/binary"
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
// into memory: for tests and tools; the consumer reads a record one file
// at a time (Open).
func Decode(b []byte) (Record, error) { return decodeAt(bytes.NewReader(b), int64(len(b))) }

// decodeAt is Decode for a record of size bytes read from ra.
func decodeAt(ra io.ReaderAt, size int64) (Record, error) {
	r, err := Open(ra, size)
	if err != nil {
		return Record{}, err
	}
	rec := Record{Host: r.host, Cluster: r.cluster, Epoch: r.epoch, Files: make([]spool.File, len(r.files))}
	for i, e := range r.files {
		data, err := r.ReadFile(e.Name)
		if err != nil {
			return Record{}, err
		}
		rec.Files[i] = spool.File{Name: e.Name, Data: data}
	}
	return rec, nil
}
