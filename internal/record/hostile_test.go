package record

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"testing"
)

// rawEntry is one entry of a hand-made ZIP archive, written as is with
// zip.Writer.CreateRaw: data is what is stored (compressed, when method
// is deflate), crc and usize what the headers declare.
type rawEntry struct {
	name   string
	method uint16
	flags  uint16
	data   []byte
	crc    uint32
	usize  uint64
	gap    int // bytes of zeros written after data, in no entry
}

// deflate returns data compressed as a ZIP member is.
func deflate(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write(data)
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func deflated(tb testing.TB, name string, data []byte) rawEntry {
	return rawEntry{name: name, method: zip.Deflate, data: deflate(tb, data), crc: crc32.ChecksumIEEE(data), usize: uint64(len(data))}
}

func stored(name string, data []byte) rawEntry {
	return rawEntry{name: name, method: zip.Store, data: data, crc: crc32.ChecksumIEEE(data), usize: uint64(len(data))}
}

// goodHeader is the .record entry of host h, cluster c, epoch 1.
var goodHeader = stored(".record", []byte(`{"host":"h","cluster":"c","epoch":1}`))

// makeZip returns prefix, then a ZIP archive of entries.
func makeZip(tb testing.TB, prefix string, entries ...rawEntry) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString(prefix)
	zw := zip.NewWriter(&b)
	zw.SetOffset(int64(len(prefix)))
	for _, e := range entries {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: e.method, Flags: e.flags, CRC32: e.crc, CompressedSize64: uint64(len(e.data)), UncompressedSize64: e.usize})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(e.data)
		w.Write(make([]byte, e.gap))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// patch returns a copy of b with f applied to it.
func patch(b []byte, f func(b []byte)) []byte {
	b = bytes.Clone(b)
	f(b)
	return b
}

// central returns the offset in b, a ZIP archive without a comment, of
// the central directory header of entry i.
func central(b []byte, i int) int {
	le := binary.LittleEndian
	off := int(le.Uint32(b[len(b)-endLen+16:]))
	for range i {
		off += dirLen + int(le.Uint16(b[off+28:])) + int(le.Uint16(b[off+30:])) + int(le.Uint16(b[off+32:]))
	}
	return off
}

// setCount makes the end of central directory of b say n entries.
func setCount(b []byte, n uint16) []byte {
	return patch(b, func(b []byte) {
		binary.LittleEndian.PutUint16(b[len(b)-endLen+8:], n)
		binary.LittleEndian.PutUint16(b[len(b)-endLen+10:], n)
	})
}

type hostileCase struct {
	name string
	b    []byte
	want string // in the error
	is   error  // the error wraps it, when not nil
}

