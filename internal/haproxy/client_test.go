package haproxy

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

var (
	info = []byte("Name: HAProxy\nVersion: 2.6.12\n\n")
	stat = []byte("# pxname,svname,stot,\nweb,FRONTEND,1,\n\n")
)

func client() Client {
	return Client{Timeout: 100 * time.Millisecond, Interval: 10 * time.Millisecond, Retries: 0, BufferSize: 16}
}

func target(s *haproxytest.Socket) config.Server {
	return config.Server{Network: s.Network, Address: s.Address, Name: "x"}
}

func TestFetch(t *testing.T) {
	for _, s := range []*haproxytest.Socket{
		haproxytest.UnixSocket(t, t.TempDir(), "a.sock", info, stat),
		haproxytest.TCPSocket(t, info, stat),
	} {
		for cmd, want := range map[string][]byte{ShowInfo: info, ShowStat: stat} {
			var buf bytes.Buffer
			n, err := client().Fetch(context.Background(), target(s), cmd, &buf)
			if err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s %s: n=%d err=%v got %q", s.Network, cmd, n, err, buf.Bytes())
			}
		}
	}
}

// A reply far larger than the read buffer is read whole.
func TestFetchLargeReply(t *testing.T) {
	big := append([]byte("# pxname,svname,stot,\n"), bytes.Repeat([]byte("web,srv,1,\n"), 100000)...)
	big = append(big, '\n')
	s := haproxytest.UnixSocket(t, t.TempDir(), "a.sock", info, big)
	var buf bytes.Buffer
	if _, err := client().Fetch(context.Background(), target(s), ShowStat, &buf); err != nil || !bytes.Equal(buf.Bytes(), big) {
		t.Fatalf("err=%v, got %d of %d bytes", err, buf.Len(), len(big))
	}
}

func TestFetchRejectsBadReplies(t *testing.T) {
	for _, c := range []struct {
		name       string
		b          haproxytest.Behavior
		cmd        string
		info, stat []byte
		want       string
	}{
		{"truncated", haproxytest.Truncate, ShowStat, info, stat, "truncated"},
		{"garbage stat", haproxytest.Garbage, ShowStat, info, stat, "no CSV header"},
		{"garbage info", haproxytest.Garbage, ShowInfo, info, stat, "not a show info dump"},
		{"empty reply", haproxytest.Normal, ShowStat, info, []byte{}, "zero data"},
		{"closed without answering", haproxytest.Refuse, ShowStat, info, stat, ""}, // a reset or zero data, depending on timing
		{"error text instead of a dump", haproxytest.Normal, ShowStat, info, []byte("Permission denied\n\n"), "no CSV header"},
		{"no trailing empty line", haproxytest.Normal, ShowInfo, []byte("Name: HAProxy\n"), stat, "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := haproxytest.UnixSocket(t, t.TempDir(), "a.sock", c.info, c.stat)
			s.Set(c.b, 0)
			_, err := client().Fetch(context.Background(), target(s), c.cmd, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestFetchHungSocketBoundedByContext(t *testing.T) {
	s := haproxytest.UnixSocket(t, t.TempDir(), "a.sock", info, stat)
	s.Set(haproxytest.Hang, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client().Fetch(ctx, target(s), ShowStat, &bytes.Buffer{})
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("err=%v after %v, want a timeout near 200ms", err, time.Since(start))
	}
}

func TestConnectRetries(t *testing.T) {
	c := client()
	c.Retries = 3
	tgt := config.Server{Network: "unix", Address: filepath.Join(t.TempDir(), "none.sock")}
	_, err := c.Fetch(context.Background(), tgt, ShowInfo, &bytes.Buffer{})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Attempts != 4 {
		t.Fatalf("err = %v, want a ConnectError after 4 attempts", err)
	}
	if !strings.Contains(err.Error(), tgt.Address) {
		t.Errorf("error %q does not name the socket", err)
	}
}
