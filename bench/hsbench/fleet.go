package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// fleetResult is one haproxystats-process with source = kafka draining a
// backlog of small snapshot records into carbon-c-relay.
type fleetResult struct {
	Hosts         int     `json:"hosts"`
	Rounds        int     `json:"rounds"`
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_s"`
	Buckets       int     `json:"buckets"`
	Complete      int     `json:"buckets_with_every_host"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
}

// example13 are the reply files of the README's worked example (two
// processes): the size of a small snapshot.
func example13() ([]spool.File, error) {
	var files []spool.File
	for _, name := range []string{"admin1.sock_info", "admin1.sock_stat", "admin2.sock_info", "admin2.sock_stat"} {
		b, err := os.ReadFile(filepath.Join("internal", "stats", "testdata", "example13", name))
		if err != nil {
			return nil, err
		}
		files = append(files, spool.File{Name: name, Data: b})
	}
	return files, nil
}

// measureFleet produces hosts × rounds records of one cluster into a
// Kafka-protocol broker (franz-go's kfake) while no consumer runs, then
// starts bin/haproxystats-process with source = kafka and measures until
// every cluster bucket reached the null carbon behind carbon-c-relay
// with every host.
func measureFleet(ctx context.Context, bin, relay, work string, hosts, rounds int) (fleetResult, error) {
	r := fleetResult{Hosts: hosts, Rounds: rounds, Records: hosts * rounds}
	dir, err := os.MkdirTemp(work, "fleet-")
	if err != nil {
		return r, err
	}
	const topic = "haproxystats-snapshots"
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic))
	if err != nil {
		return r, err
	}
	defer kc.Close()
	kcfg := config.DefaultKafka()
	kcfg.Brokers = kc.ListenAddrs()
	prod, err := kafka.NewProducer(kcfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return r, err
	}
	files, err := example13()
	if err != nil {
		prod.Close()
		return r, err
	}
	const t0 = 1600000000
	for i := range rounds {
		for h := range hosts {
			rec := record.Record{Host: fmt.Sprintf("lb-%02d.dc1", h), Cluster: "dc1", Epoch: t0 + int64(i), Files: files}
			b, err := record.Encode(rec)
			if err != nil {
				prod.Close()
				return r, err
			}
			if err := prod.Produce(ctx, []byte(rec.Cluster), b); err != nil {
				prod.Close()
				return r, err
			}
		}
	}
	prod.Close()

	const fleetHosts = "dc1.haproxy.haproxystats.FleetHosts"
	out, err := newSink(fleetHosts)
	if err != nil {
		return r, err
	}
	defer out.close()
	relayPort, stopRelay, err := startRelay(ctx, relay, dir, out.port(), []string{"-q", "1000000", "-b", "25000"})
	if err != nil {
		return r, err
	}
	defer stopRelay()
	if err := os.MkdirAll(filepath.Join(dir, "incoming"), 0o755); err != nil {
		return r, err
	}
	conf := filepath.Join(dir, "haproxystats.conf")
	text := fmt.Sprintf(`[DEFAULT]
loglevel = warning
[process]
src-dir = %s
source = kafka
workers = 4
[kafka]
brokers = %s
metrics-sink = false
[fleet]
interval = 1
grace = 5
[graphite]
server = 127.0.0.1
port = %d
namespace = loadbalancers
max-lines-per-second = 0
`, filepath.Join(dir, "incoming"), strings.Join(kc.ListenAddrs(), ","), relayPort)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return r, err
	}
	t := time.Now()
	cmd, err := start(filepath.Join(dir, "process.log"), nil, filepath.Join(bin, "haproxystats-process"), "-f", conf)
	if err != nil {
		return r, err
	}
	defer stop(cmd)
	complete := func() int {
		n := 0
		for i := range rounds {
			if v, ok := out.value(fleetHosts, t0+int64(i)); ok && v == float64(hosts) {
				n++
			}
		}
		return n
	}
	if err := waitFor(ctx, 300*time.Second, "every cluster bucket", func() bool { return complete() == rounds }); err != nil {
		r.Complete = complete()
		return r, fmt.Errorf("%w: %d of %d (log: %s)", err, r.Complete, rounds, filepath.Join(dir, "process.log"))
	}
	took := time.Since(t)
	r.Seconds = took.Seconds()
	r.RecordsPerSec = float64(r.Records) / took.Seconds()
	r.Buckets, r.Complete = rounds, complete()
	hwm, err := memKB(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return r, err
	}
	r.PeakRSSMB = mb(hwm)
	return r, nil
}
