package pull

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

var (
	infoTyped = []byte("0.Name.1:POS:str:HAProxy\n1.Version.1:POS:str:2.6.12\n18.CumConns.1:MCP:u32:10\n\n")
	statTyped = []byte("F.2.0.0.pxname.1:KNS:str:web\nF.2.0.7.stot.1:MCP:u64:10\n\n")
)

// commandsSince returns the commands s received after the first n.
func commandsSince(s *haproxytest.Socket, n int) []string { return s.Commands()[n:] }

func typedSocket(t *testing.T, dir, name string) *haproxytest.Socket {
	s := haproxytest.UnixSocket(t, dir, name, info, stat)
	s.SetReply("show info typed", infoTyped)
	s.SetReply("show stat typed", statTyped)
	return s
}

// The typed dumps are fetched on first contact with a socket, not in
// the following rounds, and again once its HAProxy version changes.
func TestTypedDumpsOncePerVersion(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	s := typedSocket(t, cfg.SocketDir, "a.sock")
	p := newPuller(t, cfg)
	withTyped := []string{".pull-stats", "a.sock_info", "a.sock_infotyped", "a.sock_stat", "a.sock_stattyped"}
	plain := []string{".pull-stats", "a.sock_info", "a.sock_stat"}
	seen := 0
	round := func(ts int64, wantFiles []string, wantTyped int) {
		t.Helper()
		p.Round(context.Background(), time.Unix(ts, 0))
		snap := filepath.Join(cfg.DstDir, strconv.FormatInt(ts, 10))
		if got := readDir(t, snap); !slices.Equal(got, wantFiles) {
			t.Fatalf("round %d: snapshot = %v, want %v", ts, got, wantFiles)
		}
		cmds := commandsSince(s, seen)
		seen += len(cmds)
		typed := 0
		for _, c := range cmds {
			if c == "show info typed" || c == "show stat typed" {
				typed++
			}
		}
		if typed != wantTyped {
			t.Errorf("round %d: commands %q, want %d typed ones", ts, cmds, wantTyped)
		}
		if slices.Contains(wantFiles, "a.sock_stattyped") {
			for name, want := range map[string][]byte{"a.sock_infotyped": infoTyped, "a.sock_stattyped": statTyped} {
				if b, _ := os.ReadFile(filepath.Join(snap, name)); string(b) != string(want) {
					t.Errorf("round %d: %s = %q, want %q", ts, name, b, want)
				}
			}
		}
	}
	round(1500000000, withTyped, 2)
	round(1500000001, plain, 0)
	round(1500000002, plain, 0)
	// An upgrade: the same socket now answers with another version.
	s.SetReply("show info", []byte("Name: HAProxy\nVersion: 3.0.5\nProcess_num: 1\n\n"))
	round(1500000003, withTyped, 2)
	round(1500000004, plain, 0)
	if p.Committed.Load() != 5 || p.Failed.Load() != 0 {
		t.Errorf("committed %d, failed %d; want 5, 0", p.Committed.Load(), p.Failed.Load())
	}
}

// A HAProxy that refuses the typed commands (older than 1.7, or an
// error) does not fail the round, leaves no typed file behind, and is
// not asked again until its version changes.
func TestTypedRefusedDoesNotFailRound(t *testing.T) {
	for name, reply := range map[string][]byte{
		"unknown command":    []byte("Unknown command. Please enter one of the following commands only :\n\n"),
		"truncated":          statTyped[:20],
		"permission denied":  []byte("Permission denied\n\n"),
		"plain CSV instead":  stat,
		"empty":              {},
		"info typed instead": infoTyped,
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.SocketDir = t.TempDir()
			s := typedSocket(t, cfg.SocketDir, "a.sock")
			s.SetReply("show stat typed", reply)
			p := newPuller(t, cfg)
			p.Round(context.Background(), time.Unix(1500000000, 0))
			if got, want := readDir(t, filepath.Join(cfg.DstDir, "1500000000")), []string{".pull-stats", "a.sock_info", "a.sock_stat"}; !slices.Equal(got, want) {
				t.Fatalf("snapshot = %v, want %v", got, want)
			}
			n := len(s.Commands())
			p.Round(context.Background(), time.Unix(1500000001, 0))
			if cmds := slices.DeleteFunc(commandsSince(s, n), func(c string) bool { return c == "show table" }); !slices.Equal(cmds, []string{"show info", "show stat"}) && !slices.Equal(cmds, []string{"show stat", "show info"}) {
				t.Errorf("second round sent %q, want only show info and show stat (and show table)", cmds)
			}
			if p.Committed.Load() != 2 || p.Failed.Load() != 0 {
				t.Errorf("committed %d, failed %d; want 2, 0", p.Committed.Load(), p.Failed.Load())
			}
		})
	}
}

