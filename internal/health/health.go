// Package health says whether haproxystats-process works: whether its
// loops are alive (/healthz, a liveness probe) and whether what it
// delivers is fresh (/readyz, a readiness probe). A Monitor is told what
// the daemon does as it does it (a loop waits for work, works, waits for
// the sinks; a sink accepted or refused; a snapshot was delivered) and
// judges it only when asked, against its Thresholds, so that telling it
// costs an atomic store and asking it never waits for the daemon's own
// locks: a stuck daemon still answers its probes.
//
// Alive: every loop (each worker of the pool; the fleet consumer's loop)
// is idle waiting for work, however long; or busy with a step it began
// less than MaxStall ago; or waiting for the sinks, which is alive while
// a sink answered within MaxStall or a sink reports itself failing (an
// outage is a readiness matter, not a reason to restart the daemon). So
// a deadlock or an endless step shows, and a quiet spool does not.
//
// Ready: alive, and the newest snapshot delivered to every sink is at
// most MaxAge old (counted from the start while none was), at most
// MaxQueue snapshots wait, and the sinks that deliver (Graphite,
// local-store, Kafka; the Prometheus endpoint never refuses) have not
// all been failing for longer than MaxSinksFailing.
package health

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Thresholds are the bounds of readiness and liveness
// ([process] ready-max-age-intervals × the pull interval,
// ready-max-queue, ready-max-sinks-failing, live-max-stall).
type Thresholds struct {
	MaxAge          time.Duration // newest snapshot delivered
	MaxQueue        int           // snapshots (or records) waiting
	MaxSinksFailing time.Duration // every delivering sink failing
	MaxStall        time.Duration // a loop on one step
}

// Monitor holds what the daemon reported and judges it. Its methods are
// safe for concurrent use and do nothing on a nil *Monitor, so that the
// code it watches needs no test for one.
type Monitor struct {
	start time.Time

	mu         sync.Mutex
	th         Thresholds         // guarded by mu
	loops      map[*Loop]struct{} // guarded by mu
	sinks      []*sink            // guarded by mu; the sinks that deliver
	newest     int64              // guarded by mu; Unix time of the newest snapshot delivered, 0 none
	answered   time.Time          // guarded by mu; when a sink last accepted or refused
	queueWhat  string             // guarded by mu
	queue      func() int         // guarded by mu; nil: no queue
	clustersOf func() []Cluster   // guarded by mu; nil outside fleet mode
	byName     map[string]*sink   // guarded by mu
}

// A sink is one sink that delivers, as the Monitor knows it.
type sink struct {
	name string
	// own is the sink's own report (nil: none): since when it has been
	// failing, the zero time when it works. The Graphite sender blocks
	// while carbon is away rather than refusing, so only it can tell.
	own func() time.Time
	// refused is the first refusal since its last acceptance, or zero.
	refused time.Time
}

// New returns a Monitor with thresholds th; the daemon started now.
func New(th Thresholds) *Monitor {
	now := time.Now()
	return &Monitor{start: now, th: th, answered: now, loops: map[*Loop]struct{}{}, byName: map[string]*sink{}}
}

// SetThresholds replaces the thresholds (a reload).
func (m *Monitor) SetThresholds(th Thresholds) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.th = th
	m.mu.Unlock()
}

// AddSink makes name a sink that delivers: readiness fails when every
// such sink has been failing for longer than MaxSinksFailing. failing,
// when not nil, is the sink's own report: since when it has been
// failing, the zero time when it works; it must not block. A sink that
// accepts or refuses without having been added (the Prometheus endpoint)
// still counts as an answer for liveness.
func (m *Monitor) AddSink(name string, failing func() time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &sink{name: name, own: failing}
	m.sinks = append(m.sinks, s)
	m.byName[name] = s
}

// SetQueue makes n the count of what waits to be processed, what says
// what it counts ("snapshots waiting in src-dir"); n must not block.
func (m *Monitor) SetQueue(what string, n func() int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.queueWhat, m.queue = what, n
	m.mu.Unlock()
}