// hostileCases are version 2 records Open must refuse, and what it says.
func hostileCases(tb testing.TB) []hostileCase {
	tb.Helper()
	le := binary.LittleEndian
	stat := []byte("# pxname,svname\nfe,FRONTEND\n")
	a, b := deflated(tb, "a.sock_stat", stat), deflated(tb, "b.sock_stat", stat)
	good := makeZip(tb, "", goodHeader, a, b)
	encoded, err := Encode(Record{Host: "h", Cluster: "c", Epoch: 1, Files: exampleRecord(tb).Files})
	if err != nil {
		tb.Fatal(err)
	}
	with := func(e rawEntry, f func(e *rawEntry)) rawEntry {
		f(&e)
		return e
	}
	named := func(name string) rawEntry { return with(a, func(e *rawEntry) { e.name = name }) }
	header := func(s string) rawEntry { return stored(".record", []byte(s)) }
	return []hostileCase{
		// The directory, before anything is read or inflated.
		{"count above maxFiles", setCount(good, 65534), "65534 entries, at most 4097", nil},
		{"count of zip64", setCount(good, 0xffff), "zip64 archive", nil},
		{"directory longer than its count", setCount(good, 2), "holds more than its 2 entries", nil},
		{"directory shorter than its count", setCount(good, 4), "directory entry 3", nil},
		{"info over its bound", makeZip(tb, "", goodHeader, deflated(tb, "a.sock_info", make([]byte, maxSmallFile+1))), "declares 1048577 bytes, at most 1048576", nil},
		{"stat over its bound", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.usize = maxFileBytes + 1 })), "at most 268435456", nil},
		{"total over its bound", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.usize = 200 << 20 }), with(b, func(e *rawEntry) { e.usize = 200 << 20 })), "268435456 bytes in all", nil},
		{"zip64 sizes", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.usize = 1 << 32 })), "zip64 sizes", nil},
		{"method bzip2", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.method = 12 })), "compression method 12", nil},
		{"encrypted", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.flags = 1 })), "encrypted", nil},
		{"strongly encrypted", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.flags = 0x41 })), "encrypted", nil},
		{"name with /", makeZip(tb, "", goodHeader, named("x/a.sock_stat")), "holds '/'", nil},
		{"name with \\", makeZip(tb, "", goodHeader, named(`x\a.sock_stat`)), `holds '\'`, nil},
		{"name with NUL", makeZip(tb, "", goodHeader, named("a\x00.sock_stat")), "NUL", nil},
		{"empty name", makeZip(tb, "", goodHeader, named("")), "empty file name", nil},
		{"name ..", makeZip(tb, "", goodHeader, named("..")), `file name ".."`, nil},
		{"second .record", makeZip(tb, "", goodHeader, named(".record")), "header's", nil},
		{"duplicate names", makeZip(tb, "", goodHeader, a, a), "a second entry of that name", nil},
		{"out of name order", makeZip(tb, "", goodHeader, b, a), "out of name order", nil},
		{"stored sizes differ", makeZip(tb, "", goodHeader, with(stored("a.sock_stat", stat), func(e *rawEntry) { e.usize++ })), "stored in 28 bytes, declaring 29", nil},
		{"entry comment", patch(good, func(b []byte) { le.PutUint16(b[central(b, 1)+32:], 1) }), "directory entry 1: a comment", nil},

		// The header.
		{"no .record", makeZip(tb, "", a, b), "first entry, not .record", nil},
		{".record compressed", makeZip(tb, "", deflated(tb, ".record", goodHeader.data), a), "not stored", nil},
		{".record too big", makeZip(tb, "", stored(".record", make([]byte, maxHeader+1)), a), "declares 16385 bytes, at most 16384", nil},
		{".record without epoch", makeZip(tb, "", header(`{"host":"h","cluster":"c"}`), a), "missing", nil},
		{".record with more", makeZip(tb, "", header(`{"host":"h","cluster":"c","epoch":1,"zone":"x"}`), a), "unknown field", nil},
		{".record empty host", makeZip(tb, "", header(`{"host":"","cluster":"c","epoch":1}`), a), "empty host", nil},
		{".record host with /", makeZip(tb, "", header(`{"host":"a/b","cluster":"c","epoch":1}`), a), "holds '/'", nil},
		{".record two objects", makeZip(tb, "", header(`{"host":"h","cluster":"c","epoch":1}{}`), a), "data after", nil},
		{".record not JSON", makeZip(tb, "", header(`host h`), a), "invalid character", nil},
		{".record epoch not an integer", makeZip(tb, "", header(`{"host":"h","cluster":"c","epoch":1.5}`), a), "epoch", nil},

		// The layout: nothing hidden, nothing shared.
		{"bytes before the first entry", makeZip(tb, "PK..", goodHeader, a), `".record" at 4, where the one before it ends at 0`, nil},
		{"bytes between entries", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.gap = 3 }), b), "where the one before it ends", nil},
		{"bytes after the last entry", makeZip(tb, "", goodHeader, with(b, func(e *rawEntry) { e.gap = 3 })), "3 bytes between the last entry and the central directory", nil},
		{"overlapping entries", patch(good, func(b []byte) { le.PutUint32(b[central(b, 2)+42:], le.Uint32(b[central(b, 1)+42:])) }), "where the one before it ends", nil},
		{"local header names another file", patch(good, func(b []byte) { b[int(le.Uint32(b[central(b, 1)+42:]))+localLen] = 'z' }), "local header names", nil},
		{"local header's size differs", patch(good, func(b []byte) { b[int(le.Uint32(b[central(b, 1)+42:]))+22]++ }), "local header's CRC or sizes", nil},
		{"data descriptor differs", patch(encoded, func(b []byte) { b[bytes.Index(b, []byte("PK\x07\x08"))+4]++ }), "data descriptor", nil},
		{"trailing data", append(bytes.Clone(good), 'x'), "no end of central directory", nil},
		{"ZIP comment", patch(good, func(b []byte) { le.PutUint16(b[len(b)-2:], 1) }), "ZIP comment", nil},
		{"truncated", good[:len(good)-10], "no end of central directory", nil},
		{"truncated to its directory", good[int(le.Uint32(good[len(good)-endLen+16:])):], "does not end where its end record starts", nil},

		// The members, as they inflate.
		{"CRC differs", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.crc++ })), "file a.sock_stat: a CRC other than", zip.ErrChecksum},
		{"CRC of 0 differs", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.crc = 0 })), "file a.sock_stat: a CRC other than the 0x000000", zip.ErrChecksum},
		{"inflates past its size", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.usize-- })), "file a.sock_stat: inflates past the 27 bytes it declares", zip.ErrFormat},
		{"inflates short of its size", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.usize++ })), "file a.sock_stat: inflates to fewer than the 29 bytes", io.ErrUnexpectedEOF},
		{"bytes after the deflate stream", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.data = append(bytes.Clone(e.data), 0) })), "a.sock_stat", errDeflateEnd},
		{"not deflate", makeZip(tb, "", goodHeader, with(a, func(e *rawEntry) { e.data = bytes.Repeat([]byte{0xff}, 8) })), "a.sock_stat", nil},
	}
}

