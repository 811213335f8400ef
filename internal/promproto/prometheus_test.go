package promproto_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// TestRealPrometheus has a real Prometheus 2.42 (Debian package
// prometheus), with native histograms on, scrape an endpoint that
// answers as our sink will: by negotiation, the protobuf of a text
// exposition and of a histogram family. Prometheus must ask for protobuf,
// and store the histogram as a native one (histogram_count and
// histogram_sum see only native histograms) and the converted samples.
func TestRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Prometheus; runs without -short")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not installed (Debian package prometheus; make test installs it)")
	}
	const text = `# HELP haproxystats_test_up A gauge converted from text.
# TYPE haproxystats_test_up gauge
haproxystats_test_up{proxy="www \"one\""} 42
haproxystats_test_up{proxy="b"} 1.5
# HELP haproxystats_test_requests_total A counter.
# TYPE haproxystats_test_requests_total counter
haproxystats_test_requests_total{proxy="b"} 1000
`
	hist := promproto.HistogramFamily{
		Name: "haproxystats_test_latency_seconds",
		Help: "A native histogram.",
		Series: []promproto.HistogramSeries{{
			// No observation yet, and first: the family is native (for
			// Prometheus 2.42, which looks at the first series) by its
			// zero threshold alone.
			Labels: []promproto.Label{{Name: "proxy", Value: "empty"}},
			Bounds: []float64{1, 2}, Cumulative: []uint64{0, 0},
			Schema: 0, ZeroThreshold: math.Ldexp(1, -128),
		}, {
			Labels: []promproto.Label{{Name: "proxy", Value: "b"}},
			Count:  7, Sum: 3.5,
			Bounds: []float64{1, 2}, Cumulative: []uint64{3, 7},
			Schema: 0, ZeroThreshold: 0.001,
			Spans:  []promproto.Span{{Offset: 0, Length: 2}},
			Deltas: []int64{3, 1}, // 3 in (0.5, 1], 4 in (1, 2]
		}},
	}
	var (
		mu      sync.Mutex
		accepts []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepts = append(accepts, r.Header.Get("Accept"))
		mu.Unlock()
		if !promproto.Negotiated(r.Header) {
			rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			rw.Write(promproto.AppendTextHistogram([]byte(text), hist))
			return
		}
		rw.Header().Set("Content-Type", promproto.ContentType)
		w := promproto.NewWriter(rw)
		if err := w.Text(strings.NewReader(text)); err != nil {
			t.Error(err)
		}
		if err := w.Histogram(hist); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: promproto
    static_configs:
      - targets: ["%s"]
`, strings.TrimPrefix(srv.URL, "http://"))), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	port := haproxytest.FreePort(t)
	cmd := haproxytest.Command(bin, "--enable-feature=native-histograms", "--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	cmd.SysProcAttr.Setpgid = true
	log := &haproxytest.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its process group
		cmd.Wait()
	})

	client := &http.Client{Timeout: 2 * time.Second}
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=", port)
	// query returns the value of the one series q gives, or false.
	query := func(q string) (float64, bool) {
		resp, err := client.Get(api + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct {
				Result []struct{ Value [2]any }
			}
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return 0, false
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	for q, want := range map[string]float64{
		`histogram_count(haproxystats_test_latency_seconds{proxy="b"})`:     7,
		`histogram_sum(haproxystats_test_latency_seconds{proxy="b"})`:       3.5,
		`histogram_count(haproxystats_test_latency_seconds{proxy="empty"})`: 0,
		`haproxystats_test_up{proxy="www \"one\""}`:                         42,
		`haproxystats_test_up{proxy="b"}`:                                   1.5,
		`haproxystats_test_requests_total{proxy="b"}`:                       1000,
	} {
		var got float64
		haproxytest.WaitFor(t, "Prometheus answers "+q, 25*time.Second, log, func() bool {
			v, ok := query(q)
			got = v
			return ok
		})
		if got != want {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
	// Native histograms only: no classic series were stored.
	if _, ok := query(`haproxystats_test_latency_seconds_bucket{le="1"}`); ok {
		t.Error("the classic buckets were stored too")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(accepts) == 0 || accepts[0] != acceptNative {
		t.Errorf("Prometheus sent Accept %q, want %q", accepts, acceptNative)
	}
}
