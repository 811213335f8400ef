package logformat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// customFormat is the log-format of frontend fe_custom in
// testdata/haproxy.cfg, as that file writes it.
const customFormat = `"%ci:%cp [%tr] %ft %b/%s TR=%TR Tw=%Tw Tc=%Tc Tr=%Tr Ta=%Ta Tt=%Tt Th=%Th Ti=%Ti Tq=%Tq %ST %B %tsc %{+Q}[capture.req.method] %[be_id] %{+Q}r"`

// readQuoted returns the datagrams of a capture: one Go-quoted string a
// line, as the capture's listener wrote them.
func readQuoted(tb testing.TB, path string) [][]byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	s := bufio.NewScanner(f)
	for s.Scan() {
		m, err := strconv.Unquote(s.Text())
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, []byte(m))
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// describe is what l says, in one comparable line: the names, the
// timers present and the termination state.
func describe(l *latency.Line) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", l.Frontend, l.Backend, l.Server)
	for t := range latency.NumTimers {
		if l.Has&(1<<t) != 0 {
			fmt.Fprintf(&b, " %s=%d", t, l.Timers[t])
		}
	}
	if l.HasTerm {
		fmt.Fprintf(&b, " %s", l.Term[:])
	}
	return b.String()
}

// The lines of the captures, in the order of every framing's file. A
// want starting with "custom:" is of fe_custom's log-format, which auto
// must not take.
var (
	want26 = []string{
		"fe_http be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",         // httplog, captures with spaces and #22
		"fe_http be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",         // 404
		"fe_http be_dead dead1 TR=0 Tw=0 Tc=-1 Tr=-1 Ta=1001 SC",  // dead server
		"fe_http be_nosrv <NOSRV> TR=0 Tw=-1 Tc=-1 Tr=-1 Ta=0 SC", // no server
		"fe_plain be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",        // no captures: separators merge
		"fe_plain be_app app1 TR=0 Tw=0 Tc=0 Tr=0 Ta=0 --",        //
		"fe_https be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",        // httpslog over SSL: "fe_https~"
		"fe_https be_dead dead1 TR=0 Tw=0 Tc=-1 Tr=-1 Ta=1006 SC", //
		"fe_clf be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",          // httplog clf
		"fe_clf be_nosrv <NOSRV> TR=0 Tw=-1 Tc=-1 Tr=-1 Ta=0 SC",  //
		"custom:fe_custom be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 Tt=1 --",
		"custom:fe_custom be_dead dead1 TR=0 Tw=0 Tc=-1 Tr=-1 Ta=1001 Tt=1001 SC",
		"fe_logasap be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",      // logasap: "+1"
		"fe_tcp be_tcp app1 Tw=1 Tc=0 Tt=4 --",                    // tcplog
		"fe_tcpdead be_tcpdead dead1 Tw=1 Tc=-1 Tt=1002 SC",       //
		"fe_http fe_http <NOSRV> TR=-1 Tw=-1 Tc=-1 Tr=-1 Ta=0 CR", // <BADREQ>
	}
	want26Hostname = []string{
		"fe_plain be_app app1 TR=0 Tw=0 Tc=0 Tr=8 Ta=8 --",
		"fe_http be_nosrv <NOSRV> TR=0 Tw=-1 Tc=-1 Tr=-1 Ta=0 SC",
		"fe_https be_app app1 TR=0 Tw=0 Tc=1 Tr=2 Ta=3 --",
		"fe_clf be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 --",
		"custom:fe_custom be_app app1 TR=0 Tw=0 Tc=0 Tr=1 Ta=1 Tt=1 --",
		"fe_tcp be_tcp app1 Tw=1 Tc=0 Tt=3 --",
	}
)

func newParser(tb testing.TB, format string) *Parser {
	tb.Helper()
	p, err := New(format)
	if err != nil {
		tb.Fatalf("New(%q): %v", format, err)
	}
	return p
}

