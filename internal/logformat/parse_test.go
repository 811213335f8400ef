package logformat

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// customFormat is the custom log-format of the test's frontend fe_custom.
const customFormat = `"%ci [%tr] %ft %b/%s TR=%TR Tw=%Tw Tc=%Tc Tr=%Tr Ta=%Ta %ST %tsc"`

// Datagrams Debian's haproxy 2.6 sent (captured on 127.0.0.1): option
// httplog in each framing (legacy RFC 3164, rfc5424, short, raw), an
// aborted request, option httplog clf, option tcplog, a custom format.
var real = []struct {
	name, format, dgram, want string
}{
	{"httplog", Auto, "<134>Dec  8 02:43:06 haproxy[16542]: 127.0.0.1:55858 [08/Dec/2026:02:43:06.558] fe_http be_app/s1 0/0/0/0/0 200 101 - - ---- 1/1/0/0/0 0/0 \"GET /x?y=1 HTTP/1.1\"\n",
		"fe_http be_app/s1 TR=0 Tw=0 Tc=0 Tr=0 Ta=0 --"},
	{"httplog rfc5424", Auto, "<134>1 2026-12-08T02:43:06.577749+00:00 - haproxy 16542 - - 127.0.0.1:50976 [08/Dec/2026:02:43:06.576] fe_5424 be_app/s1 0/0/0/0/0 200 101 - - ---- 1/1/0/0/0 0/0 \"GET /x?y=1 HTTP/1.1\"\n",
		"fe_5424 be_app/s1 TR=0 Tw=0 Tc=0 Tr=0 Ta=0 --"},
	{"httplog short", Auto, "<6>127.0.0.1:49392 [08/Dec/2026:02:43:06.587] fe_short be_app/s1 0/0/0/0/0 200 101 - - ---- 1/1/0/0/0 0/0 \"GET /x?y=1 HTTP/1.1\"\n",
		"fe_short be_app/s1 TR=0 Tw=0 Tc=0 Tr=0 Ta=0 --"},
	{"httplog raw", Auto, "127.0.0.1:43530 [08/Dec/2026:02:43:06.595] fe_raw be_app/s1 0/0/0/0/0 200 101 - - ---- 1/1/0/0/0 0/0 \"GET /x?y=1 HTTP/1.1\"\n",
		"fe_raw be_app/s1 TR=0 Tw=0 Tc=0 Tr=0 Ta=0 --"},
	{"httplog aborted", Auto, "<134>Dec  8 02:43:09 haproxy[16542]: 127.0.0.1:46842 [08/Dec/2026:02:43:06.604] fe_dead be_dead/d1 0/0/-1/-1/3005 503 217 - - SC-- 1/1/0/0/3 0/0 \"GET /x?y=1 HTTP/1.1\"\n",
		"fe_dead be_dead/d1 TR=0 Tw=0 Tc=-1 Tr=-1 Ta=3005 SC"},
	{"httplog ssl, host name", Auto, "<134>Dec  8 02:43:09 lb-01 haproxy[16542]: 127.0.0.1:55860 [08/Dec/2026:02:43:09.639] www~ be_app/<NOSRV> 12/-1/-1/-1/12 403 217 - - PR-- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"\n",
		"www be_app/<NOSRV> TR=12 Tw=-1 Tc=-1 Tr=-1 Ta=12 PR"},
	{"httpslog", Auto, "<134>Dec  8 02:43:09 haproxy[1]: 127.0.0.1:55860 [08/Dec/2026:02:43:09.639] www~ app/s1 1/0/2/40/43 200 5 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\" 0/0/0/0/0 example.com/TLSv1.3/TLS_AES_256_GCM_SHA384\n",
		"www app/s1 TR=1 Tw=0 Tc=2 Tr=40 Ta=43 --"},
	{"httplog clf", Auto, "<134>Dec  8 02:43:06 haproxy[16542]: 127.0.0.1 - - [08/Dec/2026:02:43:06 +0000] \"GET /x?y=1 HTTP/1.1\" 200 101 \"\" \"\" 34708 568 \"fe_clf\" \"be_app\" \"s1\" 0 0 0 7 9 ---- 1 1 0 0 0 0 0 \"\" \"\" \n",
		"fe_clf be_app/s1 TR=0 Tw=0 Tc=0 Tr=7 Ta=9 --"},
	{"tcplog", Auto, "<134>Dec  8 02:43:19 haproxy[16890]: 127.0.0.1:49236 [08/Dec/2026:02:43:19.780] fe_tcp be_tcp/t1 1/0/25 94 -- 2/2/1/1/0 0/0\n",
		"fe_tcp be_tcp/t1 Tw=1 Tc=0 Tt=25 --"},
	{"tcplog logasap", Auto, "<134>Dec  8 02:43:19 haproxy[16890]: 127.0.0.1:49236 [08/Dec/2026:02:43:19.780] fe_tcp be_tcp/t1 1/0/+25 +94 cD 2/2/1/1/0 0/0\n",
		"fe_tcp be_tcp/t1 Tw=1 Tc=0 Tt=25 cD"},
	{"tcplog clf", Auto, "<134>Dec  8 02:43:19 haproxy[1]: 127.0.0.1 - - [08/Dec/2026:02:43:19 +0000] \"TCP \" 000 94 \"\" \"\" 49236 780 \"fe_tcp\" \"be_tcp\" \"t1\" 0 1 0 25 30 ---- 2 2 1 1 0 0 0 \"\" \"\" \n",
		"fe_tcp be_tcp/t1 Tw=1 Tc=0 Tt=25 --"},
	{"custom", customFormat, "<134>Dec  8 02:43:09 haproxy[16542]: 127.0.0.1 [08/Dec/2026:02:43:09.624] fe_custom be_app/s1 TR=0 Tw=0 Tc=0 Tr=33 Ta=34 200 ----\n",
		"fe_custom be_app/s1 TR=0 Tw=0 Tc=0 Tr=33 Ta=34 --"},
	{"custom, a request line in quotes", `%ft %{+Q}r %b/%s %Tr %tsc`, "<134>Dec  8 02:43:09 haproxy[1]: fe \"GET /a b\"c HTTP/1.1\" be/s %Tr 5 ----",
		""},
	{"custom, a request line in quotes", `%ft %{+Q}r %b/%s %Tr %tsc`, "<134>Dec  8 02:43:09 haproxy[1]: fe \"GET /a b\"c HTTP/1.1\" be/s 5 ----",
		"fe be/s Tr=5 --"},
}

