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
// their lines as MetricsStickTable.
func WalkStickTables(t Target, tables []StickTable, ts int64, o *Options) {
	o = o.orDefault()
	w := newWalk(t, ts, o)
	for _, st := range tables {
		w.row(StickTableBlock, w.self[:], metric.Sanitize(st.Name), "")
		w.value("size", st.Size)
		w.value("used", st.Used)
	}
	w.count("MetricsStickTable", w.n)
}
