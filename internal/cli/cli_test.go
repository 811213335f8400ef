package cli

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

var process = Command{Name: "haproxystats-process", Program: config.ProcessProgram, HasDir: true}

// The original's docopt accepted -f x, -fx, --file x and --file=x.
// pathcheck: values only, command lines parsed, the files never opened.
func TestParseForms(t *testing.T) {
	for _, args := range [][]string{
		{"-f", "/etc/h.conf"}, {"-f/etc/h.conf"}, {"--file", "/etc/h.conf"}, {"--file=/etc/h.conf"}, {"-f=/etc/h.conf"},
	} {
		f, err := process.Parse(args)
		if err != nil || f.File != "/etc/h.conf" || !f.FileGiven {
			t.Errorf("Parse(%q) = %+v, %v", args, f, err)
		}
	}
	f, err := process.Parse([]string{"-d", "/etc/h.d", "-P"})
	if err != nil || f.Dir != "/etc/h.d" || !f.PrintConf || f.File != DefaultFile || f.FileGiven {
		t.Errorf("Parse(-d -P) = %+v, %v", f, err)
	}
	for _, bad := range [][]string{{"-p", "-P"}, {"-x"}, {"-pv"}, {"--print=yes"}, {"file.conf"}, {"-d"}} {
		if _, err := process.Parse(bad); !errors.Is(err, ErrUsage) {
			t.Errorf("Parse(%q) = %v, want a usage error", bad, err)
		}
	}
	pull := Command{Name: "haproxystats-pull", Program: config.PullProgram}
	if _, err := pull.Parse([]string{"-d", "/x"}); !errors.Is(err, ErrUsage) {
		t.Errorf("pull accepted -d: %v", err)
	}
	if !strings.Contains(pull.Usage(), "haproxystats-pull [-f <file> ] [-p | -P]") {
		t.Errorf("pull usage = %q", pull.Usage())
	}
}

func TestLoggerLevels(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warning": slog.LevelWarn, "warn": slog.LevelWarn,
		"error": slog.LevelError, "critical": slog.LevelError + 4, "fatal": slog.LevelError + 4, "notset": slog.LevelDebug - 4,
	} {
		var b strings.Builder
		log, _ := NewLogger(&b, level, "text")
		if !log.Enabled(context.Background(), want) || log.Enabled(context.Background(), want-1) {
			t.Errorf("Logger(%q) does not log from %v exactly", level, want)
		}
	}
}

// log-format json gives one JSON object per line; text gives key=value.
func TestLoggerFormats(t *testing.T) {
	var j, x strings.Builder
	jl, _ := NewLogger(&j, "info", "json")
	jl.Info("pulled", "socket", "admin.sock", "took", 12)
	xl, _ := NewLogger(&x, "info", "text")
	xl.Info("pulled", "socket", "admin.sock")
	var m map[string]any
	if err := json.Unmarshal([]byte(j.String()), &m); err != nil || m["msg"] != "pulled" || m["level"] != "INFO" || m["socket"] != "admin.sock" || m["took"] != float64(12) {
		t.Errorf("json: %q (%v)", j.String(), err)
	}
	if strings.Count(j.String(), "\n") != 1 {
		t.Errorf("json: not one line: %q", j.String())
	}
	if !strings.Contains(x.String(), "level=INFO msg=pulled socket=admin.sock") {
		t.Errorf("text: %q", x.String())
	}
}

// -v: the version first, then the commit and the Go version; make's
// values when set, else Go's build information.
func TestBuild(t *testing.T) {
	defer func(v, c string) { Version, Commit = v, c }(Version, Commit)
	Version, Commit = "v1.2.3-4-gabcdef0", "abcdef0123"
	if got, want := VersionLine(), "v1.2.3-4-gabcdef0 (commit abcdef0123, "+runtime.Version()+")"; got != want {
		t.Errorf("VersionLine = %q, want %q", got, want)
	}
	Version, Commit = "", ""
	v, c, g := Build()
	if v == "" || c == "" || g != runtime.Version() {
		t.Errorf("Build without make's values = %q, %q, %q", v, c, g)
	}
}

// GCPercent sets the target only when GOGC is not set.
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	if got := GCPercent(50); got != 50 || debug.SetGCPercent(50) != 50 {
		t.Fatalf("without GOGC: GCPercent = %d, want 50 in force", got)
	}
	t.Setenv("GOGC", "80")
	debug.SetGCPercent(80) // what the runtime read from GOGC at start
	if got := GCPercent(50); got != 80 || debug.SetGCPercent(80) != 80 {
		t.Fatalf("with GOGC=80: GCPercent = %d, want 80 left in force", got)
	}
}
