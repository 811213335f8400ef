package haproxystats_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Each binary links only what it runs: haproxystats-pull none of the
// processing side (its sinks, and the metric values they consume),
// haproxystats-process none of the pulling side. The packages both need
// (the spool contract, the dump checker, the record format,
// configuration, the Kafka clients) are leaves.
func TestEachBinaryLinksItsSide(t *testing.T) {
	const internal = "github.com/haproxystats-go/haproxystats/internal/"
	processSide := []string{"process", "stats", "counters", "fleet", "metric", "health",
		"graphite", "prometheus", "localstore", "kafkasink"}
	pullSide := []string{"pull", "haproxy", "ship"}
	for _, c := range []struct {
		cmd       string
		forbidden []string
		required  []string // what it runs: a check that go list sees the right module
	}{
		{"haproxystats-pull", processSide, []string{"spool", "kafka"}},
		{"haproxystats-process", pullSide, []string{"spool", "kafka", "kafkasink"}},
	} {
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", "./cmd/"+c.cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps ./cmd/%s: %v\n%s", c.cmd, err, out)
		}
		deps := strings.Fields(string(out))
		for _, p := range c.forbidden {
			if slices.Contains(deps, internal+p) {
				t.Errorf("%s links internal/%s, of the other daemon's side", c.cmd, p)
			}
		}
		for _, p := range c.required {
			if !slices.Contains(deps, internal+p) {
				t.Errorf("%s does not link internal/%s: is go list reading the right module?", c.cmd, p)
			}
		}
	}
}

// Parsing does no I/O and knows nothing of the queue: stats reads its
// replies through io.ReaderAt, wherever they are (blob.Reply).
func TestParsingDoesNoIO(t *testing.T) {
	const internal = "github.com/haproxystats-go/haproxystats/internal/"
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-f", `{{join .Imports " "}}`, "./internal/stats").CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./internal/stats: %v\n%s", err, out)
	}
	imports := strings.Fields(string(out))
	for _, p := range []string{"os", internal + "spool", internal + "files", internal + "blob"} {
		if slices.Contains(imports, p) {
			t.Errorf("internal/stats imports %s", p)
		}
	}
}
