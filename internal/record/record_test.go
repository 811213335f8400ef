package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

func exampleRecord(t testing.TB) Record {
	t.Helper()
	return Record{Host: "lb-01.ams.example.com", Cluster: "ams.example.com", Epoch: 1500000000, Files: haproxytest.ExampleSnapshot(t)}
}

// versions are the encoders of each version a reader reads.
var versions = []struct {
	name   string
	encode func(Record) ([]byte, error)
	first  byte
}{
	{"v1", EncodeV1, 1},
	{"v2", Encode, 'P'},
}

// forVersions runs f as a subtest for each version's encoder.
func forVersions(t *testing.T, f func(t *testing.T, encode func(Record) ([]byte, error))) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) { f(t, v.encode) })
	}
}

// mustEncode is encode(r), failing tb on an error.
func mustEncode(tb testing.TB, encode func(Record) ([]byte, error), r Record) []byte {
	tb.Helper()
	b, err := encode(r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, v := range versions {
		f := func(r Record) {
			t.Helper()
			b := mustEncode(t, v.encode, r)
			if b[0] != v.first {
				t.Fatalf("%s: first byte %#x, want %#x", v.name, b[0], v.first)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			want := r
			want.Files = slices.SortedFunc(slices.Values(r.Files), func(a, b spool.File) int { return strings.Compare(a.Name, b.Name) })
			for i := range want.Files {
				if want.Files[i].Data == nil {
					want.Files[i].Data = []byte{}
				}
			}
			if want.Files == nil {
				want.Files = []spool.File{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Decode(Encode(r)) = %+v, want %+v", v.name, got, want)
			}

			rd, err := Open(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			if rd.Version() != int(v.name[1]-'0') || rd.Host() != r.Host || rd.Cluster() != r.Cluster || rd.Epoch() != r.Epoch {
				t.Errorf("%s: Open = version %d, %q %q %d", v.name, rd.Version(), rd.Host(), rd.Cluster(), rd.Epoch())
			}
			entries := rd.Files()
			if len(entries) != len(want.Files) {
				t.Fatalf("%s: Files() = %v", v.name, entries)
			}
			for i, e := range entries {
				f := want.Files[i]
				data, err := rd.ReadFile(e.Name)
				if e.Name != f.Name || e.Size != int64(len(f.Data)) || err != nil || !bytes.Equal(data, f.Data) {
					t.Errorf("%s: file %d: %+v, ReadFile: %d bytes, %v; want %s of %d bytes", v.name, i, e, len(data), err, f.Name, len(f.Data))
				}
			}
		}
		f(exampleRecord(t))
		f(Record{Host: "h", Cluster: "c", Epoch: -5})
		f(Record{Host: "h", Cluster: "c", Epoch: 1 << 40, Files: []spool.File{{Name: "b_stat", Data: []byte("b")}, {Name: "a_info", Data: nil}}})
		f(Record{Host: "hôte", Cluster: "c\"\\\n", Epoch: 0, Files: []spool.File{{Name: "\xff.sock_stat", Data: []byte("x")}}})
	}
}

// Version 2 compresses each file alone, so that a small record is
// larger than in version 1, which compresses them together; a record of
// big replies is about the same size in both.
func TestCompact(t *testing.T) {
	r := exampleRecord(t)
	raw := 0
	for _, f := range r.Files {
		raw += len(f.Data)
	}
	v1, v2 := mustEncode(t, EncodeV1, r), mustEncode(t, Encode, r)
	t.Logf("example13 snapshot: %d raw bytes, record %d bytes (version 1: %d)", raw, len(v2), len(v1))
	if len(v1) >= raw/2 || len(v2) >= raw*3/4 {
		t.Errorf("records of %d (v1) and %d (v2) bytes for %d raw bytes: not compressed", len(v1), len(v2), raw)
	}
	big := statRecord(t, 2, 2000)
	raw = 0
	for _, f := range big.Files {
		raw += len(f.Data)
	}
	v1, v2 = mustEncode(t, EncodeV1, big), mustEncode(t, Encode, big)
	t.Logf("2 replies of 2000 servers: %d raw bytes, record %d bytes (version 1: %d)", raw, len(v2), len(v1))
	if len(v2) >= raw/2 || len(v2) > len(v1)*21/20 {
		t.Errorf("record of %d bytes for %d raw bytes, %d in version 1: not compressed as well", len(v2), raw, len(v1))
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustEncode(t, Encode, exampleRecord(t))
	if _, err := Decode(append([]byte{2}, good[1:]...)); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2 byte: err = %v, want ErrVersion", err)
	}
	if _, err := decodeFile(t, append([]byte{2}, good[1:]...)); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2 byte from a file: err = %v, want ErrVersion", err)
	}
	f := func(name string, b []byte) {
		t.Helper()
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "record: ") {
			t.Errorf("%s: error %q does not start with record:", name, err)
		}
		if _, err := decodeFile(t, b); err == nil {
			t.Errorf("%s: accepted from a file", name)
		}
		if _, err := Open(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("%s: Open accepted it", name)
		}
	}
	f("empty", nil)
	f("truncated", good[:len(good)/2])
	v1 := mustEncode(t, EncodeV1, exampleRecord(t))
	f("truncated v1", v1[:len(v1)/2])
	f("not gzip", []byte{1, 'x', 'y'})
	f("not zip", []byte("PKxy"))
	for _, v := range versions {
		bad := mustEncode(t, v.encode, Record{Host: "", Cluster: "c"})
		f(v.name+": empty host", bad)
		bad = mustEncode(t, v.encode, Record{Host: "h", Cluster: "c", Files: []spool.File{{Name: "../x_stat"}}})
		f(v.name+": slash in name", bad)
		bad = mustEncode(t, v.encode, Record{Host: "h", Cluster: "c", Files: []spool.File{{Name: "x_stat"}, {Name: "x_stat"}}})
		f(v.name+": two files of one name", bad)
		bad = mustEncode(t, v.encode, Record{Host: "h", Cluster: "c", Files: []spool.File{{Name: "x_info", Data: make([]byte, maxSmallFile+1)}}})
		f(v.name+": show info over 1 MiB", bad)
	}
	bad := mustEncode(t, Encode, Record{Host: "h", Cluster: "c", Files: []spool.File{{Name: ".record"}}})
	f("v2: a file called .record", bad)
	bad = mustEncode(t, Encode, Record{Host: "h", Cluster: "c", Files: []spool.File{{Name: `a\b_stat`}}})
	f("v2: backslash in name", bad)
	if _, err := Encode(Record{Host: "h\xff", Cluster: "c"}); err == nil || !strings.HasPrefix(err.Error(), "record: encode") {
		t.Errorf("Encode of a host that is not UTF-8: %v, want refused", err)
	}
}

// decodeFile is Decode of b written to a file.
func decodeFile(t *testing.T, b []byte) (Record, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "record")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return decodeAt(f, int64(len(b)))
}

// bombV1 is a version 1 record of host h whose file name holds size
// zero bytes: a few hundred KB that inflate to size.
func bombV1(t *testing.T, name string, size int) []byte {
	t.Helper()
	return mustEncode(t, EncodeV1, Record{Host: "h", Cluster: "c", Epoch: 1, Files: []spool.File{{Name: name, Data: make([]byte, size)}}})
}

// allocs returns the bytes f allocates.
func allocs(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A small version 1 record that inflates to far more than a reply (a
// decompression bomb) is refused as soon as that shows, without the
// consumer holding what it inflates to: a show info reply over 1 MiB at
// its length field, and a stream longer than its gzip trailer says when
// it gets there. DecodedSize tells a big one before it is decoded.
func TestDecompressionBombV1(t *testing.T) {
	const size = 64 << 20
	info := bombV1(t, "a.sock_info", size)
	if got := DecodedSize(info); got < size {
		t.Errorf("DecodedSize = %d, want at least %d", got, size)
	}
	t.Logf("a record of %d bytes that inflates to %d", len(info), DecodedSize(info))
	var err error
	if n := allocs(func() { _, err = Decode(info) }); err == nil || !strings.Contains(err.Error(), "a.sock_info") || n > 8<<20 {
		t.Errorf("show info of %d bytes: %v after %d bytes allocated; want refused, naming it, with little allocated", size, err, n)
	}
	if _, err := decodeFile(t, info); err == nil {
		t.Error("show info of 64 MiB accepted from a file")
	}

	// A stat reply may be big, but not bigger than the trailer says.
	stat := bombV1(t, "a.sock_stat", size)
	if _, err := Decode(stat); err != nil {
		t.Fatalf("a 64 MiB show stat reply: %v", err)
	}
	liar := slices.Clone(stat)
	binary.LittleEndian.PutUint32(liar[len(liar)-4:], 1<<20)
	var r Reader
	if n := allocs(func() { err = r.open(bytes.NewReader(liar), int64(len(liar)), nil) }); err == nil || !strings.Contains(err.Error(), "gzip trailer") || n > 8<<20 {
		t.Errorf("a record that says 1 MiB and inflates to 64: %v after %d bytes allocated; want refused at 1 MiB", err, n)
	}
	if got := r.inflated.Load(); got > 1<<20+64<<10 {
		t.Errorf("%d bytes inflated, want about 1 MiB", got)
	}
	if _, err := decodeFile(t, liar); err == nil || !strings.Contains(err.Error(), "gzip trailer") {
		t.Errorf("the same from a file: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range versions {
		f.Add(mustEncode(f, v.encode, exampleRecord(f)))
		f.Add(mustEncode(f, v.encode, Record{Host: "h", Cluster: "c", Epoch: 10, Files: []spool.File{{Name: "a_stat", Data: []byte("x")}}}))
		f.Add(mustEncode(f, v.encode, Record{Host: "h", Cluster: "c", Epoch: -1}))
	}
	f.Add([]byte{1})
	f.Add([]byte("PK\x05\x06"))
	for _, c := range hostileCases(f) {
		if len(c.b) < 4<<10 {
			f.Add(c.b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Decode(in)
		rd, oerr := Open(bytes.NewReader(in), int64(len(in)))
		if (err == nil) != (oerr == nil) {
			t.Fatalf("Decode: %v; Open: %v", err, oerr)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "record: ") {
				t.Fatalf("error %q does not start with record:", err)
			}
			return
		}
		if r.Host == "" || r.Cluster == "" {
			t.Fatalf("accepted a record without host or cluster: %q", in)
		}
		// Open agrees with Decode, file by file, one inflation each.
		if rd.Host() != r.Host || rd.Cluster() != r.Cluster || rd.Epoch() != r.Epoch || len(rd.Files()) != len(r.Files) {
			t.Fatalf("Open and Decode differ")
		}
		for i, e := range rd.Files() {
			data, err := rd.ReadFile(e.Name)
			if err != nil || e.Name != r.Files[i].Name || e.Size != int64(len(data)) || !bytes.Equal(data, r.Files[i].Data) {
				t.Fatalf("file %d: ReadFile(%s) = %d bytes, %v; Decode gave %s", i, e.Name, len(data), err, r.Files[i].Name)
			}
		}
		if got, want := rd.Inflations(), int64(1+len(r.Files)); got != want {
			t.Fatalf("%d inflations for %d files opened", got, len(r.Files))
		}
		if got := DecodedSize(in); rd.Version() == 2 && got < 0 {
			t.Fatalf("DecodedSize of an accepted version 2 record: %d", got)
		}
		// The record's own version encodes what it decodes to.
		encode := Encode
		if rd.Version() == 1 {
			encode = EncodeV1
		}
		b, err := encode(r)
		if err != nil {
			t.Fatalf("version %d: accepted record cannot be encoded again: %v", rd.Version(), err)
		}
		r2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded record refused: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record")
		}
	})
}
