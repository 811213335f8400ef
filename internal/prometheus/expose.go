package prometheus

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/expfmt"

	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// The text format, version 0.0.4: what promex serves, and what every
// Prometheus server reads. A scrape that asks for another format gets
// this one, as content negotiation allows.
const textFormat = "text/plain; version=0.0.4; charset=utf-8"

// parseFilter reads scope= (repeatable: global, frontend, backend,
// server; none means all) and no-maint (servers in maintenance left
// out), as promex does.
func parseFilter(r *http.Request) (filter, string) {
	q := r.URL.Query()
	f := filter{}
	for _, v := range q["scope"] {
		sc, ok := scopeNames[v]
		if !ok {
			return f, "unknown scope " + strconv.Quote(v) + ": global, frontend, backend or server"
		}
		f.scopes |= sc
	}
	if f.scopes == 0 {
		f.scopes = allScopes
	}
	_, f.noMaint = q["no-maint"]
	return f, ""
}

// ServeHTTP answers a scrape with the newest snapshot's exposition, then
// the daemon's own metrics. The exposition is held as gzip members,
// encoded once when the snapshot came: scrapes that take gzip (Prometheus
// does) get the members their query selects as they are, any number at
// once, none turned away; the others get them decompressed as they are
// written.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, bad := parseFilter(r)
	if bad != "" {
		http.Error(w, bad, http.StatusBadRequest)
		return
	}
	gz := acceptsGzip(r.Header)
	h := w.Header()
	h.Add("Vary", "Accept, Accept-Encoding")
	if promproto.Negotiated(r.Header) {
		s.serveProto(w, r, f, gz)
		return
	}
	h.Set("Content-Type", textFormat)
	var runtime []byte
	if f.scopes&scopeGlobal != 0 {
		runtime = s.runtimeMetrics(gz)
	}
	body, n, release := s.members(r, f)
	defer release()
	if gz {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(n+len(runtime)))
	}
	if r.Method == http.MethodHead {
		return
	}
	var err error
	if gz { // gzip members one after the other are one gzip stream
		_, err = io.Copy(w, body)
	} else if n > 0 {
		err = gunzip(w, body)
	}
	if body.err != nil {
		s.log.Error("a scrape got part of the exposition", "err", body.err)
	}
	if err != nil {
		return // the client went away, or the exposition could not be read
	}
	w.Write(runtime)
}

// members returns the gzip members f selects: the newest snapshot's
// exposition, then the latency histograms; their size; and what lets go
// of them once served.
func (s *Sink) members(r *http.Request, f filter) (body *readErr, n int, release func()) {
	body, release = &readErr{r: bytes.NewReader(nil)}, func() {}
	var rs []io.Reader
	if e := s.current(r.Context()); e != nil {
		release = e.store.Release
		gz, size := e.selected(f)
		rs, n = append(rs, e.reader(gz)), size
	}
	for _, m := range s.latencyText(f) {
		rs, n = append(rs, bytes.NewReader(m)), n+len(m)
	}
	body.r = io.MultiReader(rs...)
	return body, n, release
}

// serveProto answers a scrape that asked for the protobuf format, as a
// Prometheus server with native histograms does: the same families, the
// text of the exposition converted a family at a time, the latency
// histograms with their native buckets.
func (s *Sink) serveProto(w http.ResponseWriter, r *http.Request, f filter, gz bool) {
	h := w.Header()
	h.Set("Content-Type", promproto.ContentType)
	if r.Method == http.MethodHead {
		return
	}
	var out io.Writer = w
	if gz {
		h.Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer zw.Close()
		out = zw
	}
	pw := promproto.NewWriter(out)
	e := s.current(r.Context())
	if e != nil {
		defer e.store.Release()
		gzs, n := e.selected(f)
		if n > 0 {
			zr, err := gzip.NewReader(e.reader(gzs))
			if err == nil {
				err = pw.Text(zr)
			}
			if err != nil {
				s.log.Error("a protobuf scrape got part of the exposition", "err", err)
				return
			}
		}
	}
	if err := s.writeLatencyProto(pw, f); err != nil {
		s.log.Error("a protobuf scrape got part of the latency histograms", "err", err)
		return
	}
	if f.scopes&scopeGlobal != 0 {
		if err := pw.Text(bytes.NewReader(s.runtimeMetrics(false))); err != nil {
			s.log.Error("a protobuf scrape got part of the daemon's own metrics", "err", err)
		}
	}
}

// readErr is a reader that keeps the error of its reader other than
// io.EOF: what went wrong on our side of a copy, not the client's.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// gunzip writes the text of the gzip members in r to w.
func gunzip(w io.Writer, r io.Reader) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, zr)
	return err
}

// runtimeMetrics encodes the daemon's own metrics, as a gzip member when
// gz.
func (s *Sink) runtimeMetrics(gz bool) []byte {
	mfs, err := s.runtime.Gather()
	if err != nil {
		s.log.Warn("some of the daemon's own metrics cannot be gathered", "err", err)
	}
	var buf bytes.Buffer
	var out io.Writer = &buf
	var gw *gzip.Writer
	if gz {
		// Stateless: a BestSpeed writer allocated 1 MB of encoder state
		// at every scrape, for the 10 KB of these metrics.
		gw, _ = gzip.NewWriterLevel(&buf, gzip.StatelessCompression)
		out = gw
	}
	enc := expfmt.NewEncoder(out, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		enc.Encode(mf)
	}
	if gw != nil {
		gw.Close()
	}
	return buf.Bytes()
}

// acceptsGzip reports whether h's Accept-Encoding takes gzip with a
// non-zero quality.
func acceptsGzip(h http.Header) bool {
	for _, part := range strings.Split(h.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !found {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err == nil && f > 0
	}
	return false
}
