package stats

import (
	"fmt"
	"testing"
)

// Stick tables are summed by name across the processes' show table
// replies; lines that are not a table are skipped.
func TestStickTables(t *testing.T) {
	replies := []File{
		{Name: "a.sock_table", Data: []byte("# table: per_host, type: string, size:200, used:3\n# table: per_ip, type: ip, size:1024, used:1\n\n")},
		{Name: "b.sock_table", Data: []byte("# table: per_ip, type: ip, size:1024, used:4\nUnknown command\n# table: broken, type: ip, size:x, used:1\n\n")},
		{Name: "c.sock_table", Data: []byte("\n")},
	}
	got := StickTables(replies)
	want := []StickTable{{"per_host", "string", 200, 3}, {"per_ip", "ip", 2048, 5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("StickTables = %v, want %v", got, want)
	}
	c := NewCollector(nil)
	WalkStickTables(c, []StickTable{{"a.b", "ip", 10, 2}}, 1700000000, &Options{Prefix: "lb.haproxy"})
	lines := map[string]float64{}
	for _, m := range c.Done() {
		lines[m.Path] = m.Value
	}
	for path, v := range map[string]float64{"lb.haproxy.sticktable.a_b.size": 10, "lb.haproxy.sticktable.a_b.used": 2, "lb.haproxy.haproxystats.MetricsStickTable": 3} {
		if lines[path] != v {
			t.Errorf("%s = %v, want %v (all: %v)", path, lines[path], v, lines)
		}
	}
}

// Tables whose names sanitise to one path (a.b.c and a_b_c) are summed
// into it, as proxies are: no Graphite path twice in a snapshot.
func TestStickTablesSamePath(t *testing.T) {
	c := NewCollector(nil)
	WalkStickTables(c, []StickTable{{"a.b.c", "ip", 10, 2}, {"a_b", "ip", 5, 5}, {"a_b_c", "string", 20, 3}}, 1700000000, &Options{Prefix: "lb.haproxy"})
	seen := map[string]int{}
	lines := map[string]float64{}
	for _, m := range c.Done() {
		seen[m.Path]++
		lines[m.Path] = m.Value
	}
	for path, n := range seen {
		if n > 1 {
			t.Errorf("%s given %d times", path, n)
		}
	}
	for path, v := range map[string]float64{"lb.haproxy.sticktable.a_b_c.size": 30, "lb.haproxy.sticktable.a_b_c.used": 5, "lb.haproxy.sticktable.a_b.size": 5, "lb.haproxy.haproxystats.MetricsStickTable": 5} {
		if lines[path] != v {
			t.Errorf("%s = %v, want %v (all: %v)", path, lines[path], v, lines)
		}
	}
}
