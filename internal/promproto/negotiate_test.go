package promproto_test

import (
	"net/http"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// The Accept headers of Prometheus 2.42, as a test server logged them.
const (
	// Started with --enable-feature=native-histograms.
	acceptNative = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
	// Started without it.
	acceptDefault = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)

func TestNegotiated(t *testing.T) {
	f := func(accept string, want bool) {
		t.Helper()
		h := http.Header{}
		if accept != "" {
			h.Set("Accept", accept)
		}
		if got := promproto.Negotiated(h); got != want {
			t.Errorf("Negotiated(%q) = %v, want %v", accept, got, want)
		}
	}
	f(acceptNative, true)
	f(acceptDefault, false)
	f("", false)
	f("*/*", false)
	f("text/plain", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", true)
	f(promproto.ContentType, true) // with blanks, as we send it
	f("Application/Vnd.Google.Protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", true)
	// Another encoding or message is not ours to send.
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily", false)
	f("application/vnd.google.protobuf;encoding=delimited", false)
	// Qualities.
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.5", true)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.4,text/plain;version=0.0.4;q=0.5", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=bad", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,*/*;q=0.5", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,text/*;q=0.2", true)
	// text/plain named counts over */* however high */* is.
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,text/plain;q=0.2,*/*", true)
	// Ties: protobuf unless text/plain is named first.
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,*/*", true)
	f("*/*,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", true)
	f("text/plain,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", false)
	f("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,text/plain", true)

	// Several Accept lines are one list.
	h := http.Header{}
	h.Add("Accept", "text/plain;q=0.5")
	h.Add("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	if !promproto.Negotiated(h) {
		t.Error("Negotiated of two Accept lines = false, want true")
	}
}
