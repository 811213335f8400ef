// Package cli holds what both commands share: the command line of the
// original haproxystats (docopt style: -f FILE, -fFILE, --file=FILE, -p,
// -P, -v, -h), loading the configuration, and building the logger.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// Version and Commit are set at build time by make (git describe, git
// rev-parse HEAD) with -ldflags "-X
// github.com/haproxystats-go/haproxystats/internal/cli.Version=...".
// When they are not, Build falls back to the module's build information.
var Version, Commit string

// devVersion is the version of a build that has none: not a tagged
// module, not built by make.
const devVersion = "0.6.0-dev"

// Build returns the binary's version, commit and Go version: those make
// set, else what Go recorded (a module version, the VCS revision, with
// -dirty when the tree had changes).
func Build() (version, commit, goVersion string) {
	version, commit, goVersion = Version, Commit, runtime.Version()
	dirty := false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true" && Commit == ""
			}
		}
	}
	if version == "" {
		version = devVersion
	}
	if commit == "" {
		commit = "unknown"
	} else if dirty {
		commit += "-dirty"
	}
	return version, commit, goVersion
}

// VersionLine is what -v prints: the version first, for scripts.
func VersionLine() string {
	v, c, g := Build()
	return fmt.Sprintf("%s (commit %s, %s)", v, c, g)
}

// DefaultFile is the configuration read when -f is not given.
const DefaultFile = "/etc/haproxystats.conf"

// Command describes one program.
type Command struct {
	Name    string         // "haproxystats-pull"
	Summary string         // what the command does: the help text's first lines, at most 80 columns each
	Program config.Program // which sections it validates and prints
	HasDir  bool           // accepts -d DIR
}

// Flags are the parsed command line.
type Flags struct {
	File      string
	FileGiven bool
	Dir       string
	Print     bool // -p
	PrintConf bool // -P
	Version   bool
	Help      bool
}

// ErrUsage is returned for a command line that does not parse.
var ErrUsage = errors.New("usage error")

// Usage is the Usage: block, printed on stderr for a usage error.
func (c Command) Usage() string {
	if c.HasDir {
		return fmt.Sprintf("Usage:\n    %s [-f <file>] [-d <dir>] [-p | -P]\n", c.Name)
	}
	return fmt.Sprintf("Usage:\n    %s [-f <file> ] [-p | -P]\n", c.Name)
}

// Help is the text of -h.
func (c Command) Help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\nOptions:\n", c.Summary, c.Usage())
	b.WriteString("    -f, --file <file>  configuration file with settings\n")
	b.WriteString("                       [default: " + DefaultFile + "]\n")
	if c.HasDir {
		b.WriteString("    -d, --dir <dir>    directory with additional configuration files\n")
	}
	b.WriteString("    -p, --print        show default settings\n")
	b.WriteString("    -P, --print-conf   show configuration\n")
	b.WriteString("    -h, --help         show this screen\n")
	b.WriteString("    -v, --version      show version\n")
	return b.String()
}

// Parse parses args (without the program name).
func (c Command) Parse(args []string) (Flags, error) {
	f := Flags{File: DefaultFile}
	value := func(i *int, name, inline string) (string, error) {
		if inline != "" {
			return inline, nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%w: %s needs a value", ErrUsage, name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var name, inline string
		switch {
		case strings.HasPrefix(a, "--"):
			name, inline, _ = strings.Cut(a, "=")
		case strings.HasPrefix(a, "-") && len(a) >= 2:
			name, inline = a[:2], strings.TrimPrefix(a[2:], "=")
		default:
			return f, fmt.Errorf("%w: unexpected argument %q", ErrUsage, a)
		}
		var err error
		switch name {
		case "-f", "--file":
			f.File, err = value(&i, name, inline)
			f.FileGiven = true
		case "-d", "--dir":
			if !c.HasDir {
				return f, fmt.Errorf("%w: unknown option %s", ErrUsage, name)
			}
			f.Dir, err = value(&i, name, inline)
		case "-p", "--print", "-P", "--print-conf", "-v", "--version", "-h", "--help":
			if inline != "" {
				return f, fmt.Errorf("%w: %s takes no value", ErrUsage, name)
			}
			switch name {
			case "-p", "--print":
				f.Print = true
			case "-P", "--print-conf":
				f.PrintConf = true
			case "-v", "--version":
				f.Version = true
			default:
				f.Help = true
			}
		default:
			return f, fmt.Errorf("%w: unknown option %s", ErrUsage, a)
		}
		if err != nil {
			return f, err
		}
	}
	if f.Print && f.PrintConf {
		return f, fmt.Errorf("%w: -p and -P exclude each other", ErrUsage)
	}
	return f, nil
}

// Start parses args, handles -h, -v, -p and -P, and loads and validates
// the configuration. It returns a nil cfg and a nil error when the
// program has nothing more to do (-h, -v, -p, -P were answered on
// stdout); otherwise cfg is ready and warnings should be logged. A
// command line that does not parse gives an error that ends with the
// Usage: block; a bad configuration one that lists every problem.
func (c Command) Start(args []string, stdout io.Writer) (cfg *config.Config, warnings []string, err error) {
	f, err := c.Parse(args)
	if err != nil {
		return nil, nil, &usageError{c, err}
	}
	switch {
	case f.Help:
		fmt.Fprint(stdout, c.Help())
		return nil, nil, nil
	case f.Version:
		fmt.Fprintln(stdout, VersionLine())
		return nil, nil, nil
	}
	file, err := config.Load(f.File, f.FileGiven, f.Dir)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case f.Print:
		config.PrintDefaults(stdout, c.Program)
		return nil, nil, nil
	case f.PrintConf:
		return nil, nil, file.Print(stdout, c.Program)
	}
	return file.Config(c.Program) // errors.Join: one line per problem
}