// show is a Line as the tests compare them.
func show(l *latency.Line) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s", l.Frontend, l.Backend, l.Server)
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

func TestRealLines(t *testing.T) {
	for _, c := range real {
		p, err := New(c.format)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var l latency.Line
		ok := p.Parse([]byte(c.dgram), &l)
		if c.want == "" {
			if ok {
				t.Errorf("%s: parsed as %s, want not understood", c.name, show(&l))
			}
			continue
		}
		if !ok || show(&l) != c.want {
			t.Errorf("%s: %v %q, want %q", c.name, ok, show(&l), c.want)
		}
	}
}

// The custom format does not take the standard lines, nor auto the
// custom ones.
func TestFormatsApart(t *testing.T) {
	custom, _ := New(customFormat)
	auto, _ := New(Auto)
	var l latency.Line
	for _, c := range real {
		p := custom
		if c.format == customFormat {
			p = auto
		}
		if c.want != "" && p.Parse([]byte(c.dgram), &l) && c.format != customFormat && c.format != Auto {
			t.Errorf("%s: understood by the other parser: %s", c.name, show(&l))
		}
	}
	if custom.Parse([]byte(real[0].dgram), &l) {
		t.Errorf("the custom format took an httplog line: %s", show(&l))
	}
	if auto.Parse([]byte(real[11].dgram), &l) {
		t.Errorf("auto took the custom line: %s", show(&l))
	}
}

