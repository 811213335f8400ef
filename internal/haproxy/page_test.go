package haproxy

import (
	"bytes"
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

const pageCSV = "# pxname,svname,scur,\nwww,FRONTEND,1,\napp,s1,0,\napp,BACKEND,0,\n"

// A stats page's CSV export is stored as the socket's show stat reply
// would be, with the final empty line; a page that refuses, is not the
// CSV, is cut, or could be cut unseen (its body ends where the
// connection closes) says so, naming the URL.
func TestPageFetch(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/stats;csv", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="HAProxy Statistics"`)
			http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(pageCSV))
	})
	mux.HandleFunc("/html;csv", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>stats</html>\n")) })
	mux.HandleFunc("/cut;csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000") // then only part of it
		w.Write([]byte(pageCSV))
	})
	mux.HandleFunc("/unframed;csv", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length, not chunked: the body ends where the
		// connection closes, here after two whole lines of four.
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
		buf.WriteString(strings.Join(strings.SplitAfter(pageCSV, "\n")[:2], ""))
		buf.Flush()
	})
	mux.HandleFunc("/chunked;csv", func(w http.ResponseWriter, r *http.Request) {
		for _, line := range strings.SplitAfter(pageCSV, "\n") {
			w.Write([]byte(line))
			w.(http.Flusher).Flush() // as HAProxy sends its page: chunked
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := NewPageClient(config.Pull{Timeout: time.Second, Retries: 0})
	if err != nil {
		t.Fatal(err)
	}
	page := func(path, user, pass string) config.Server {
		return config.Server{Network: "http", URL: srv.URL + path, Address: srv.URL + path, User: user, Password: pass}
	}
	var b bytes.Buffer
	if _, err := c.Fetch(context.Background(), page("/stats;csv", "ops", "s3cret"), &b); err != nil || b.String() != pageCSV+"\n" {
		t.Errorf("page: %q, %v; want the CSV and an empty line", b.String(), err)
	}
	b.Reset()
	if _, err := c.Fetch(context.Background(), page("/chunked;csv", "", ""), &b); err != nil || b.String() != pageCSV+"\n" {
		t.Errorf("chunked page: %q, %v; want the CSV and an empty line", b.String(), err)
	}
	for path, want := range map[string]string{
		"/unframed;csv": "neither a Content-Length nor chunked framing",
		"/stats;csv":    "401 Unauthorized",
		"/html;csv":     "no CSV header",
		"/cut;csv":      "unexpected EOF",
		"/none;csv":     "404 Not Found",
	} {
		b.Reset()
		_, err := c.Fetch(context.Background(), page(path, "ops", "wrong"), &b)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL+path) {
			t.Errorf("%s: %v, want an error naming the URL with %q", path, err, want)
		}
	}
	// Nothing listens: a connection error after retries + 1 attempts.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/stats;csv"
	ln.Close()
	c2, _ := NewPageClient(config.Pull{Timeout: time.Second, Retries: 2, Interval: 10 * time.Millisecond})
	_, err = c2.Fetch(context.Background(), config.Server{Network: "http", URL: dead, Address: dead}, &b)
	if ce, ok := err.(*ConnectError); !ok || ce.Attempts != 3 {
		t.Errorf("dead page: %v, want a ConnectError after 3 attempts", err)
	}
}

// https:// pages are verified against tls-ca-file; a bad CA file is an
// error naming it.
func TestPageTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(pageCSV)) }))
	defer srv.Close()
	target := config.Server{Network: "http", URL: srv.URL + "/;csv", Address: srv.URL + "/;csv"}
	plain, _ := NewPageClient(config.Pull{Timeout: time.Second})
	var b bytes.Buffer
	if _, err := plain.Fetch(context.Background(), target, &b); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v, want a certificate error", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	c, err := NewPageClient(config.Pull{Timeout: time.Second, TLSCAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if _, err := c.Fetch(context.Background(), target, &b); err != nil || b.String() != pageCSV+"\n" {
		t.Errorf("with tls-ca-file: %q, %v", b.String(), err)
	}
	skip, _ := NewPageClient(config.Pull{Timeout: time.Second, TLSInsecureSkipVerify: true})
	b.Reset()
	if _, err := skip.Fetch(context.Background(), target, &b); err != nil {
		t.Errorf("tls-insecure-skip-verify: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	if _, err := NewPageClient(config.Pull{TLSCAFile: bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad tls-ca-file: %v", err)
	}
}
