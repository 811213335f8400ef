// Package manpage renders the manual pages haproxystats-pull(8) and
// haproxystats-process(8) from docs/configuration.md: its option tables
// are the reference of every option (a config test checks that each has
// a row), so the pages cannot drift from them. The rest of a page
// (command line, signals, files, exit status) is written here.
package manpage

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// An Option is one row of an option table of docs/configuration.md.
type Option struct {
	Section, Name, Default, Unit, Meaning string
}

var (
	sectionHeading = regexp.MustCompile("^#{2,3} `\\[([a-z-]+|DEFAULT)\\]`")
	link           = regexp.MustCompile(`\[([^\]]+)\]\([^)]+\)`)
)

// Options returns the rows of the option tables of ref (the text of
// docs/configuration.md), each with its section: the heading above the
// table, or the table's section column.
func Options(ref []byte) []Option {
	var out []Option
	section := ""
	var cols map[string]int
	sc := bufio.NewScanner(bytes.NewReader(ref))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if strings.HasPrefix(line, "#") {
			section = ""
		}
		if !strings.HasPrefix(line, "|") {
			cols = nil
			continue
		}
		cells := splitRow(line)
		if cols == nil {
			cols = map[string]int{}
			for i, c := range cells {
				cols[c] = i
			}
			if _, ok := cols["option"]; !ok {
				cols = map[string]int{"": -1} // not an option table: skip its rows
			}
			continue
		}
		oi, ok := cols["option"]
		if !ok || strings.HasPrefix(cells[0], "---") {
			continue
		}
		o := Option{Section: section, Name: cell(cells, oi), Default: cell(cells, col(cols, "default")),
			Unit: cell(cells, col(cols, "unit")), Meaning: cell(cells, col(cols, "meaning"))}
		if si, ok := cols["section"]; ok {
			o.Section = cell(cells, si)
		}
		if o.Section != "" && o.Name != "" {
			out = append(out, o)
		}
	}
	return out
}

func col(cols map[string]int, name string) int {
	if i, ok := cols[name]; ok {
		return i
	}
	return -1
}

func cell(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return cells[i]
}

// splitRow splits a Markdown table row, "\|" being a literal bar.
func splitRow(line string) []string {
	line = strings.Trim(strings.TrimSpace(line), "|")
	line = strings.ReplaceAll(line, `\|`, "\x00")
	var out []string
	for _, c := range strings.Split(line, "|") {
		out = append(out, strings.ReplaceAll(strings.TrimSpace(c), "\x00", "|"))
	}
	return out
}

// A Page is one manual page.
type Page struct {
	Name     string   // haproxystats-pull
	Summary  string   // one line
	Synopsis string   // the options after the name
	About    string   // DESCRIPTION, plain text paragraphs
	Sections []string // the configuration sections it reads, in order
	Extra    string   // more OPTIONS text
}

// Pages are the two daemons' pages.
var Pages = []Page{
	{
		Name: "haproxystats-pull", Summary: "pull statistics from HAProxy stats sockets into a spool",
		Synopsis: `[\fB\-f\fR \fIfile\fR] [\fB\-p\fR | \fB\-P\fR] [\fB\-v\fR] [\fB\-h\fR]`,
		About: "Every pull-interval, haproxystats-pull sends show info and show stat to every HAProxy stats socket it finds " +
			"(socket-dir, servers, and the workers of a master CLI), writes the replies into a directory named after the round's " +
			"epoch second under tmp-dst-dir, and renames it into dst-dir only when complete: the spool haproxystats-process reads. " +
			"With ship = kafka it also produces each snapshot to Kafka (fleet mode).",
		Sections: []string{"DEFAULT", "paths", "pull", "logs", "kafka", "fleet"},
	},
	{
		Name: "haproxystats-process", Summary: "turn HAProxy statistics snapshots into Graphite, Kafka and Prometheus metrics",
		Synopsis: `[\fB\-f\fR \fIfile\fR] [\fB\-d\fR \fIdir\fR] [\fB\-p\fR | \fB\-P\fR] [\fB\-v\fR] [\fB\-h\fR]`,
		About: "haproxystats-process scans src-dir at start, then follows it, and turns every snapshot haproxystats-pull committed " +
			"into metrics: aggregated across the HAProxy processes, sent to Graphite (and local-store, Kafka, a Prometheus endpoint); " +
			"a snapshot leaves the spool only once every sink accepted it. With source = kafka it consumes the snapshots of a fleet instead.",
		Sections: []string{"DEFAULT", "paths", "process", "graphite", "local-store", "kafka", "prometheus", "logs", "fleet"},
		Extra:    ".TP\n.BI \\-d \" dir\", \" \\-\\-dir \" dir\nalso read the *.conf files of \\fIdir\\fR, in sorted order, after \\fIfile\\fR.\n",
	},
}