// TestCaptures parses every datagram HAProxy 2.6 sent, in every framing
// of the log directive, to a UDP and a unix datagram socket.
func TestCaptures(t *testing.T) {
	auto, custom := newParser(t, "auto"), newParser(t, customFormat)
	for dir, want := range map[string][]string{"haproxy-2.6": want26, "haproxy-2.6-hostname": want26Hostname} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.quoted"))
		if len(files) != 8 { // rfc3164 rfc5424 raw short timed iso priority, and unix
			t.Fatalf("%s: %d captures, want 8", dir, len(files))
		}
		for _, file := range files {
			t.Run(dir+"/"+filepath.Base(file), func(t *testing.T) {
				msgs := readQuoted(t, file)
				if len(msgs) != len(want) {
					t.Fatalf("%d datagrams, want %d", len(msgs), len(want))
				}
				for i, msg := range msgs {
					var l latency.Line
					w, isCustom := strings.CutPrefix(want[i], "custom:")
					p, other := auto, custom
					if isCustom {
						p, other = custom, auto
					}
					if !p.Parse(msg, &l) {
						t.Errorf("line %d not parsed: %q", i+1, msg)
						continue
					}
					if got := describe(&l); got != w {
						t.Errorf("line %d = %q, want %q\n%q", i+1, got, w, msg)
					}
					if other.Parse(msg, &l) {
						t.Errorf("line %d parsed by the other format as %q: %q", i+1, describe(&l), msg)
					}
				}
			})
		}
	}
}

