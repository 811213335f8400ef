package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

func TestRoundTrip(t *testing.T) {
	f := func(r Record) {
		t.Helper()
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != Version {
			t.Fatalf("version byte %d", b[0])
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Files) == 0 {
			r.Files = []spool.File{}
		}
		for i := range r.Files {
			if r.Files[i].Data == nil {
				r.Files[i].Data = []byte{}
			}
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("Decode(Encode(r)) = %+v, want %+v", got, r)
		}
	}
	f(exampleRecord(t))
	f(Record{Host: "h", Cluster: "c", Epoch: -5})
	f(Record{Host: "h", Cluster: "c", Epoch: 1 << 40, Files: []spool.File{{Name: "a_info", Data: nil}}})
}

func TestCompact(t *testing.T) {
	r := exampleRecord(t)
	raw := 0
	for _, f := range r.Files {
		raw += len(f.Data)
	}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("example13 snapshot: %d raw bytes, record %d bytes", raw, len(b))
	if len(b) >= raw/2 {
		t.Errorf("record of %d bytes for %d raw bytes: not compressed", len(b), raw)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := Encode(exampleRecord(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(append([]byte{2}, good[1:]...)); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: err = %v, want ErrVersion", err)
	}
	if _, err := decodeFile(t, append([]byte{2}, good[1:]...), nil); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2 from a file: err = %v, want ErrVersion", err)
	}
	f := func(name string, b []byte) {
		t.Helper()
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := decodeFile(t, b, nil); err == nil {
			t.Errorf("%s: accepted from a file", name)
		}
	}
	f("empty", nil)
	f("truncated", good[:len(good)/2])
	f("not gzip", []byte{1, 'x', 'y'})
	bad, _ := Encode(Record{Host: "", Cluster: "c"})
	f("empty host", bad)
	bad, _ = Encode(Record{Host: "h", Cluster: "c", Files: []spool.File{{Name: "../x_stat"}}})
	f("slash in name", bad)
}

func FuzzDecode(f *testing.F) {
	good, err := Encode(exampleRecord(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	small, _ := Encode(Record{Host: "h", Cluster: "c", Epoch: 10, Files: []spool.File{{Name: "a_stat", Data: []byte("x")}}})
	f.Add(small)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Decode(in)
		if err != nil {
			return
		}
		if r.Host == "" || r.Cluster == "" {
			t.Fatalf("accepted a record without host or cluster: %q", in)
		}
		b, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded record refused: %v", err)
		}
		if r2.Host != r.Host || r2.Epoch != r.Epoch || len(r2.Files) != len(r.Files) {
			t.Fatalf("round trip changed the record")
		}
		for i := range r.Files {
			if !bytes.Equal(r.Files[i].Data, r2.Files[i].Data) {
				t.Fatalf("round trip changed file %s", r.Files[i].Name)
			}
		}
	})
}

// DecodeKeep gives the files asked for with their data, the others
// without, and checks the whole record as Decode does.
func TestDecodeKeep(t *testing.T) {
	r := Record{Host: "lb-01", Cluster: "c", Epoch: 7, Files: []spool.File{
		{Name: "a.sock_info", Data: []byte("Name: HAProxy\n")},
		{Name: "a.sock_stat", Data: bytes.Repeat([]byte("x,"), 1000)},
		{Name: "b.sock_stat", Data: []byte{}},
	}}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeKeep(b, func(n string) bool { return n != "a.sock_stat" })
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 3 || got.Files[1].Data != nil || string(got.Files[0].Data) != "Name: HAProxy\n" || got.Files[2].Data == nil {
		t.Errorf("DecodeKeep = %+v", got.Files)
	}
	if _, err := DecodeKeep(b[:len(b)-4], func(string) bool { return false }); err == nil {
		t.Error("a truncated record decoded, keeping nothing")
	}
	fromFile, err := decodeFile(t, b, func(n string) bool { return n != "a.sock_stat" })
	if err != nil || fmt.Sprint(fromFile) != fmt.Sprint(got) {
		t.Errorf("DecodeKeepAt of a file = %+v, %v; want %+v", fromFile, err, got)
	}
	if _, err := decodeFile(t, b[:len(b)-4], func(string) bool { return false }); err == nil {
		t.Error("a truncated record decoded from a file, keeping nothing")
	}
}

