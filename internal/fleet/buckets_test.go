package fleet

import (
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/record"
)

func TestBuckets(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	rec := func(host string, epoch int64) record.Record {
		return record.Record{Host: host, Cluster: "c", Epoch: epoch}
	}
	newBuckets := func() *Buckets { return &Buckets{Interval: 10 * time.Second, Grace: 20 * time.Second, Window: 3} }
	due := func(b *Buckets, now time.Time) []int64 {
		var out []int64
		for _, bk := range b.Due(now) {
			out = append(out, bk.Start)
			b.Done(bk)
		}
		return out
	}
	eq := func(name string, got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: due %v, want %v", name, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: due %v, want %v", name, got, want)
			}
		}
	}

	t.Run("warm-up waits for grace, then complete buckets are due at once", func(t *testing.T) {
		b := newBuckets()
		for i, h := range []string{"a", "b", "c"} {
			b.Add(rec(h, 1003+int64(i)), nil, t0)
		}
		eq("first bucket, hosts not known yet", due(b, t0.Add(time.Second)))
		eq("after grace", due(b, t0.Add(20*time.Second)), 1000)
		now := t0.Add(20 * time.Second)
		for s := int64(1010); s <= 1030; s += 10 {
			for _, h := range []string{"a", "b", "c"} {
				b.Add(rec(h, s+1), nil, now)
			}
		}
		eq("four buckets seen: hosts known, complete buckets due", due(b, now.Add(time.Second)), 1010, 1020, 1030)
		for _, h := range []string{"a", "b"} {
			b.Add(rec(h, 1041), nil, now)
		}
		eq("bucket 1040 lacks c", due(b, now.Add(2*time.Second)))
		b.Add(rec("c", 1042), nil, now)
		eq("complete", due(b, now.Add(3*time.Second)), 1040)
	})

	t.Run("a missing host makes the bucket wait for grace", func(t *testing.T) {
		b := newBuckets()
		now := t0
		for s := int64(1000); s <= 1030; s += 10 {
			for _, h := range []string{"a", "b", "c"} {
				b.Add(rec(h, s), nil, now)
			}
		}
		eq("history", due(b, now.Add(21*time.Second)), 1000, 1010, 1020, 1030)
		now = now.Add(30 * time.Second)
		b.Add(rec("a", 1040), nil, now)
		b.Add(rec("b", 1040), nil, now)
		eq("c missing, within grace", due(b, now.Add(19*time.Second)))
		eq("c missing, grace over", due(b, now.Add(20*time.Second)), 1040)
		if b.Late != 0 {
			t.Errorf("Late = %d before any late snapshot", b.Late)
		}
		if b.Add(rec("c", 1044), nil, now.Add(21*time.Second)) {
			t.Error("late snapshot was merged")
		}
		if b.Late != 1 || !b.Emitted("c", 1040) {
			t.Errorf("Late = %d, Emitted(1040) = %v", b.Late, b.Emitted("c", 1040))
		}
		// c stopped reporting (last seen in 1040, late, but alive):
		// buckets up to 1040 + window × interval wait for it, later ones
		// do not.
		now = now.Add(time.Minute)
		for s := int64(1050); s <= 1080; s += 10 {
			b.Add(rec("a", s), nil, now)
			b.Add(rec("b", s), nil, now)
		}
		eq("c no longer expected", due(b, now.Add(time.Second)), 1080)
		eq("c expected until grace", due(b, now.Add(20*time.Second)), 1050, 1060, 1070)
	})

	t.Run("a backlog read at once is closed by the records' time, every host in", func(t *testing.T) {
		b := newBuckets() // a new owner: no history, hosts not known
		got := map[int64]int{}
		add := func(host string, epoch int64) {
			b.Add(rec(host, epoch), nil, t0)
			for _, bk := range b.Due(t0) { // as the consumer, after each record
				got[bk.Start] = len(bk.Hosts)
				b.Done(bk)
			}
		}
		// Ten buckets of three hosts read within a second, interleaved as
		// they were produced; c skipped bucket 1050 (a slow round).
		for s := int64(1000); s <= 1090; s += 10 {
			add("a", s+1)
			add("b", s+2)
			if s != 1050 {
				add("c", s+3)
			}
		}
		for s := int64(1000); s <= 1090; s += 10 {
			want := 3
			if s == 1050 {
				want = 2
			}
			if got[s] != want {
				t.Errorf("bucket %d: %d hosts, want %d, all before grace (due %v)", s, got[s], want, got)
			}
		}
		if b.Late != 0 {
			t.Errorf("%d late snapshots in a backlog", b.Late)
		}
	})

	t.Run("after a pause longer than the window, every host is waited for again", func(t *testing.T) {
		b := newBuckets()
		now := t0
		for s := int64(1000); s <= 1030; s += 10 { // history: a and b known
			b.Add(rec("a", s), nil, now)
			b.Add(rec("b", s), nil, now)
		}
		eq("history", due(b, now.Add(time.Second)), 1000, 1010, 1020, 1030)
		// Every host paused 10 buckets (maintenance, a broker outage),
		// then both are back, a's record first each time, b's a second
		// later; Due runs after each record, as the consumer runs it.
		hosts := map[int64]int{}
		for s := int64(1130); s <= 1200; s += 10 {
			now = t0.Add(time.Duration(s-1000) * time.Second)
			for i, h := range []string{"a", "b"} {
				at := now.Add(time.Duration(i) * time.Second)
				if !b.Add(rec(h, s+1), nil, at) {
					t.Errorf("bucket %d: %s late", s, h)
				}
				for _, bk := range b.Due(at) {
					hosts[bk.Start] = len(bk.Hosts)
					b.Done(bk)
				}
			}
		}
		for _, bk := range b.Due(now.Add(time.Minute)) {
			hosts[bk.Start] = len(bk.Hosts)
			b.Done(bk)
		}
		for s := int64(1130); s <= 1200; s += 10 {
			if hosts[s] != 2 {
				t.Errorf("bucket %d after the pause: %d hosts, want 2 (emitted: %v)", s, hosts[s], hosts)
			}
		}
		if b.Late != 0 {
			t.Errorf("%d late snapshots", b.Late)
		}
	})

	t.Run("a second snapshot of a host for one bucket is counted, the newer kept", func(t *testing.T) {
		b := newBuckets()
		b.Add(rec("a", 1001), nil, t0)
		b.Add(rec("a", 1005), nil, t0)
		b.Add(rec("a", 1003), nil, t0) // shipped twice, or out of order: the newer stays
		if b.Replaced != 2 {
			t.Errorf("Replaced = %d, want 2", b.Replaced)
		}
		bks := b.Due(t0.Add(time.Hour))
		if len(bks) != 1 || bks[0].Hosts["a"].Epoch != 1005 {
			t.Errorf("due %v, want bucket 1000 with a's round 1005", bks)
		}
	})

	t.Run("a host that stopped still makes a bucket wait for grace", func(t *testing.T) {
		b := newBuckets()
		for s := int64(1000); s <= 1030; s += 10 {
			for _, h := range []string{"a", "b", "c"} {
				b.Add(rec(h, s), nil, t0)
			}
		}
		due(b, t0)
		for s := int64(1040); s <= 1090; s += 10 { // c is gone
			b.Add(rec("a", s), nil, t0)
			b.Add(rec("b", s), nil, t0)
		}
		eq("c expected in 1040 … 1060: wait", due(b, t0.Add(time.Second)), 1070, 1080, 1090)
		eq("grace over", due(b, t0.Add(20*time.Second)), 1040, 1050, 1060)
	})
}
