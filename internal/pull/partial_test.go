package pull

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// With allow-partial, a round commits what answered within pull-timeout
// and lists the rest in the manifest.
func TestPartialRound(t *testing.T) {
	for _, b := range []haproxytest.Behavior{haproxytest.Hang, haproxytest.Truncate, haproxytest.Garbage} {
		cfg := testConfig(t)
		cfg.AllowPartial = true
		// What a hung socket's round waits: the good socket must answer
		// within it, which on the busiest machine takes milliseconds.
		cfg.PullTimeout = 2 * time.Second
		cfg.SocketDir = t.TempDir()
		haproxytest.UnixSocket(t, cfg.SocketDir, "good.sock", info, stat)
		haproxytest.UnixSocket(t, cfg.SocketDir, "bad.sock", info, stat).Set(b, 0)
		p := newPuller(t, cfg)
		p.Round(context.Background(), time.Unix(1500000000, 0))
		snap := filepath.Join(cfg.DstDir, "1500000000")
		got := readDir(t, snap)
		if want := []string{".manifest", ".pull-stats", "good.sock_info", "good.sock_stat"}; !slices.Equal(got, want) {
			t.Fatalf("behaviour %d: snapshot = %v, want %v", b, got, want)
		}
		missing, ok, err := spool.ReadManifest(snap)
		if err != nil || !ok || len(missing) != 1 || !strings.HasPrefix(missing[0], "bad.sock: ") {
			t.Fatalf("behaviour %d: manifest = %q, %v, %v", b, missing, ok, err)
		}
		if p.Committed.Load() != 1 {
			t.Errorf("committed = %d", p.Committed.Load())
		}
	}
}

func TestPartialRoundNothingAnswered(t *testing.T) {
	cfg := testConfig(t)
	cfg.AllowPartial = true
	cfg.Servers = []config.Server{{Network: "unix", Address: filepath.Join(t.TempDir(), "none.sock"), Name: "none.sock"}}
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if got := readDir(t, cfg.DstDir); len(got) != 0 || p.Failed.Load() != 1 {
		t.Fatalf("dst-dir = %v, failed = %d; want no commit of an empty round", got, p.Failed.Load())
	}
}

// A fake master CLI: show proc lists a current and an old worker, and
// each is reached with @!<pid>.
func TestMasterCLI(t *testing.T) {
	dir := t.TempDir()
	m := haproxytest.UnixSocket(t, dir, "master.sock", nil, nil)
	m.SetReply("show proc", []byte(`#<PID>          <type>          <reloads>       <uptime>        <version>
100             master          4 [failed: 0]   0d01h00m00s     2.6.12
# workers
300             worker          0               0d00h00m10s     2.6.12
# old workers
200             worker          1               0d00h05m00s     2.6.12
# programs

`))
	for _, pid := range []string{"200", "300"} {
		m.SetReply("@!"+pid+" show info", []byte("Name: HAProxy\nPid: "+pid+"\n\n"))
		m.SetReply("@!"+pid+" show stat", []byte("# pxname,svname,stot,\nweb,FRONTEND,"+pid+",\n\n"))
	}
	cfg := testConfig(t)
	cfg.Servers = []config.Server{{Network: "unix", Address: filepath.Join(dir, "master.sock"), Name: "master.sock", Master: true}}
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	snap := filepath.Join(cfg.DstDir, "1500000000")
	want := []string{".pull-stats", "master.sock@200_info", "master.sock@200_stat", "master.sock@300_info", "master.sock@300_stat"}
	if got := readDir(t, snap); !slices.Equal(got, want) {
		t.Fatalf("snapshot = %v, want %v", got, want)
	}
	b, _ := os.ReadFile(filepath.Join(snap, "master.sock@200_stat"))
	if string(b) != "# pxname,svname,stot,\nweb,FRONTEND,200,\n\n" {
		t.Errorf("old worker's reply = %q", b)
	}
	st, _ := spool.ReadPullStats(snap)
	for k, v := range map[string]float64{"MasterWorkers": 1, "MasterOldWorkers": 1, "MasterOldestWorkerAge": 300, "MasterReloads": 4} {
		if st[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, st[k], v, st)
		}
	}
	for _, c := range m.Commands() {
		if c != "show proc" && !strings.HasPrefix(c, "@!") {
			t.Errorf("unexpected command %q sent to the master CLI", c)
		}
		if strings.HasPrefix(c, "@!") && !strings.HasSuffix(c, " show info") && !strings.HasSuffix(c, " show stat") &&
			!strings.HasSuffix(c, " show info typed") && !strings.HasSuffix(c, " show stat typed") && !strings.HasSuffix(c, " show table") {
			t.Errorf("non read-only command %q", c)
		}
	}
}
