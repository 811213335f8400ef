package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// liveResult is one haproxystats-process with source = kafka following a
// simulated fleet that ships live.
type liveResult struct {
	Hosts    int     `json:"hosts"`
	Seconds  int     `json:"seconds"`
	Buckets  int     `json:"buckets"`
	Complete int     `json:"buckets_with_every_host"`
	LagP50   float64 `json:"lag_p50_s"` // the round's records produced → its aggregate in carbon
	LagMax   float64 `json:"lag_max_s"`
}

// example13 are the reply files of the worked example of the original's
// specification (two processes): the size of a small snapshot.
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

// fleetEnv is a broker, carbon-c-relay in front of a null carbon, and
// the configuration of a haproxystats-process with source = kafka.
type fleetEnv struct {
	kc      *kfake.Cluster
	out     *sink
	conf    string
	dir     string
	closers []func()
}

const fleetHosts = "dc1.haproxy.haproxystats.FleetHosts"

func newFleetEnv(ctx context.Context, relay, work string, grace int) (*fleetEnv, error) {
	e := &fleetEnv{}
	var err error
	if e.dir, err = os.MkdirTemp(work, "fleet-"); err != nil {
		return nil, err
	}
	if e.kc, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "haproxystats-snapshots"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "67108864"})); err != nil { // a topic made for big snapshots
		return nil, err
	}
	e.closers = append(e.closers, e.kc.Close)
	if e.out, err = newSink(fleetHosts); err != nil {
		e.close()
		return nil, err
	}
	e.closers = append(e.closers, e.out.close)
	relayPort, stopRelay, err := startRelay(ctx, relay, e.dir, e.out.port(), []string{"-q", "1000000", "-b", "25000"})
	if err != nil {
		e.close()
		return nil, err
	}
	e.closers = append(e.closers, stopRelay)
	if err := os.MkdirAll(filepath.Join(e.dir, "incoming"), 0o755); err != nil {
		e.close()
		return nil, err
	}
	e.conf = filepath.Join(e.dir, "haproxystats.conf")
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
grace = %d
[graphite]
server = 127.0.0.1
port = %d
namespace = loadbalancers
max-lines-per-second = 0
`, filepath.Join(e.dir, "incoming"), strings.Join(e.kc.ListenAddrs(), ","), grace, relayPort)
	if err := os.WriteFile(e.conf, []byte(text), 0o644); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *fleetEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

func (e *fleetEnv) producer() (*kafka.Producer, error) {
	kcfg := config.DefaultKafka()
	kcfg.Brokers = e.kc.ListenAddrs()
	return kafka.NewProducer(kcfg, slog.New(slog.DiscardHandler))
}

// produce sends the records of round epoch of hosts hosts.
func produce(ctx context.Context, prod *kafka.Producer, files []spool.File, hosts int, epoch int64) error {
	for h := range hosts {
		rec := record.Record{Host: fmt.Sprintf("lb-%02d.dc1", h), Cluster: "dc1", Epoch: epoch, Files: files}
		b, err := record.Encode(rec)
		if err != nil {
			return err
		}
		if err := prod.Produce(ctx, []byte(rec.Cluster), b); err != nil {
			return err
		}
	}
	return nil
}

func (e *fleetEnv) startProcess(bin string) (*exec.Cmd, error) {
	return start(filepath.Join(e.dir, "process.log"), nil, filepath.Join(bin, "haproxystats-process"), "-f", e.conf)
}

// measureFleet produces hosts × rounds records of one cluster into a
// Kafka-protocol broker (franz-go's kfake) while no consumer runs, then
// starts bin/haproxystats-process with source = kafka and measures until
// every cluster bucket reached the null carbon behind carbon-c-relay
// with every host.
func measureFleet(ctx context.Context, bin, relay, work string, files []spool.File, hosts, rounds int) (fleetResult, error) {
	r := fleetResult{Hosts: hosts, Rounds: rounds, Records: hosts * rounds}
	e, err := newFleetEnv(ctx, relay, work, 5)
	if err != nil {
		return r, err
	}
	defer e.close()
	prod, err := e.producer()
	if err != nil {
		return r, err
	}
	// A backlog of the last rounds: the consumer refuses records more
	// than a year old (fleet.DefaultMaxAge).
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute).Unix()
	for i := range rounds {
		if err := produce(ctx, prod, files, hosts, t0+int64(i)); err != nil {
			prod.Close()
			return r, err
		}
	}
	prod.Close()
	t := time.Now()
	cmd, err := e.startProcess(bin)
	if err != nil {
		return r, err
	}
	defer stop(cmd)
	complete := func() int {
		n := 0
		for i := range rounds {
			if v, ok := e.out.value(fleetHosts, t0+int64(i)); ok && v == float64(hosts) {
				n++
			}
		}
		return n
	}
	if err := waitFor(ctx, 300*time.Second, "every cluster bucket", func() bool { return complete() == rounds }); err != nil {
		r.Complete = complete()
		return r, fmt.Errorf("%w: %d of %d (log: %s)", err, r.Complete, rounds, filepath.Join(e.dir, "process.log"))
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

// measureFleetLive runs a consumer, then ships, every second for
// seconds, one record per host (the current second's round), and
// measures how long after the round's records were produced its cluster
// bucket reached carbon.
func measureFleetLive(ctx context.Context, bin, relay, work string, hosts, seconds int) (liveResult, error) {
	r := liveResult{Hosts: hosts, Seconds: seconds}
	e, err := newFleetEnv(ctx, relay, work, 2)
	if err != nil {
		return r, err
	}
	defer e.close()
	files, err := example13()
	if err != nil {
		return r, err
	}
	prod, err := e.producer()
	if err != nil {
		return r, err
	}
	defer prod.Close()
	cmd, err := e.startProcess(bin)
	if err != nil {
		return r, err
	}
	defer stop(cmd)
	time.Sleep(2 * time.Second) // the consumer joins its group
	var epochs []int64
	produced := map[int64]time.Time{}
	next := time.Now().Truncate(time.Second).Add(time.Second)
	for range seconds {
		time.Sleep(time.Until(next))
		epoch := next.Unix()
		if err := produce(ctx, prod, files, hosts, epoch); err != nil {
			return r, err
		}
		epochs = append(epochs, epoch)
		produced[epoch] = time.Now()
		next = next.Add(time.Second)
	}
	last := epochs[len(epochs)-1]
	waitFor(ctx, 30*time.Second, "the last bucket", func() bool {
		_, ok := e.out.value(fleetHosts, last)
		return ok
	})
	var lags []time.Duration
	for _, ep := range epochs {
		r.Buckets++
		if v, ok := e.out.value(fleetHosts, ep); ok && v == float64(hosts) {
			r.Complete++
		}
		if at, ok := e.out.arrival(fleetHosts, ep); ok {
			lags = append(lags, at.Sub(produced[ep]))
		}
	}
	if len(lags) > 0 {
		r.LagP50 = median(lags).Seconds()
		r.LagMax = slices.Max(lags).Seconds()
	}
	return r, nil
}

// backlogResult is haproxystats-process (local mode) draining snapshots
// queued while carbon was away.
type backlogResult struct {
	Snapshots int     `json:"snapshots"`
	Seconds   float64 `json:"seconds"` // start → last snapshot removed
	// SnapsPerSec is the drain rate: snapshots removed per second from
	// the first removal to the last, that is without the one-second
	// confirmation the first one waits for.
	SnapsPerSec  float64 `json:"snapshots_per_s"`
	LinesArrived int64   `json:"lines_arrived"`
}

// measureLocalBacklog queues n snapshots of the worked example's size in
// src-dir, as a Graphite outage leaves them, then starts
// haproxystats-process towards carbon-c-relay and measures until every
// snapshot was delivered and removed.
func measureLocalBacklog(ctx context.Context, bin, relay, work string, n int) (backlogResult, error) {
	r := backlogResult{Snapshots: n}
	dir, err := os.MkdirTemp(work, "backlog-")
	if err != nil {
		return r, err
	}
	files, err := example13()
	if err != nil {
		return r, err
	}
	incoming := filepath.Join(dir, "incoming")
	var paths []string
	for i := range n {
		d := filepath.Join(incoming, strconv.Itoa(1600000000+i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return r, err
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(d, f.Name), f.Data, 0o644); err != nil {
				return r, err
			}
		}
		paths = append(paths, d)
	}
	out, err := newSink()
	if err != nil {
		return r, err
	}
	defer out.close()
	port, stopRelay, err := startRelay(ctx, relay, dir, out.port(), []string{"-q", "1000000", "-b", "25000"})
	if err != nil {
		return r, err
	}
	defer stopRelay()
	conf := filepath.Join(dir, "haproxystats.conf")
	if err := os.WriteFile(conf, []byte(processConfig(dir, port, 4, 0)), 0o644); err != nil {
		return r, err
	}
	t := time.Now()
	cmd, err := start(filepath.Join(dir, "process.log"), nil, filepath.Join(bin, "haproxystats-process"), "-f", conf)
	if err != nil {
		return r, err
	}
	defer stop(cmd)
	var first time.Time
	if err := waitFor(ctx, 120*time.Second, "the backlog to drain", func() bool {
		left := 0
		for _, p := range paths {
			if exists(p) {
				left++
			}
		}
		if left < n && first.IsZero() {
			first = time.Now()
		}
		return left == 0
	}); err != nil {
		return r, err
	}
	took := time.Since(t)
	r.Seconds = took.Seconds()
	r.SnapsPerSec = float64(n-1) / time.Since(first).Seconds()
	r.LinesArrived = out.lines.Load()
	return r, nil
}

// snapshotFiles reads the reply files of the snapshot directory dir.
func snapshotFiles(dir string) ([]spool.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []spool.File
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files = append(files, spool.File{Name: e.Name(), Data: b})
	}
	return files, nil
}
