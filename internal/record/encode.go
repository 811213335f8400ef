package record

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// header is the .record entry of a version 2 record.
type header struct {
	Host    string `json:"host"`
	Cluster string `json:"cluster"`
	Epoch   int64  `json:"epoch"`
}

// modified is the modification time of every entry Encode writes: the
// first a ZIP archive can hold, so that encoding is deterministic.
var modified = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Encode returns the encoding of r in version 2 (see the package doc):
// a ZIP archive of a stored .record entry, then r's files in name order,
// each deflated at flate.BestSpeed (a producer encodes a record every
// pull interval; speed matters more than the last percent of size).
// The same r always gives the same bytes.
//
// Encode refuses a host or cluster that is not UTF-8, which JSON cannot
// hold. It does not check r against the bounds Open checks: a record
// that breaks them is encoded, and refused by its consumers.
func Encode(r Record) ([]byte, error) {
	for _, n := range []struct{ what, name string }{{"host", r.Host}, {"cluster", r.Cluster}} {
		if !utf8.ValidString(n.name) {
			return nil, fmt.Errorf("record: encode: %s %q is not UTF-8", n.what, n.name)
		}
	}
	hdr, err := json.Marshal(header{Host: r.Host, Cluster: r.Cluster, Epoch: r.Epoch})
	if err != nil {
		return nil, fmt.Errorf("record: encode header: %w", err)
	}
	hdr = append(hdr, '\n')
	files := sortedFiles(r.Files)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	// One compressor for the whole record: a flate.Writer is large to
	// make, and zip.Writer asks for one per entry.
	var fw *flate.Writer
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		if fw == nil {
			var err error
			fw, err = flate.NewWriter(w, flate.BestSpeed)
			return fw, err
		}
		fw.Reset(w)
		return fw, nil
	})
	add := func(name string, method uint16, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: modified})
		if err != nil {
			return fmt.Errorf("record: encode %s: %w", name, err)
		}
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("record: encode %s: %w", name, err)
		}
		return nil
	}
	if err := add(headerName, zip.Store, hdr); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := add(f.Name, zip.Deflate, f.Data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("record: encode: %w", err)
	}
	return b.Bytes(), nil
}

// sortedFiles returns files in name order.
func sortedFiles(files []spool.File) []spool.File {
	return slices.SortedStableFunc(slices.Values(files), func(a, b spool.File) int { return strings.Compare(a.Name, b.Name) })
}

// EncodeV1 returns the encoding of r in version 1 (see the package doc),
// with r's files in name order, so that the same r always gives the same
// bytes. It is for tests, and for a producer that must still write what
// consumers older than version 2 read. As Encode, it does not check r
// against the bounds Open checks.
func EncodeV1(r Record) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte(1)
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
	for _, f := range sortedFiles(r.Files) {
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