// TestFormats parses lines written by hand from HAProxy's formats where
// no capture has them.
func TestFormats(t *testing.T) {
	f := func(format, msg, want string) {
		t.Helper()
		p := newParser(t, format)
		var l latency.Line
		ok := p.Parse([]byte(msg), &l)
		if got := describe(&l); !ok && want != "" || ok && got != want {
			t.Errorf("New(%q).Parse(%q) = %v %q, want %q", format, msg, ok, got, want)
		}
	}
	// option tcplog clf, which HAProxy 2.6 does not have.
	f("auto", `<134>1 2026-12-08T01:02:03.000001+00:00 lb1 haproxy 77 - - 10.0.0.1 - - [08/Dec/2026:01:02:03 +0000] "TCP " 000 117 "" "" 51234 456 "fe_tcp" "be_tcp" "app1" 0 1 2 30 18 ---- 1 1 0 0 0 0 0 "" "" `,
		"fe_tcp be_tcp app1 Tw=1 Tc=2 Tt=30 --")
	// Header captures in httplog clf: %hrl and %hsl run to the end.
	f("auto", `10.0.0.1 - - [08/Dec/2026:01:02:03 +0000] "GET / HTTP/1.1" 200 5 "" "" 1 2 "fe" "be" "s1" 1 2 3 4 5 ---- 1 1 0 0 0 0 0 "" "" "www.example.com" "Mozilla/5.0 (X11)" "12"`,
		"fe be s1 TR=1 Tw=2 Tc=3 Tr=4 Ta=5 --")
	// A line cut at HAProxy's log length inside %r still counts...
	f("auto", `<134>Dec  8 01:02:03 haproxy[1]: 10.0.0.1:5 [08/Dec/2026:01:02:03.004] fe be/s1 1/2/3/4/5 200 5 - - ---- 1/1/0/0/0 0/0 "GET /very-long-ur`,
		"fe be s1 TR=1 Tw=2 Tc=3 Tr=4 Ta=5 --")
	// ...but not one cut before the end of what it records.
	f("auto", `<134>Dec  8 01:02:03 haproxy[1]: 10.0.0.1:5 [08/Dec/2026:01:02:03.004] fe be/s1 1/2/3/4/5 200 5 - - --`, "")
	// RFC 5424 with structured data, escapes within.
	f("auto", `<134>1 2026-12-08T01:02:03Z lb1 haproxy 77 - [ex@1 a="x\"]y" b="\\"][ex@2 c="d"] 10.0.0.1:5 [08/Dec/2026:01:02:03.004] fe be/s1 1/2/3/4/5 200 5 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`,
		"fe be s1 TR=1 Tw=2 Tc=3 Tr=4 Ta=5 --")
	// RFC 3164 without <PRI>, as a relay may forward it.
	f("auto", `Mar  8 19:02:49 10.1.2.3 haproxy[8]: 127.0.0.1 - - [08/Mar/2022:19:02:49 +0000] "GET https://example.com/test HTTP/2.0" 200 7473 "" "" 40054 325 "fe~" "be" "srv" 0 0 0 62 63 ---- 1 1 0 0 0 0 0 "" "" `,
		"fe be srv TR=0 Tw=0 Tc=0 Tr=62 Ta=63 --")
	// IPv6 clients.
	f("auto", `<134>Dec  8 01:02:03 haproxy[1]: 2001:db8::1:40000 [08/Dec/2026:01:02:03.004] fe be/s1 1/0/2 300 cD 1/1/0/0/0 0/0`,
		"fe be s1 Tw=1 Tc=0 Tt=2 cD")
	// Timers at the edge of int64.
	f("auto", `fe:1 [x] fe be/s1 9223372036854775807/0/-1 3 -- 1/1/0/0/0 0/0`, "fe be s1 Tw=9223372036854775807 Tc=0 Tt=-1 --")
	f("auto", `fe:1 [x] fe be/s1 9223372036854775808/0/-1 3 -- 1/1/0/0/0 0/0`, "")
	f("auto", `fe:1 [x] fe be/s1 123456789012345678901234567890/0/-1 3 -- 1/1/0/0/0 0/0`, "")
	f("auto", `fe:1 [x] fe be/s1 -2/0/-1 3 -- 1/1/0/0/0 0/0`, "")
	f("auto", `fe:1 [x] fe be/s1 -12/0/-1 3 -- 1/1/0/0/0 0/0`, "")
	// logasap writes '+' before Tt.
	f("auto", `fe:1 [x] fe be/s1 0/0/+15 3 -- 1/1/0/0/0 0/0`, "fe be s1 Tw=0 Tc=0 Tt=15 --")
	// Only one '~' goes, and only from %ft.
	f("auto", `fe:1 [x] fe~~ be~/s1~ 0/0/15 3 -- 1/1/0/0/0 0/0`, "fe~ be~ s1~ Tw=0 Tc=0 Tt=15 --")
	f("%f %b %s %Tt", `fe~ be s 4`, "fe~ be s Tt=4")
	// Names as HAProxy wrote them: no UTF-8 check, NUL and newline kept.
	f("auto", "fe:1 [x] f\xffe b\x00e/s\n1 0/0/15 3 -- 1/1/0/0/0 0/0\x00\x00", "f\xffe b\x00e s\n1 Tw=0 Tc=0 Tt=15 --")
	// A name with a space is not a name HAProxy writes.
	f("auto", `fe:1 [x] fe b e/s1 0/0/15 3 -- 1/1/0/0/0 0/0`, "")
	// Custom formats: %%, options, expressions, names, quoting as in haproxy.cfg.
	f(`%%%ft%% %{+Q}b/%{+Q}s %{+E,+Q}[req.hdr(x),regsub("[]]",x)] %Tt %{+X}Tq`, `%fe% "be"/"s1" "a\"b" 7 1A`, "fe be s1 Tt=7")
	f(`%{+Q}o %ft\ %b\ %s\ \"%Tt\"`, `"fe" "be" "s1" "7"`, "fe be s1 Tt=7")
	f(`'%ft %b %s %Tt'`, `fe be s1 7`, "fe be s1 Tt=7")
	f(`%(fe)ft %(be:str)b %s %(t:sint)Tt`, `fe be s1 7`, "fe be s1 Tt=7")
	f(`%ft  %b   %s %Tt`, `fe be s1 7`, "fe be s1 Tt=7") // spaces merge
	f(`%ft %b %s %Tt %ST`, `fe be s1 7 200`, "fe be s1 Tt=7")
	f(`%ft %b %s %Tt %ST`, `fe be s1 7 200 extra`, "fe be s1 Tt=7") // the last field runs to the end
	f(`%ft %b %s %Tt %ST`, `fe be s1 7`, "")
	f(`%ft %b %s %Tt[%ts]`, `fe be s1 7[sD]`, "fe be s1 Tt=7 sD")
	f(`%ft %b %s %Tt %ts`, `fe be s1 7 s D`, "")
	f(`%ft %b %s %Tt %{+Q}tsc`, `fe be s1 7 "CD--"`, "fe be s1 Tt=7 CD")
	f(`%ft %b %s %{+Q}hr %{+Q}hs %Tt`, `fe be s1 "{a b|c}" "{}" 7`, "fe be s1 Tt=7")
	f(`%ft %b %s %{+Q}hr %{+Q}hs %Tt`, `fe be s1 7`, "fe be s1 Tt=7") // nothing captured
	f(`%ft %b %s %{+Q}hr %{+Q}hs %Tt`, `fe be s1 "{a}x 7`, "")
	f(`%ft %b %s %{-M}[src] %Tt`, `fe be s1 7`, "")
	f(`%ft %b %s %{+Q}[req.hdr(x)] %Tt`, `fe be s1 "say "hi"" 7`, "fe be s1 Tt=7") // a sample's '"' is not escaped
	f(`%ft %b %s %Tt %{+Q}[req.hdr(x)]`, `fe be s1 7 "say "hi""`, "fe be s1 Tt=7")
	f(`%ft %b %s %Tt %{+Q,+E}[req.hdr(x)] %ST`, `fe be s1 7 "say \"hi\" \\" 200`, "fe be s1 Tt=7")
	f(`%ft %b %s %{-M}[src] %Tt`, `fe be s1  7`, "fe be s1 Tt=7") // an empty field is output: both spaces stay
}

