package health

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var th = Thresholds{MaxAge: 30 * time.Second, MaxQueue: 5, MaxSinksFailing: time.Minute, MaxStall: 5 * time.Minute}

// probe asks h for path as a prober does, and returns the status code
// and the body.
func probe(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	return w.Code, w.Body.String()
}

// expect checks the answer of path: 200 "ok", or 503 with a line
// containing each of reasons and no other line.
func expect(t *testing.T, h http.Handler, path string, reasons ...string) {
	t.Helper()
	code, body := probe(t, h, path)
	if len(reasons) == 0 {
		if code != http.StatusOK || body != "ok\n" {
			t.Errorf("%s: %d %q, want 200 ok", path, code, body)
		}
		return
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if code != http.StatusServiceUnavailable || len(lines) != len(reasons) {
		t.Errorf("%s: %d %q, want 503 with %d reasons %q", path, code, body, len(reasons), reasons)
		return
	}
	for i, r := range reasons {
		if !strings.Contains(lines[i], r) {
			t.Errorf("%s: reason %q, want one containing %q", path, lines[i], r)
		}
	}
}

// The age of the newest snapshot delivered: counted from the start
// while none was, ready again as soon as one is.
func TestReadyNewestSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(th)
		h := m.Handler()
		expect(t, h, "/readyz")
		time.Sleep(30 * time.Second) // virtual
		expect(t, h, "/readyz")      // at the bound: not more than it
		time.Sleep(time.Second)      // virtual
		expect(t, h, "/readyz", "no snapshot delivered since the start 31s ago, more than 30s")
		expect(t, h, "/healthz") // nothing to do is alive

		m.Delivered(time.Now().Add(-10 * time.Second).Unix())
		expect(t, h, "/readyz")
		if st := m.Status(); st.NewestAge != 10*time.Second {
			t.Errorf("NewestAge = %v, want 10s", st.NewestAge)
		}
		m.Delivered(time.Now().Add(-20 * time.Second).Unix()) // an older one, retried late: the newest stays
		time.Sleep(21 * time.Second)                          // virtual
		expect(t, h, "/readyz", "newest snapshot delivered 31s ago")
		m.Delivered(time.Now().Unix())
		expect(t, h, "/readyz")
		m.Delivered(time.Now().Add(time.Hour).Unix()) // a clock ahead: age 0, not negative
		if st := m.Status(); st.NewestAge != 0 || !st.Ready {
			t.Errorf("a snapshot from the future: %+v", st)
		}
	})
}

func TestReadyQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(th)
		var n atomic.Int64
		m.SetQueue("snapshots waiting in src-dir", func() int { return int(n.Load()) })
		m.Delivered(time.Now().Unix())
		h := m.Handler()
		n.Store(5)
		expect(t, h, "/readyz")
		n.Store(6)
		expect(t, h, "/readyz", "6 snapshots waiting in src-dir, more than 5")
		if st := m.Status(); st.Queue != 6 || st.Ready {
			t.Errorf("Status = %+v, want queue 6, not ready", st)
		}
		m.SetThresholds(Thresholds{MaxAge: th.MaxAge, MaxQueue: 10, MaxSinksFailing: th.MaxSinksFailing, MaxStall: th.MaxStall}) // a reload
		expect(t, h, "/readyz")
	})
}

// Every sink that delivers must fail, for longer than the bound: from
// its own report (Graphite), or from its first refusal since it last
// accepted (Kafka, local-store).
func TestReadySinksFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(th)
		var graphiteDown atomic.Int64 // Unix nanoseconds, 0: up
		m.AddSink("graphite", func() time.Time {
			if n := graphiteDown.Load(); n != 0 {
				return time.Unix(0, n)
			}
			return time.Time{}
		})
		m.AddSink("kafka", nil)
		h := m.Handler()
		keepFresh := func() { m.Delivered(time.Now().Unix()) }

		graphiteDown.Store(time.Now().UnixNano())
		time.Sleep(2 * time.Minute) // virtual
		keepFresh()
		expect(t, h, "/readyz") // kafka still works
		st := m.Status()
		if st.SinksFailing != 0 || st.Sinks[0] != (SinkStatus{"graphite", 2 * time.Minute}) || st.Sinks[1] != (SinkStatus{"kafka", 0}) {
			t.Errorf("one sink failing: %+v", st)
		}

		m.Refused("kafka")
		time.Sleep(30 * time.Second) // virtual
		m.Refused("kafka")           // a second refusal: still failing since the first
		time.Sleep(31 * time.Second) // virtual
		keepFresh()
		expect(t, h, "/readyz", "every sink failing for 1m1s, more than 1m0s: [graphite kafka]")
		if st := m.Status(); st.SinksFailing != 61*time.Second {
			t.Errorf("SinksFailing = %v, want the shorter of the two, 61s", st.SinksFailing)
		}
		expect(t, h, "/healthz") // an outage is not a reason to restart

		m.Accepted("kafka")
		expect(t, h, "/readyz")
		graphiteDown.Store(0)
		m.Refused("prometheus") // not a sink that delivers: an answer, no more
		if st := m.Status(); st.SinksFailing != 0 || st.Sinks[0].Failing != 0 || st.Sinks[1].Failing != 0 || len(st.Sinks) != 2 {
			t.Errorf("every sink back: %+v", st)
		}
	})
}

