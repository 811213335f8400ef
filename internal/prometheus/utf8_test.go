package prometheus

import (
	"net/http/httptest"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// A proxy, server or stick-table name that is not UTF-8 (HAProxy refuses
// one, a hostile or broken reply may carry one) is exposed with U+FFFD
// in place of each bad byte: the exposition stays valid, so the scrape
// keeps every other series, which Prometheus would otherwise reject with
// the whole scrape.
func TestInvalidUTF8Names(t *testing.T) {
	const header = "# pxname,svname,stot,status,type,check_status,check_code\n"
	st := header + "www,FRONTEND,5,OPEN,0,,\nfe\xff\xfebad,FRONTEND,6,OPEN,0,,\napp,BACKEND,7,UP,1,,\napp,s\xc3,7,UP,2,,\n"
	x := exposeFiles(t, ts13, nil, []stats.File{{Name: "a.sock_stat", Data: []byte(st)}})
	x.StickTables = []stats.StickTable{{Name: "t\xe2\x82", Type: "ip", Size: 100, Used: 3}, {Name: "ok", Type: "ip", Size: 10, Used: 1}}
	srv := httptest.NewServer(newSink(t, x))
	defer srv.Close()
	body, _, got := scrape(t, srv.URL) // the text parser refuses invalid UTF-8
	haproxytest.Promtool(t, body)
	for series, want := range map[string]float64{
		`haproxy_frontend_sessions_total{proxy="www"}`:                    5,
		"haproxy_frontend_sessions_total{proxy=\"fe\ufffd\ufffdbad\"}":    6,
		`haproxy_backend_sessions_total{proxy="app"}`:                     7,
		"haproxy_server_sessions_total{proxy=\"app\",server=\"s\ufffd\"}": 7,
		"haproxy_sticktable_used{name=\"t\ufffd\ufffd\",type=\"ip\"}":     3,
		`haproxy_sticktable_used{name="ok",type="ip"}`:                    1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}
