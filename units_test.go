package haproxystats_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The systemd units of contrib/systemd pass `systemd-analyze verify`,
// and `systemd-analyze security --offline=true` rates each at most 2.0
// ("OK"): a sandbox that still lets the daemons reach HAProxy's sockets,
// their spool and the network. The units run the binaries built here.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not installed (Debian package systemd; make test installs it)")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	overall := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, name := range []string{"haproxystats-pull.service", "haproxystats-process.service"} {
		unit, err := os.ReadFile(filepath.Join("contrib", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(unit)
		for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=always", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=haproxystats", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/local/bin/", dir+"/")), 0o644)
		if problems := verifyUnit(exec.Command(analyze, "verify", path)); problems != "" {
			t.Errorf("systemd-analyze verify %s:\n%s", name, problems)
		}
		out, _ := exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
		m := overall.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("systemd-analyze security %s: no overall level in\n%s", name, out)
		}
		score, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("systemd-analyze security --offline=true %s: %.1f", name, score)
		if score > 2.0 {
			t.Errorf("%s exposure %.1f, want at most 2.0:\n%s", name, score, out)
		}
	}
}

// verifyUnit runs cmd, a systemd-analyze verify of one unit file, and
// returns what it says of that unit, or of its failure: systemd-analyze
// also reads the units installed on the machine (Debian's carbon-cache
// has an obsolete StandardOutput=syslog) and tells about them.
func verifyUnit(cmd *exec.Cmd) string {
	path := cmd.Args[len(cmd.Args)-1]
	out, err := cmd.CombinedOutput()
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, path) || strings.Contains(line, filepath.Base(path)) {
			ours = append(ours, line)
		}
	}
	if err != nil {
		ours = append(ours, err.Error()+": "+string(out))
	}
	return strings.Join(ours, "\n")
}
