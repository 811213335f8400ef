// Command haproxystats-process follows the spool written by
// haproxystats-pull, turns every snapshot into Graphite metrics
// aggregated across HAProxy processes, sends them to Graphite (and
// local-store and Kafka, when configured), and removes each snapshot once
// every sink accepted it. With a [prometheus] section it also serves the
// newest snapshot on a Prometheus scrape endpoint; that server, or the
// one of [process] health-listen, answers the /healthz and /readyz
// probes. With [process] source = kafka (fleet mode) it consumes the
// snapshots a fleet of haproxystats-pull ships instead, and adds an
// aggregate per cluster.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"sync"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/cli"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/fleet"
	"github.com/haproxystats-go/haproxystats/internal/graphite"
	"github.com/haproxystats-go/haproxystats/internal/health"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/kafkasink"
	"github.com/haproxystats-go/haproxystats/internal/localstore"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/prometheus"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

var command = cli.Command{
	Name: "haproxystats-process",
	Summary: "Processes statistics from HAProxy and pushes them to Graphite and, as\n" +
		"configured, to local-store and Kafka, and serves them on a Prometheus scrape\n" +
		"endpoint. In fleet mode ([process] source = kafka) it consumes the snapshots\n" +
		"a fleet of haproxystats-pull ships to Kafka and adds an aggregate per cluster.",
	Program: config.ProcessProgram,
	HasDir:  true,
}

func main() {
	cli.GCPercent(50)
	cli.Main(run)
}

// run is the command's body (cli.RunFunc).
func run(ctx context.Context, stop func(), reload <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	cfg, warnings, err := command.Start(args, stdout)
	if err != nil || cfg == nil {
		return err
	}
	if err := config.CheckSrcDir(cfg.Process.SrcDir); err != nil {
		return err
	}
	// One processor per spool: a second would send every snapshot twice.
	lock, err := spool.TakeLock(cfg.Process.SrcDir, command.Name)
	if err != nil {
		return err
	}
	defer lock.Release()
	log, level := cli.NewLogger(stderr, cfg.Process.LogLevel, cfg.Process.LogFormat)
	for _, w := range warnings {
		log.Warn(w)
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("read host name: %w", err)
	}
	version, commit, goVersion := cli.Build()
	log.Info("haproxystats-process started", "version", version, "commit", commit, "go", goVersion, "pid", os.Getpid(), "src_dir", cfg.Process.SrcDir)
	context.AfterFunc(ctx, func() {
		stop()
		cli.Notify(log, "STOPPING=1")
		log.Info("received signal, stopping")
	})

	opts := options(cfg, host)
	monitor := health.New(thresholds(cfg))
	out, err := openSinks(cfg, opts, host, monitor, log)
	if err != nil {
		return err
	}
	p := process.New(cfg.Process, opts, out.sinks, log)
	p.MaxReplySize = cfg.Pull.MaxReplySize
	p.Watch(monitor)
	go reloads(ctx, reload, args, cfg, host, p, monitor, level, log)
	if cfg.Process.Source == "kafka" {
		err = runFleet(ctx, cfg, p, monitor, log)
	} else {
		err = runLocal(ctx, cfg, p, monitor, log)
	}
	out.close(log)
	if err != nil {
		return err
	}
	log.Info("exiting with status 0")
	return nil
}

// outputs are the sinks of the configuration, and what must be closed
// when the workers are done.
type outputs struct {
	sinks    []process.Sink
	graphite *graphite.Sender
	kafka    *kafkasink.Sink    // nil without [kafka] metrics sink
	server   *prometheus.Server // nil without [prometheus]
	health   *health.Server     // nil without [process] health-listen
}

// openSinks opens every sink of cfg. The HTTP servers listen first: a
// port in use or a bad web configuration file is a start-up error,
// before anything else runs. Both answer the probes of monitor.
func openSinks(cfg *config.Config, opts stats.Options, host string, monitor *health.Monitor, log *slog.Logger) (*outputs, error) {
	out := &outputs{}
	if addr := cfg.Process.HealthListen; addr != "" {
		srv, err := health.Listen(addr, monitor.Handler(), log.With("component", "health"))
		if err != nil {
			return nil, err
		}
		out.health = srv
	}
	var promSink *prometheus.Sink
	if cfg.Prometheus != nil {
		plog := log.With("sink", "prometheus")
		version, commit, _ := cli.Build()
		promSink = prometheus.New(version, commit, spool.LayoutOf(cfg.Process.SrcDir).Scratch, plog)
		if cfg.Logs != nil {
			promSink.LatencyMaxSeries = cfg.Logs.MaxSeries
		}
		promSink.Health(monitor.Status)
		srv, err := prometheus.Listen(*cfg.Prometheus, promSink, monitor.Handler(), plog)
		if err != nil {
			out.close(log)
			return nil, err
		}
		out.server = srv
	}
	out.graphite = graphite.New(cfg.Graphite, log.With("sink", "graphite"))
	out.sinks = []process.Sink{out.graphite}
	if cfg.LocalStore != nil {
		out.sinks = append(out.sinks, localstore.New(*cfg.LocalStore))
	}
	if cfg.Kafka != nil && cfg.Kafka.MetricsSink {
		producer, err := kafkasink.New(*cfg.Kafka, kafkasink.HostKey(cfg.Graphite.FQDN, host), log.With("sink", "kafka"))
		if err != nil {
			out.close(log)
			return nil, err
		}
		out.kafka = producer
		out.sinks = append(out.sinks, producer)
	}
	if promSink != nil {
		out.sinks = append(out.sinks, promSink)
	}
	return out, nil
}