// Reload loads and validates the configuration again, as Start did for
// args, without printing anything: what a daemon does on SIGHUP.
func (c Command) Reload(args []string) (*config.Config, []string, error) {
	f, err := c.Parse(args)
	if err != nil {
		return nil, nil, err
	}
	file, err := config.Load(f.File, f.FileGiven, f.Dir)
	if err != nil {
		return nil, nil, err
	}
	return file.Config(c.Program)
}

// Reloads runs apply with the configuration loaded again (Reload) at
// every value of reload, until ctx is done. A configuration that does
// not load is logged and apply not called: the one in force is kept.
// Its warnings are logged, then apply gets it.
func (c Command) Reloads(ctx context.Context, reload <-chan struct{}, args []string, log *slog.Logger, apply func(next *config.Config)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
		}
		log.Info("SIGHUP: loading the configuration again")
		Notify(log, "RELOADING=1")
		next, warnings, err := c.Reload(args)
		if err != nil {
			log.Error("configuration not reloaded: it does not load, the one in force is kept", "err", err)
			Notify(log, "READY=1")
			continue
		}
		for _, w := range warnings {
			log.Warn(w)
		}
		apply(next)
		Notify(log, "READY=1")
	}
}

// NeedsRestart logs that option cannot change while the daemon runs.
func NeedsRestart(log *slog.Logger, option string, args ...any) {
	log.Warn("configuration reloaded: this option needs a restart, keeping its value", append([]any{"option", option}, args...)...)
}

// usageError is a command line that does not parse, printed with the
// command's Usage: block.
type usageError struct {
	c   Command
	err error
}

func (e *usageError) Error() string {
	return e.c.Name + ": " + e.err.Error() + "\n" + strings.TrimSuffix(e.c.Usage(), "\n")
}

func (e *usageError) Unwrap() error { return e.err }

// NewLogger returns a logger on w at the configured level (names as
// config.Level reads them; an unknown name, which validation refuses,
// logs at info), in format "json" (one object per line) or text, and
// the level it logs at, which SetLevel changes while the daemon runs.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	SetLevel(lv, level)
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), lv
	}
	return slog.New(slog.NewTextHandler(w, opts)), lv
}

// SetLevel sets lv to the level called level (info for an unknown name).
func SetLevel(lv *slog.LevelVar, level string) {
	l, ok := config.Level(level)
	if !ok {
		l = slog.LevelInfo
	}
	lv.Set(l)
}

// RunFunc is a command's body: it returns nil when the program ends
// well. After the first SIGTERM or SIGINT ctx is done; stop then
// restores the default handlers, so that a second signal ends the
// process at once. reload receives one value per SIGHUP (pending ones
// merge): the daemon loads its configuration again.
type RunFunc func(ctx context.Context, stop func(), reload <-chan struct{}, args []string, stdout, stderr io.Writer) error

// Exit prints err, if any, on stderr, once, and returns the exit status
// of the program that returned it: 0 for nil, else 1.
func Exit(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, err)
	return 1
}

// Main runs run with SIGTERM and SIGINT turned into ctx's end and SIGHUP
// into reloads, and exits with the status Exit gives. Both commands'
// main is this one call.
func Main(run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Exit(run(ctx, stop, Reloads(ctx), os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// Reloads turns every SIGHUP into a value on the channel it returns,
// until ctx is done; SIGHUPs that arrive while one is pending merge.
func Reloads(ctx context.Context) <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

// GCPercent sets the garbage collector's target to pct (GOGC=pct) unless
// the GOGC environment variable is set, and returns the target now in
// force. haproxystats-process parses large snapshots over and over: with
// Go's default of 100 its heap peaks at twice what it holds, with 50 at
// one and a half times, for about the same CPU (bench/,
// docs/performance.md).
func GCPercent(pct int) int {
	if _, ok := os.LookupEnv("GOGC"); ok {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old) // only read back what the runtime made of GOGC
		return old
	}
	debug.SetGCPercent(pct)
	return pct
}
