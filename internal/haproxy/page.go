package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// A PageClient fetches the CSV export of HAProxy stats pages ("stats
// uri"), for the http:// and https:// servers: the show stat dump of the
// process that serves the page, nothing of show info.
type PageClient struct {
	client   *http.Client
	retries  int
	interval time.Duration
}

// NewPageClient returns a PageClient with the timeouts, retries and TLS
// settings of cfg; the error names a TLS file that cannot be used.
func NewPageClient(cfg config.Pull) (*PageClient, error) {
	tc, err := config.ClientTLS("pull", cfg.TLSCAFile, cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSInsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil, // never through HTTP_PROXY: the page is the load balancer's
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     2 * cfg.PullInterval,
	}
	return &PageClient{
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not the CSV
		}},
		retries: cfg.Retries, interval: cfg.Interval,
	}, nil
}

// Fetch GETs the CSV export of target's page and copies it to w, checked
// as a show stat reply is: a "# " header, whole lines. The page's CSV
// has no final empty line, which the CLI's replies have: Fetch adds it,
// so that the file is the one a stats socket would have given. The
// body's HTTP framing (chunked, or its Content-Length) tells a cut reply
// from a whole one. Connections that fail are tried again as socket
// connections are (retries, interval).
func (c *PageClient) Fetch(ctx context.Context, target config.Server, w io.Writer) (int64, error) {
	var resp *http.Response
	err := connect(ctx, target, c.retries, c.interval, func() (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.URL, nil)
		if err != nil {
			return false, err
		}
		if target.User != "" {
			req.SetBasicAuth(target.User, target.Password)
		}
		resp, err = c.client.Do(req)
		var op *net.OpError
		return errors.As(err, &op) && op.Op == "dial", err // only a connection is tried again
	})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return 0, fmt.Errorf("stats page %s: %s: %q", target.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	if !framed(resp) {
		return 0, fmt.Errorf("stats page %s: the answer has neither a Content-Length nor chunked framing: it ends where the connection closes, so a cut one cannot be told from a whole one", target.URL)
	}
	chk := &checker{w: w}
	n, err := io.Copy(chk, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read stats page %s: %w", target.URL, ctxErr(ctx, err))
	}
	if chk.n > 0 && chk.tail[1] == '\n' && chk.tail[0] != '\n' {
		m, err := chk.Write([]byte{'\n'}) // the CLI's final empty line
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	if err := chk.verify(ShowStat); err != nil {
		return n, fmt.Errorf("stats page %s: %w", target.URL, err)
	}
	return n, nil
}

// framed reports whether resp's body says where it ends, so that a
// connection cut at a line boundary is an error and not a shorter CSV:
// a Content-Length, chunked framing, HTTP/2's frames or a gzip stream
// (whose trailer Go checks). A body that ends where the connection
// closes (HTTP/1.0, or an intermediary that strips the framing) is not:
// HAProxy's own page is chunked.
func framed(resp *http.Response) bool {
	return resp.ContentLength >= 0 || slices.Contains(resp.TransferEncoding, "chunked") ||
		resp.ProtoMajor >= 2 || resp.Uncompressed
}