// Typed dumps fetched in a round that is then discarded are fetched
// again: process never saw them.
func TestTypedAfterDiscardedRound(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	typedSocket(t, cfg.SocketDir, "a.sock")
	bad := haproxytest.UnixSocket(t, cfg.SocketDir, "b.sock", info, stat)
	bad.Set(haproxytest.Garbage, 0)
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if p.Failed.Load() != 1 {
		t.Fatalf("failed = %d, want the round discarded", p.Failed.Load())
	}
	bad.Set(haproxytest.Normal, 0)
	p.Round(context.Background(), time.Unix(1500000001, 0))
	got := readDir(t, filepath.Join(cfg.DstDir, "1500000001"))
	if !slices.Contains(got, "a.sock_infotyped") || !slices.Contains(got, "a.sock_stattyped") {
		t.Errorf("snapshot = %v, want a.sock's typed dumps", got)
	}
}

// Through a master CLI every worker is a unit of its own: its typed
// dumps are asked with @!<pid>, once per worker, and a worker that
// exits is forgotten.
func TestTypedThroughMasterCLI(t *testing.T) {
	dir := t.TempDir()
	m := haproxytest.UnixSocket(t, dir, "master.sock", nil, nil)
	procs := func(pids ...string) []byte {
		b := "#<PID>          <type>          <reloads>       <uptime>        <version>\n100             master          1 [failed: 0]   0d01h00m00s     2.6.12\n# workers\n"
		for _, pid := range pids {
			b += pid + "             worker          0               0d00h00m10s     2.6.12\n"
		}
		return []byte(b + "# programs\n\n")
	}
	for _, pid := range []string{"200", "300"} {
		m.SetReply("@!"+pid+" show info", []byte("Name: HAProxy\nVersion: 2.6.12\nPid: "+pid+"\n\n"))
		m.SetReply("@!"+pid+" show stat", []byte("# pxname,svname,stot,\nweb,FRONTEND,"+pid+",\n\n"))
		m.SetReply("@!"+pid+" show info typed", infoTyped)
		m.SetReply("@!"+pid+" show stat typed", statTyped)
	}
	cfg := testConfig(t)
	cfg.Servers = []config.Server{{Network: "unix", Address: filepath.Join(dir, "master.sock"), Name: "master.sock", Master: true}}
	p := newPuller(t, cfg)
	m.SetReply("show proc", procs("200"))
	p.Round(context.Background(), time.Unix(1500000000, 0))
	want := []string{".pull-stats", "master.sock@200_info", "master.sock@200_infotyped", "master.sock@200_stat", "master.sock@200_stattyped"}
	if got := readDir(t, filepath.Join(cfg.DstDir, "1500000000")); !slices.Equal(got, want) {
		t.Fatalf("snapshot = %v, want %v", got, want)
	}
	// A reload: 300 is the new worker, 200 still drains.
	m.SetReply("show proc", procs("300", "200"))
	p.Round(context.Background(), time.Unix(1500000001, 0))
	want = []string{".pull-stats", "master.sock@200_info", "master.sock@200_stat",
		"master.sock@300_info", "master.sock@300_infotyped", "master.sock@300_stat", "master.sock@300_stattyped"}
	if got := readDir(t, filepath.Join(cfg.DstDir, "1500000001")); !slices.Equal(got, want) {
		t.Fatalf("snapshot after the reload = %v, want %v", got, want)
	}
	m.SetReply("show proc", procs("300"))
	p.Round(context.Background(), time.Unix(1500000002, 0))
	p.typed.mu.Lock()
	defer p.typed.mu.Unlock()
	if _, ok := p.typed.version["master.sock@200"]; ok || len(p.typed.version) != 1 {
		t.Errorf("typed versions = %v, want the exited worker forgotten", p.typed.version)
	}
	for _, c := range m.Commands() {
		if c == "show info typed" || c == "show stat typed" {
			t.Errorf("typed command %q sent to the master itself", c)
		}
	}
}
