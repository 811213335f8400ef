package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/pull"
)

// haproxySet is a set of real haproxy processes sharing one
// configuration, each with its own stats socket.
type haproxySet struct {
	dir     string
	sockets []string
	rows    int // show stat rows per process
}

// haproxyConfig has frontends frontends and backends backends of
// servers servers each, made with server-template: disabled and without
// health checks, so HAProxy never connects to them. Everything binds to
// 127.0.0.1.
func haproxyConfig(sz size, firstPort, serverPort int) string {
	var b strings.Builder
	b.WriteString(`global
    stats socket "${SOCK}" mode 600 level user
    stats timeout 30s
    maxconn 1000

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

`)
	for i := range sz.Frontends {
		fmt.Fprintf(&b, "frontend fe%d.example.com\n    bind 127.0.0.1:%d\n    default_backend be%d\n\n", i, firstPort+i, i%sz.Backends)
	}
	for i := range sz.Backends {
		fmt.Fprintf(&b, "backend be%d\n    server-template b%d-s 1-%d 127.0.0.1:%d disabled\n\n", i, i, sz.ServersPerBackend, serverPort)
	}
	return b.String()
}

// startHAProxy starts sz.Procs haproxy processes.
func startHAProxy(ctx context.Context, haproxy, work string, sz size) (*haproxySet, error) {
	dir, err := os.MkdirTemp(work, "haproxy-")
	if err != nil {
		return nil, err
	}
	h := &haproxySet{dir: dir, rows: sz.Frontends + sz.Backends*(sz.ServersPerBackend+1)}
	if err := os.Mkdir(filepath.Join(dir, "sockets"), 0o755); err != nil {
		return nil, err
	}
	// Frontends need consecutive free ports; take them from a free one.
	first, err := freePort()
	if err != nil {
		return nil, err
	}
	if first+sz.Frontends >= 65000 {
		first = 20000
	}
	serverPort, err := freePort()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(haproxyConfig(sz, first, serverPort)), 0o644); err != nil {
		return nil, err
	}
	for i := range sz.Procs {
		sock := filepath.Join(dir, "sockets", "admin"+strconv.Itoa(i+1)+".sock")
		log := filepath.Join(dir, "haproxy"+strconv.Itoa(i+1)+".log")
		if _, err := start(log, []string{"SOCK=" + sock}, haproxy, "-db", "-f", file); err != nil {
			return nil, err
		}
		err := waitFor(ctx, 30*time.Second, "haproxy stats socket "+sock, func() bool {
			c, err := net.Dial("unix", sock)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		if err != nil {
			b, _ := os.ReadFile(log)
			return nil, fmt.Errorf("%w\n%s", err, b)
		}
		h.sockets = append(h.sockets, sock)
	}
	return h, nil
}

// plainRead sends show info and show stat to every socket, all at once,
// and reads the replies into memory with a plain loop: the least any
// client has to do. It returns the bytes read.
func plainRead(ctx context.Context, sockets []string) (int64, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	var firstErr error
	for _, sock := range sockets {
		for _, cmd := range []string{"show info\n", "show stat\n"} {
			wg.Go(func() {
				n, err := query(ctx, sock, cmd)
				mu.Lock()
				defer mu.Unlock()
				total += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
			})
		}
	}
	wg.Wait()
	return total, firstErr
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func query(ctx context.Context, sock, cmd string) (int64, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		return 0, err
	}
	buf := readBufs.Get().(*[]byte)
	defer readBufs.Put(buf)
	var n int64
	for {
		m, err := c.Read(*buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// pullResult compares the pull package's round with plainRead.
type pullResult struct {
	Rounds       int     `json:"rounds"`
	RowsPerRound int     `json:"rows_per_round"`
	BytesRound   int64   `json:"bytes_per_round"`
	PullMs       float64 `json:"pull_ms_median"`
	PlainMs      float64 `json:"plain_ms_median"`
	Ratio        float64 `json:"ratio"`
	SpoolFS      string  `json:"spool_dir"`
	// The real haproxystats-pull binary, pulling every second.
	DaemonRounds    int     `json:"daemon_rounds"`
	DaemonTookMs    float64 `json:"daemon_took_ms_median"`
	DaemonCPUMs     float64 `json:"daemon_cpu_ms_per_round"`
	DaemonPeakRSSMB float64 `json:"daemon_peak_rss_mb"`
}

// measurePull times rounds of internal/pull (replies streamed to files,
// fsynced, committed by rename, exactly what haproxystats-pull does)
// against plainRead, alternating, and then runs the real binary for a
// while to read its peak RSS.
func measurePull(ctx context.Context, bin, work string, h *haproxySet, rounds int, daemonFor time.Duration) (pullResult, error) {
	r := pullResult{Rounds: rounds, RowsPerRound: h.rows * len(h.sockets)}
	dir, err := os.MkdirTemp(work, "pull-")
	if err != nil {
		return r, err
	}
	r.SpoolFS = dir
	cfg := config.Default().Pull
	cfg.SocketDir = filepath.Join(h.dir, "sockets")
	cfg.DstDir = filepath.Join(dir, "incoming")
	cfg.TmpDstDir = filepath.Join(dir, "incoming.tmp")
	cfg.PullTimeout = 30 * time.Second
	cfg.PullInterval = time.Minute
	p := pull.New(cfg, slog.New(slog.DiscardHandler))
	if err := p.Prepare(); err != nil {
		return r, err
	}
	var pulls, plains []time.Duration
	ts := time.Unix(1700000000, 0)
	// One round of each to warm up, not counted.
	for i := range rounds + 1 {
		order := []bool{i%2 == 0, i%2 != 0} // alternate who goes first
		for _, first := range order {
			if first {
				t := time.Now()
				n, err := plainRead(ctx, h.sockets)
				if err != nil {
					return r, fmt.Errorf("plain read: %w", err)
				}
				if i > 0 {
					plains = append(plains, time.Since(t))
				}
				r.BytesRound = n
				continue
			}
			committed := p.Committed.Load()
			t := time.Now()
			p.Round(ctx, ts)
			d := time.Since(t)
			if p.Committed.Load() != committed+1 {
				return r, fmt.Errorf("pull round %d was not committed", i)
			}
			if i > 0 {
				pulls = append(pulls, d)
			}
			os.RemoveAll(filepath.Join(cfg.DstDir, strconv.FormatInt(ts.Unix(), 10)))
			ts = ts.Add(time.Second)
		}
	}
	r.PullMs, r.PlainMs = ms(median(pulls)), ms(median(plains))
	r.Ratio = r.PullMs / r.PlainMs
	if daemonFor > 0 {
		if err := measurePullDaemon(ctx, bin, dir, h, daemonFor, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// pullConfig is the configuration of the real haproxystats-pull.
func pullConfig(dir, socketDir string, interval int, timeout string) string {
	return fmt.Sprintf(`[DEFAULT]
loglevel = info

[pull]
socket-dir = %s
pull-interval = %d
pull-timeout = %s
dst-dir = %s
tmp-dst-dir = %s
queue-size = 100000
`, socketDir, interval, timeout, filepath.Join(dir, "incoming"), filepath.Join(dir, "incoming.tmp"))
}

var tookRe = regexp.MustCompile(`msg="statistics are stored".* took=([0-9.]+)(ms|s|µs)`)

// measurePullDaemon runs bin/haproxystats-pull every second for d and
// reads its round times from its log, its CPU time and its peak RSS.
func measurePullDaemon(ctx context.Context, bin, dir string, h *haproxySet, d time.Duration, r *pullResult) error {
	dir = filepath.Join(dir, "daemon")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	conf := filepath.Join(dir, "haproxystats.conf")
	if err := os.WriteFile(conf, []byte(pullConfig(dir, filepath.Join(h.dir, "sockets"), 1, "0.9")), 0o644); err != nil {
		return err
	}
	logFile := filepath.Join(dir, "pull.log")
	cmd, err := start(logFile, nil, filepath.Join(bin, "haproxystats-pull"), "-f", conf)
	if err != nil {
		return err
	}
	defer stop(cmd)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	pid := cmd.Process.Pid
	cpu, err := cpuTime(pid)
	if err != nil {
		return err
	}
	hwm, err := memKB(pid, "VmHWM")
	if err != nil {
		return err
	}
	stop(cmd)
	took, err := tookFromLog(logFile)
	if err != nil {
		return err
	}
	if len(took) == 0 {
		b, _ := os.ReadFile(logFile)
		return fmt.Errorf("haproxystats-pull committed no round in %v:\n%s", d, b)
	}
	r.DaemonRounds = len(took)
	r.DaemonTookMs = ms(median(took))
	r.DaemonCPUMs = ms(cpu) / float64(len(took))
	r.DaemonPeakRSSMB = mb(hwm)
	return nil
}

func tookFromLog(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var took []time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := tookRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[1] + m[2])
		if err == nil {
			took = append(took, d)
		}
	}
	return took, sc.Err()
}
