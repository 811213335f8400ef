package haproxytest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// ExampleFiles are the reply files of the worked example of the
// original's behaviour, kept in internal/stats/testdata/example13: two
// HAProxy 1.8 processes.
var ExampleFiles = []string{"admin1.sock_info", "admin1.sock_stat", "admin2.sock_info", "admin2.sock_stat"}

// Example returns the reply file name of the worked example, kept in
// internal/stats/testdata/example13.
func Example(t testing.TB, name string) []byte {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "stats", "testdata", "example13", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteExample writes the worked example's reply files into dir, creating
// it: a snapshot directory when dir is named after a Unix second.
func WriteExample(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range ExampleFiles {
		if err := os.WriteFile(filepath.Join(dir, f), Example(t, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ExampleSnapshot is the worked example as the files of one snapshot,
// in name order: a .pull-stats file, then the example's replies.
func ExampleSnapshot(t testing.TB) []spool.File {
	t.Helper()
	files := []spool.File{{Name: ".pull-stats", Data: []byte("PullRounds: 3\n")}}
	for _, f := range ExampleFiles {
		files = append(files, spool.File{Name: f, Data: Example(t, f)})
	}
	return files
}
