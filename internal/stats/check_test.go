package stats

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/dump"
)

// check runs a dump.StatChecker over data written in pieces of size n (0:
// whole) and returns its verdict, checking it passed data through.
func check(t *testing.T, data []byte, n int) error {
	t.Helper()
	var out bytes.Buffer
	c := &dump.StatChecker{W: &out}
	for p := data; len(p) > 0; {
		k := len(p)
		if n > 0 {
			k = min(n, len(p))
		}
		c.Write(p[:k])
		p = p[k:]
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("dump.StatChecker did not pass the reply through")
	}
	return c.Close()
}

// reason is the sentinel an error wraps, for comparing verdicts.
func reason(err error) error {
	for _, e := range []error{ErrEmpty, ErrNoHeader, ErrNoColumn, ErrFieldCount, ErrQuote, ErrNoName, ErrSecondHeader, ErrLongRecord} {
		if errors.Is(err, e) {
			return e
		}
	}
	return err
}

// One validation: what pull checks while a reply streams is what
// process checks before it aggregates, for real replies, generated
// ones, and every kind of broken one, cut into pieces of every size.
func TestStatCheckerAgreesWithParseStat(t *testing.T) {
	inputs := map[string][]byte{}
	for _, dir := range []string{"testdata/example13", "testdata/hap26"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*_stat"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inputs[p] = b
		}
	}
	if len(inputs) < 3 {
		t.Fatalf("only %d captured replies", len(inputs))
	}
	inputs["generated"] = GenerateStat(1, 3, 4, 5, 1)[0]
	good := "# pxname,svname,stot,bin,\nweb,FRONTEND,1,2,\napp,s1,3,4,\n\n"
	for name, in := range map[string]string{
		"good":              good,
		"crlf":              strings.ReplaceAll(good, "\n", "\r\n"),
		"blank lines":       "\n\n# pxname,svname,stot,\n\nweb,FRONTEND,1,\n\n\n",
		"quoted":            "# pxname,svname,stot,\n\"w,e\"\"b\",\"s\n1\",2,\n\n",
		"wrong field count": "# pxname,svname,stot,bin,\nweb,FRONTEND,1,2,\napp,s1,3,\n\n",
		"too many fields":   "# pxname,svname,stot,\nweb,FRONTEND,1,2,3,\n\n",
		"doubled header":    good + "# pxname,svname,stot,bin,\nweb,FRONTEND,5,6,\n\n",
		"doubled, no blank": "# pxname,svname,stot,\nweb,FRONTEND,1,\n# pxname,svname,stot,\n\n",
		"no header":         "web,FRONTEND,1,2,\n\n",
		"no svname":         "# pxname,stot,\nweb,1,\n\n",
		"svname later":      "# stot,pxname,x,svname,\n1,web,2,FRONTEND,\n3,app,,s1,\n\n",
		"empty pxname":      "# pxname,svname,stot,\n,FRONTEND,1,\n\n",
		"empty svname":      "# pxname,svname,stot,\nweb,,1,\n\n",
		"empty quoted name": "# pxname,svname,stot,\n\"\",FRONTEND,1,\n\n",
		"open quote":        "# pxname,svname,stot,\n\"web,FRONTEND,1,\n\n",
		"header only":       "# pxname,svname,stot,\n\n",
		"names only":        "# pxname,svname\nweb,FRONTEND\napp\n\n",
		"garbage":           "\x00\x01garbage\n\n",
	} {
		inputs[name] = []byte(in)
	}
	// Records of dump.MaxRecord bytes, and of one byte more: a header, a
	// record, a quoted record spanning lines.
	record := func(prefix string, n int) string {
		return prefix + strings.Repeat("a", n-len(prefix)-1) + ","
	}
	const head3 = "# pxname,svname,stot,\n"
	inputs["longest header"] = []byte(record("# pxname,svname,", dump.MaxRecord) + "\nweb,FRONTEND,1,\n")
	inputs["header too long"] = []byte(record("# pxname,svname,", dump.MaxRecord+1) + "\nweb,FRONTEND,1,\n")
	inputs["record too long"] = []byte(head3 + record("web,FRONTEND,1", dump.MaxRecord+1) + "\n")
	inputs["longest quoted"] = []byte(head3 + record("\"w\nb\",s,", dump.MaxRecord) + "\n")
	inputs["quoted too long"] = []byte(head3 + record("\"w\nb\",s,", dump.MaxRecord+1) + "\n")
	for name, data := range inputs {
		_, perr := ParseStat(data)
		for _, n := range []int{0, 1, 2, 3, 7, 64, 4096} {
			cerr := check(t, data, n)
			if reason(cerr) != reason(perr) {
				t.Errorf("%s in pieces of %d: dump.StatChecker says %v, ParseStat %v", name, n, cerr, perr)
			}
			if cerr != nil && perr != nil && cerr.(*ParseError).Line != perr.(*ParseError).Line {
				t.Errorf("%s in pieces of %d: line %d, ParseStat line %d", name, n, cerr.(*ParseError).Line, perr.(*ParseError).Line)
			}
		}
	}
	for _, name := range []string{"good", "crlf", "quoted", "svname later", "generated", "longest header", "longest quoted"} {
		if err := check(t, inputs[name], 5); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, want := range map[string]error{"wrong field count": ErrFieldCount, "doubled header": ErrSecondHeader, "empty svname": ErrNoName,
		"header too long": ErrLongRecord, "record too long": ErrLongRecord, "quoted too long": ErrLongRecord} {
		if err := check(t, inputs[name], 0); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
}

// endless is a reply of size bytes, prefix then 'a' for ever, that
// remembers how far it was read.
type endless struct {
	prefix string
	size   int64
	read   int64 // the furthest offset read
}

func (e *endless) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for ; n < len(p) && off+int64(n) < e.size; n++ {
		if i := off + int64(n); i < int64(len(e.prefix)) {
			p[n] = e.prefix[i]
		} else {
			p[n] = 'a'
		}
	}
	e.read = max(e.read, off+int64(n))
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// A reply whose header, or whose quoted record, never ends (200 MB of
// it, as a hostile socket streams or a spool file holds) is refused
// after dump.MaxRecord bytes, by the parser reading a file and by the
// checker pull runs, instead of being held whole: the parser reads at
// most three times dump.MaxRecord of it, the checker allocates a few
// times that over 64 MiB.
func TestEndlessRecordRefused(t *testing.T) {
	const size = 200 << 20
	for name, prefix := range map[string]string{
		"header": "# pxname,svname,",
		"quoted": "# pxname,svname,stot,\nweb,\"",
	} {
		src := &endless{prefix: prefix, size: size}
		var b Builder
		err := b.Add("a.sock_stat", src, size)
		if !errors.Is(err, ErrLongRecord) {
			t.Errorf("%s: AddFrom: %v, want ErrLongRecord", name, err)
		}
		if s, serr := b.Sites(); serr == nil || len(s.Rejected) != 1 {
			t.Errorf("%s: Sites: %v, want the reply rejected and no usable one", name, serr)
		}
		if src.read > 3*dump.MaxRecord {
			t.Errorf("%s: %d bytes of the reply read, want at most %d", name, src.read, 3*dump.MaxRecord)
		}

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := dump.StatChecker{W: discardWriter{}}
		piece := make([]byte, 64<<10)
		src.read = 0
		for off := int64(0); off < 64<<20; off += int64(len(piece)) {
			src.ReadAt(piece, off)
			c.Write(piece)
		}
		runtime.ReadMemStats(&after)
		if err := c.Close(); !errors.Is(err, ErrLongRecord) {
			t.Errorf("%s: StatChecker: %v, want ErrLongRecord", name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 8*dump.MaxRecord {
			t.Errorf("%s: StatChecker allocated %d bytes over 64 MiB of one record, want at most %d", name, got, 8*dump.MaxRecord)
		}
	}
}

func BenchmarkStatChecker(b *testing.B) {
	data := GenerateStat(1, 50, 500, 20, 1)[0]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := dump.StatChecker{W: discardWriter{}}
		for p := data; len(p) > 0; p = p[min(len(p), 32<<10):] {
			c.Write(p[:min(len(p), 32<<10)])
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
