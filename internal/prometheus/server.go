package prometheus

import (
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/health"
)

// scrapeLimits bound what scrape clients may hold, so that no number of
// them makes the daemon's own reads fail (EMFILE) or keep expositions
// long gone: connections at once (past it, new ones wait in the listen
// queue until one ends; a client that sends no request is let go after
// the ReadHeaderTimeout), and the time to write one answer (a client
// that does not read lets go of the exposition then, and of its
// connection). Prometheus scrapes with one connection per target.
var scrapeLimits = struct {
	conns int
	write time.Duration
}{conns: 64, write: time.Minute}

// Server is the HTTP server of the scrape endpoint.
type Server struct {
	*health.Server                // Addr, Shutdown
	ln             *limitListener // what bounds the connections
}

// Listen checks the web configuration file of cfg (TLS certificates and
// keys, basic authentication users), listens on cfg.Listen, and serves h
// at cfg.Path, probes (when not nil) at /healthz and /readyz, and a
// small page linking to them at "/", until Shutdown. The web
// configuration applies to every path. An error means nothing is
// listening.
func Listen(cfg config.Prometheus, h, probes http.Handler, log *slog.Logger) (*Server, error) {
	if err := web.Validate(cfg.WebConfigFile); err != nil {
		return nil, fmt.Errorf("prometheus: web-config-file %s: %w", cfg.WebConfigFile, err)
	}
	tcp, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	ln := newLimitListener(tcp, scrapeLimits.conns)
	links := `<p><a href="` + html.EscapeString(cfg.Path) + `">Metrics</a></p>`
	if probes != nil {
		links += `<p><a href="/healthz">Alive</a> <a href="/readyz">Ready</a></p>`
	}
	page := []byte(`<html><head><title>haproxystats</title></head><body><h1>haproxystats</h1>` + links + `</body></html>` + "\n")
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == cfg.Path:
			h.ServeHTTP(w, r)
		case probes != nil && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz"):
			probes.ServeHTTP(w, r)
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(page)
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      scrapeLimits.write,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	flags := &web.FlagConfig{
		WebListenAddresses: &[]string{cfg.Listen},
		WebSystemdSocket:   new(bool),
		WebConfigFile:      &cfg.WebConfigFile,
	}
	serve := func(ln net.Listener) error { return web.Serve(ln, srv, flags, log) }
	return &Server{Server: health.Start(srv, ln, serve, "prometheus endpoint", log), ln: ln}, nil
}

// A limitListener accepts at most n connections at once: Accept waits
// for one of them to be closed.
type limitListener struct {
	net.Listener
	slots chan struct{} // one element per open connection
	done  chan struct{} // closed by Close
	once  sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// open returns the connections accepted and not closed.
func (l *limitListener) open() int { return len(l.slots) }

// A slotConn gives its listener's slot back when it is closed.
type slotConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.l.slots })
	return err
}