// decodeFile is DecodeKeepAt of b written to a file.
func decodeFile(t *testing.T, b []byte, keep func(string) bool) (Record, error) {
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
	return DecodeKeepAt(f, int64(len(b)), keep)
}

// DecodeFileTo writes the one file asked for, as DecodeKeep gives it,
// checks the whole record, and says when the file is not in it.
func TestDecodeFileTo(t *testing.T) {
	r := exampleRecord(t)
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	want := r.Files[1]
	var w bytes.Buffer
	n, err := DecodeFileTo(bytes.NewReader(b), int64(len(b)), want.Name, &w)
	if err != nil || n != int64(len(want.Data)) || !bytes.Equal(w.Bytes(), want.Data) {
		t.Errorf("DecodeFileTo(%s) = %d bytes, %v; want its %d bytes", want.Name, n, err, len(want.Data))
	}
	if _, err := DecodeFileTo(bytes.NewReader(b), int64(len(b)), "nothere_stat", io.Discard); err == nil {
		t.Error("a file not in the record was written")
	}
	if _, err := DecodeFileTo(bytes.NewReader(b[:len(b)-4]), int64(len(b)-4), want.Name, io.Discard); err == nil {
		t.Error("a truncated record gave its file")
	}
}

// bomb is a record of host h whose file name holds size zero bytes:
// a few hundred KB that inflate to size.
func bomb(t *testing.T, name string, size int) []byte {
	t.Helper()
	b, err := Encode(Record{Host: "h", Cluster: "c", Epoch: 1, Files: []spool.File{{Name: name, Data: make([]byte, size)}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A small record that inflates to far more than a reply (a decompression
// bomb) is refused as soon as that shows, without the consumer holding
// what it inflates to: a show info reply over 1 MiB at its length field,
// and a stream longer than its gzip trailer says when it gets there.
// DecodedSize tells a big one before it is decoded.
func TestDecompressionBomb(t *testing.T) {
	allocs := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	const size = 64 << 20
	info := bomb(t, "a.sock_info", size)
	if got := DecodedSize(info); got < size {
		t.Errorf("DecodedSize = %d, want at least %d", got, size)
	}
	t.Logf("a record of %d bytes that inflates to %d", len(info), DecodedSize(info))
	var err error
	if n := allocs(func() { _, err = Decode(info) }); err == nil || !strings.Contains(err.Error(), "a.sock_info") || n > 8<<20 {
		t.Errorf("show info of %d bytes: %v after %d bytes allocated; want refused, naming it, with little allocated", size, err, n)
	}
	if _, err := decodeFile(t, info, nil); err == nil {
		t.Error("show info of 64 MiB accepted from a file")
	}

	// A stat reply may be big, but not bigger than the trailer says.
	stat := bomb(t, "a.sock_stat", size)
	if _, err := Decode(stat); err != nil {
		t.Fatalf("a 64 MiB show stat reply: %v", err)
	}
	liar := slices.Clone(stat)
	binary.LittleEndian.PutUint32(liar[len(liar)-4:], 1<<20)
	if n := allocs(func() { _, err = Decode(liar) }); err == nil || !strings.Contains(err.Error(), "gzip trailer") || n > 8<<20 {
		t.Errorf("a record that says 1 MiB and inflates to 64: %v after %d bytes allocated; want refused at 1 MiB", err, n)
	}
	if _, err := decodeFile(t, liar, nil); err == nil || !strings.Contains(err.Error(), "gzip trailer") {
		t.Errorf("the same from a file: %v", err)
	}
}
