package pull

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// sendLogs sends n option httplog lines of backend app to addr, as
// HAProxy frames them.
func sendLogs(t *testing.T, addr string, n int) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range n {
		fmt.Fprintf(c, "<134>Dec  8 02:43:06 haproxy[1]: 127.0.0.1:5000 [08/Dec/2026:02:43:06.558] www app/s1 0/0/0/%d/%d 200 101 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n", i, i+1)
	}
}

// count is the count of backend app's Tr in the snapshot dir, and its
// pull stats.
func count(t *testing.T, dir string) (uint64, map[string]float64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, spool.LatencyFile))
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	s := latency.NewSet(0)
	if _, err := s.ReadFrom(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	var n uint64
	s.Each(func(o latency.Object, tm latency.Timer, h *latency.Histogram) {
		if o.Scope == latency.ScopeBackend && tm == latency.Tr {
			n = h.Count()
		}
	})
	st, err := spool.ReadPullStats(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n, st
}

// The log lines received since the last committed round go with the
// next one; a round whose stats are discarded commits them alone, and so
// does a stop: every line received is in exactly one snapshot, and
// pull's counters say how many were read, understood or not.
func TestLogsGoWithRounds(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	sock := haproxytest.UnixSocket(t, cfg.SocketDir, "admin1.sock", info, stat)
	cfg.Logs = &config.Logs{Listen: "udp://127.0.0.1:0", Format: "auto", MaxSeries: 1000}
	p := newPuller(t, cfg)
	stop, err := p.serveLogs()
	if err != nil {
		t.Fatal(err)
	}
	addr := p.logs.listen.Addrs()[0]
	read := func(n uint64) {
		t.Helper()
		haproxytest.WaitFor(t, fmt.Sprintf("%d log lines read", n), waitLong, nil, func() bool {
			return p.logs.parsed.Load()+p.logs.unparsed.Load() >= n
		})
	}

	sendLogs(t, addr, 10)
	read(10)
	p.Round(t.Context(), testTime(0))
	n, st := count(t, filepath.Join(cfg.DstDir, "1500000000"))
	if n != 10 || st["LogLinesParsed"] != 10 || st["LogLinesReceived"] != 10 || st["LogLinesDropped"] != 0 {
		t.Errorf("round 1: %d lines, stats %v", n, st)
	}

	sendLogs(t, addr, 5)
	c, _ := net.Dial("udp", addr)
	c.Write([]byte("<134>garbage"))
	c.Close()
	read(16)
	sock.Set(haproxytest.Refuse, 0)
	p.Round(t.Context(), testTime(1))
	if p.Failed.Load() != 1 {
		t.Fatalf("failed rounds %d, want 1", p.Failed.Load())
	}
	n, st = count(t, filepath.Join(cfg.DstDir, "1500000001"))
	if n != 5 || st["LogLinesUnparsed"] != 1 || st["PullRoundsFailed"] != 1 {
		t.Errorf("discarded round: %d lines alone, stats %v", n, st)
	}
	if _, err := os.Stat(filepath.Join(cfg.DstDir, "1500000001", "admin1.sock_stat")); err == nil {
		t.Error("the discarded round's stats were committed")
	}

	sendLogs(t, addr, 3)
	read(19)
	stop()
	snaps := readDir(t, cfg.DstDir)
	if len(snaps) != 3 || snaps[0] != "1500000000" || snaps[1] != "1500000001" {
		t.Fatalf("snapshots %v, want the two rounds' and the stop's", snaps)
	}
	n, _ = count(t, filepath.Join(cfg.DstDir, snaps[2]))
	if n != 3 {
		t.Errorf("stop: %d lines committed, want 3", n)
	}
	if left := readDir(t, cfg.TmpDstDir); len(left) != 0 {
		t.Errorf("tmp-dst-dir: %v", left)
	}
}

// A round with no log line has no latency file: without traffic, or
// without [logs], snapshots are what they were.
func TestNoLinesNoFile(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	haproxytest.UnixSocket(t, cfg.SocketDir, "admin1.sock", info, stat)
	cfg.Logs = &config.Logs{Listen: "udp://127.0.0.1:0", Format: "auto"}
	p := newPuller(t, cfg)
	stop, err := p.serveLogs()
	if err != nil {
		t.Fatal(err)
	}
	p.Round(t.Context(), testTime(0))
	stop()
	got := readDir(t, filepath.Join(cfg.DstDir, "1500000000"))
	if len(got) != 3 || readDir(t, cfg.DstDir)[0] != "1500000000" || len(readDir(t, cfg.DstDir)) != 1 {
		t.Errorf("files %v, snapshots %v", got, readDir(t, cfg.DstDir))
	}
}

// A [logs] listen or format that cannot be used stops pull at start,
// naming the option.
func TestLogsRefusedAtStart(t *testing.T) {
	for _, l := range []config.Logs{
		{Listen: "tcp://127.0.0.1:1", Format: "auto"},
		{Listen: "udp://127.0.0.1:0", Format: "%ft %s"},
	} {
		cfg := testConfig(t)
		cfg.SocketDir = t.TempDir()
		cfg.Logs = &l
		p := newPuller(t, cfg)
		if _, err := p.serveLogs(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("[logs] ")) {
			t.Errorf("%+v: %v", l, err)
		}
	}
}

// testTime is the second 1500000000 + k, a round's time.
func testTime(k int64) time.Time { return time.Unix(1500000000+k, 0) }
