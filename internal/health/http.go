package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Handler returns the handler of /healthz and /readyz: 200 with "ok",
// or 503 with the reasons, one line each, as plain text; GET and HEAD
// only. Any other path is 404. It never waits for the daemon's work.
func (m *Monitor) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ok bool
		var reasons []string
		switch r.URL.Path {
		case "/healthz":
			st := m.Status()
			ok, reasons = st.Live, st.LiveReasons
		case "/readyz":
			st := m.Status()
			ok, reasons = st.Ready, st.Reasons
		default:
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		body := "ok\n"
		code := http.StatusOK
		if !ok {
			body, code = strings.Join(reasons, "\n")+"\n", http.StatusServiceUnavailable
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			io.WriteString(w, body)
		}
	})
}

// Server is an HTTP server serving in a goroutine of its own until
// Shutdown: the one of health-listen (Listen), or the Prometheus
// endpoint's (Start).
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when the serving goroutine returned
}

// Listen listens on addr and serves h, /healthz and /readyz alone over
// plain HTTP, for a daemon without a [prometheus] endpoint, until
// Shutdown. An error means nothing is listening.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health-listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return Start(srv, ln, srv.Serve, "health endpoint", log), nil
}

// Start serves srv on ln with serve (srv.Serve, or one that adds TLS
// and authentication) until Shutdown; what names the server in the log
// when serving fails.
func Start(srv *http.Server, ln net.Listener, serve func(net.Listener) error, what string, log *slog.Logger) *Server {
	s := &Server{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what+" stopped", "err", err)
		}
	}()
	return s
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops listening, lets the requests in progress finish until
// ctx is done, then closes what is left, and returns once the server
// stopped.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}
