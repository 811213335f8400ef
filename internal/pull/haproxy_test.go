package pull

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// Two real haproxy processes sharing one configuration (SO_REUSEPORT),
// each with its own stats socket: one round commits both replies of both,
// shaped exactly like what socat reads from the same sockets.
func TestRealHAProxy(t *testing.T) {
	bin := haproxytest.HAProxyBinary(t)
	port := haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, bin, 2, fmt.Sprintf(haproxytest.Defaults+`frontend www.example.com
    bind 127.0.0.1:%d
    default_backend app
backend app
    server app1 127.0.0.1:%d
`, port, port+1))

	cfg := testConfig(t)
	cfg.SocketDir = h.SocketDir
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	snap := filepath.Join(cfg.DstDir, "1500000000")
	got := readDir(t, snap)
	// First contact: the typed dumps too; the stick tables every round.
	want := []string{".pull-stats", "admin1.sock_info", "admin1.sock_infotyped", "admin1.sock_stat", "admin1.sock_stattyped", "admin1.sock_table",
		"admin2.sock_info", "admin2.sock_infotyped", "admin2.sock_stat", "admin2.sock_stattyped", "admin2.sock_table"}
	if !slices.Equal(got, want) {
		t.Fatalf("snapshot = %v, want %v", got, want)
	}
	socat, err := exec.LookPath("socat")
	for _, sock := range h.Sockets {
		for _, cmd := range []string{"show info", "show stat", "show info typed", "show stat typed", "show table"} {
			var ref []byte
			if err == nil {
				c := exec.Command(socat, "-", "UNIX-CONNECT:"+sock)
				c.Stdin = bytes.NewBufferString(cmd + "\n")
				if ref, err = c.Output(); err != nil {
					t.Fatalf("socat: %v", err)
				}
			} else {
				ref = haproxytest.Query(t, sock, cmd)
			}
			name := filepath.Base(sock) + map[string]string{"show info": "_info", "show stat": "_stat",
				"show info typed": "_infotyped", "show stat typed": "_stattyped", "show table": "_table"}[cmd]
			b, rerr := os.ReadFile(filepath.Join(snap, name))
			if rerr != nil {
				t.Fatal(rerr)
			}
			compareShape(t, name, b, ref)
		}
	}
	// Same version: no typed dumps in the next round.
	p.Round(context.Background(), time.Unix(1500000001, 0))
	got = readDir(t, filepath.Join(cfg.DstDir, "1500000001"))
	want = []string{".pull-stats", "admin1.sock_info", "admin1.sock_stat", "admin1.sock_table", "admin2.sock_info", "admin2.sock_stat", "admin2.sock_table"}
	if !slices.Equal(got, want) {
		t.Fatalf("second snapshot = %v, want %v", got, want)
	}
}

// compareShape checks that two replies of the same socket, read a moment
// apart, have the same structure: the same first line (the CSV header or
// "Name: HAProxy"), the same number of lines, the same keys or row names,
// and the trailing empty line.
func compareShape(t *testing.T, name string, got, ref []byte) {
	t.Helper()
	gl, rl := bytes.Split(got, []byte("\n")), bytes.Split(ref, []byte("\n"))
	if !bytes.Equal(gl[0], rl[0]) {
		t.Errorf("%s: first line %q, socat read %q", name, gl[0], rl[0])
	}
	if len(gl) != len(rl) {
		t.Errorf("%s: %d lines, socat read %d", name, len(gl), len(rl))
		return
	}
	if !bytes.HasSuffix(got, []byte("\n\n")) && string(got) != "\n" { // "\n": no stick table
		t.Errorf("%s: no trailing empty line", name)
	}
	for i := range gl {
		sep := []byte(",")
		if bytes.HasSuffix([]byte(name), []byte("_info")) || bytes.HasSuffix([]byte(name), []byte("typed")) {
			sep = []byte(":") // typed: "<object and field>:<tags>:<type>:<value>"
		}
		gk, _, _ := bytes.Cut(gl[i], sep)
		rk, _, _ := bytes.Cut(rl[i], sep)
		if !bytes.Equal(gk, rk) {
			t.Errorf("%s line %d: key %q, socat read %q", name, i+1, gk, rk)
		}
	}
}
