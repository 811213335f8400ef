package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/record"
)

// With ship = kafka, the command's snapshots reach the snapshot topic as
// records of the configured host and cluster, and leave dst-dir.
func TestRunShipping(t *testing.T) {
	base := t.TempDir()
	sockets := filepath.Join(base, "sockets")
	os.Mkdir(sockets, 0o755)
	read := func(f string) []byte { return haproxytest.Example(t, f) }
	haproxytest.UnixSocket(t, sockets, "admin1.sock", read("admin1.sock_info"), read("admin1.sock_stat"))
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "snaps"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	conf := filepath.Join(base, "pull.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[pull]\nsocket-dir = %s\ndst-dir = %s/incoming\ntmp-dst-dir = %s/incoming.tmp\npull-interval = 1\npull-timeout = 0.5\nship = kafka\n"+
		"[kafka]\nbrokers = %s\nsnapshot-topic = snaps\n[fleet]\nhost = lb-9.example\ncluster = ams\n",
		sockets, base, base, kc.ListenAddrs()[0])), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { code, _, _ := runArgs(ctx, "-f", conf); done <- code }()

	k := config.DefaultKafka()
	k.Brokers, k.SnapshotTopic, k.Group = kc.ListenAddrs(), "snaps", "test"
	cl, err := kafka.NewConsumer(k, kafka.ConsumerHooks{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []record.Record
	deadline := time.Now().Add(15 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		pctx, pcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		for _, r := range cl.Poll(pctx) {
			rec, err := record.Decode(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Key) != "ams" {
				t.Errorf("key %q, want the cluster", r.Key)
			}
			got = append(got, rec)
		}
		pcancel()
		cl.AllowRebalance()
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if len(got) < 2 {
		t.Fatalf("%d records in the topic, want 2", len(got))
	}
	r := got[0]
	if r.Host != "lb-9.example" || r.Cluster != "ams" || len(r.Files) < 2 {
		t.Errorf("record: host %q cluster %q, %d files", r.Host, r.Cluster, len(r.Files))
	}
}
