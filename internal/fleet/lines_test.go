package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// linesSink takes lines, as Graphite does.
type linesSink struct{}

func (linesSink) Name() string                                  { return "lines" }
func (linesSink) SendLines(context.Context, metric.Lines) error { return nil }
func (linesSink) Send(context.Context, []metric.Metric) error   { return nil }

// metricsSink takes metrics, as the Kafka metrics sink does.
type metricsSink struct{}

func (metricsSink) Name() string                                { return "metrics" }
func (metricsSink) Send(context.Context, []metric.Metric) error { return nil }

// A host record and a cluster bucket go to line sinks as lines rendered
// as they are written, not as metrics: the same lines as the metrics
// path gives, and the same again when written a second time (a Graphite
// replay), after the parsed replies were dropped, from the records:
// kept in memory, kept in files with no name (a big record's way), and
// a bucket of one of each.
func TestRecordsAsLines(t *testing.T) {
	for _, mode := range []string{"in memory", "in files", "mixed"} {
		t.Run(mode, func(t *testing.T) { testRecordsAsLines(t, mode) })
	}
}

func testRecordsAsLines(t *testing.T, mode string) {
	spill := mode != "in memory"
	proc := process.New(config.Process{SrcDir: filepath.Join(t.TempDir(), "incoming"), Workers: 1}, stats.Options{}, []process.Sink{linesSink{}}, discard)
	c := NewConsumer(proc, Paths{Namespace: "lb", PrefixHostname: true}, time.Second, time.Second, 3, discard)
	if spill {
		c.Spill.Dir = t.TempDir()
	}
	var recs []*hostRecord
	bk := &Bucket{Cluster: "dc1", Start: 1500000000, Hosts: map[string]record.Record{}, Files: map[string][]blob.Reply{}}
	for _, h := range []string{"lb-a.dc1", "lb-b.dc1"} {
		rec := record.Record{Host: h, Cluster: "dc1", Epoch: 1500000000, Files: haproxytest.ExampleSnapshot(t)}
		b, err := record.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		wantFile := spill && (mode != "mixed" || h == "lb-a.dc1")
		c.Spill.Threshold = 1
		if !wantFile {
			c.Spill.Threshold = 1 << 40
		}
		hr, err := c.open(b)
		if err != nil {
			t.Fatal(err)
		}
		defer hr.release()
		clear(b) // kept as a copy or in the file, not as the fetch's bytes
		stat := hr.files[slices.IndexFunc(hr.files, func(f blob.Reply) bool { return strings.HasSuffix(f.Name, "_stat") })]
		r, err := stat.Open()
		if err != nil {
			t.Fatal(err)
		}
		if r.InFile() != wantFile {
			t.Fatalf("%s: reply inflated into a file: %v, want %v", h, r.InFile(), wantFile)
		}
		r.Release()
		recs = append(recs, hr)
		bk.Hosts[h] = record.Record{Host: h, Cluster: "dc1", Epoch: rec.Epoch}
		bk.Files[h] = retained(hr.files)
	}
	if spill {
		if names, err := os.ReadDir(c.Spill.Dir); err != nil || len(names) != 0 {
			t.Errorf("the records' files have names in %s: %v %v", c.Spill.Dir, names, err)
		}
	}
	write := func(l metric.Lines) string {
		var b bytes.Buffer
		if _, err := l.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// withoutTimes drops the self-statistics that time the rendering.
	withoutTimes := func(s string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.Contains(line, "WallClockTime") {
				out = append(out, line)
			}
		}
		slices.Sort(out)
		return out
	}

	snap := process.Snapshot{Name: "lb-a", Time: recs[0].epoch, Files: recs[0].files}
	c.mu.Lock()
	d, err := c.render(context.Background(), snap, "lb.lb-a.haproxy", nil, true, nil, discard)
	c.mu.Unlock()
	if err != nil || d == nil {
		t.Fatalf("host record: lines %v, err %v", d, err)
	}
	first, again := write(d), write(d)
	withMetrics := process.New(config.Process{SrcDir: filepath.Join(t.TempDir(), "incoming"), Workers: 1}, stats.Options{}, []process.Sink{metricsSink{}}, discard)
	ms, err := withMetrics.Render(context.Background(), snap, "lb.lb-a.haproxy", nil, true, nil, discard)
	if _, ok := ms.(metric.Slice); err != nil || !ok {
		t.Fatalf("rendered for a sink of metrics as %T, %v; want metric.Slice", ms, err)
	}
	var want bytes.Buffer
	ms.WriteTo(&want)
	if !slices.Equal(withoutTimes(first), withoutTimes(want.String())) {
		t.Errorf("host record as lines differs from its metrics:\n%s\nwant\n%s", first, want.String())
	}
	if !slices.Equal(withoutTimes(again), withoutTimes(first)) {
		t.Errorf("written again, the host record differs:\n%s\nfirst\n%s", again, first)
	}
	if len(withoutTimes(first)) > d.Len() || d.Len() != strings.Count(first, "\n") {
		t.Errorf("Len %d, %d lines written", d.Len(), strings.Count(first, "\n"))
	}

	d.(metric.Retained).Release() // done with the host's lines
	c.mu.Lock()
	d, err = c.aggregate(context.Background(), bk, discard)
	c.mu.Unlock()
	if err != nil || d == nil {
		t.Fatalf("bucket: lines %v, err %v", d, err)
	}
	first, again = write(d), write(d)
	if !strings.Contains(first, "lb.dc1.haproxy.haproxystats.FleetHosts 2 1500000000\n") {
		t.Errorf("bucket without FleetHosts 2:\n%s", first)
	}
	if !slices.Equal(withoutTimes(again), withoutTimes(first)) {
		t.Errorf("written again, the bucket differs:\n%s\nfirst\n%s", again, first)
	}
	// The bucket's sums are the two hosts' sums.
	host := map[string]string{}
	for _, line := range strings.Split(want.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			host[strings.TrimPrefix(f[0], "lb.lb-a.haproxy.")] = f[1]
		}
	}
	compared := 0
	for _, line := range strings.Split(first, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasSuffix(f[0], ".stot") {
			continue
		}
		v := host[strings.TrimPrefix(f[0], "lb.dc1.haproxy.")]
		if v == "" {
			continue
		}
		compared++
		var one, two float64
		fmtSscan(t, v, &one)
		fmtSscan(t, f[1], &two)
		if two != 2*one {
			t.Errorf("%s = %v, want twice the host's %v", f[0], two, one)
		}
	}
	if compared < 3 {
		t.Errorf("only %d stot lines compared", compared)
	}
}

func fmtSscan(t *testing.T, s string, v *float64) {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	*v = f
}
