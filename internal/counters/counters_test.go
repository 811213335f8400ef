package counters

import (
	"path/filepath"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

const stot = "p.frontend.fe.stot"

func sum(ts int64, v float64) []metric.Metric {
	return []metric.Metric{{Path: stot, Value: v, Time: ts}, {Path: "p.frontend.fe.scur", Value: 7, Time: ts}}
}

func w(id string, v float64) Worker { return Worker{ID: id, Values: map[string]float64{stot: v}} }

// A reload: worker A counts to 100, B starts; A drains and exits. The sum
// never goes backwards, and gauges are left alone.
func TestReloadKeepsCountersMonotonic(t *testing.T) {
	state := filepath.Join(t.TempDir(), "counters.state")
	tr, err := Open(state)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		workers []Worker
		raw     float64 // sum over present workers, as stats computes it
		want    float64
	}{
		{[]Worker{w("m@1", 90)}, 90, 90},
		{[]Worker{w("m@1", 100)}, 100, 100},
		{[]Worker{w("m@1", 100), w("m@2", 3)}, 103, 103}, // reload: both listed
		{[]Worker{w("m@2", 8)}, 8, 108},                  // old worker gone
		{[]Worker{w("m@2", 20)}, 20, 120},
	}
	for i, s := range steps {
		ms := sum(int64(1000+i), s.raw)
		if err := tr.Apply(int64(1000+i), s.workers, ms); err != nil {
			t.Fatal(err)
		}
		if ms[0].Value != s.want {
			t.Fatalf("step %d: stot = %v, want %v", i, ms[0].Value, s.want)
		}
		if ms[1].Value != 7 {
			t.Fatalf("step %d: gauge changed to %v", i, ms[1].Value)
		}
	}
	// A restart of the processor keeps the offset.
	tr2, err := Open(state)
	if err != nil {
		t.Fatal(err)
	}
	ms := sum(2000, 25)
	tr2.Apply(2000, []Worker{w("m@2", 25)}, ms)
	if ms[0].Value != 125 {
		t.Fatalf("after restart: stot = %v, want 125", ms[0].Value)
	}
	// An older snapshot (processed late) gets the offsets, changes nothing.
	old := sum(1500, 25)
	tr2.Apply(1500, []Worker{w("m@9", 1)}, old)
	if old[0].Value != 125 || tr2.state.Workers["m@9"] != nil {
		t.Fatalf("late snapshot: value %v, workers %v", old[0].Value, tr2.state.Workers)
	}
}

func TestCorruptState(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	if err := writeFile(p, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p); err == nil {
		t.Fatal("corrupt state accepted")
	}
}

// A partial snapshot gets the offsets but a missing worker is not taken
// for gone.
func TestOffsetOnlyForPartial(t *testing.T) {
	tr, _ := Open("")
	tr.Apply(1, []Worker{w("m@1", 50), w("m@2", 5)}, sum(1, 55))
	ms := sum(2, 6)
	tr.Offset(ms) // m@1 missing from this round only
	if ms[0].Value != 6 {
		t.Fatalf("partial: stot = %v, want 6 (no offset yet)", ms[0].Value)
	}
	ms = sum(3, 57)
	tr.Apply(3, []Worker{w("m@1", 50), w("m@2", 7)}, ms)
	if ms[0].Value != 57 {
		t.Fatalf("after the partial round: stot = %v, want 57 (m@1 was never gone)", ms[0].Value)
	}
}