func TestCompileErrors(t *testing.T) {
	for format, want := range map[string]string{
		"%ft %s %Tr":     "no %b",
		"%b%s":           "%s follows %b with nothing between them",
		"%b %{+Q":        "%{ without }",
		"%b %[src":       "%[ without ]",
		"%b % ":          "column 4: % without an alias",
		"%b/%s %[a,b]%s": "follows",
	} {
		if _, err := New(format); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", format, err, want)
		}
	}
	for _, ok := range []string{HTTPLog, HTTPSLog, HTTPCLF, TCPLog, TCPCLF, `"%b\ %s %Tr%%"`, "%b %s %ts%Tr"} {
		if _, err := New(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// Hostile datagrams are not understood, or understood as what they say,
// never with a name outside the datagram, and never panic: garbage,
// timers too long, every prefix of a real line.
func TestHostile(t *testing.T) {
	auto, _ := New(Auto)
	var l latency.Line
	garbage := bytes.Repeat([]byte("\xff<>[]/ \"%\x00\n"), 6000)
	for _, d := range [][]byte{nil, {}, []byte("<"), []byte("<1"), []byte("<134>"), []byte("<134>1 "), []byte("<134>1 a b c d e [x"), garbage[:65536],
		[]byte("1.2.3.4:5 [x] fe be/s 0/0/0/99999999999999999999/0 200 1 - - ---- 1/1/1/1/1 0/0 \"x\""),
		[]byte("1.2.3.4:5 [x] fe be/s 0/0/0/9223372036854775808/0 200 1 - - ---- 1/1/1/1/1 0/0 \"x\""),
		[]byte("1.2.3.4:5 [x] fe be/s 0/0/0/-2/0 200 1 - - ---- 1/1/1/1/1 0/0 \"x\""),
	} {
		if auto.Parse(d, &l) {
			t.Errorf("%.60q understood: %s", d, show(&l))
		}
	}
	for _, c := range real {
		p, _ := New(c.format)
		for n := range len(c.dgram) {
			d := []byte(c.dgram[:n])
			if p.Parse(d, &l) && !strings.Contains(c.dgram, string(l.Backend)) {
				t.Errorf("%s cut at %d: backend %q", c.name, n, l.Backend)
			}
		}
	}
	// Names are HAProxy's raw bytes.
	d := []byte("<134>Dec  8 02:43:06 haproxy[1]: 1.2.3.4:5 [x] f\xffe b\x01e/s\"1 1/2/3/4/5 200 1 - - ---- 1/1/1/1/1 0/0 \"x\"")
	if !auto.Parse(d, &l) || string(l.Frontend) != "f\xffe" || string(l.Backend) != "b\x01e" || string(l.Server) != "s\"1" {
		t.Errorf("raw names: %q", show(&l))
	}
}

func TestNoAllocation(t *testing.T) {
	for _, c := range real {
		p, _ := New(c.format)
		var l latency.Line
		d := []byte(c.dgram)
		if a := testing.AllocsPerRun(1000, func() { p.Parse(d, &l) }); a != 0 {
			t.Errorf("%s: %v allocations per line", c.name, a)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range real {
		f.Add([]byte(c.dgram), c.format == Auto)
	}
	auto, _ := New(Auto)
	custom, _ := New(customFormat)
	f.Fuzz(func(t *testing.T, d []byte, useAuto bool) {
		p := custom
		if useAuto {
			p = auto
		}
		var l latency.Line
		if !p.Parse(d, &l) {
			return
		}
		for _, name := range [][]byte{l.Frontend, l.Backend, l.Server} {
			if len(name) > 0 && !bytes.Contains(d, name) {
				t.Fatalf("name %q not in the datagram %q", name, d)
			}
		}
		if len(l.Backend) == 0 && l.Has != 0 {
			t.Fatalf("timers without a backend: %s", show(&l))
		}
	})
}

// benchLines are option httplog lines as HAProxy 2.6 frames them, of
// 1000 servers.
func benchLines() [][]byte {
	out := make([][]byte, 1024)
	for i := range out {
		out[i] = fmt.Appendf(nil, "<134>Dec  8 02:20:00 haproxy[1234]: 127.0.0.1:%d [08/Dec/2026:02:20:00.%03d] fe%d be%d/s%d %d/0/%d/%d/%d 200 %d - - ---- 10/10/1/0/0 0/0 \"GET /api/v1/items/%d HTTP/1.1\"",
			10000+i, i%1000, i%10, i%10, i, i%3, i%2, i%200, i%200+3, 200+i, i)
	}
	return out
}

func BenchmarkParse(b *testing.B) {
	lines := benchLines()
	p, _ := New(Auto)
	var l latency.Line
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if !p.Parse(lines[i&1023], &l) {
			b.Fatal("not understood")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlines/s")
}

// BenchmarkParseAdd is the work of pull per log line: parse, and count
// in the histograms of its frontend, backend and server.
func BenchmarkParseAdd(b *testing.B) {
	lines := benchLines()
	p, _ := New(Auto)
	set := latency.NewSet(0)
	var l latency.Line
	for _, d := range lines {
		p.Parse(d, &l)
		set.Add(&l)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Parse(lines[i&1023], &l)
		set.Add(&l)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlines/s")
}

func BenchmarkParseTCPAuto(b *testing.B) {
	p, _ := New(Auto)
	d := []byte(real[8].dgram)
	var l latency.Line
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(d, &l)
	}
}
