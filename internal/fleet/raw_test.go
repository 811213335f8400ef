package fleet

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/record"
)

// A record that cannot be written to a file (here its directory is
// missing) is kept in memory and decodes as it was, its replies read by
// hostLoader; a reply of a record in a file that cannot be written is
// decoded into memory; the log says so once per run of failures, not for
// every record; a small record is kept in memory without a word.
func TestKeepWithoutAFile(t *testing.T) {
	var log bytes.Buffer
	c := NewConsumer(nil, Paths{}, time.Second, time.Second, 3, slog.New(slog.NewTextHandler(&log, nil)))
	missing := filepath.Join(t.TempDir(), "missing")
	c.SpillDir, c.SpillSize = missing, 1
	want := record.Record{Host: "lb-a", Cluster: "dc1", Epoch: 1500000000, Files: haproxytest.ExampleSnapshot(t)}
	b, err := record.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	const warning = "big records and their show stat replies are kept in memory until a file can be written"
	for range 3 {
		raw := c.keep(b)
		if raw.f != nil || !bytes.Equal(raw.b, b) {
			t.Fatalf("kept in a file %v, in memory %d of %d bytes", raw.f != nil, len(raw.b), len(b))
		}
		got, err := raw.decode(nil)
		if err != nil || got.Host != want.Host || len(got.Files) != len(want.Files) {
			t.Fatalf("decoded %s with %d files, %v", got.Host, len(got.Files), err)
		}
		if c.opener(raw) != nil {
			t.Fatal("a record in memory has its replies written to files: hostLoader reads them")
		}
	}
	if n := strings.Count(log.String(), warning); n != 1 || !strings.Contains(log.String(), "missing") {
		t.Errorf("%d warnings, want 1 naming the directory:\n%s", n, log.String())
	}
	// A reply of a record in a file, when the reply cannot be written to
	// a file, is decoded into memory.
	log.Reset()
	c.SpillDir = t.TempDir()
	raw := c.keep(b)
	if raw.f == nil {
		t.Fatal("record not kept in a file")
	}
	c.SpillDir = missing
	stat := want.Files[1]
	for range 2 {
		r, size, err := c.opener(raw)(stat.Name)
		got := make([]byte, size)
		if err == nil {
			_, err = r.ReadAt(got, 0)
		}
		if err != nil || !bytes.Equal(got, stat.Data) {
			t.Fatalf("%s without a file: %d bytes, %v; want its %d bytes", stat.Name, size, err, len(stat.Data))
		}
	}
	if n := strings.Count(log.String(), warning); n != 1 || !strings.Contains(log.String(), "missing") {
		t.Errorf("%d warnings for the replies, want 1 naming the directory:\n%s", n, log.String())
	}
	log.Reset()
	c.SpillSize = int64(len(b)) + 1
	if raw := c.keep(b); raw.f != nil || log.Len() != 0 {
		t.Errorf("a record under SpillSize: in a file %v, log %q", raw.f != nil, log.String())
	}
}
