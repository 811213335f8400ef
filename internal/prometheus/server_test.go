package prometheus

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// listenLimited is Listen with scrapeLimits set for one test, serving h
// wrapped so that the test sees when a scrape's handler returned.
func listenLimited(t *testing.T, conns int, write time.Duration, h http.Handler) (*Server, *atomic.Int64) {
	t.Helper()
	saved := scrapeLimits
	scrapeLimits.conns, scrapeLimits.write = conns, write
	t.Cleanup(func() { scrapeLimits = saved })
	var returned atomic.Int64
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer returned.Add(1)
		h.ServeHTTP(w, r)
	}), nil, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, &returned
}

// A scrape client that asks for the exposition and never reads it holds
// it (an unlinked file, a connection) only until the write timeout: the
// answer is then given up and the handler returns.
func TestScrapeClientThatNeverReads(t *testing.T) {
	sink := newSink(t, bigExposition(t, 100, 100, ts13)) // 10 000 servers: far more than the socket buffers hold
	s, returned := listenLimited(t, 64, time.Second, sink)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n")
	haproxytest.WaitFor(t, "the scrape given up after the write timeout", 30*time.Second, nil, func() bool { return returned.Load() == 1 })
}

// Idle clients past scrapeLimits.conns wait in the listen queue and hold
// no file of the daemon; once one goes, a scrape gets its answer.
func TestScrapeConnectionsBounded(t *testing.T) {
	const limit = 4
	sink := newSink(t, exposition13(t, ts13, nil))
	s, _ := listenLimited(t, limit, time.Minute, sink)
	ln := s.ln
	var idle []net.Conn
	for range limit + 20 {
		c, err := net.Dial("tcp", s.Addr().String()) // the kernel's backlog takes them all
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	haproxytest.WaitFor(t, fmt.Sprintf("%d connections accepted", limit), 30*time.Second, nil, func() bool { return ln.open() == limit })
	if haproxytest.Poll(200*time.Millisecond, func() bool { return ln.open() > limit }) {
		t.Fatalf("%d connections accepted, want at most %d", ln.open(), limit)
	}
	scraped := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: time.Minute}).Get("http://" + s.Addr().String() + "/metrics")
		if err == nil {
			_, err = bufio.NewReader(resp.Body).ReadString('\n')
			resp.Body.Close()
		}
		scraped <- err
	}()
	for _, c := range idle { // the idle ones go, the oldest first
		c.Close()
	}
	select {
	case err := <-scraped:
		if err != nil {
			t.Errorf("scrape after the idle clients left: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to a scrape after the idle clients left")
	}
}