func TestNewAuto(t *testing.T) {
	for _, format := range []string{"auto", "", " auto ", `"auto"`} {
		if p := newParser(t, format); len(p.progs) != len(autoFormats) {
			t.Errorf("New(%q): %d formats, want auto's %d", format, len(p.progs), len(autoFormats))
		}
	}
}

func TestNewErrors(t *testing.T) {
	f := func(format string, column int, words string) {
		t.Helper()
		_, err := New(format)
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Column != column || !strings.Contains(err.Error(), words) {
			t.Errorf("New(%q) = %v, want column %d saying %q", format, err, column, words)
		}
	}
	f("%ft %b %s %Tx", 11, "no such alias %Tx")
	f("%ft %b %s %", 11, "ends after '%'")
	f("%ft %b %s % ", 11, "not an alias")
	f("%ft %b %s %{+Q", 11, "no '}'")
	f("%ft %b %s %[src", 11, "no ']'")
	f("%ft %b %s %(name", 11, "no ')'")
	f("%ft %b%s", 7, "%s directly follows %b")
	f("%ci %cp %Tt", 1, "names no proxy")
	f("%s %Tt", 1, "names no proxy")
	f("%ft %b %s %Tq %tsc", 1, "no timer")
	f("%{+json}o %ft %b", 1, "encoded log lines")
	f("%ft %{+X}Tt", 5, "hexadecimal")
	f(`"%ft \q"`, 6, `unknown escape \q`)
	f(`%ft \`, 5, "backslash ends")
	f(`"%ft %b %Tx"`, 9, "no such alias") // columns count the quote
}

// TestHostile feeds what no HAProxy writes: it must not panic, and what
// it accepts must hold names inside msg.
func TestHostile(t *testing.T) {
	parsers := []*Parser{newParser(t, "auto"), newParser(t, customFormat), newParser(t, "%ft %b %s %Tt")}
	garbage := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range garbage { // xorshift: the same garbage every run
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		garbage[i] = byte(x)
	}
	msgs := [][]byte{
		garbage, garbage[:1], nil, {}, []byte("\x00"), []byte("\n"), []byte("<"), []byte("<1"), []byte("<134>"),
		[]byte("<134>1 "), []byte("<134>1 - - - - - "), []byte("<134>1 - - - - - ["), []byte("<999>x"),
		[]byte("<134>Dec  8 01:02:03 "), []byte("<134>Dec  8 01:02:03 host"), []byte("2026-12-08T"),
		bytes.Repeat([]byte(" "), 1000), bytes.Repeat([]byte("/"), 1000), bytes.Repeat([]byte(`"`), 1000),
		bytes.Repeat([]byte("%"), 1000), bytes.Repeat([]byte("\x00"), 1000), bytes.Repeat([]byte("{"), 1000),
	}
	for _, p := range parsers {
		var l latency.Line
		for _, msg := range msgs {
			if p.Parse(msg, &l) {
				checkInside(t, msg, &l, false)
			}
		}
		for i := 0; i+512 <= len(garbage); i += 512 {
			if msg := garbage[i : i+512]; p.Parse(msg, &l) {
				checkInside(t, msg, &l, false)
			}
		}
	}
}

