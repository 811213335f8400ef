package haproxy

import (
	"testing"
	"time"
)

// A real reply of HAProxy 2.6's master CLI, with an old worker draining.
const showProc = `#<PID>          <type>          <reloads>       <uptime>        <version>      
14697           master          3 [failed: 0]   0d00h00m09s     2.6.12-1+deb12u4
# workers
14787           worker          0               0d00h00m00s     2.6.12-1+deb12u4
# old workers
14772           worker          1               0d00h00m02s     2.6.12-1+deb12u4
14700           worker          2               1d02h03m04s     2.6.12-1+deb12u4
# programs

`

func TestParseProc(t *testing.T) {
	p, err := ParseProc([]byte(showProc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Worker{
		{PID: 14787, Reloads: 0, Uptime: 0},
		{PID: 14772, Old: true, Reloads: 1, Uptime: 2 * time.Second},
		{PID: 14700, Old: true, Reloads: 2, Uptime: 26*time.Hour + 3*time.Minute + 4*time.Second},
	}
	if p.MasterReloads != 3 || len(p.Workers) != len(want) {
		t.Fatalf("got %+v", p)
	}
	for i := range want {
		if p.Workers[i] != want[i] {
			t.Errorf("worker %d = %+v, want %+v", i, p.Workers[i], want[i])
		}
	}
	for _, bad := range []string{"", "Unknown command\n\n", "#<PID> <type>\nx worker 0 0d00h00m00s\n"} {
		if _, err := ParseProc([]byte(bad)); err == nil {
			t.Errorf("ParseProc(%q) accepted", bad)
		}
	}
}

func TestWorkerCommand(t *testing.T) {
	if got := WorkerCommand(14772, ShowStat); got != "@!14772 show stat" {
		t.Fatalf("WorkerCommand = %q", got)
	}
}
