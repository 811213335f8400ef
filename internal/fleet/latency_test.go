package fleet

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// A cluster bucket merges its hosts' latency histograms: its
// percentiles are those of the union of the hosts' log lines (within
// 4.5 %, exact below 16 ms), not an average of the hosts' percentiles;
// each host's own rendering has its own lines' percentiles.
func TestBucketMergesLatency(t *testing.T) {
	proc := process.New(config.Process{SrcDir: filepath.Join(t.TempDir(), "incoming"), Workers: 1}, stats.Options{}, []process.Sink{linesSink{}}, discard)
	c := NewConsumer(proc, Paths{Namespace: "lb", PrefixHostname: true}, time.Second, time.Second, 3, discard)
	r := rand.New(rand.NewPCG(8, 12))
	bk := &Bucket{Cluster: "dc1", Start: 1500000000, Hosts: map[string]record.Record{}, Files: map[string][]blob.Reply{}}
	var union []int64
	own := map[string][]int64{}
	for i, h := range []string{"lb-a.dc1", "lb-b.dc1"} {
		// Two hosts of different speeds: the union's p99 is neither's.
		set := latency.NewSet(0)
		var l latency.Line
		for range 3000 {
			v := int64(r.IntN(16))
			if r.IntN(2) == 0 {
				v = int64(16 + r.ExpFloat64()*float64(40*(i*5+1)))
			}
			l.Reset()
			l.Frontend, l.Backend, l.Server = []byte("fe"), []byte("be_app"), []byte("s1")
			l.Set(latency.Tr, v)
			set.Add(&l)
			union = append(union, v)
			own[h] = append(own[h], v)
		}
		var lat bytes.Buffer
		if _, err := set.WriteTo(&lat); err != nil {
			t.Fatal(err)
		}
		files := append(haproxytest.ExampleSnapshot(t), spool.File{Name: spool.LatencyFile, Data: lat.Bytes()})
		slices.SortFunc(files, func(a, b spool.File) int { return strings.Compare(a.Name, b.Name) })
		b, err := record.Encode(record.Record{Host: h, Cluster: "dc1", Epoch: bk.Start, Files: files})
		if err != nil {
			t.Fatal(err)
		}
		hr, err := c.open(b)
		if err != nil {
			t.Fatal(err)
		}
		defer hr.release()
		bk.Hosts[h] = record.Record{Host: h, Cluster: "dc1", Epoch: bk.Start}
		bk.Files[h] = retained(hr.files)

		// The host's own rendering.
		c.mu.Lock()
		d, err := c.render(context.Background(), process.Snapshot{Name: h, Time: bk.Start, Files: hr.files}, "lb."+h+".haproxy", nil, true, nil, discard)
		c.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		checkPercentiles(t, d, "lb."+h+".haproxy.backend.be_app.timers.Tr.", own[h])
	}
	defer bk.Release()
	c.mu.Lock()
	d, err := c.aggregate(context.Background(), bk, discard)
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	checkPercentiles(t, d, "lb.dc1.haproxy.backend.be_app.timers.Tr.", union)
	checkPercentiles(t, d, "lb.dc1.haproxy.backend.be_app.server.s1.timers.Tr.", union)
}

// checkPercentiles checks the percentiles and count under path in the
// lines l writes against the exact ones of values.
func checkPercentiles(t *testing.T, l interface {
	WriteTo(w io.Writer) (int64, error)
}, path string, values []int64) {
	t.Helper()
	var b bytes.Buffer
	l.WriteTo(&b)
	got := map[string]float64{}
	for _, line := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 && strings.HasPrefix(f[0], path) {
			got[strings.TrimPrefix(f[0], path)], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	sorted := slices.Sorted(slices.Values(values))
	if got["count"] != float64(len(sorted)) {
		t.Fatalf("%scount = %v, want %d; lines:\n%s", path, got["count"], len(sorted), b.String())
	}
	for _, p := range []float64{50, 75, 90, 95, 99, 99.9} {
		name := config.PercentileName(p)
		rank := int(math.Ceil(p / 100 * float64(len(sorted))))
		want := sorted[rank-1]
		v, ok := got[name]
		okErr := v == float64(want)
		if want >= 16 {
			okErr = math.Abs(v-float64(want)) <= 0.045*float64(want)
		}
		if !ok || !okErr {
			t.Errorf("%s%s = %v (sent %v), exact %d", path, name, v, ok, want)
		}
	}
}
