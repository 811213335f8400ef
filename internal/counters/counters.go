// Package counters keeps the summed counters of HAProxy workers monotonic
// across reloads. After a reload the new worker counts from zero and the
// old one keeps counting until its last connection ends; while both are
// listed the sum is right, but when the old worker exits its share leaves
// the sum and every counter (stot, bin, hrsp_2xx, CumReq, ...) drops,
// which a nonNegativeDerivative graph shows as a gap and then a spike.
//
// A Tracker remembers the last value of every counter of every worker
// (which datapoints are counters is the caller's to say: the field
// natures of package stats);
// when a worker is gone, its last values are added to a per-series
// offset that is then added to the sum from that snapshot on. The state
// is kept in a file, so a restart of the processor keeps the offsets.
package counters

import (
	"fmt"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/files"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// Worker is what one worker contributed to a snapshot: its counter
// datapoints, rendered from its replies alone.
type Worker struct {
	ID     string // stable for the worker's life: "<master socket>@<pid>"
	Values map[string]float64
}

// Tracker holds the offsets. It is safe for concurrent use; snapshots
// must be applied oldest first, and an older snapshot than the newest
// already applied gets the current offsets without changing them.
type Tracker struct {
	path string // state file; "" keeps the state in memory only

	mu    sync.Mutex
	state state // guarded by mu
}

type state struct {
	Last    int64                         `json:"last"`    // newest snapshot applied
	Workers map[string]map[string]float64 `json:"workers"` // worker → path → last value
	Offsets map[string]float64            `json:"offsets"` // path → sum of vanished workers' last values
}

// Open loads the state file at path, or starts empty when it does not
// exist. A corrupt file is an error: the caller decides.
func Open(path string) (*Tracker, error) {
	t := &Tracker{path: path, state: state{Workers: map[string]map[string]float64{}, Offsets: map[string]float64{}}}
	if _, err := files.ReadState(path, &t.state); err != nil {
		return nil, fmt.Errorf("counter offsets: %w", err)
	}
	if t.state.Workers == nil {
		t.state.Workers = map[string]map[string]float64{}
	}
	if t.state.Offsets == nil {
		t.state.Offsets = map[string]float64{}
	}
	return t, nil
}

// Apply records the workers of the snapshot taken at ts, folds the
// workers that are gone into the offsets, and adds the offsets to the
// counter datapoints of ms (the sums over the present workers), in place.
// It persists the state when it changed.
func (t *Tracker) Apply(ts int64, workers []Worker, ms []metric.Metric) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := false
	if ts > t.state.Last {
		present := map[string]bool{}
		for _, w := range workers {
			present[w.ID] = true
		}
		for id, last := range t.state.Workers {
			if present[id] {
				continue
			}
			for p, v := range last {
				t.state.Offsets[p] += v
			}
			delete(t.state.Workers, id)
			changed = true
		}
		for _, w := range workers {
			t.state.Workers[w.ID] = w.Values
		}
		t.state.Last = ts
		changed = changed || len(workers) > 0
	}
	for i := range ms {
		if off, ok := t.state.Offsets[ms[i].Path]; ok {
			ms[i].Value += off
		}
	}
	if changed {
		return t.save()
	}
	return nil
}

// Offset adds the current offsets to the counter datapoints of ms without
// changing the state: for a partial snapshot, where a missing worker may
// not have exited.
func (t *Tracker) Offset(ms []metric.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range ms {
		if off, ok := t.state.Offsets[ms[i].Path]; ok {
			ms[i].Value += off
		}
	}
}

// save writes the state atomically: a temporary file renamed over it.
func (t *Tracker) save() error {
	return files.WriteState(t.path, t.state)
}
