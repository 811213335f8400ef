package haproxytest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// PromexLints are the lints promtool finds in the names of HAProxy's own
// exporter, which the Prometheus endpoint keeps exactly.
var PromexLints = []string{`haproxy_process_failed_resolutions counter metrics should have "_total" suffix`}

// PromtoolBinary returns the path of promtool (Debian package
// prometheus, which make test installs; $HAPROXYSTATS_PROMTOOL overrides
// it), and fails t when there is none.
func PromtoolBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("HAPROXYSTATS_PROMTOOL"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not installed (Debian package prometheus; make test installs it)")
	}
	return bin
}

// Promtool runs `promtool check metrics` (PromtoolBinary) on an
// exposition, and fails t for every lint but PromexLints.
func Promtool(t testing.TB, body []byte) {
	t.Helper()
	cmd := exec.Command(PromtoolBinary(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, _ := cmd.CombinedOutput()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !slices.Contains(PromexLints, line) {
			t.Errorf("promtool check metrics: %s", line)
		}
	}
}
