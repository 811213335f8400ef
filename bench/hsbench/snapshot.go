package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// size is the configuration the figures are for: procs HAProxy
// processes, each with the same frontends, backends and servers.
type size struct {
	Procs             int `json:"processes"`
	Frontends         int `json:"frontends"`
	Backends          int `json:"backends"`
	ServersPerBackend int `json:"servers_per_backend"`
}

func (s size) servers() int { return s.Backends * s.ServersPerBackend }

// rows is the number of show stat rows of one snapshot.
func (s size) rows() int {
	return s.Procs * (s.Frontends + s.Backends*(s.ServersPerBackend+1))
}

// showInfo is a HAProxy 2.6 show info reply (from a real one), with
// Process_num and Pid to fill in.
const showInfo = `Name: HAProxy
Version: 2.6.12-1+deb12u4
Release_date: 2026/10/17
Nbthread: 2
Nbproc: 1
Process_num: %d
Pid: %d
Uptime: 0d 1h01m01s
Uptime_sec: 3661
Memmax_MB: 0
PoolAlloc_MB: 12
PoolUsed_MB: 12
PoolFailed: 0
Ulimit-n: 200039
Maxsock: 200039
Maxconn: 100000
Hard_maxconn: 100000
CurrConns: 1523
CumConns: 9812345
CumReq: 19876543
MaxSslConns: 0
CurrSslConns: 812
CumSslConns: 4123456
Maxpipes: 0
PipesUsed: 0
PipesFree: 0
ConnRate: 412
ConnRateLimit: 0
MaxConnRate: 2011
SessRate: 412
SessRateLimit: 0
MaxSessRate: 2011
SslRate: 210
SslRateLimit: 0
MaxSslRate: 998
SslFrontendKeyRate: 12
SslFrontendMaxKeyRate: 310
SslFrontendSessionReuse_pct: 94
SslBackendKeyRate: 0
SslBackendMaxKeyRate: 0
SslCacheLookups: 3123456
SslCacheMisses: 212345
CompressBpsIn: 0
CompressBpsOut: 0
CompressBpsRateLim: 0
Tasks: 40123
Run_queue: 1
Idle_pct: %d
node: lb-01
Stopping: 0
Jobs: 1530
Unstoppable Jobs: 0
Listeners: 50
ActivePeers: 0
ConnectedPeers: 0
DroppedLogs: 0
BusyPolling: 0
FailedResolutions: 0
TotalBytesOut: 981234567890
TotalSplicdedBytesOut: 0
BytesOutRate: 12345678
DebugCommandsIssued: 0
CumRecvLogs: 0
Build info: 2.6.12-1+deb12u4
Memmax_bytes: 0
PoolAlloc_bytes: 12345678
PoolUsed_bytes: 12345678
Start_time_sec: 1795560853
Tainted: 0

`

// writeSnapshot writes one snapshot of sz into dir, as haproxystats-pull
// would: admin<n>.sock_stat and admin<n>.sock_info per process. The stat
// replies are stats.GenerateStat's; the file contents are the same for
// every seed-1 snapshot.
func writeSnapshot(dir string, sz size) (bytesTotal int64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	for i, data := range stats.GenerateStat(sz.Procs, sz.Frontends, sz.Backends, sz.ServersPerBackend, 1) {
		name := "admin" + strconv.Itoa(i+1) + ".sock"
		info := fmt.Sprintf(showInfo, i+1, 1000+i, 60+i*7)
		if err := os.WriteFile(filepath.Join(dir, spool.FileName(name, spool.Stat)), data, 0o644); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, spool.FileName(name, spool.Info)), []byte(info), 0o644); err != nil {
			return 0, err
		}
		bytesTotal += int64(len(data) + len(info))
	}
	return bytesTotal, nil
}

// countRows counts the data rows of the show stat files of dir.
func countRows(dir string) (int, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*_stat"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		for line := range strings.Lines(string(b)) {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				n++
			}
		}
	}
	return n, nil
}