// A Cluster is the last bucket a fleet consumer emitted for a cluster:
// the hosts it had, and those of the cluster it went without.
type Cluster struct {
	Name           string
	Hosts, Missing int
}

// SetClusters makes f the source of Status.Clusters (fleet mode); f must
// not block.
func (m *Monitor) SetClusters(f func() []Cluster) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.clustersOf = f
	m.mu.Unlock()
}

// Accepted records that sink accepted a snapshot (or a record, a bucket).
func (m *Monitor) Accepted(sink string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answered = time.Now()
	if s := m.byName[sink]; s != nil {
		s.refused = time.Time{}
	}
}

// Refused records that sink refused a snapshot; it has been failing
// since its first refusal after its last acceptance.
func (m *Monitor) Refused(sink string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.answered = now
	if s := m.byName[sink]; s != nil && s.refused.IsZero() {
		s.refused = now
	}
}

// Delivered records that every sink accepted the snapshot of Unix time
// ts (a fleet record or bucket: its time).
func (m *Monitor) Delivered(ts int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.newest = max(m.newest, ts)
	m.mu.Unlock()
}

// What a loop is doing.
const (
	idle    int32 = iota // waiting for work: alive however long
	busy                 // its own step: alive for MaxStall
	waiting              // waiting for the sinks: alive while they answer or say they fail
)

// A Loop is one loop of the daemon that the Monitor watches: it says
// what it is doing each time that changes. Its methods are cheap (one
// atomic store each), safe for concurrent use, and do nothing on a nil
// *Loop.
type Loop struct {
	name  string
	m     *Monitor
	state atomic.Int32
	since atomic.Int64 // Unix nanoseconds of the last change
}

// Loop returns a new loop called name (it names the loop in the
// reasons), idle; nil on a nil Monitor. Done forgets it.
func (m *Monitor) Loop(name string) *Loop {
	if m == nil {
		return nil
	}
	l := &Loop{name: name, m: m}
	l.set(idle)
	m.mu.Lock()
	m.loops[l] = struct{}{}
	m.mu.Unlock()
	return l
}

func (l *Loop) set(s int32) {
	if l == nil {
		return
	}
	l.since.Store(time.Now().UnixNano())
	l.state.Store(s)
}

// Idle says the loop waits for work.
func (l *Loop) Idle() { l.set(idle) }

// Busy says the loop begins a step of its own (reading, rendering,
// committing): alive for MaxStall.
func (l *Loop) Busy() { l.set(busy) }

// Waiting says the loop waits for the sinks (room among the deliveries,
// a sink to take the lines).
func (l *Loop) Waiting() { l.set(waiting) }

// Done forgets the loop: it returned.
func (l *Loop) Done() {
	if l == nil {
		return
	}
	l.m.mu.Lock()
	delete(l.m.loops, l)
	l.m.mu.Unlock()
}

// Status is the judgement of a Monitor at one moment: what /healthz,
// /readyz, the haproxystats_* gauges of the endpoint and the Graphite
// self-statistics say.
type Status struct {
	Live        bool
	LiveReasons []string // one line each, when not Live
	Ready       bool
	Reasons     []string // one line each, when not Ready (LiveReasons among them)

	NewestAge    time.Duration // age of the newest snapshot delivered (since the start while none was)
	Queue        int           // what waits to be processed
	SinksFailing time.Duration // how long every sink that delivers has been failing; 0 while one works
	Sinks        []SinkStatus  // each sink that delivers
	Clusters     []Cluster     // fleet mode: each cluster's last bucket
	Thresholds   Thresholds
}

// SinkStatus is how long one sink has been failing (0: it works).
type SinkStatus struct {
	Name    string
	Failing time.Duration
}

