package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// With source = kafka, a shipped snapshot reaches carbon under its
// host's prefix, and its cluster's bucket under the cluster's.
func TestRunFleet(t *testing.T) {
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	carbon := haproxytest.NewCarbon(t)
	kc := haproxytest.Broker(t, "snaps", 2)
	// Records stamped far from the clock (1, 2036) are refused; the one
	// of now is rendered.
	now := time.Now().Unix()
	for _, epoch := range []int64{1, 2085000000, now} {
		rec := record.Record{Host: "lb-7.example", Cluster: "ams", Epoch: epoch}
		for _, f := range []string{"admin1.sock_info", "admin1.sock_stat"} {
			rec.Files = append(rec.Files, spool.File{Name: f, Data: haproxytest.Example(t, f)})
		}
		b, err := record.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		haproxytest.Produce(t, kc.ListenAddrs(), "snaps", []byte("ams"), b)
	}
	conf := filepath.Join(base, "p.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[process]\nsrc-dir = %s/incoming\nsource = kafka\n"+
		"[graphite]\nserver = 127.0.0.1\nport = %d\n"+
		"[kafka]\nbrokers = %s\nsnapshot-topic = snaps\nmetrics-sink = false\n[fleet]\ninterval = 1\ngrace = 0.5\n",
		base, carbon.Port(), strings.Join(kc.ListenAddrs(), ","))), 0o644)
	d := startDaemon(conf)
	want := []string{
		"loadbalancers.lb-7_example.haproxy.frontend.www_example_com.stot ",
		"loadbalancers.ams.haproxy.frontend.www_example_com.stot ",
	}
	missing := func() []string {
		var out []string
		lines := strings.Join(carbon.Lines(), "\n")
		for _, w := range want {
			if !strings.Contains(lines, w) {
				out = append(out, w)
			}
		}
		return out
	}
	// Poll, not WaitFor: the log is written by run until it returns.
	arrived := haproxytest.Poll(time.Minute, func() bool { return len(missing()) == 0 })
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, d.stderr.String())
	}
	if !arrived {
		t.Fatalf("carbon lacks %q; log:\n%s", missing(), d.stderr.String())
	}
	if n := strings.Count(d.stderr.String(), "too far from this host's clock"); n != 2 {
		t.Errorf("%d records refused for their time, want 2; log:\n%s", n, d.stderr.String())
	}
	for _, l := range carbon.Lines() {
		if f := strings.Fields(l); len(f) == 3 && f[2] != strconv.FormatInt(now, 10) && !strings.HasPrefix(f[0], "loadbalancers.ams.") {
			t.Errorf("a line stamped other than now: %s", l)
		}
	}
}
