// Command haproxystats-pull pulls statistics from HAProxy over its stats
// sockets (UNIX and TCP) on a fixed cadence and commits each round as one
// snapshot directory into the spool that haproxystats-process reads.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/haproxystats-go/haproxystats/internal/cli"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/pull"
)

var command = cli.Command{
	Name:    "haproxystats-pull",
	Summary: "Pulls statistics from HAProxy daemon over UNIX/TCP socket(s).",
	Program: config.PullProgram,
}

func main() { cli.Main(run) }

// run is the command's body (cli.RunFunc).
func run(ctx context.Context, stop func(), args []string, stdout, stderr io.Writer) int {
	cfg, warnings, done, code := command.Start(args, stdout, stderr)
	if done {
		return code
	}
	log := cli.Logger(stderr, cfg.Pull.LogLevel)
	for _, w := range warnings {
		log.Warn(w)
	}
	log.Info("haproxystats-pull started", "version", cli.Version, "pid", os.Getpid())
	context.AfterFunc(ctx, func() {
		stop()
		log.Info("received signal, stopping")
	})
	if err := pull.New(cfg.Pull, log).Run(ctx); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log.Info("exiting with status 0")
	return 0
}
