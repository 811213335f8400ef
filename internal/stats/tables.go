package stats

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// A StickTable is one stick table as `show table` lists it, summed
// across the HAProxy processes that have it: its size (entries it can
// hold) and how many it holds, as limits and gauges of show stat are.
type StickTable struct {
	Name, Type string
	Size, Used float64
}

// StickTables parses the `show table` replies and sums each table across
// them, in name order. A line that is not "# table: <name>, type: <type>,
// size:<n>, used:<n>" is skipped: the list is not needed for the rest of
// the snapshot.
func StickTables(replies []File) []StickTable {
	byName := map[string]*StickTable{}
	for _, f := range replies {
		for line := range bytes.Lines(f.Data) {
			t, ok := parseTableLine(string(bytes.TrimSpace(line)))
			if !ok {
				continue
			}
			if have := byName[t.Name]; have != nil {
				have.Size += t.Size
				have.Used += t.Used
			} else {
				byName[t.Name] = &t
			}
		}
	}
	out := make([]StickTable, 0, len(byName))
	for _, t := range byName {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b StickTable) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// parseTableLine reads "# table: www, type: ip, size:1048576, used:2".
func parseTableLine(line string) (StickTable, bool) {
	rest, ok := strings.CutPrefix(line, "# table: ")
	if !ok {
		return StickTable{}, false
	}
	var t StickTable
	var haveSize, haveUsed bool
	for i, part := range strings.Split(rest, ", ") {
		if i == 0 {
			t.Name = part
			continue
		}
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "type":
			t.Type = v
		case "size":
			n, err := strconv.ParseUint(v, 10, 64)
			t.Size, haveSize = float64(n), err == nil
		case "used":
			n, err := strconv.ParseUint(v, 10, 64)
			t.Used, haveUsed = float64(n), err == nil
		}
	}
	return t, t.Name != "" && haveSize && haveUsed
}

// WalkStickTables gives each stick table's size and used to t, under
// PREFIX.sticktable.<table> (the name sanitised), then the count of
// their lines as MetricsStickTable. Tables whose names sanitise to the
// same path (a.b and a_b) are summed into it, as proxies are, so that
// no path is given twice in a snapshot.
func WalkStickTables(t Target, tables []StickTable, ts int64, o *Options) {
	o = o.orDefault()
	w := newWalk(t, ts, o)
	type path struct {
		name       string
		size, used float64
	}
	paths := make([]path, 0, len(tables))
	at := make(map[string]int, len(tables))
	for _, st := range tables {
		name := metric.Sanitize(st.Name)
		if i, ok := at[name]; ok {
			paths[i].size += st.Size
			paths[i].used += st.Used
			continue
		}
		at[name] = len(paths)
		paths = append(paths, path{name, st.Size, st.Used})
	}
	for _, p := range paths {
		w.row(StickTableBlock, w.self[:], p.name, "")
		w.value("size", p.size)
		w.value("used", p.used)
	}
	w.count("MetricsStickTable", w.n)
}
