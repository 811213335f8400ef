package pull

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxy"
)

// masterStats sums what the master CLIs of a round reported.
type masterStats struct {
	masters    int           // master CLIs that answered
	workers    int           // current workers
	oldWorkers int           // old workers still draining connections
	oldestAge  time.Duration // uptime of the oldest old worker
	reloads    int           // reloads done by the masters since they started
}

// expand turns the targets into units: a plain socket is one unit; a
// master CLI is asked `show proc` and becomes one unit per worker,
// current and old, named "<socket name>@<pid>". A master that does not
// answer is reported to fail.
func (p *Puller) expand(ctx context.Context, targets []config.Server, fail func(string, error)) ([]unit, masterStats) {
	var units []unit
	var ms masterStats
	var mu sync.Mutex
	var g errgroup.Group
	for _, t := range targets {
		if !t.Master {
			units = append(units, unit{target: t, name: t.Name})
			continue
		}
		g.Go(func() error {
			var buf bytes.Buffer
			_, err := p.client.Fetch(ctx, t, haproxy.ShowProc, &buf)
			var procs haproxy.Procs
			if err == nil {
				procs, err = haproxy.ParseProc(buf.Bytes())
			}
			if err != nil {
				fail(t.Name, fmt.Errorf("master CLI %s: %w", t.Address, err))
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			ms.masters++
			ms.reloads += procs.MasterReloads
			for _, w := range procs.Workers {
				if w.Old {
					ms.oldWorkers++
					ms.oldestAge = max(ms.oldestAge, w.Uptime)
				} else {
					ms.workers++
				}
				units = append(units, unit{target: t, name: t.Name + "@" + strconv.Itoa(w.PID), pid: w.PID})
			}
			return nil
		})
	}
	g.Wait()
	return units, ms
}
