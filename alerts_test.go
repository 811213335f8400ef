package haproxystats_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// The alert rules of contrib/prometheus: promtool check rules finds them
// valid, their unit tests pass (promtool test rules), and every alert has
// a case that fires it and one that does not.
func TestAlertRules(t *testing.T) {
	bin := haproxytest.PromtoolBinary(t)
	dir := filepath.Join("contrib", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		} else {
			t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
		}
	}

	var alerts []string
	for _, m := range regexp.MustCompile(`(?m)^\s+- alert: (\S+)$`).FindAllStringSubmatch(read(t, filepath.Join(dir, "alerts.yml")), -1) {
		alerts = append(alerts, m[1])
	}
	if len(alerts) < 13 {
		t.Fatalf("%d alerts found in alerts.yml: %v", len(alerts), alerts)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(read(t, filepath.Join(dir, "alerts_test.yml"))))
	name := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "alertname: "); ok {
			name = v
		}
		switch line {
		case "exp_alerts: []":
			silent[name] = true
		case "exp_alerts:":
			fires[name] = true
		}
	}
	for _, a := range alerts {
		if !fires[a] || !silent[a] {
			t.Errorf("alert %s: a case that fires it %v, one that does not %v; want both in alerts_test.yml", a, fires[a], silent[a])
		}
	}
	for a := range fires {
		if !slices.Contains(alerts, a) {
			t.Errorf("alerts_test.yml tests %s, which alerts.yml does not have", a)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
