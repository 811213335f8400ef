package process

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/health"
)

var healthLimits = health.Thresholds{MaxAge: 30 * time.Second, MaxQueue: 5, MaxSinksFailing: time.Minute, MaxStall: 5 * time.Minute}

// reasons returns the reasons /readyz would give, on one line.
func reasons(m *health.Monitor) string { return strings.Join(m.Status().Reasons, "; ") }

// The workers tell the Monitor what the sinks answer and what was
// delivered: readiness follows the sinks that deliver and the queue, and
// the delivered snapshot carries the health as self-statistics.
func TestHealthFollowsSinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now().Unix()
		src := spoolWith(t, strconv.FormatInt(now, 10))
		g, l := newSink("graphite"), newSink("local-store")
		g.setFail(errors.New("connection refused"))
		l.setFail(errors.New("disk full"))
		p := newProcessor(src, 1, g, l)
		m := health.New(healthLimits)
		p.Watch(m)
		m.SetQueue("snapshots in src-dir", p.Queued)
		stop := start(t, p, []string{filepath.Join(src, strconv.FormatInt(now, 10))})
		defer stop()

		time.Sleep(time.Second) // virtual: refused once
		synctest.Wait()
		st := m.Status()
		if st.Queue != 1 || len(st.Sinks) != 2 || st.Sinks[0].Name != "graphite" || st.Sinks[1].Name != "local-store" || st.Sinks[0].Failing == 0 || st.Sinks[1].Failing == 0 {
			t.Fatalf("both sinks refused: %+v", st)
		}
		time.Sleep(time.Minute) // virtual: past ready-max-sinks-failing, and ready-max-age
		synctest.Wait()
		if got := reasons(m); !strings.Contains(got, "no snapshot delivered since the start") || !strings.Contains(got, "every sink failing for 1m") {
			t.Errorf("reasons = %q, want a stale snapshot and every sink failing", got)
		}
		if !m.Status().Live {
			t.Errorf("an outage of the sinks made the workers not alive: %v", m.Status().LiveReasons)
		}

		g.setFail(nil) // graphite back: not every sink fails
		l.setFail(nil)
		time.Sleep(2 * time.Minute) // virtual: past the longest retry pause
		synctest.Wait()
		st = m.Status()
		if st.Queue != 0 || st.SinksFailing != 0 || st.NewestAge != 181*time.Second || len(st.Reasons) != 1 || !strings.HasPrefix(st.Reasons[0], "newest snapshot delivered 3m1s ago") {
			t.Errorf("delivered: %+v, want nothing queued, no sink failing, and only the snapshot's age, 3m1s, against readiness", st)
		}
		// The self-statistics of the snapshot as it was rendered last:
		// both sinks had been failing for a minute and more.
		self := map[string]float64{}
		for _, mt := range l.snapshot(now) {
			if name, ok := strings.CutPrefix(mt.Path, prefix+".haproxystats."); ok {
				self[name] = mt.Value
			}
		}
		for _, name := range []string{"Ready", "NewestSnapshotAge", "QueueSnapshots", "SinksFailingSeconds"} {
			if _, ok := self[name]; !ok {
				t.Errorf("self-statistic %s missing", name)
			}
		}
		if self["Ready"] != 0 || self["QueueSnapshots"] != 1 || self["SinksFailingSeconds"] < 60 || self["NewestSnapshotAge"] < 61 {
			t.Errorf("self-statistics %v: want not ready, 1 queued, every sink failing for 60 s or more, age 61 s or more", self)
		}
	})
}

// A worker held by a sink that neither answers nor refuses, while no
// sink reports a failure, is not alive once live-max-stall has passed;
// idle workers are, however long nothing comes.
func TestHealthStuckWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now().Unix()
		src := spoolWith(t, strconv.FormatInt(now, 10))
		k := newSink("kafka") // takes metrics: holds the worker until delivered
		k.block = make(chan struct{})
		p := newProcessor(src, 2, k)
		m := health.New(healthLimits)
		p.Watch(m)
		stop := start(t, p, []string{filepath.Join(src, strconv.FormatInt(now, 10))})
		defer stop()

		time.Sleep(5 * time.Minute) // virtual
		synctest.Wait()
		if st := m.Status(); !st.Live {
			t.Fatalf("not alive within live-max-stall: %v", st.LiveReasons)
		}
		time.Sleep(time.Second) // virtual
		synctest.Wait()
		st := m.Status()
		if st.Live || len(st.LiveReasons) != 1 || !strings.HasPrefix(st.LiveReasons[0], "worker ") || !strings.Contains(st.LiveReasons[0], ": waiting for the sinks for 5m1s") {
			t.Fatalf("a worker stuck for 5m1s: live %v, reasons %q", st.Live, st.LiveReasons)
		}
		close(k.block)
		synctest.Wait()
		if st := m.Status(); !st.Live || st.Queue != 0 {
			t.Fatalf("after the delivery: %+v", st)
		}
		time.Sleep(10 * time.Hour) // virtual: nothing to do
		synctest.Wait()
		if st := m.Status(); !st.Live {
			t.Errorf("idle workers not alive: %v", st.LiveReasons)
		}
	})
}
