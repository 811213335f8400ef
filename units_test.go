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
		if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
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