// close flushes and closes the sinks, within 5 seconds: what is not
// accepted by then stays on disk for the next start.
func (o *outputs) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var closing sync.WaitGroup
	if o.health != nil {
		closing.Go(func() {
			if err := o.health.Shutdown(ctx); err != nil {
				log.Warn("health endpoint closed before its probes finished", "err", err)
			}
		})
	}
	if o.server != nil {
		// Last in the flow of data: scrapes were served until the workers
		// were done; those in progress get the same bounded time.
		closing.Go(func() {
			if err := o.server.Shutdown(ctx); err != nil {
				log.Warn("prometheus endpoint closed before its scrapes finished", "err", err)
			}
		})
	}
	if o.kafka != nil {
		closing.Go(func() {
			if err := o.kafka.Close(ctx); err != nil {
				log.Warn("kafka records not all acknowledged at exit; those snapshots stay on disk", "err", err)
			}
		})
	}
	if o.graphite != nil {
		if err := o.graphite.Close(ctx); err != nil {
			log.Warn("graphite queue not fully flushed at exit; those snapshots stay on disk", "err", err)
		}
	}
	closing.Wait()
}

// runLocal follows the spool in src-dir until ctx is done ([process]
// source = local, the default).
func runLocal(ctx context.Context, cfg *config.Config, p *process.Processor, monitor *health.Monitor, log *slog.Logger) error {
	snapshots, err := spool.Watch(ctx, cfg.Process.SrcDir, log)
	if err != nil {
		return err
	}
	monitor.SetQueue("snapshots waiting in src-dir", p.Queued)
	ready(ctx, monitor, log)
	return p.Run(ctx, snapshots)
}

// runFleet consumes the snapshot topic in the consumer group until ctx
// is done ([process] source = kafka).
func runFleet(ctx context.Context, cfg *config.Config, p *process.Processor, monitor *health.Monitor, log *slog.Logger) error {
	flog := log.With("component", "fleet")
	g := cfg.Graphite
	c := fleet.NewConsumer(p, fleet.Paths{Namespace: g.Namespace, PrefixHostname: g.PrefixHostname, FQDN: g.FQDN},
		cfg.Fleet.Interval, cfg.Fleet.Grace, cfg.Fleet.Window, flog)
	c.MaxInFlight = cfg.Kafka.RecordsInFlight
	c.MaxAge, c.MaxAhead = fleet.DefaultMaxAge, fleet.DefaultMaxAhead
	c.Spill.Dir = spool.LayoutOf(cfg.Process.SrcDir).Scratch // big records in files with no name, beside the spool
	src, err := kafka.NewConsumer(*cfg.Kafka, kafka.ConsumerHooks{Revoked: c.Revoked, Lost: c.Lost}, flog)
	if err != nil {
		return err
	}
	c.Attach(src)
	c.Loop = monitor.Loop("fleet consumer")
	monitor.SetQueue("records behind the ends of the partitions", c.Lag)
	monitor.SetClusters(c.Clusters)
	flog.Info("consuming snapshots", "topic", cfg.Kafka.SnapshotTopic, "group", cfg.Kafka.Group)
	ready(ctx, monitor, log)
	return c.Run(ctx)
}

// options turns the configuration into processing options. The group
// patterns were compiled once by config validation already.
func options(cfg *config.Config, host string) stats.Options {
	g := cfg.Graphite
	p := cfg.Process
	o := stats.Options{
		Prefix:            metric.Prefix(g.Namespace, g.PrefixHostname, g.FQDN, host),
		PerProcess:        p.PerProcessMetrics,
		Percentages:       p.CalculatePercentages,
		AggrServers:       p.AggrServerMetrics,
		Status:            p.StatusMetrics,
		ExcludeFromCounts: p.ExcludeFromCounts,
		StickTables:       p.StickTableMetrics,
		FrontendMetrics:   p.FrontendMetrics,
		BackendMetrics:    p.BackendMetrics,
		ServerMetrics:     p.ServerMetrics,
	}
	if len(p.ExcludeServerStates) > 0 {
		o.ExcludeServerStates = map[string]bool{}
		for _, st := range p.ExcludeServerStates {
			o.ExcludeServerStates[stats.NormalizeState(st)] = true
		}
	}
	if g.GroupNamespace != nil {
		o.Groups = &stats.Grouping{
			Namespace:    *g.GroupNamespace,
			DoubleWrites: g.GroupNamespaceDoubleWrites,
			Frontend:     groups(cfg.FrontendGroups),
			Backend:      groups(cfg.BackendGroups),
			Server:       groups(cfg.ServerGroups),
		}
	}
	return o
}

