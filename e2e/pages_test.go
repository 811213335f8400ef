package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// TestStatsPages: one real haproxy, pulled three ways at once, each into
// its own spool and Graphite namespace: through its stats socket, through
// its stats page over HTTP with the credentials in the URL, and over
// HTTPS (a certificate made here, verified with tls-ca-file; the
// credentials from http-user and http-password). Every frontend, backend
// and server line of the pages is the socket's, value for value, for the
// same snapshot second (but the current rates, which HAProxy computes
// at the millisecond it is asked); the pages have no daemon lines (no
// show info).
func TestStatsPages(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	dir := t.TempDir()
	crt, ca := selfSigned(t, dir)
	front, origin, page, tlsPage := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 1, httpDefaults+fmt.Sprintf(`frontend www
    bind 127.0.0.1:%[1]d
    default_backend app
backend app
    server s1 127.0.0.1:%[2]d
    server s2 127.0.0.1:%[2]d
listen origin
    bind 127.0.0.1:%[2]d
    http-request return status 200 content-type text/plain string ok
listen stats
    bind 127.0.0.1:%[3]d
    bind 127.0.0.1:%[4]d ssl crt %[5]s
    stats enable
    stats uri /stats
    stats auth ops:s3cret
`, front, origin, page, tlsPage, crt))
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	const requests = 40
	for i := range requests {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", front))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	port, out := relay(t, rbin)

	dlogs := logs{relayLog(out)}
	for _, run := range []struct{ ns, source string }{
		{"sock", "socket-dir = " + h.SocketDir},
		{"page", fmt.Sprintf("servers = http://ops:s3cret@127.0.0.1:%d/stats", page)},
		{"tls", fmt.Sprintf("servers = https://127.0.0.1:%d/stats\nhttp-user = ops\nhttp-password = s3cret\ntls-ca-file = %s", tlsPage, ca)},
	} {
		dlogs = append(dlogs, pipeline{pull: run.source, port: port, ns: run.ns}.start(t)...)
	}
	// The counters stop moving once haproxy holds no connection but the
	// pages' own (the backend's idle ones to origin too, which close on
	// their timeout): the rounds of every later second see the same.
	haproxytest.WaitFor(t, "no connection in haproxy but the stats pages'", time.Minute, nil, func() bool {
		return idle(t, h.Sockets[0], func(px string) bool { return px != "stats" })
	})
	quiet := time.Now().Unix() + 1
	// A second after quiet that all three have.
	ts, snap := settled(t, out, quiet, 2*time.Minute, dlogs, "sock.haproxy.frontend.www.stot", "page.haproxy.frontend.www.stot", "tls.haproxy.frontend.www.stot")
	compared, daemonLines := 0, map[string]int{}
	for path, v := range snap {
		ns, rest, _ := strings.Cut(path, ".")
		if strings.HasPrefix(rest, "haproxy.daemon.") {
			daemonLines[ns]++
		}
		field := rest[strings.LastIndexByte(rest, '.')+1:]
		if ns != "sock" || !(strings.HasPrefix(rest, "haproxy.frontend.") || strings.HasPrefix(rest, "haproxy.backend.")) ||
			strings.Contains(rest, ".stats.") || // the page's own proxy counts the pages' requests
			field == "rate" || field == "conn_rate" || field == "req_rate" { // per second, read at another millisecond
			continue
		}
		for _, other := range []string{"page", "tls"} {
			got, ok := snap[other+"."+rest]
			if !ok || got != v {
				t.Errorf("second %d: %s.%s = %v (present %v), the socket's is %v", ts, other, rest, got, ok, v)
			}
		}
		compared++
	}
	t.Logf("second %d: %d frontend, backend and server lines of the socket, each equal through the HTTP page and the HTTPS page (stot of www %v); daemon lines: socket %d, pages %d and %d",
		ts, compared, snap["sock.haproxy.frontend.www.stot"], daemonLines["sock"], daemonLines["page"], daemonLines["tls"])
	if snap["sock.haproxy.frontend.www.stot"] != requests || compared < 50 {
		t.Errorf("www stot %v, %d lines compared: want %d and a whole snapshot", snap["sock.haproxy.frontend.www.stot"], compared, requests)
	}
	if daemonLines["sock"] == 0 || daemonLines["page"] != 0 || daemonLines["tls"] != 0 {
		t.Errorf("daemon lines %v: the socket's only (a stats page has no show info)", daemonLines)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key in one PEM
// file for haproxy's crt, and the certificate alone as the CA file.
func selfSigned(t *testing.T, dir string) (crt, ca string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "haproxystats e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	crt, ca = filepath.Join(dir, "haproxy.pem"), filepath.Join(dir, "ca.pem")
	os.WriteFile(crt, append(cert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...), 0o600)
	os.WriteFile(ca, cert, 0o644)
	return crt, ca
}