// Render returns p in roff (man(7)), with the options of ref (the text
// of docs/configuration.md).
func Render(p Page, ref []byte) []byte {
	opts := Options(ref)
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	upper := strings.ToUpper(p.Name)
	w(".\\\" Generated from docs/configuration.md by internal/manpage; do not edit.\n")
	w(".TH %s 8 \"\" \"haproxystats\" \"System Administration\"\n", upper)
	w(".SH NAME\n%s \\- %s\n", p.Name, p.Summary)
	w(".SH SYNOPSIS\n.B %s\n%s\n", p.Name, p.Synopsis)
	w(".SH DESCRIPTION\n%s\n", roff(p.About))
	w(".SH OPTIONS\n")
	w(".TP\n.BI \\-f \" file\", \" \\-\\-file \" file\nthe configuration file; default \\fI/etc/haproxystats.conf\\fR.\n")
	b.WriteString(p.Extra)
	w(".TP\n.BR \\-p \", \" \\-\\-print\nprint the built-in defaults, in the original haproxystats' form, and exit.\n")
	w(".TP\n.BR \\-P \", \" \\-\\-print\\-conf\nprint the configuration in force, interpolated, and exit.\n")
	w(".TP\n.BR \\-v \", \" \\-\\-version\nprint the version, the commit and the Go version, and exit.\n")
	w(".TP\n.BR \\-h \", \" \\-\\-help\nprint the usage and exit.\n")
	w(".SH CONFIGURATION\nAn INI file read as the original haproxystats read it: [DEFAULT] supplies every section, " +
		"${option} and ${section:option} are interpolated, durations are in seconds. Every problem is reported at start, one line each.\n")
	for _, s := range p.Sections {
		rows := slices.DeleteFunc(slices.Clone(opts), func(o Option) bool { return strings.Trim(o.Section, "[]`") != s })
		if len(rows) == 0 {
			continue
		}
		w(".SS [%s]\n", s)
		for _, o := range rows {
			w(".TP\n.B %s\n", roffWord(o.Name))
			def := "default: " + o.Default
			if o.Unit != "" {
				def += ", " + o.Unit
			}
			w("(%s) %s\n", roff(def), roff(o.Meaning))
		}
	}
	w(".SH SIGNALS\n.TP\n.BR SIGTERM \", \" SIGINT\nstop cleanly, exit status 0; a second signal ends the daemon at once.\n")
	w(".TP\n.B SIGHUP\nload the configuration again: what can change while running changes, what cannot is logged as needing a restart and kept; " +
		"a configuration that does not load is logged and the old one kept. The daemon never stops on SIGHUP.\n")
	w(".SH FILES\n.TP\n.I /etc/haproxystats.conf\nthe configuration.\n.TP\n.I /var/lib/haproxystats/incoming\nthe spool (dst-dir, src-dir by default).\n")
	w(".TP\n.I /etc/default/haproxystats\nthe systemd units read CONFIG from it.\n")
	w(".SH EXIT STATUS\n0 after \\-h, \\-v, \\-p, \\-P and after SIGTERM or SIGINT; 1 for a usage error, an invalid configuration, " +
		"a second instance on the same spool, or a start-up failure (each on one line of standard error).\n")
	w(".SH SEE ALSO\n.BR haproxystats-pull (8),\n.BR haproxystats-process (8),\n.BR haproxy (1);\n")
	w("%s\n", roff("the documentation in /usr/share/doc/haproxystats: README.md.gz and, under docs/, configuration.md.gz "+
		"(every option), operations.md.gz (running the daemons, reloads, what happens when things break, upgrades), "+
		"metrics.md.gz, fleet.md.gz, performance.md.gz and differences.md.gz (from the Python haproxystats)."))
	return []byte(b.String())
}

// roff turns Markdown text into roff text: no code spans, emphasis or
// links, backslashes and leading dots escaped.
func roff(s string) string {
	s = link.ReplaceAllString(s, "$1")
	s = strings.NewReplacer("**", "", "`", "", `\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func roffWord(s string) string { return strings.ReplaceAll(roff(s), " ", `\ `) }
