package process

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// A show table reply over dump.MaxTableReply (an endless one, as pull
// cut it) is left out of its snapshot, which the round does without: it
// is neither read whole nor a reason to quarantine the snapshot. A
// sound one beside it is kept.
func TestBigTableReplyLeftOut(t *testing.T) {
	src := spoolWith(t, "1500000000")
	snap := filepath.Join(src, "1500000000")
	line := []byte("# table: per_ip, type: ip, size:1024, used:1\n")
	big := bytes.Repeat(line, dump.MaxTableReply/len(line)+1)
	if err := os.WriteFile(filepath.Join(snap, "admin1.sock_table"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snap, "admin2.sock_table"), line, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadSnapshot(snap, 0)
	if err != nil {
		t.Fatalf("loadSnapshot: %v", err)
	}
	defer s.Release()
	tables := s.replies(spool.Table)
	if len(tables) != 1 || tables[0].Name != "admin2.sock_table" {
		t.Errorf("table replies %v, want admin2.sock_table alone", tables)
	}

	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	if p.Failed.Load() != 0 || exists(filepath.Join(p.failedDir(), "1500000000")) {
		t.Error("the snapshot was quarantined for its show table reply")
	}
	if len(g.snapshot(1500000000)) < 150 {
		t.Errorf("the snapshot gave %d metrics", len(g.snapshot(1500000000)))
	}
}
