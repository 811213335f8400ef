package record

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// statRecord is a record of procs show stat replies of about servers
// servers each (stats.GenerateStat), and a show info reply.
func statRecord(tb testing.TB, procs, servers int) Record {
	tb.Helper()
	r := Record{Host: "lb-01.dc1", Cluster: "dc1", Epoch: 1500000000}
	for i, data := range stats.GenerateStat(procs, 50, max(1, servers/20), 20, 1) {
		r.Files = append(r.Files, spool.File{Name: fmt.Sprintf("admin%d.sock_stat", i+1), Data: data})
	}
	r.Files = append(r.Files, spool.File{Name: "admin1.sock_info", Data: []byte("Name: HAProxy\nVersion: 2.6.0\n")})
	return r
}

// The same record always encodes to the same bytes, whatever the order
// of its files.
func TestDeterministic(t *testing.T) {
	forVersions(t, func(t *testing.T, encode func(Record) ([]byte, error)) {
		r := exampleRecord(t)
		a := mustEncode(t, encode, r)
		b := mustEncode(t, encode, r)
		r.Files = append(r.Files[3:], r.Files[:3]...)
		c := mustEncode(t, encode, r)
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Error("one record, several encodings")
		}
	})
}

// Open inflates the record once; each file opened after is one more
// inflation, and in version 2 inflates that file alone.
func TestInflations(t *testing.T) {
	r := statRecord(t, 3, 200)
	forVersions(t, func(t *testing.T, encode func(Record) ([]byte, error)) {
		b := mustEncode(t, encode, r)
		rd, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if n := rd.Inflations(); n != 1 {
			t.Fatalf("%d inflations after Open, want 1", n)
		}
		checked := rd.inflated.Load()
		for i, name := range []string{"admin2.sock_stat", "admin3.sock_stat"} {
			before := rd.inflated.Load()
			got, err := rd.ReadFile(name)
			if err != nil || !bytes.Equal(got, r.Files[i+1].Data) {
				t.Fatalf("ReadFile(%s) = %d bytes, %v; want %d", name, len(got), err, len(r.Files[i+1].Data))
			}
			if n := rd.Inflations(); n != int64(2+i) {
				t.Errorf("%d inflations after opening %d files, want %d", n, i+1, 2+i)
			}
			inflated := rd.inflated.Load() - before
			if rd.Version() == 2 && inflated != int64(len(got)) {
				t.Errorf("%d bytes inflated to open %s of %d", inflated, name, len(got))
			}
			t.Logf("%s: %d bytes inflated to check the record, %d to open %s of %d", t.Name(), checked, inflated, name, len(got))
		}
	})
}

// A Reader gives its files to several goroutines at once.
func TestOpenConcurrent(t *testing.T) {
	r := statRecord(t, 3, 100)
	forVersions(t, func(t *testing.T, encode func(Record) ([]byte, error)) {
		b := mustEncode(t, encode, r)
		rd, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			for _, f := range r.Files {
				wg.Go(func() {
					if got, err := rd.ReadFile(f.Name); err != nil || !bytes.Equal(got, f.Data) {
						t.Errorf("ReadFile(%s) = %d bytes, %v", f.Name, len(got), err)
					}
				})
			}
		}
		wg.Wait()
		if n := rd.Inflations(); n != int64(1+4*len(r.Files)) {
			t.Errorf("%d inflations, want %d", n, 1+4*len(r.Files))
		}
		if _, err := rd.Open("nothere_stat"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open of a file not in the record: %v", err)
		}
		if _, err := rd.Open(".record"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open of the header: %v", err)
		}
	})
}

// A version 2 record is a ZIP archive as it is: archive/zip, and unzip
// and Python's zipfile when installed, list and test it.
func TestZipTools(t *testing.T) {
	r := exampleRecord(t)
	b := mustEncode(t, Encode, r)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := []string{".record"}
	for _, f := range r.Files {
		want = append(want, f.Name)
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("archive/zip lists %v, want %v", names, want)
	}
	if zr.File[0].Method != zip.Store || zr.File[1].Method != zip.Deflate {
		t.Errorf("methods %d and %d, want stored then deflated", zr.File[0].Method, zr.File[1].Method)
	}

	path := filepath.Join(t.TempDir(), "record.zip")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"unzip", "-t", path},
		{"unzip", "-p", path, ".record"},
		{"python3", "-m", "zipfile", "-t", path},
	} {
		if _, err := exec.LookPath(args[0]); err != nil {
			t.Logf("%s not installed: not run", args[0])
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if args[1] == "-p" && string(out) != `{"host":"lb-01.ams.example.com","cluster":"ams.example.com","epoch":1500000000}`+"\n" {
			t.Errorf("unzip -p .record = %q", out)
		}
	}
}
