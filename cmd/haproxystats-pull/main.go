// Command haproxystats-pull pulls statistics from HAProxy over its stats
// sockets (UNIX and TCP) on a fixed cadence and commits each round as one
// snapshot directory into the spool that haproxystats-process reads.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/cli"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/pull"
	"github.com/haproxystats-go/haproxystats/internal/ship"
)

var command = cli.Command{
	Name: "haproxystats-pull",
	Summary: "Pulls statistics from HAProxy daemon over UNIX/TCP socket(s), master\n" +
		"CLIs and stats pages (HTTP/HTTPS) into a spool, for haproxystats-process.\n" +
		"In fleet mode ([pull] ship = kafka) it ships every snapshot to Kafka.",
	Program: config.PullProgram,
}

func main() { cli.Main(run) }

// run is the command's body (cli.RunFunc).
func run(ctx context.Context, stop func(), reload <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	cfg, warnings, err := command.Start(args, stdout)
	if err != nil || cfg == nil {
		return err
	}
	log, level := cli.NewLogger(stderr, cfg.Pull.LogLevel, cfg.Pull.LogFormat)
	for _, w := range warnings {
		log.Warn(w)
	}
	version, commit, goVersion := cli.Build()
	log.Info("haproxystats-pull started", "version", version, "commit", commit, "go", goVersion, "pid", os.Getpid())
	context.AfterFunc(ctx, func() {
		stop()
		cli.Notify(log, "STOPPING=1")
		log.Info("received signal, stopping")
	})
	p := pull.New(cfg.Pull, log)
	if err := p.PagesError(); err != nil {
		return err // a TLS file of the stats pages: say so now, not at every round
	}
	p.Ready = func() {
		cli.Notify(log, "READY=1")
		go cli.Watchdog(ctx, log, p.Alive)
	}
	go reloads(ctx, reload, args, cfg, p, level, log)
	if cfg.Pull.Ship == "kafka" {
		err = runShipping(ctx, cfg, p, log)
	} else {
		err = p.Run(ctx)
	}
	if err != nil {
		return err
	}
	log.Info("exiting with status 0")
	return nil
}

// runShipping runs the pull loop and, beside it, the shipper that
// produces every committed snapshot to the snapshot topic ([pull] ship =
// kafka). When either fails, both stop.
func runShipping(ctx context.Context, cfg *config.Config, p *pull.Puller, log *slog.Logger) error {
	host := cfg.Fleet.Host
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("read host name: %w", err)
		}
		host = h
	}
	cluster := cfg.Fleet.Cluster
	if cluster == "" {
		cluster = ship.DefaultCluster(host)
	}
	shipLog := log.With("component", "ship")
	prod, err := kafka.NewProducer(*cfg.Kafka, shipLog)
	if err != nil {
		return err
	}
	defer prod.Close()
	shipper := ship.NewShipper(cfg.Pull.DstDir, host, cluster, prod, shipLog)
	shipper.MaxReplySize = cfg.Pull.MaxReplySize
	shipLog.Info("shipping snapshots", "topic", cfg.Kafka.SnapshotTopic, "host", host, "cluster", cluster)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		errs[0] = p.Run(ctx)
	})
	wg.Go(func() {
		defer cancel()
		errs[1] = shipper.Run(ctx)
	})
	wg.Wait()
	return errors.Join(errs...)
}

// reloads loads the configuration again at every value of reload
// (SIGHUP) until ctx is done. A configuration that fails to load is
// logged and the one in force kept; otherwise the log level changes at
// once and the puller takes the rest between rounds (pull.Puller.Reload
// says what needs a restart). The daemon never stops on a reload.
func reloads(ctx context.Context, reload <-chan struct{}, args []string, cfg *config.Config, p *pull.Puller, level *slog.LevelVar, log *slog.Logger) {
	command.Reloads(ctx, reload, args, log, func(next *config.Config) {
		cli.SetLevel(level, next.Pull.LogLevel)
		if next.Pull.LogFormat != cfg.Pull.LogFormat {
			cli.NeedsRestart(log, "log-format", "value", cfg.Pull.LogFormat, "asked", next.Pull.LogFormat)
		}
		if cfg.Pull.Ship == "kafka" && (!reflect.DeepEqual(next.Kafka, cfg.Kafka) || next.Fleet != cfg.Fleet) {
			cli.NeedsRestart(log, "[kafka] and [fleet]")
		}
		next.Pull.LogFormat = cfg.Pull.LogFormat
		p.Reload(next.Pull)
	})
}