// Open refuses, and says why, every record its encoder does not write;
// the deprecated Decode refuses them too.
func TestOpenHostile(t *testing.T) {
	for _, c := range hostileCases(t) {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(bytes.NewReader(c.b), int64(len(c.b)))
			switch {
			case err == nil:
				t.Fatal("accepted")
			case !strings.HasPrefix(err.Error(), "record: ") || !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q, want one starting with record: and holding %q", err, c.want)
			case c.is != nil && !errors.Is(err, c.is):
				t.Errorf("error %q does not wrap %q", err, c.is)
			}
			if _, err := Decode(c.b); err == nil {
				t.Error("Decode accepted it")
			}
		})
	}
}

// manyEntries is a version 2 record of n empty files, as its encoder
// would write them were there no bound.
func manyEntries(tb testing.TB, n int) []byte {
	tb.Helper()
	entries := []rawEntry{goodHeader}
	for i := range n {
		entries = append(entries, stored(fmt.Sprintf("%05x_info", i), nil))
	}
	return makeZip(tb, "", entries...)
}

// A record of more entries than a record may hold, or that says it holds
// more, is refused before its entries are read: cheaply, whatever it
// says. archive/zip's NewReader reads entries for as long as there are
// some, and would allocate for each.
func TestManyEntries(t *testing.T) {
	f := func(name string, b []byte, want string) {
		t.Helper()
		var err error
		n := allocs(func() { _, err = Open(bytes.NewReader(b), int64(len(b))) })
		if err == nil || !strings.Contains(err.Error(), want) || n > 256<<10 {
			t.Errorf("%s, %d bytes: %v after %d bytes allocated; want refused (%s), with little allocated", name, len(b), err, n, want)
		}
		t.Logf("%s, %d bytes: refused after %d bytes allocated", name, len(b), n)
	}
	f("4096 files and one more", manyEntries(t, maxFiles+1), "4098 entries, at most 4097")
	small := manyEntries(t, 2)
	f("a small record that says 65534 entries", setCount(small, 65534), "65534 entries")
	// 65539 entries, whose count modulo 65536 archive/zip checks: 3.
	// zip.Writer writes them with a zip64 end record, which a record
	// would not have: it goes, and the end record says 3.
	hidden := manyEntries(t, 65538)
	dir, end := bytes.Index(hidden, []byte("PK\x01\x02")), bytes.LastIndex(hidden, []byte("PK\x06\x06"))
	hidden = binary.LittleEndian.AppendUint32(hidden[:end:end], endSig)
	hidden = append(hidden, 0, 0, 0, 0, 3, 0, 3, 0)
	hidden = binary.LittleEndian.AppendUint32(hidden, uint32(end-dir))
	hidden = binary.LittleEndian.AppendUint32(hidden, uint32(dir))
	hidden = append(hidden, 0, 0)
	f("65539 entries that say 3", hidden, "holds more than its 3 entries")
	var zr *zip.Reader
	var err error
	n := allocs(func() { zr, err = zip.NewReader(bytes.NewReader(hidden), int64(len(hidden))) })
	if err != nil {
		t.Fatalf("archive/zip refuses the 65539 entries that say 3 (%v): the case tests nothing", err)
	}
	t.Logf("archive/zip's NewReader reads %d entries where the record says 3: %d bytes allocated", len(zr.File), n)
	if _, err := Open(bytes.NewReader(manyEntries(t, maxFiles)), 0); err == nil {
		t.Error("a record of size 0 accepted")
	}
	ok := manyEntries(t, maxFiles)
	if _, err := Open(bytes.NewReader(ok), int64(len(ok))); err != nil {
		t.Errorf("4096 files: %v", err)
	}
}

