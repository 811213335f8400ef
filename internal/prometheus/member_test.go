package prometheus

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Members are gzip that any reader takes, alone or one after the other,
// whatever their size: empty, under a chunk, many chunks, a line longer
// than a chunk.
func TestMembersAreGzip(t *testing.T) {
	a := &arena{}
	long := strings.Repeat("x", 3*chunk)
	var want []string
	var gz [][]byte
	for _, lines := range []int{0, 1, 100, 5000} {
		m := member{arena: a}
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
		pieces := m.close()
		one := bytes.Join(pieces, nil)
		got, err := io.ReadAll(must(stdgzip.NewReader(bytes.NewReader(one))))
		if err != nil || string(got) != text.String() {
			t.Fatalf("%d lines: %d bytes back (%v), want %d", lines, len(got), err, text.Len())
		}
		want = append(want, text.String())
		gz = append(gz, pieces...)
	}
	var all bytes.Buffer
	if err := gunzip(&all, gz); err != nil || all.String() != strings.Join(want, "") {
		t.Fatalf("the members one after the other: %d bytes (%v), want %d", all.Len(), err, len(strings.Join(want, "")))
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
	e := build(bigExposition(t, 2, 2, ts13+10))
	s.mu.Lock()
	s.latest = e
	s.mu.Unlock()
	close(built)
	b := <-got
	if want := fmt.Sprintf(" %d000\n", ts13+10); !strings.Contains(b, want) {
		t.Errorf("the waiting scrape did not get the new snapshot (no sample at%q):\n%.500s", want, b)
	}
}