func groups(gs []config.Group) []stats.Group {
	out := make([]stats.Group, len(gs))
	for i, g := range gs {
		out[i] = stats.Group{Name: g.Name, Re: regexp.MustCompile(g.Pattern)}
	}
	return out
}

// reloads loads the configuration again at every value of reload
// (SIGHUP) until ctx is done. A configuration that fails to load is
// logged and the one in force kept. Otherwise the log level, the metric
// lists, the optional blocks, the grouping, the Graphite prefix and the
// exclusion files change for the next snapshots; what the running sinks
// and workers were built with (the spool, workers, source, [graphite]'s
// server and sender, [local-store], [kafka], [prometheus], [fleet]) is
// logged as needing a restart and kept. The daemon never stops on a
// reload.
func reloads(ctx context.Context, reload <-chan struct{}, args []string, cfg *config.Config, host string, p *process.Processor, monitor *health.Monitor, level *slog.LevelVar, log *slog.Logger) {
	current := cfg // what the last reload put in force
	command.Reloads(ctx, reload, args, log, func(next *config.Config) {
		cli.SetLevel(level, next.Process.LogLevel)
		for _, r := range needRestart(cfg, next) {
			cli.NeedsRestart(log, r)
		}
		p.Reconfigure(next.Process, options(next, host))
		monitor.SetThresholds(thresholds(next))
		log.Info("configuration reloaded", "changed", config.ProcessChanges(current, next))
		current = next
	})
}

// needRestart lists what differs between a and b that a running
// haproxystats-process cannot take in place.
func needRestart(a, b *config.Config) []string {
	var out config.Changes
	add := out.Add
	pa, pb := a.Process, b.Process
	add("[process] log-format", pa.LogFormat != pb.LogFormat)
	add("[process] src-dir", pa.SrcDir != pb.SrcDir)
	add("[process] workers", pa.Workers != pb.Workers)
	add("[process] source", pa.Source != pb.Source)
	add("[process] health-listen", pa.HealthListen != pb.HealthListen)
	add("[pull] max-reply-size", a.Pull.MaxReplySize != b.Pull.MaxReplySize)
	ga, gb := a.Graphite, b.Graphite
	add("[graphite] server, port and the sender's settings", ga.Server != gb.Server || ga.Port != gb.Port || ga.Retries != gb.Retries ||
		ga.Interval != gb.Interval || ga.Backoff != gb.Backoff || ga.ConnectTimeout != gb.ConnectTimeout ||
		ga.WriteTimeout != gb.WriteTimeout || ga.Delay != gb.Delay || ga.QueueSize != gb.QueueSize || ga.MaxLinesPerSecond != gb.MaxLinesPerSecond)
	add("[local-store]", !reflect.DeepEqual(a.LocalStore, b.LocalStore))
	add("[kafka]", !reflect.DeepEqual(a.Kafka, b.Kafka))
	add("[prometheus]", !reflect.DeepEqual(a.Prometheus, b.Prometheus))
	add("[fleet]", a.Fleet != b.Fleet)
	return out
}

// ready tells systemd the daemon is ready (its sinks are open and its
// source followed) and pings its watchdog while monitor finds it alive:
// a stuck worker or consumer gets the daemon restarted.
func ready(ctx context.Context, monitor *health.Monitor, log *slog.Logger) {
	cli.Notify(log, "READY=1")
	go cli.Watchdog(ctx, log, func() bool { return monitor.Status().Live })
}

// thresholds are the readiness and liveness bounds of cfg: the age of
// the newest snapshot is counted in pull intervals, [pull] pull-interval
// or, for snapshots from Kafka, [fleet] interval (the hosts' cadence).
func thresholds(cfg *config.Config) health.Thresholds {
	interval := cfg.Pull.PullInterval
	if cfg.Process.Source == "kafka" {
		interval = cfg.Fleet.Interval
	}
	p := cfg.Process
	return health.Thresholds{
		MaxAge:          p.MaxSnapshotAge(interval),
		MaxQueue:        p.ReadyMaxQueue,
		MaxSinksFailing: p.ReadyMaxSinksFailing,
		MaxStall:        p.LiveMaxStall,
	}
}