// bombData is 250 MiB of zeros deflated: about 250 KB.
var bombData = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	buf := make([]byte, 1<<20)
	for range 250 {
		fw.Write(buf)
	}
	fw.Close()
	return b.Bytes()
})

// A small version 2 record whose member inflates to far more than it
// declares (a decompression bomb) is refused as soon as it inflates past
// what it declares; one that declares more than its bound is refused
// before anything is inflated.
func TestDecompressionBombV2(t *testing.T) {
	bomb := bombData()
	f := func(name string, declared uint64, want string, is error, most int64) {
		t.Helper()
		b := makeZip(t, "", goodHeader, rawEntry{name: name, method: zip.Deflate, data: bomb, usize: declared})
		var r Reader
		var err error
		ra := &countingReaderAt{ra: bytes.NewReader(b)}
		n := allocs(func() { err = r.open(ra, int64(len(b)), nil) })
		inflated := r.inflated.Load()
		t.Logf("%s declaring %d bytes, a record of %d bytes that inflates to 250 MiB: %v, after %d bytes read, %d inflated and %d allocated", name, declared, len(b), err, ra.n, inflated, n)
		if err == nil || !strings.Contains(err.Error(), want) || is != nil && !errors.Is(err, is) {
			t.Errorf("%s declaring %d bytes: %v, want refused (%s)", name, declared, err, want)
		}
		if inflated > most || n > 8<<20 || ra.n > 64<<10 {
			t.Errorf("%s declaring %d bytes: %d bytes read, %d inflated, %d allocated; want at most %d inflated", name, declared, ra.n, inflated, n, most)
		}
	}
	f("a.sock_stat", 1<<20, "a.sock_stat: inflates past the 1048576 bytes it declares", zip.ErrFormat, 1<<20+32<<10+int64(len(goodHeader.data)))
	f("a.sock_info", 250<<20, "at most 1048576", nil, 0)
	f("a.sock_stat", 257<<20, "at most 268435456", nil, 0)
	b := makeZip(t, "", goodHeader, rawEntry{name: "a.sock_stat", method: zip.Deflate, data: bomb, usize: 1 << 20})
	if got, want := DecodedSize(b), int64(1<<20+len(goodHeader.data)); got != want {
		t.Errorf("DecodedSize = %d, want %d", got, want)
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	ra io.ReaderAt
	n  int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.ra.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}
