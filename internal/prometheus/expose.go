package prometheus

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/expfmt"
)

// The text format, version 0.0.4: what promex serves, and what every
// Prometheus server reads. A scrape that asks for another format gets
// this one, as content negotiation allows.
const textFormat = "text/plain; version=0.0.4; charset=utf-8"

// variant is one way a scrape may ask for the exposition: its query
// (scope=, no-maint) and whether it takes gzip.
type variant struct {
	filter filter
	gzip   bool
}

// body is one variant of a snapshot's exposition, encoded once and
// served as is to every scrape that asks for it.
type body struct {
	once sync.Once
	b    []byte
	err  error
}

// gzipped returns the gzip encoding of snap for f, encoding it at the
// first call for f. Scrapes that arrive meanwhile wait for that one
// encoding.
func (s *Sink) gzipped(snap *snapshot, f filter) ([]byte, error) {
	v := variant{filter: f, gzip: true}
	snap.mu.Lock()
	if snap.bodies == nil {
		snap.bodies = map[variant]*body{}
	}
	bd := snap.bodies[v]
	if bd == nil {
		bd = &body{}
		snap.bodies[v] = bd
	}
	snap.mu.Unlock()
	bd.once.Do(func() {
		var buf bytes.Buffer
		buf.Grow(int(s.lastGzip.Load()) * 9 / 8) // about the last one's size: no doubling
		gw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if bd.err = snap.e.writeTo(gw, f); bd.err == nil {
			bd.err = gw.Close()
		}
		bd.b = buf.Bytes()
		if bd.err == nil {
			s.encodings.Add(1)
			s.lastGzip.Store(int64(len(bd.b)))
		}
	})
	return bd.b, bd.err
}

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
// the daemon's own metrics. Scrapes that take gzip get bytes encoded
// once per snapshot and query: 200 concurrent scrapes cost one encoding
// and one copy of it, not 200, and none is turned away. Others get the
// exposition encoded as it is written.
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
	h.Set("Content-Type", textFormat)
	h.Add("Vary", "Accept-Encoding")
	var runtime []byte
	if f.scopes&scopeGlobal != 0 {
		runtime = s.runtimeMetrics(gz)
	}
	snap := s.latest.Load()
	if gz {
		var b []byte
		if snap != nil {
			var err error
			if b, err = s.gzipped(snap, f); err != nil {
				s.log.Error("cannot encode the exposition", "ts", snap.ts, "err", err)
				http.Error(w, "cannot encode the metrics: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(b)+len(runtime)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(b) // two gzip members are one gzip stream
		w.Write(runtime)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	if snap != nil {
		if err := snap.e.writeTo(w, f); err != nil {
			return // the client went away
		}
	}
	w.Write(runtime)
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
		gw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
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
