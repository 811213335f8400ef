package pull

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// A stats page that answers without framing (no Content-Length, not
// chunked) and closes after one row of five, at a line boundary: the
// round is discarded, not committed with the one row.
func TestUnframedPageCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	haproxytest.Serve(ln, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
			"# pxname,svname,stot,\nwww,FRONTEND,1,\n")) // then the connection closes: 4 rows cut
	})
	url := "http://" + ln.Addr().String() + "/stats;csv"
	cfg := testConfig(t)
	cfg.Servers = []config.Server{{Network: "http", URL: url, Address: url, Name: ln.Addr().String() + "_stats"}}
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if got := readDir(t, cfg.DstDir); len(got) != 0 || p.Failed.Load() != 1 {
		t.Errorf("dst-dir = %v, failed = %d; want the round discarded", got, p.Failed.Load())
	}
}
