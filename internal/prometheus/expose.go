package prometheus

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// variant is one way a scrape may ask for the exposition: its format
// and whether it takes gzip.
type variant struct {
	format expfmt.Format
	gzip   bool
}

// body is one variant of a snapshot's exposition, encoded once and
// served as is to every scrape that asks for it.
type body struct {
	once sync.Once
	b    []byte
	err  error
}

// bodyFor returns the encoding of snap in v, encoding it at the first
// call for v. Scrapes that arrive meanwhile wait for that one encoding.
func (s *Sink) bodyFor(snap *snapshot, v variant) ([]byte, error) {
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
		bd.b, bd.err = encode(s.gather(snap), v)
		if bd.err == nil {
			s.encodings.Add(1)
		}
	})
	return bd.b, bd.err
}

// encode writes mfs in v.
func encode(mfs []*dto.MetricFamily, v variant) ([]byte, error) {
	var buf bytes.Buffer
	var w io.Writer = &buf
	var gw *gzip.Writer
	if v.gzip {
		gw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		w = gw
	}
	enc := expfmt.NewEncoder(w, v.format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return nil, err
		}
	}
	if gw != nil {
		if err := gw.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// ServeHTTP answers a scrape with the newest snapshot's exposition. Every
// scrape of one snapshot in one variant gets the same bytes, encoded
// once: 200 concurrent scrapes cost one encoding and one copy of it, not
// 200, and none is turned away.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	v := variant{format: expfmt.Negotiate(r.Header), gzip: acceptsGzip(r.Header)}
	h := w.Header()
	h.Set("Content-Type", string(v.format))
	h.Add("Vary", "Accept-Encoding")
	snap := s.latest.Load()
	if snap == nil {
		h.Set("Content-Length", "0")
		return // nothing yet: an empty exposition
	}
	b, err := s.bodyFor(snap, v)
	if err != nil {
		s.log.Error("cannot encode the exposition", "ts", snap.ts, "err", err)
		http.Error(w, "cannot encode the metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if v.gzip {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
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