// checkInside fails t unless the names of l are slices of msg: all
// three, or, for a custom format, those it has.
func checkInside(tb testing.TB, msg []byte, l *latency.Line, custom bool) {
	tb.Helper()
	for _, name := range [][]byte{l.Frontend, l.Backend, l.Server} {
		if len(name) == 0 && custom {
			continue
		}
		if len(name) == 0 {
			tb.Fatalf("accepted with an empty name: %q", msg)
		}
		start, end := uintptr(unsafe.Pointer(&msg[0])), uintptr(unsafe.Pointer(&msg[len(msg)-1]))
		if p, q := uintptr(unsafe.Pointer(&name[0])), uintptr(unsafe.Pointer(&name[len(name)-1])); p < start || q > end {
			tb.Fatalf("name %q is not in msg %q", name, msg)
		}
	}
}

// TestTruncated cuts every captured line at every byte: a line cut short
// is either refused or says what the whole line says.
func TestTruncated(t *testing.T) {
	auto, custom := newParser(t, "auto"), newParser(t, customFormat)
	files, _ := filepath.Glob("testdata/*/*.quoted")
	for _, file := range files {
		for _, msg := range readQuoted(t, file) {
			var whole, cut latency.Line
			p := auto
			if !p.Parse(msg, &whole) {
				p = custom
				if !p.Parse(msg, &whole) {
					t.Fatalf("%s: not parsed: %q", file, msg)
				}
			}
			want := describe(&whole)
			for n := range len(msg) {
				prefix := bytes.Clone(msg[:n]) // so that reading past it fails under -race or ASan
				if p.Parse(prefix, &cut) {
					checkInside(t, prefix, &cut, false)
					if got := describe(&cut); got != want {
						t.Errorf("%s: cut at %d: %q, want %q or false\n%q", file, n, got, want, prefix)
					}
				}
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	f := func(format string, file string, line int) {
		t.Helper()
		p := newParser(t, format)
		msg := readQuoted(t, file)[line]
		var l latency.Line
		if !p.Parse(msg, &l) {
			t.Fatalf("not parsed: %q", msg)
		}
		if n := testing.AllocsPerRun(1000, func() { p.Parse(msg, &l) }); n != 0 {
			t.Errorf("New(%q).Parse(%q): %v allocations, want 0", format, msg, n)
		}
	}
	f("auto", "testdata/haproxy-2.6/rfc3164.quoted", 0)  // httplog
	f("auto", "testdata/haproxy-2.6/rfc5424.quoted", 13) // tcplog
	f("auto", "testdata/haproxy-2.6/short.quoted", 8)    // httplog clf
	f(HTTPLog, "testdata/haproxy-2.6/unix.quoted", 4)
	f(customFormat, "testdata/haproxy-2.6/timed.quoted", 10)
}
