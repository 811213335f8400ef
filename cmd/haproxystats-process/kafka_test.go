package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/kafkasink"
)

// With a [kafka] section, a queued snapshot reaches carbon and the topic,
// from one parse, and leaves the spool.
func TestRunWithKafka(t *testing.T) {
	base := t.TempDir()
	snap := filepath.Join(base, "incoming", "1500000000")
	haproxytest.WriteExample(t, snap)
	carbon := haproxytest.NewCarbon(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "lb-stats"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	conf := filepath.Join(base, "p.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[process]\nsrc-dir = %s/incoming\n"+
		"[graphite]\nserver = 127.0.0.1\nport = %d\nprefix-hostname = false\n"+
		"[kafka]\nbrokers = %s\ntopic = lb-stats\nformat = json\n",
		base, carbon.Port(), strings.Join(cluster.ListenAddrs(), ","))), 0o644)
	d := startDaemon(conf)
	carbon.WaitLines(t, 150, time.Minute)
	// Poll, not WaitFor: the log is written by run until it returns; the
	// check after the stop says what is missing.
	haproxytest.Poll(time.Minute, func() bool {
		_, err := os.Stat(snap)
		return os.IsNotExist(err)
	})
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d, want 0; log:\n%s", code, d.stderr.String())
	}
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Fatalf("snapshot still queued; log:\n%s", d.stderr.String())
	}

	hostname, _ := os.Hostname()
	key := kafkasink.HostKey(true, hostname)
	want := fmt.Sprintf(`{"path":"loadbalancers.haproxy.frontend.www_example_com.stot","value":160,"timestamp":1500000000,"host":%q}`, key)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("lb-stats"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
	defer ccancel()
	for found := false; !found; {
		fs := cl.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("topic has no record %s", want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			found = found || string(r.Value) == want
			if string(r.Key) != key {
				t.Errorf("record key %q, want %q", r.Key, key)
			}
		})
	}
}

func TestRunKafkaConfigErrors(t *testing.T) {
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	conf := filepath.Join(base, "p.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[process]\nsrc-dir = %s/incoming\n[kafka]\nacks = every\ntls = on\ntls-ca-file = %s/ca.pem\n", base, base)), 0o644)
	code, _, errOut := runArgs(context.Background(), "-f", conf)
	want := "invalid configuration, no value for option 'brokers' in the section 'kafka'\n" +
		"invalid configuration, section:'kafka' option:'acks' error:must be one of all, leader, none, got 'every'\n" +
		"invalid configuration, section:'kafka' option:'tls-ca-file' error:cannot read: open " + base + "/ca.pem: no such file or directory\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr\n%s\nwant exit 1 and\n%s", code, errOut, want)
	}
}
