package localstore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "local-store") // created by Send
	s := New(config.LocalStore{Dir: dir})
	ctx := context.Background()

	first := []metric.Metric{
		{Path: "lb.haproxy.daemon.Uptime_sec", Value: 1234567, Time: 1500000000},
		{Path: "lb.haproxy.frontend.www_example_com.scur", Value: 0.5, Time: 1500000000},
	}
	second := []metric.Metric{{Path: "lb.haproxy.backend.app.qcur", Value: -2, Time: 1500000010}}
	// TotalWallClockTime comes after the rest of the snapshot: appended.
	total := []metric.Metric{{Path: "lb.haproxy.haproxystats.TotalWallClockTime", Value: 0.012, Time: 1500000000}}
	for _, ms := range [][]metric.Metric{first, second, total, nil} {
		if err := s.Send(ctx, ms); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	for _, tc := range []struct{ ts, want string }{
		{"1500000000", "lb.haproxy.daemon.Uptime_sec 1234567 1500000000\n" +
			"lb.haproxy.frontend.www_example_com.scur 0.5 1500000000\n" +
			"lb.haproxy.haproxystats.TotalWallClockTime 0.012 1500000000\n"},
		{"1500000010", "lb.haproxy.backend.app.qcur -2 1500000010\n"},
	} {
		if got := readFile(t, filepath.Join(dir, tc.ts, "stats")); got != tc.want {
			t.Errorf("%s/stats =\n%s\nwant\n%s", tc.ts, got, tc.want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 2 {
		t.Errorf("%s holds %v (%v), want 2 snapshot directories", dir, entries, err)
	}
}

func TestSendErrors(t *testing.T) {
	// A regular file where the directory should be: fails even as root.
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(config.LocalStore{Dir: file})
	err := s.Send(context.Background(), []metric.Metric{{Path: "a", Value: 1, Time: 1500000000}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(file, "1500000000")) {
		t.Errorf("Send into a file = %v, want an error naming %s", err, filepath.Join(file, "1500000000"))
	}

	// The stats file is a directory.
	dir := t.TempDir()
	stats := filepath.Join(dir, "1500000000", "stats")
	if err := os.MkdirAll(stats, 0o755); err != nil {
		t.Fatal(err)
	}
	s = New(config.LocalStore{Dir: dir})
	err = s.Send(context.Background(), []metric.Metric{{Path: "a", Value: 1, Time: 1500000000}})
	if err == nil || !strings.Contains(err.Error(), stats) {
		t.Errorf("Send onto a directory = %v, want an error naming %s", err, stats)
	}
	t.Log(err)

	err = s.Send(context.Background(), []metric.Metric{{Path: "a", Value: 1, Time: 1}, {Path: "b", Value: 1, Time: 2}})
	if err == nil {
		t.Error("Send of metrics with different times succeeded")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, []metric.Metric{{Path: "a", Value: 1, Time: 7}}); err != context.Canceled {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
}

// badLines cannot render its lines.
type badLines struct{ metric.Slice }

func (badLines) WriteTo(io.Writer) (int64, error) {
	return 0, &metric.SourceError{Err: errors.New("replies gone")}
}

// Lines that cannot be rendered are refused, naming the file.
func TestSendLinesUnrenderable(t *testing.T) {
	dir := t.TempDir()
	s := New(config.LocalStore{Dir: dir})
	err := s.SendLines(context.Background(), badLines{metric.Slice{{Path: "a", Value: 1, Time: 1500000000}}})
	var se *metric.SourceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), filepath.Join(dir, "1500000000", "stats")) {
		t.Fatalf("SendLines = %v, want a SourceError naming the file", err)
	}
}