// Status judges what the daemon reported, as of now. m must not be nil.
func (m *Monitor) Status() Status {
	now := time.Now()
	m.mu.Lock()
	th, newest, answered, queueWhat, queue, clustersOf := m.th, m.newest, m.answered, m.queueWhat, m.queue, m.clustersOf
	loops := make([]*Loop, 0, len(m.loops))
	for l := range m.loops {
		loops = append(loops, l)
	}
	type sinkOf struct {
		name    string
		own     func() time.Time
		refused time.Time
	}
	sinks := make([]sinkOf, len(m.sinks))
	for i, s := range m.sinks {
		sinks[i] = sinkOf{s.name, s.own, s.refused}
	}
	m.mu.Unlock()
	slices.SortFunc(loops, func(a, b *Loop) int { return compareNames(a.name, b.name) })

	st := Status{Thresholds: th}
	// The sinks that deliver, each since it has been failing.
	anyFailing := false
	st.SinksFailing = -1
	for _, s := range sinks {
		since := s.refused
		if s.own != nil {
			if own := s.own(); !own.IsZero() && (since.IsZero() || own.Before(since)) {
				since = own
			}
		}
		var d time.Duration
		if !since.IsZero() {
			d = max(now.Sub(since), 0)
			anyFailing = true
		}
		st.Sinks = append(st.Sinks, SinkStatus{Name: s.name, Failing: d})
		if st.SinksFailing < 0 || d < st.SinksFailing {
			st.SinksFailing = d
		}
	}
	st.SinksFailing = max(st.SinksFailing, 0)

	// Alive: every loop.
	for _, l := range loops {
		s, since := l.state.Load(), time.Unix(0, l.since.Load())
		d := max(now.Sub(since), 0)
		switch {
		case s == busy && d > th.MaxStall:
			st.LiveReasons = append(st.LiveReasons, fmt.Sprintf("%s: busy with one step for %v, more than live-max-stall %v", l.name, round(d), th.MaxStall))
		case s == waiting && d > th.MaxStall && now.Sub(answered) > th.MaxStall && !anyFailing:
			st.LiveReasons = append(st.LiveReasons, fmt.Sprintf("%s: waiting for the sinks for %v, and no sink answered or reported a failure for %v, more than live-max-stall %v",
				l.name, round(d), round(now.Sub(answered)), th.MaxStall))
		}
	}
	st.Live = len(st.LiveReasons) == 0

	// Ready.
	st.Reasons = append(st.Reasons, st.LiveReasons...)
	if newest > 0 {
		st.NewestAge = max(now.Sub(time.Unix(newest, 0)), 0)
		if st.NewestAge > th.MaxAge {
			st.Reasons = append(st.Reasons, fmt.Sprintf("newest snapshot delivered %v ago (%s), more than %v", round(st.NewestAge), time.Unix(newest, 0).UTC().Format(time.RFC3339), th.MaxAge))
		}
	} else {
		st.NewestAge = max(now.Sub(m.start), 0)
		if st.NewestAge > th.MaxAge {
			st.Reasons = append(st.Reasons, fmt.Sprintf("no snapshot delivered since the start %v ago, more than %v", round(st.NewestAge), th.MaxAge))
		}
	}
	if queue != nil {
		st.Queue = queue()
		if st.Queue > th.MaxQueue {
			st.Reasons = append(st.Reasons, fmt.Sprintf("%d %s, more than %d", st.Queue, queueWhat, th.MaxQueue))
		}
	}
	if len(sinks) > 0 && st.SinksFailing > th.MaxSinksFailing {
		names := make([]string, len(sinks))
		for i, s := range sinks {
			names[i] = s.name
		}
		st.Reasons = append(st.Reasons, fmt.Sprintf("every sink failing for %v, more than %v: %v", round(st.SinksFailing), th.MaxSinksFailing, names))
	}
	st.Ready = len(st.Reasons) == 0
	if clustersOf != nil {
		st.Clusters = clustersOf()
	}
	return st
}

// round rounds d for a reason: to the second from a minute, else to
// the hundredth (a snapshot 3.02 s old is more than 3 s old; 3 s would
// not say so).
func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// compareNames orders "worker 2" before "worker 10".
func compareNames(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
