package haproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Worker is one HAProxy worker process as the master CLI's `show proc`
// lists it.
type Worker struct {
	PID     int
	Old     bool          // an old worker: replaced by a reload, still draining connections
	Reloads int           // reloads this worker has survived
	Uptime  time.Duration // since the worker started
}

// Procs is a parsed `show proc` reply.
type Procs struct {
	MasterReloads int      // reloads the master has done since it started
	Workers       []Worker // current workers first, then old ones
}

// ParseProc parses the reply of the master CLI's `show proc` (HAProxy
// management guide, "show proc"):
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	14697           master          3 [failed: 0]   0d00h00m09s     2.6.12
//	# workers
//	14787           worker          0               0d00h00m00s     2.6.12
//	# old workers
//	14772           worker          1               0d00h00m02s     2.6.12
//	# programs
func ParseProc(reply []byte) (Procs, error) {
	var p Procs
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(reply))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#<PID>"):
			continue
		case strings.HasPrefix(line, "#"):
			section = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			return p, fmt.Errorf("show proc: unexpected line %q", line)
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 {
			return p, fmt.Errorf("show proc: bad pid in %q", line)
		}
		reloads, _ := strconv.Atoi(f[2])
		switch {
		case f[1] == "master":
			p.MasterReloads = reloads
		case f[1] == "worker" && (section == "workers" || section == "old workers"):
			up := f[3]
			if strings.HasPrefix(f[3], "[") { // "3 [failed: 0]" takes three fields
				up = f[len(f)-2]
			}
			p.Workers = append(p.Workers, Worker{PID: pid, Old: section == "old workers", Reloads: reloads, Uptime: parseUptime(up)})
		}
	}
	if len(p.Workers) == 0 {
		return p, fmt.Errorf("show proc lists no worker")
	}
	return p, nil
}

// parseUptime reads HAProxy's "0d00h00m09s"; it returns 0 for anything
// else.
func parseUptime(s string) time.Duration {
	var d, h, m, sec int
	if _, err := fmt.Sscanf(s, "%dd%dh%dm%ds", &d, &h, &m, &sec); err != nil {
		return 0
	}
	return time.Duration(((d*24+h)*60+m)*60+sec) * time.Second
}
