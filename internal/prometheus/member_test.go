package prometheus

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// Members are gzip that any reader takes, alone or one after the other,
// whatever their size: empty, under a chunk, many chunks, a line longer
// than a chunk; in a store whose stream is in its file, and in memory
// when there is no file (blob's tests cover a file failing half-way).
func TestMembersAreGzip(t *testing.T) {
	for _, where := range []string{"file", "memory"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			if where == "memory" {
				dir = ""
			}
			a := newStore(dir)
			defer a.Release()
			long := strings.Repeat("x", 3*chunk)
			var want []string
			var members [][]span
			for _, lines := range []int{0, 1, 100, 5000, 100000, 5000} {
				m := member{store: a}
				var text strings.Builder
				for i := range lines {
					labels := []byte(fmt.Sprintf(`proxy="p%d"`, i))
					if i == lines/2 {
						labels = []byte(`proxy="` + long + `"`)
					}
					m.sample("haproxy_server_bytes_in_total", labels, "", "", float64(i), []byte(" 1700000000000\n"))
					fmt.Fprintf(&text, "haproxy_server_bytes_in_total{%s} %d 1700000000000\n", labels, i)
				}
				if lines > 0 && cap(m.text) > 2*len(long) {
					t.Errorf("%d lines: text buffer of %d bytes", lines, cap(m.text))
				}
				want = append(want, text.String())
				members = append(members, m.close())
			}
			a.Done()
			if a.InFile() != (where == "file") || a.Err() != nil {
				t.Fatalf("in file %v (%v), want %v", a.InFile(), a.Err(), where == "file")
			}
			e := &exposition{store: a}
			var gz []span
			for i, m := range members {
				got, err := io.ReadAll(must(stdgzip.NewReader(e.reader(m))))
				if err != nil || string(got) != want[i] {
					t.Fatalf("member %d: %d bytes back (%v), want %d", i, len(got), err, len(want[i]))
				}
				gz = append(gz, m...)
			}
			var all bytes.Buffer
			if err := gunzip(&all, e.reader(gz)); err != nil || all.String() != strings.Join(want, "") {
				t.Fatalf("the members one after the other: %d bytes (%v), want %d", all.Len(), err, len(strings.Join(want, "")))
			}
		})
	}
}

// A scrape that holds an exposition reads it whole after a newer one
// replaced it; the file is closed when the last reader is done.
func TestStoreOutlivesItsReplacement(t *testing.T) {
	a := newStore(t.TempDir())
	m := member{store: a}
	for i := range 20000 {
		m.sample("haproxy_server_up", []byte(fmt.Sprintf(`proxy="p%d"`, i)), "", "", 1, []byte(" 1\n"))
	}
	e := &exposition{store: a, parts: []part{{scope: scopeServer, gz: m.close()}}}
	a.Done()
	a.Retain()  // a scrape
	a.Release() // the sink lets it go for a newer one
	gz, n := e.selected(filter{scopes: allScopes})
	b, err := io.ReadAll(e.reader(gz))
	if err != nil || len(b) != n || n == 0 {
		t.Fatalf("read %d of %d bytes: %v", len(b), n, err)
	}
	a.Release() // the scrape is done
	if _, err := a.ReadAt(make([]byte, 1), 0); !errors.Is(err, blob.ErrReleased) {
		t.Fatalf("read after the last reader = %v, want blob.ErrReleased", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A scrape that comes while a snapshot is being built waits for it and
// gets it, never the previous one (let go before the build) nor half of
// the new one; one whose client goes away meanwhile returns.
func TestScrapeWaitsForBuild(t *testing.T) {
	s := newSink(t, bigExposition(t, 2, 2, ts13))
	srv := httptest.NewServer(s)
	defer srv.Close()
	// As Expose does when it starts a build.
	built := make(chan struct{})
	s.mu.Lock()
	s.newest, s.latest, s.built = ts13+10, nil, built
	s.mu.Unlock()

	got := make(chan string, 1)
	go func() {
		b, _, _ := scrape(t, srv.URL)
		got <- string(b)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		_, err := http.DefaultClient.Do(req)
		gone <- err
	}()
	select {
	case b := <-got:
		t.Fatalf("a scrape during the build answered before it ended: %d bytes", len(b))
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-gone; err == nil {
		t.Error("the scrape whose client went away got an answer")
	}
	e := build(bigExposition(t, 2, 2, ts13+10), &blob.Spill{Dir: t.TempDir()})
	s.mu.Lock()
	s.latest = e
	s.mu.Unlock()
	close(built)
	b := <-got
	if want := fmt.Sprintf(" %d000\n", ts13+10); !strings.Contains(b, want) {
		t.Errorf("the waiting scrape did not get the new snapshot (no sample at%q):\n%.500s", want, b)
	}
}

// A scrape whose exposition cannot be read back from its file gets an
// answer cut short, and the daemon's log says why; the next snapshot's
// exposition is served whole again.
func TestScrapeOfUnreadableExposition(t *testing.T) {
	var logged bytes.Buffer
	dir := t.TempDir()
	s := New("test", "abc123", dir, slog.New(slog.NewTextHandler(&logged, nil)))
	s.Expose(context.Background(), bigExposition(t, 20, 20, ts13))
	s.mu.Lock()
	closeFilesIn(t, dir) // its reads now fail
	s.mu.Unlock()
	get := func() (int, []byte) {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		n, _ := strconv.Atoi(w.Header().Get("Content-Length"))
		return n, w.Body.Bytes()
	}
	if n, body := get(); len(body) >= n || !strings.Contains(logged.String(), "a scrape got part of the exposition") {
		t.Fatalf("unreadable exposition: %d of %d bytes served; log: %q", len(body), n, logged.String())
	}
	s.Expose(context.Background(), bigExposition(t, 20, 20, ts13+10))
	if n, body := get(); len(body) != n || n == 0 {
		t.Fatalf("the next exposition: %d of %d bytes", len(body), n)
	}
}

// newStore returns a store with its file in dir ("": in memory).
func newStore(dir string) *store { return (&blob.Spill{Dir: dir}).New() }

// closeFilesIn closes, under their *os.File, the descriptors this process
// holds on files in dir (the unnamed files of a store), so that reading
// them fails as a disk that went bad does.
func closeFilesIn(t *testing.T, dir string) {
	t.Helper()
	fds := haproxytest.OpenIn(t, dir)
	if len(fds) == 0 {
		t.Fatalf("no file of %s open", dir)
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
}
