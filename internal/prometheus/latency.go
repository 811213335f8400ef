package prometheus

import (
	"bytes"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// latencyState is the latency histograms of HAProxy's request logs,
// cumulative since the daemon started: every snapshot's are merged in,
// whatever its age (Expose only ever shows the newest snapshot's
// statistics, but a histogram must count every round once). Their text
// is encoded once per snapshot that brought some, per scope, as gzip
// members; the protobuf form a native-histogram scrape asks for is
// encoded from the set at the scrape.
type latencyState struct {
	mu   sync.Mutex
	set  *latency.Set
	text [3][]byte // per latency.Scope: the text families, gzip members
}

// latencyScopes maps latency.Scope to the endpoint's scope= values.
var latencyScopes = [3]scope{scopeFrontend, scopeBackend, scopeServer}

// addLatency merges set into the cumulative histograms and encodes them
// again.
func (s *Sink) addLatency(set *latency.Set) {
	s.lat.mu.Lock()
	defer s.lat.mu.Unlock()
	if s.lat.set == nil {
		s.lat.set = latency.NewSet(s.LatencyMaxSeries)
	}
	s.lat.set.Merge(set)
	for sc := range s.lat.text {
		text := appendLatencyText(nil, s.lat.set, latency.Scope(sc))
		if len(text) == 0 {
			s.lat.text[sc] = nil
			continue
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(text)
		zw.Close()
		s.lat.text[sc] = buf.Bytes()
	}
}

// latencyText returns the gzip members of the scopes f selects.
func (s *Sink) latencyText(f filter) [][]byte {
	s.lat.mu.Lock()
	defer s.lat.mu.Unlock()
	var out [][]byte
	for sc, gz := range s.lat.text {
		if f.scopes&latencyScopes[sc] != 0 && len(gz) > 0 {
			out = append(out, gz)
		}
	}
	return out
}

// The families of the histograms, per latency.Scope.
var (
	timerFamilies = [3]string{"haproxystats_frontend_timer_seconds", "haproxystats_backend_timer_seconds", "haproxystats_server_timer_seconds"}
	abortFamilies = [3]string{"haproxystats_frontend_timer_aborted_total", "haproxystats_backend_timer_aborted_total", "haproxystats_server_timer_aborted_total"}
	termFamilies  = [3]string{"haproxystats_frontend_terminations_total", "haproxystats_backend_terminations_total", "haproxystats_server_terminations_total"}
)

const (
	timerHelp = "HAProxy's request timers from its logs (TR, Tw, Tc, Tr, Ta, Tt), in seconds, since haproxystats-process started; aborted requests (-1) are counted apart."
	abortHelp = "Requests whose timer HAProxy logged as -1 (aborted before that step), since haproxystats-process started."
	termHelp  = "Requests by termination state (the first two characters of HAProxy's %tsc), since haproxystats-process started."
)

// labels returns the labels of an object, then the extra one.
func objectLabels(o latency.Object, k, v string) []promproto.Label {
	ls := []promproto.Label{{Name: "proxy", Value: o.Proxy}}
	if o.Scope == latency.ScopeServer {
		ls = append(ls, promproto.Label{Name: "server", Value: o.Server})
	}
	return append(ls, promproto.Label{Name: k, Value: v})
}

// histogramFamily is the timer histograms of set's objects of scope sc.
func histogramFamily(set *latency.Set, sc latency.Scope) promproto.HistogramFamily {
	f := promproto.HistogramFamily{Name: timerFamilies[sc], Help: timerHelp}
	set.Each(func(o latency.Object, t latency.Timer, h *latency.Histogram) {
		if o.Scope != sc {
			return
		}
		n := h.Native()
		f.Series = append(f.Series, promproto.HistogramSeries{
			Labels: objectLabels(o, "timer", t.String()),
			Count:  h.Count(), Sum: float64(h.Sum()) / 1e3,
			Bounds: latency.ClassicBounds, Cumulative: h.Classic(nil)[:len(latency.ClassicBounds)],
			Schema: n.Schema, ZeroThreshold: n.ZeroThreshold, ZeroCount: n.ZeroCount,
			Spans: spans(n.Spans), Deltas: n.Deltas,
		})
	})
	return f
}

func spans(in []latency.Span) []promproto.Span {
	out := make([]promproto.Span, len(in))
	for i, s := range in {
		out[i] = promproto.Span{Offset: s.Offset, Length: s.Length}
	}
	return out
}

// appendCounters appends the text of the aborted and termination
// counters of scope sc.
func appendCounters(b []byte, set *latency.Set, sc latency.Scope) []byte {
	header := false
	set.Each(func(o latency.Object, t latency.Timer, h *latency.Histogram) {
		if o.Scope != sc || h.Aborted() == 0 {
			return
		}
		if !header {
			b, header = appendHeader(b, abortFamilies[sc], abortHelp, counter), true
		}
		b = appendLatencySample(b, abortFamilies[sc], o, "timer", t.String(), float64(h.Aborted()))
	})
	header = false
	set.EachTermination(func(o latency.Object, state string, n uint64) {
		if o.Scope != sc {
			return
		}
		if !header {
			b, header = appendHeader(b, termFamilies[sc], termHelp, counter), true
		}
		b = appendLatencySample(b, termFamilies[sc], o, "state", state, float64(n))
	})
	return b
}

var newline = []byte("\n")

func appendLatencySample(b []byte, name string, o latency.Object, k, v string, x float64) []byte {
	var labels []byte
	labels = appendLabel(labels, "proxy", o.Proxy)
	if o.Scope == latency.ScopeServer {
		labels = append(labels, ',')
		labels = appendLabel(labels, "server", o.Server)
	}
	return appendSample(b, name, labels, k, v, x, newline)
}

// appendLatencyText appends the text families of scope sc: the timer
// histograms with their classic buckets, then the counters.
func appendLatencyText(b []byte, set *latency.Set, sc latency.Scope) []byte {
	if f := histogramFamily(set, sc); len(f.Series) > 0 {
		b = promproto.AppendTextHistogram(b, f)
	}
	return appendCounters(b, set, sc)
}

// writeLatencyProto writes the families of the scopes f selects in the
// protobuf format: the histograms native and classic at once.
func (s *Sink) writeLatencyProto(w *promproto.Writer, f filter) error {
	s.lat.mu.Lock()
	defer s.lat.mu.Unlock()
	if s.lat.set == nil {
		return nil
	}
	for sc := range latencyScopes {
		if f.scopes&latencyScopes[sc] == 0 {
			continue
		}
		if hf := histogramFamily(s.lat.set, latency.Scope(sc)); len(hf.Series) > 0 {
			if err := w.Histogram(hf); err != nil {
				return err
			}
		}
		if text := appendCounters(nil, s.lat.set, latency.Scope(sc)); len(text) > 0 {
			if err := w.Text(bytes.NewReader(text)); err != nil {
				return err
			}
		}
	}
	return nil
}
