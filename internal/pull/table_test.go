package pull

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// A show table reply over dump.MaxTableReply stops being read there,
// however large max-reply-size is: the round is committed without it,
// and pull wrote at most that much of it.
func TestBigTableReplyCut(t *testing.T) {
	info := []byte("Name: HAProxy\nProcess_num: 1\n\n")
	stat := []byte("# pxname,svname,stot,\nwww,FRONTEND,1,\n\n")
	line := []byte("# table: per_ip, type: ip, size:1024, used:1\n")
	cfg := testConfig(t)
	cfg.MaxReplySize = 256 << 20
	cfg.SocketDir = t.TempDir()
	s := haproxytest.UnixSocket(t, cfg.SocketDir, "a.sock", info, stat)
	s.SetReply("show table", append(bytes.Repeat(line, 2*dump.MaxTableReply/len(line)), '\n'))
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	snap := filepath.Join(cfg.DstDir, "1500000000")
	if _, err := os.Stat(filepath.Join(snap, "a.sock_stat")); err != nil {
		t.Fatalf("the round was not committed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(snap, spool.FileName("a.sock", spool.Table))); !os.IsNotExist(err) {
		t.Errorf("a show table reply of %d bytes was stored: %v", 2*dump.MaxTableReply, err)
	}
}