// A loop idle for hours is alive; one busy with a step for longer than
// the bound is not, nor one waiting for sinks that neither answer nor
// say they fail (a deadlock).
func TestLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(th)
		h := m.Handler()
		w1, w2 := m.Loop("worker 1"), m.Loop("worker 2")
		m.AddSink("graphite", nil)
		time.Sleep(10 * time.Hour) // virtual
		m.Delivered(time.Now().Unix())
		expect(t, h, "/healthz")
		expect(t, h, "/readyz")

		w1.Busy()
		time.Sleep(5 * time.Minute) // virtual
		expect(t, h, "/healthz")
		time.Sleep(time.Second) // virtual
		expect(t, h, "/healthz", "worker 1: busy with one step for 5m1s, more than live-max-stall 5m0s")
		m.Delivered(time.Now().Unix())
		expect(t, h, "/readyz", "worker 1: busy") // not alive is not ready
		w1.Idle()
		expect(t, h, "/healthz")

		// Waiting for the sinks: alive while one answers ...
		w2.Waiting()
		for range 10 {
			time.Sleep(time.Minute) // virtual
			m.Accepted("graphite")
		}
		expect(t, h, "/healthz")
		// ... or says it fails ...
		m.Refused("graphite")
		time.Sleep(time.Hour) // virtual
		expect(t, h, "/healthz")
		// ... not when nothing moves.
		m.Accepted("graphite")
		time.Sleep(5*time.Minute + time.Second) // virtual
		expect(t, h, "/healthz", "worker 2: waiting for the sinks for 1h15m1s, and no sink answered or reported a failure for 5m1s")
		w2.Done()
		expect(t, h, "/healthz")

		var nilLoop *Loop // a Processor without a Monitor
		nilLoop.Busy()
		nilLoop.Done()
		var nilMonitor *Monitor
		nilMonitor.Delivered(1)
		if nilMonitor.Loop("x") != nil {
			t.Error("a nil Monitor made a loop")
		}
	})
}

// The endpoints over HTTP: the health-listen server, GET and HEAD, 404
// elsewhere, 405 for other methods, and the fleet's clusters in Status.
func TestServer(t *testing.T) {
	m := New(Thresholds{MaxAge: time.Hour, MaxQueue: 0, MaxSinksFailing: time.Hour, MaxStall: time.Hour})
	m.SetQueue("records behind", func() int { return 3 })
	m.SetClusters(func() []Cluster { return []Cluster{{Name: "ams", Hosts: 2, Missing: 1}} })
	s, err := Listen("127.0.0.1:0", m.Handler(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	base := "http://" + s.Addr().String()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
	if code, body := get("GET", "/readyz"); code != 503 || body != "3 records behind, more than 0\n" {
		t.Errorf("GET /readyz: %d %q", code, body)
	}
	if code, body := get("HEAD", "/readyz"); code != 503 || body != "" {
		t.Errorf("HEAD /readyz: %d %q", code, body)
	}
	if code, _ := get("GET", "/metrics"); code != 404 {
		t.Errorf("GET /metrics: %d, want 404", code)
	}
	if code, _ := get("POST", "/healthz"); code != 405 {
		t.Errorf("POST /healthz: %d, want 405", code)
	}
	if st := m.Status(); len(st.Clusters) != 1 || st.Clusters[0] != (Cluster{"ams", 2, 1}) {
		t.Errorf("Clusters = %+v", st.Clusters)
	}
	if _, err := Listen(s.Addr().String(), m.Handler(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a second server on the same address started")
	}
}
