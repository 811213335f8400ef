package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// logsResult is haproxystats-pull receiving HAProxy's request logs
// ([logs]) over UDP on 127.0.0.1: at a busy HAProxy's rate, its CPU and
// memory with every server's series; at the peak rate, whether
// the kernel drops any.
type logsResult struct {
	Servers    int     `json:"servers"`
	LineBytes  int     `json:"line_bytes"`
	Rate       int     `json:"paced_lines_per_second"`
	Seconds    float64 `json:"paced_seconds"`
	CPUPct     float64 `json:"paced_cpu_percent_of_one_core"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	PeakRate   int     `json:"peak_lines_per_second_paced"`
	PeakSent   float64 `json:"peak_lines_per_second_sent"`
	PeakRecvd  float64 `json:"peak_lines_per_second_received"`
	PeakDrops  float64 `json:"peak_dropped"`
	FloodRecvd float64 `json:"flood_lines_per_second_received"`
	FloodDrops float64 `json:"flood_dropped"`
	FloodSent  int     `json:"flood_lines_sent"`
	Unparsed   float64 `json:"unparsed"`
}

// logLines makes one datagram per server of servers (spread over 10
// backends, each behind its frontend), as HAProxy 2.6 sends option
// httplog lines with its default RFC 3164 framing, with random timers.
func logLines(servers int) [][]byte {
	r := rand.New(rand.NewPCG(5, 50))
	lines := make([][]byte, servers)
	for i := range lines {
		be := i % 10
		tr := int(r.ExpFloat64() * 40)
		lines[i] = fmt.Appendf(nil, "<134>Dec  8 02:20:00 haproxy[1234]: 127.0.0.1:%d [08/Dec/2026:02:20:00.%03d] fe%d be%d/s%d %d/0/%d/%d/%d 200 %d - - ---- 10/10/1/0/0 0/0 \"GET /api/v1/items/%d HTTP/1.1\"",
			10000+i%50000, i%1000, be, be, i/10, r.IntN(3), r.IntN(2), tr, tr+r.IntN(5), 200+r.IntN(5000), i)
	}
	return lines
}

// sender writes datagrams to 127.0.0.1:port in batches (sendmmsg).
type sender struct {
	pc   *ipv4.PacketConn
	conn *net.UDPConn
	msgs []ipv4.Message
	next int
}

func newSender(port int) (*sender, error) {
	conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return nil, err
	}
	conn.SetWriteBuffer(8 << 20)
	s := &sender{pc: ipv4.NewPacketConn(conn), conn: conn, msgs: make([]ipv4.Message, 64)}
	for i := range s.msgs {
		s.msgs[i].Buffers = make([][]byte, 1)
	}
	return s, nil
}

// send sends n datagrams of lines, round robin.
func (s *sender) send(lines [][]byte, n int) error {
	for n > 0 {
		k := min(n, len(s.msgs))
		for i := range k {
			s.msgs[i].Buffers[0] = lines[s.next%len(lines)]
			s.next++
		}
		for off := 0; off < k; {
			w, err := s.pc.WriteBatch(s.msgs[off:k], 0)
			if err != nil {
				return err
			}
			off += w
		}
		n -= k
	}
	return nil
}

// paced sends rate datagrams a second for d, in slices of 5 ms, and
// returns how many it sent.
func (s *sender) paced(lines [][]byte, rate int, d time.Duration) (int, error) {
	const slice = 5 * time.Millisecond
	per := rate * int(slice) / int(time.Second)
	start := time.Now()
	sent := 0
	for k := 1; time.Since(start) < d; k++ {
		if err := s.send(lines, per); err != nil {
			return sent, err
		}
		sent += per
		if wait := time.Until(start.Add(time.Duration(k) * slice)); wait > 0 {
			time.Sleep(wait) // the pace of the load, not a wait for an event
		}
	}
	return sent, nil
}

// logCounters returns the LogLines* counters of the newest snapshot in
// spoolDir, with its name.
func logCounters(spoolDir string) (string, map[string]float64) {
	paths, err := spool.Scan(spoolDir)
	if err != nil || len(paths) == 0 {
		return "", nil
	}
	newest := paths[len(paths)-1]
	c, err := spool.ReadPullStats(newest)
	if err != nil {
		return "", nil
	}
	return filepath.Base(newest), c
}

// measureLogs runs haproxystats-pull with [logs] and no stats socket
// (its rounds commit the histograms alone) and sends it log lines.
func measureLogs(ctx context.Context, bin, work string, servers int) (r logsResult, err error) {
	dir, err := os.MkdirTemp(work, "logs-")
	if err != nil {
		return r, err
	}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	sockets, spoolDir := filepath.Join(dir, "sockets"), filepath.Join(dir, "incoming")
	os.Mkdir(sockets, 0o755)
	conf := filepath.Join(dir, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
loglevel = warning
[pull]
socket-dir = %s
pull-interval = 10
dst-dir = %s
tmp-dst-dir = %s.tmp
queue-size = 100000
[logs]
listen = udp://127.0.0.1:%d
max-series = 100000
`, sockets, spoolDir, spoolDir, port)), 0o644)
	pull, err := start(filepath.Join(dir, "pull.log"), nil, filepath.Join(bin, "haproxystats-pull"), "-f", conf)
	if err != nil {
		return r, err
	}
	defer stop(pull)
	s, err := newSender(port)
	if err != nil {
		return r, err
	}
	defer s.conn.Close()
	lines := logLines(servers)
	r.Servers, r.LineBytes = servers, len(lines[0])
	warm := time.Now()
	if err := waitFor(ctx, 30*time.Second, "pull's log socket", func() bool {
		if time.Since(warm) > 100*time.Millisecond { // every server's series, also while pull starts
			s.send(lines, len(lines))
			warm = time.Now()
		}
		_, c := logCounters(spoolDir)
		return c["LogLinesParsed"] > 0
	}); err != nil {
		return r, err
	}
	// counters waits for a snapshot committed after now, and returns its
	// counters: the lines sent before are in.
	counters := func() (map[string]float64, error) {
		since := time.Now().Unix()
		var c map[string]float64
		err := waitFor(ctx, 30*time.Second, "a snapshot of pull's counters", func() bool {
			s.send(lines, 1) // a line, so that the round has one
			var name string
			name, c = logCounters(spoolDir)
			ts, _ := strconv.ParseInt(name, 10, 64)
			return ts > since
		})
		return c, err
	}

	// A busy HAProxy: 50 000 lines a second for 10 s.
	r.Rate, r.Seconds = 50000, 10
	cpu0, _ := cpuTime(pull.Process.Pid)
	t0 := time.Now()
	if _, err := s.paced(lines, r.Rate, time.Duration(r.Seconds*float64(time.Second))); err != nil {
		return r, err
	}
	cpu1, _ := cpuTime(pull.Process.Pid)
	r.CPUPct = 100 * float64(cpu1-cpu0) / float64(time.Since(t0))
	c0, err := counters()
	if err != nil {
		return r, err
	}

	// The peak: 300 000 lines a second for 5 s.
	r.PeakRate = 300000
	t0 = time.Now()
	sent, err := s.paced(lines, r.PeakRate, 5*time.Second)
	if err != nil {
		return r, err
	}
	elapsed := time.Since(t0)
	c1, err := counters()
	if err != nil {
		return r, err
	}
	r.PeakSent = float64(sent) / elapsed.Seconds()
	r.PeakRecvd = (c1["LogLinesReceived"] - c0["LogLinesReceived"]) / elapsed.Seconds()
	r.PeakDrops = c1["LogLinesDropped"] - c0["LogLinesDropped"]

	// A flood, as fast as one sender goes: what is dropped is counted.
	r.FloodSent = 2000000
	t0 = time.Now()
	if err := s.send(lines, r.FloodSent); err != nil {
		return r, err
	}
	elapsed = time.Since(t0)
	c2, err := counters()
	if err != nil {
		return r, err
	}
	r.FloodRecvd = (c2["LogLinesReceived"] - c1["LogLinesReceived"]) / elapsed.Seconds()
	r.FloodDrops = c2["LogLinesDropped"] - c1["LogLinesDropped"]
	r.Unparsed = c2["LogLinesUnparsed"]
	if kb, err := memKB(pull.Process.Pid, "VmHWM"); err == nil {
		r.PeakRSSMB = mb(kb)
	}
	if r.Unparsed > 0 {
		b, _ := os.ReadFile(filepath.Join(dir, "pull.log"))
		return r, fmt.Errorf("pull did not understand %v lines; its log:\n%s", r.Unparsed, strings.TrimSpace(string(b)))
	}
	return r, nil
}
